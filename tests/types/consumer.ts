// Compiled by tests/e2e/package.test.mjs with `tsc --strict --noEmit`: the public types must
// let a user write this without casts.
import {
  AudioFeatures, backends, blurFaces, modelCache, Embedder, FaceDetector, ImageClassifier, init, KeywordSpotter, LinearSvm, memoryStats, MicrophoneStream, Model, readFrame, ShopfloorError, tensor, TextReader, Transcriber, Vad, version, VoiceCommands,
  type Backends, type CachedModel, type Remote, type Classification, type CommandEvent, type EnrolledCommand, type ErrorCode, type Explanation, type Face, type Recording, type TextLine, type Transcript, type SegmentEvent, type PartialEvent, type VadEvent, type WordFrame,
} from '../../pkg/index.js';

async function main(): Promise<string> {
  await init();
  const v: string = await version();
  const b: Backends = await backends();
  const gpu = b.webgpu.available ? b.webgpu.adapter?.name ?? '' : (b.webgpu.reason ?? '');
  const threads: number = b.cpu.threads;
  const why: string = b.cpu.threadsReason;
  try {
    await init({ threads: 'auto' });
    await init({ threads: 4, wasm: new URL('https://example.invalid/x.wasm'), wasmThreads: new URL('https://example.invalid/x-mt.wasm') });
  } catch (e) {
    if (e instanceof ShopfloorError) {
      const code: ErrorCode = e.code;
      return `${v} ${b.cpu.simd} ${threads} ${why} ${gpu} ${code}`;
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
  const gpuReader = await TextReader.create({ model: '/models/cache/ppocr/manifest.json', backend: 'webgpu', fixedSide: 640 });
  const remoteReader = await TextReader.create({ model: '/models/cache/ppocr/manifest.json', backend: 'webgpu', fixedSide: 640, worker: true });
  const gpuLines: TextLine[] = [...(await gpuReader.read(canvas)), ...(await remoteReader.read(canvas))];
  const svm = await LinearSvm.create({ embedder: new Embedder(classifier) });
  await svm.addExample(video, 'ok part');
  await svm.addExample(new Float32Array(1280), 'scratched');
  const report = svm.train();
  const p = await svm.predict(video);
  const again = await LinearSvm.fromJSON(svm.toJSON());
  const frame: ImageData = readFrame(canvas);
  return top.length + why.heatmap.width + found.length + lines.length + gpuLines.length + report.iterations + p.decision + again.classes.length + frame.width;
}
void useVision;

async function useSpeech(): Promise<number> {
  const cmds = await VoiceCommands.create({ model: '/models/speech/manifest.json', backend: 'cpu', commands: ['stop', 'line two'], threshold: 10, pause: { before: 0.5, after: 0.3 } });
  const off = cmds.on('command', (e: CommandEvent) => console.log(e.command, e.confidence, e.start, e.end, e.decidedAt - e.end));
  cmds.on('vad', (e: VadEvent) => console.log(e.type === 'speechEnd' ? e.end - e.start : e.time));
  const mic = await MicrophoneStream.open({ chunkSize: 2048 });
  const stop = cmds.listen(mic);
  const takes: Recording[] = [await mic.record(2), await mic.record(2), await mic.record(2)];
  const saved: EnrolledCommand = await cmds.enrol('conveyor jam', takes);
  cmds.removeEnrolled(saved.name);
  cmds.addEnrolled(saved);
  const events = await cmds.feed(new Float32Array(4800), 48000);
  const spotter = await KeywordSpotter.create({ model: '/models/speech/manifest.json' });
  const frames: WordFrame[] = await spotter.feed(new Float32Array(16000), 16000);
  const vad = await Vad.create({ model: '/models/cache/silero/silero_vad_op18_ifless.onnx', threshold: 0.6 });
  const v = await vad.feed(new Float32Array(16000), 16000);
  stop();
  off();
  await mic.close();
  return events.length + frames.length + v.probabilities.length + cmds.vadProbability + cmds.enrolled.length + spotter.labels.length;
}
void useSpeech;

async function useDictation(): Promise<number> {
  const t = await Transcriber.create({ model: '/models/cache/whisper-tiny-en/manifest.json', backend: 'cpu', prompt: 'bracket KX-4471, station 7' });
  const all: Transcript = await t.transcribe(new Float32Array(48000), 48000);
  const first = all.segments[0];
  const off = t.on('segment', (e: SegmentEvent) => console.log(e.text, e.start, e.end, e.confidence, e.temperature, e.decodeMs, e.tokens[0]?.probability));
  t.on('vad', (e: VadEvent) => console.log(e.type));
  t.on('error', (e: ShopfloorError) => console.log(e.code));
  const dictation = await Transcriber.create({ model: '/stt.json', partials: true, beamSize: 4, temperatureFallback: false });
  dictation.on('partial', (e: PartialEvent) => console.log(e.text, e.end - e.start, e.decodeMs));
  const mic = await MicrophoneStream.open();
  const stop = t.listen(mic);
  const events = await t.finish();
  stop();
  off();
  const remote = await Transcriber.create({ model: '/stt.json', worker: true });
  const r: Transcript = await remote.transcribe(new Float32Array(16000), 16000);
  const live: boolean = (await remote.info()).live;
  remote.free();
  t.free();
  return all.text.length + (first?.end ?? 0) + events.length + r.duration + Number(live) + all.duration;
}
void useDictation;

async function useWorkersCacheAndFeatures(video: HTMLVideoElement): Promise<number> {
  const m: Remote<Model> = await Model.load('/m.onnx', { worker: true, sha256: 'ab'.repeat(32), cache: true, onProgress: (p) => console.log(p.fromCache) });
  const out = await m.run({ [m.inputs[0].name]: tensor('f32', [1], [0]) });
  const info = await m.info();
  const classifier = await ImageClassifier.create({ model: '/manifest.json', worker: true });
  const top: Classification[] = await classifier.classify(video);
  const svm = await LinearSvm.create({ embedder: new Embedder(classifier) });
  const faces = await FaceDetector.create({ model: '/faces.json', worker: true });
  const found: Face[] = await blurFaces(video, document.createElement('canvas'), { detector: faces });
  const cmds = await VoiceCommands.create({ model: '/speech.json', worker: true });
  const off = cmds.on('command', (e: CommandEvent) => console.log(e.command));
  const events = await cmds.feed(new Float32Array(10), 16000);
  const cached: CachedModel[] = await modelCache.list();
  await modelCache.delete(cached[0].sha256);
  const fx = await AudioFeatures.create({ sampleRate: 16000, kind: 'mfcc', nMfcc: 13, topDb: null });
  const frames = fx.compute(new Float32Array(16000));
  const remoteFx = await AudioFeatures.create({ sampleRate: 16000, worker: true });
  const remoteFrames = await remoteFx.compute(new Float32Array(16000));
  off();
  m.free();
  return Object.keys(out).length + info.parameterCount + top.length + svm.classes.length + found.length + events.length + frames.data.length + remoteFrames.bins + classifier.labels.length + cmds.vadProbability;
}
void useWorkersCacheAndFeatures;

import type { CameraResultDetail, ShopfloorCamera } from '../../pkg/elements.js';

function usePortalElements(): void {
  const cam: ShopfloorCamera | null = document.querySelector('shopfloor-camera');
  cam?.addEventListener('result', (e: CustomEvent<CameraResultDetail>) => console.log(e.detail.task, e.detail.latencyMs));
  document.querySelector('shopfloor-voice')?.addEventListener('command', (e) => console.log(e.detail.command, e.detail.confidence));
  void cam?.start();
}
void usePortalElements;
