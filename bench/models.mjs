// The benchmark's models and recordings, shared by `make bench` (bench/run.mjs) and the A/B
// scripts (scripts/cold-ab.mjs).

const IMG = '/models/cache/images/';
const WHISPER = '/models/cache/whisper-tiny-en/';
const PM1 = { mean: 127.5, std: 127.5 }; // [-1, 1], as the manifests in models/ say
export const MODELS = [
  { id: 'efficientnet-lite0', title: 'EfficientNet-Lite0 224²', url: '/models/cache/efficientnet/efficientnet_lite0.onnx', input: 'input', dims: [1, 3, 224, 224], image: { url: `${IMG}coffee.png`, mean: 127, std: 128 } },
  { id: 'blazeface', title: 'BlazeFace front 128²', url: '/models/cache/blazeface/face_detection_front_128.onnx', input: 'input:0', dims: [1, 128, 128, 3], image: { url: `${IMG}astronaut.png`, ...PM1 } },
  { id: 'ppocr-det', title: 'PP-OCRv4 det 640²', url: '/models/cache/ppocr/ppocrv4_det.onnx', input: 'x', dims: [1, 3, 640, 640], image: { url: `${IMG}page.png`, ...PM1 } },
  { id: 'ppocr-rec', title: 'PP-OCRv4 rec 48×320', url: '/models/cache/ppocr/ppocrv4_rec.onnx', input: 'x', dims: [1, 3, 48, 320], image: { url: `${IMG}page.png`, ...PM1 } },
  { id: 'oww-embedding', title: 'openWakeWord embedding', url: '/models/cache/openwakeword/embedding_model.onnx', input: 'input_1', dims: [1, 76, 32, 1] },
  // light_resnet50 (Caffe2's ResNet-50): ImageNet mean / std in 0..255 units.
  { id: 'light-resnet50', title: 'ONNX light_resnet50', url: '/models/cache/onnx-tests/light/light_resnet50.onnx', input: 'gpu_0/data_0', dims: [1, 3, 224, 224], image: { url: `${IMG}chelsea.png`, mean: 114, std: 57 } },
  // Other real CNNs, not tuned for and not in the default run (`--models light-densenet121,...`):
  // the ONNX model zoo's architectures with their weights as constants (the light test models;
  // AlexNet's and ZFNet's are 61-62 M weights, 240 MB).
  ...[
    ['light-densenet121', 'DenseNet-121', 'light_densenet121', 'data_0'],
    ['light-inception-v1', 'Inception v1 (GoogLeNet)', 'light_inception_v1', 'data_0'],
    ['light-inception-v2', 'Inception v2', 'light_inception_v2', 'data_0'],
    ['light-squeezenet', 'SqueezeNet 1.0', 'light_squeezenet', 'data_0'],
    ['light-shufflenet', 'ShuffleNet v1', 'light_shufflenet', 'gpu_0/data_0'],
    ['light-alexnet', 'AlexNet', 'light_bvlc_alexnet', 'data_0'],
    ['light-zfnet512', 'ZFNet-512', 'light_zfnet512', 'gpu_0/data_0'],
  ].map(([id, name, file, input]) => ({ id, title: `ONNX ${name}`, url: `/models/cache/onnx-tests/light/${file}.onnx`, input, dims: [1, 3, 224, 224], extra: true })),
  // PP-OCR's text-direction classifier: a small model, where a GPU runtime's cost per dispatch shows.
  { id: 'ppocr-cls', title: 'PP-OCR cls 48×192', url: '/models/cache/ppocr/ppocr_cls.onnx', input: 'x', dims: [1, 3, 48, 192], image: { url: `${IMG}page.png`, ...PM1 }, extra: true },
  // Whisper tiny.en as the dictation runs it: one 30-s window through the encoder, one token
  // through the decoder (its key/value cache at position 24).
  { id: 'whisper-encoder', title: 'Whisper tiny.en encoder, 30-s window', url: `${WHISPER}encoder.onnx`, input: 'mel', dims: [1, 80, 3000] },
  {
    id: 'whisper-decoder',
    title: 'Whisper tiny.en decoder, one token',
    url: `${WHISPER}decoder.onnx`,
    feeds: [
      { name: 'token', type: 'i64', dims: [1, 1], value: 50257 },
      { name: 'position', type: 'i64', dims: [1], value: 24 },
      ...['self_k', 'self_v'].map((name) => ({ name, type: 'f32', dims: [4, 6, 448, 64] })),
      ...['cross_k', 'cross_v'].map((name) => ({ name, type: 'f32', dims: [4, 6, 1500, 64] })),
    ],
  },
];

// Dictation: three recordings of about 5 s (two synthesisers), transcribed whole and fed live.
export const DICTATION = {
  manifest: `${WHISPER}manifest.json`,
  wavs: ['en-us_02_clean.wav', 'flite-slt_02_clean.wav', 'flite-rms_11_clean.wav'].map((f) => `/models/cache/dictation-test/${f}`),
};
