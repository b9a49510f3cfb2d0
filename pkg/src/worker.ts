// The SDK's Web Worker (`{ worker: true }`): hosts the models off the page's main thread and
// answers the messages remote/remote-impl.ts sends. One wasm instance serves every remote object
// of a page; calls on one object run in the order they were sent.
import { AudioFeatures, FaceDetector, ImageClassifier, init, KeywordSpotter, Model, ObjectDetector, TextReader, Transcriber, Vad, VoiceCommands } from './index.js';
import type { LoadProgress } from './model/model.js';
import { LIVE_PROPS, type CallResult, type Created, type FromWorker, type HandleId, type Kind, type PortableOptions, type ToWorker } from './remote/protocol.js';

/** What this worker's global scope offers (lib.dom types `self` as a window). */
const scope = self as unknown as {
  postMessage(message: FromWorker, transfer?: Transferable[]): void;
  onmessage: ((e: MessageEvent<ToWorker>) => void) | null;
};

type Hosted = { free(): void } & Record<string, unknown>;
type Creator = { create(options: object): Promise<unknown> };

const KINDS: Record<Exclude<Kind, 'Model'>, Creator> = { ImageClassifier, FaceDetector, ObjectDetector, TextReader, KeywordSpotter, Vad, VoiceCommands, Transcriber, AudioFeatures } as Record<Exclude<Kind, 'Model'>, Creator>;
const objects = new Map<HandleId, { kind: Kind; obj: Hosted; queue: Promise<unknown> }>();
const aborts = new Map<number, AbortController>();
let nextHandle = 1;

function snapshot(kind: Kind, obj: Hosted): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of LIVE_PROPS[kind] ?? []) out[p] = obj[p];
  return out;
}

/** The buffers of typed arrays in a result that own their whole buffer (never the wasm memory's). */
function transferables(value: unknown, out: Transferable[] = [], depth = 0): Transferable[] {
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

async function create(id: number, kind: Kind, source: unknown, options: PortableOptions): Promise<Created> {
  const signal = new AbortController();
  aborts.set(id, signal);
  const { hasSignal, hasProgress, ...opts } = options;
  if (hasSignal) opts.signal = signal.signal;
  if (hasProgress) opts.onProgress = (progress: LoadProgress) => scope.postMessage({ id, progress });
  try {
    const obj = (kind === 'Model' ? await Model.load(source as string, opts) : await KINDS[kind].create(opts)) as unknown as Hosted;
    const handle = nextHandle++;
    objects.set(handle, { kind, obj, queue: Promise.resolve() });
    return { handle, props: snapshot(kind, obj) };
  } finally {
    aborts.delete(id);
  }
}

async function call(handle: HandleId, method: string, args: unknown[]): Promise<CallResult> {
  const entry = objects.get(handle);
  if (!entry) {
    throw Object.assign(new Error('this object no longer exists in the SDK worker (it was freed, or the worker was restarted after a failure): create it again'), { code: 'INVALID_ARGUMENT' });
  }
  const { kind, obj } = entry;
  try {
    const result = await (obj[method] as (...a: unknown[]) => unknown)(...args);
    return { result, props: snapshot(kind, obj) };
  } finally {
    for (const a of args) if (a instanceof ImageBitmap || (typeof VideoFrame !== 'undefined' && a instanceof VideoFrame)) a.close();
  }
}

scope.onmessage = async ({ data }) => {
  if (data.op === 'init') {
    // Errors surface from the first call that needs the module.
    init(data.options).catch(() => {});
    return;
  }
  if (data.op === 'abort') {
    if (data.target !== undefined) aborts.get(data.target)?.abort();
    return;
  }
  if (data.op === 'free') {
    const entry = objects.get(data.handle);
    objects.delete(data.handle);
    entry?.obj.free();
    return;
  }
  const id = data.id;
  try {
    let value: Created | CallResult;
    if (data.op === 'create') {
      value = await create(id, data.kind, data.source, data.options);
    } else {
      // One object's calls run in order, as they do on the main thread.
      const entry = objects.get(data.handle);
      const run = () => call(data.handle, data.method, data.args);
      const p = entry ? entry.queue.then(run, run) : run();
      if (entry) entry.queue = p.catch(() => {});
      value = await p;
    }
    scope.postMessage({ id, ok: true, value }, transferables('result' in value ? value.result : undefined));
  } catch (e) {
    const err = e as { code?: string; message?: string } | null;
    scope.postMessage({ id, ok: false, error: { code: (err?.code ?? 'INTERNAL') as never, message: err?.message ?? String(e) } });
  }
};
