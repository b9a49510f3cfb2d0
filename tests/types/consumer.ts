// Compiled by tests/e2e/package.test.mjs with `tsc --strict --noEmit`: the public types must
// let a user write this without casts.
import {
  backends, blurFaces, Embedder, FaceDetector, ImageClassifier, init, LinearSvm, memoryStats, Model, readFrame, ShopfloorError, tensor, TextReader, version,
  type Backends, type Classification, type ErrorCode, type Explanation, type Face, type TextLine,
} from '../../pkg/index.js';

async function main(): Promise<string> {
  await init();
  const v: string = await version();
  const b: Backends = await backends();
  const gpu = b.webgpu.available ? b.webgpu.adapter?.name ?? '' : (b.webgpu.reason ?? '');
  try {
    await init({ wasm: new URL('https://example.invalid/x.wasm') });
  } catch (e) {
    if (e instanceof ShopfloorError) {
      const code: ErrorCode = e.code;
      return `${v} ${b.cpu.simd} ${gpu} ${code}`;
    }
  }
  return v;
}

async function useModel(pixels: Float32Array): Promise<number> {
  const m = await Model.load('/m.onnx', { backend: 'cpu', sha256: 'x', inputShapes: { x: [1, 3, 8, 8] }, onProgress: (p) => p.loaded / (p.total || 1) });
  const first = m.inputs[0];
  const dims: (number | string)[] = first.shape ?? [];
  const out = await m.run({ [first.name]: tensor('f32', [1, 3, 8, 8], pixels) });
  const y = out[m.outputs[0].name];
  const info = m.info();
  const stats = await memoryStats();
  m.free();
  return y.dims.length + dims.length + info.parameterCount + stats.liveModels + (y.dtype === 'f32' ? 1 : 0);
}

void main();
void useModel;

async function useVision(video: HTMLVideoElement, canvas: HTMLCanvasElement): Promise<number> {
  const classifier = await ImageClassifier.create({ model: '/models/cache/efficientnet/manifest.json', backend: 'auto' });
  const top: Classification[] = await classifier.classify(video, { topK: 3 });
  const why: Explanation = await classifier.explain(video, top[0].classIndex);
  const faces = await FaceDetector.create({ model: '/models/cache/blazeface/manifest.json' });
  const found: Face[] = await blurFaces(video, canvas, { detector: faces });
  const reader = await TextReader.create({ model: new URL('https://example.invalid/ppocr/manifest.json'), backend: 'cpu' });
  const lines: TextLine[] = await reader.read(canvas);
  const svm = await LinearSvm.create({ embedder: new Embedder(classifier) });
  await svm.addExample(video, 'ok part');
  await svm.addExample(new Float32Array(1280), 'scratched');
  const report = svm.train();
  const p = await svm.predict(video);
  const again = await LinearSvm.fromJSON(svm.toJSON());
  const frame: ImageData = readFrame(canvas);
  return top.length + why.heatmap.width + found.length + lines.length + report.iterations + p.decision + again.classes.length + frame.width;
}
void useVision;
