// shopfloor: the public JS API. Documented in index.d.ts and docs/api.md.
import { init, threadingInfo } from './core.js';

export { init, ShopfloorError } from './core.js';
export { Model, tensor } from './model.js';
export { modelCache } from './cache.js';

/** The SDK version. */
export async function version() {
  const glue = await init();
  return glue.version();
}

/** Memory in use by the SDK; see index.d.ts. */
export async function memoryStats() {
  const glue = await init();
  return glue.memoryStats();
}

/** Which backends this browser offers; see index.d.ts. */
export async function backends() {
  const glue = await init();
  const result = await glue.backends();
  result.cpu.threadsReason = threadingInfo().reason;
  const adapter = result.webgpu.adapter;
  // wgpu exposes only the adapter description on the web; the browser also tells vendor and
  // architecture, which users need to recognise their GPU.
  if (adapter && globalThis.navigator?.gpu) {
    try {
      const a = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
      const info = a?.info;
      if (info) {
        adapter.vendor = info.vendor ?? '';
        adapter.architecture = info.architecture ?? '';
        adapter.device = info.device ?? '';
        adapter.name ||= info.description || [info.vendor, info.architecture].filter(Boolean).join(' ');
        adapter.subgroups ||= a.features.has('subgroups');
        adapter.shaderF16 ||= a.features.has('shader-f16');
        adapter.timestampQuery ||= a.features.has('timestamp-query');
        adapter.subgroupMinSize ||= info.subgroupMinSize ?? 0;
        adapter.subgroupMaxSize ||= info.subgroupMaxSize ?? 0;
      }
    } catch {
      // The wgpu answer stands on its own.
    }
  }
  return result;
}

export { blurFaces, Embedder, FaceDetector, ImageClassifier, LinearSvm, ObjectDetector, readFrame, TextReader } from './vision.js';
export { AudioFeatures, KeywordSpotter, MicrophoneStream, Vad, VoiceCommands } from './speech.js';
export { Transcriber } from './transcribe.js';
