// The SDK's Web Worker (`{ worker: true }`): hosts the models off the page's main thread and
// answers the messages pkg/remote.js sends. One wasm instance serves every remote object of a
// page; calls on one object run in the order they were sent.
import { AudioFeatures, FaceDetector, ImageClassifier, init, KeywordSpotter, Model, ObjectDetector, TextReader, Transcriber, Vad, VoiceCommands } from './index.js';
import { LIVE_PROPS } from './remote-props.js';

const KINDS = { Model, ImageClassifier, FaceDetector, ObjectDetector, TextReader, KeywordSpotter, Vad, VoiceCommands, Transcriber, AudioFeatures };
const objects = new Map();
const aborts = new Map();
let nextHandle = 1;

function snapshot(kind, obj) {
  const out = {};
  for (const p of LIVE_PROPS[kind] ?? []) out[p] = obj[p];
  return out;
}

/** The buffers of typed arrays in a result that own their whole buffer (never the wasm memory's). */
function transferables(value, out = [], depth = 0) {
  if (!value || typeof value !== 'object' || depth > 4) return out;
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    if (b instanceof ArrayBuffer && value.byteOffset === 0 && value.byteLength === b.byteLength && !out.includes(b)) out.push(b);
    return out;
  }
  if (value instanceof ImageData) return transferables(value.data, out, depth + 1);
  for (const v of Array.isArray(value) ? value : Object.values(value)) transferables(v, out, depth + 1);
  return out;
}

async function create(id, kind, source, options) {
  const Kind = KINDS[kind];
  const signal = new AbortController();
  aborts.set(id, signal);
  const { hasSignal, hasProgress, ...opts } = options;
  if (hasSignal) opts.signal = signal.signal;
  if (hasProgress) opts.onProgress = (p) => postMessage({ id, progress: p });
  try {
    const obj = kind === 'Model' ? await Model.load(source, opts) : await Kind.create(opts);
    const handle = nextHandle++;
    objects.set(handle, { kind, obj, queue: Promise.resolve() });
    return { handle, props: snapshot(kind, obj) };
  } finally {
    aborts.delete(id);
  }
}

async function call(handle, method, args) {
  const entry = objects.get(handle);
  if (!entry) {
    throw Object.assign(new Error('this object no longer exists in the SDK worker (it was freed, or the worker was restarted after a failure): create it again'), { code: 'INVALID_ARGUMENT' });
  }
  const { kind, obj } = entry;
  try {
    const result = await obj[method](...args);
    return { result, props: snapshot(kind, obj) };
  } finally {
    for (const a of args) if (a instanceof ImageBitmap || (typeof VideoFrame !== 'undefined' && a instanceof VideoFrame)) a.close();
  }
}

self.onmessage = async ({ data }) => {
  const { id, op } = data;
  if (op === 'init') {
    // Errors surface from the first call that needs the module.
    init(data.options).catch(() => {});
    return;
  }
  if (op === 'abort') {
    aborts.get(data.target)?.abort();
    return;
  }
  if (op === 'free') {
    const entry = objects.get(data.handle);
    objects.delete(data.handle);
    entry?.obj.free();
    return;
  }
  try {
    let value;
    if (op === 'create') {
      value = await create(id, data.kind, data.source, data.options);
    } else {
      // One object's calls run in order, as they do on the main thread.
      const entry = objects.get(data.handle);
      const run = () => call(data.handle, data.method, data.args);
      const p = entry ? entry.queue.then(run, run) : run();
      if (entry) entry.queue = p.catch(() => {});
      value = await p;
    }
    postMessage({ id, ok: true, value }, transferables(value.result));
  } catch (e) {
    postMessage({ id, ok: false, error: { code: e?.code ?? 'INTERNAL', message: e?.message ?? String(e) } });
  }
};
