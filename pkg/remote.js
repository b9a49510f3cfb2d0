// `{ worker: true }`: the same objects, hosted in the SDK's Web Worker (pkg/worker.js). The page
// keeps a thin proxy; frames cross as ImageBitmaps or VideoFrames (transferred, not copied),
// results come back with their typed arrays transferred. Documented in index.d.ts ("Workers").
import { initSettings, ShopfloorError } from './core.js';
import { CommandListeners, DictationListeners } from './events.js';
import { frameSize, is } from './frames.js';
import { FRAME_ARGS, LIVE_PROPS, METHODS } from './remote-props.js';

let worker = null;
let nextId = 1;
const pending = new Map();

function fail(error) {
  for (const p of pending.values()) p.reject(error);
  pending.clear();
  worker?.terminate();
  worker = null; // the next call starts a fresh worker
}

function getWorker() {
  if (worker) return worker;
  if (typeof Worker === 'undefined') {
    throw new ShopfloorError('BACKEND_UNAVAILABLE', 'this environment has no Web Workers: create the object without { worker: true }');
  }
  // This exact pattern lets bundlers (Vite, webpack, esbuild) emit the worker with the package.
  worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'shopfloor' });
  // The worker loads the wasm as the page asked (`init({ threads })`), before any other message.
  worker.postMessage({ op: 'init', options: initSettings() });
  worker.onmessage = ({ data }) => {
    const p = pending.get(data.id);
    if (!p) return;
    if (data.progress) {
      p.onProgress?.(data.progress);
      return;
    }
    pending.delete(data.id);
    if (data.ok) p.resolve(data.value);
    else p.reject(new ShopfloorError(data.error.code, data.error.message));
  };
  worker.onerror = (e) => {
    e.preventDefault?.();
    fail(new ShopfloorError('BACKEND_UNAVAILABLE', `the SDK's worker (worker.js next to index.js) stopped: ${e.message || 'it could not be loaded'}; serve it with the package, and allow it in the page's CSP (worker-src 'self')`));
  };
  worker.onmessageerror = () => fail(new ShopfloorError('INTERNAL', 'a message from the SDK worker could not be read'));
  return worker;
}

function request(message, transfer = [], hooks = {}) {
  const w = getWorker();
  const id = nextId++;
  return new Promise((resolve, reject) => {
    pending.set(id, { resolve, reject, ...hooks });
    try {
      w.postMessage({ ...message, id }, transfer);
    } catch (cause) {
      pending.delete(id);
      for (const t of transfer) t.close?.();
      reject(new ShopfloorError('INVALID_ARGUMENT', `this argument cannot be sent to the worker: ${cause?.message ?? cause}`, { cause }));
    }
    hooks.onSent?.(id);
  });
}

/** A frame source → something the worker can read: the caller's object is left untouched. */
async function portable(source) {
  if (is(source, 'ImageData')) return { value: source, transfer: [] }; // copied by postMessage
  frameSize(source); // SOURCE_NOT_READY / INVALID_ARGUMENT here, before any copy
  if (is(source, 'VideoFrame')) {
    const copy = source.clone();
    return { value: copy, transfer: [copy] };
  }
  try {
    const bitmap = await createImageBitmap(source);
    return { value: bitmap, transfer: [bitmap] };
  } catch (cause) {
    throw new ShopfloorError('INVALID_ARGUMENT', `the frame cannot be copied for the worker: ${cause?.message ?? cause}`, { cause });
  }
}

const absolute = (u) => new URL(u, globalThis.location?.href).href;

/** Options that can cross to the worker: URLs made absolute, callbacks and signals replaced by flags. */
function portableOptions(options) {
  const { onProgress, signal, worker: _, ...rest } = options ?? {};
  const out = { ...rest, hasProgress: typeof onProgress === 'function', hasSignal: !!signal };
  if (typeof rest.model === 'string' || rest.model instanceof URL) out.model = absolute(rest.model);
  else if (rest.model && typeof rest.model === 'object') out.model = { ...rest.model, baseUrl: absolute(rest.model.baseUrl ?? '.') };
  return out;
}

const registry = new FinalizationRegistry((handle) => worker?.postMessage({ op: 'free', handle }));

/** Creates `kind` in the worker; `source` is Model.load's first argument. */
export async function createRemote(kind, options, source) {
  const { signal, onProgress } = options ?? {};
  if (signal?.aborted) throw new ShopfloorError('ABORTED', 'the load was aborted before it started');
  let src = source;
  if (typeof source === 'string' || source instanceof URL) src = absolute(source);
  const onAbort = () => worker?.postMessage({ op: 'abort', target: sentId });
  let sentId;
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { handle, props } = await request({ op: 'create', kind, source: src, options: portableOptions(options) }, [], {
      onProgress,
      onSent: (id) => (sentId = id),
    });
    if (kind === 'VoiceCommands') return new RemoteStream(kind, handle, props, new CommandListeners());
    if (kind === 'Transcriber') return new RemoteStream(kind, handle, props, new DictationListeners(!!options?.partials));
    return new RemoteObject(kind, handle, props);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

export class RemoteObject {
  #handle;
  #props;
  constructor(kind, handle, props) {
    this.#handle = handle;
    this.#props = props;
    this.kind = kind;
    this.worker = true;
    registry.register(this, handle, this);
    for (const p of LIVE_PROPS[kind] ?? []) Object.defineProperty(this, p, { get: () => this.#props[p], enumerable: true });
    for (const m of METHODS[kind]) this[m] = (...args) => this._call(m, args);
  }
  async _call(method, args) {
    if (this.#handle === null) throw new ShopfloorError('INVALID_ARGUMENT', `this ${this.kind} was freed: create it again`);
    const transfer = [];
    const sent = [...args];
    const at = FRAME_ARGS[method];
    if (at !== undefined) {
      const { value, transfer: t } = await portable(args[at]);
      sent[at] = value;
      transfer.push(...t);
    }
    const { result, props } = await request({ op: 'call', handle: this.#handle, method, args: sent }, transfer);
    this.#props = props;
    return result;
  }
  free() {
    if (this.#handle === null) return;
    registry.unregister(this);
    worker?.postMessage({ op: 'free', handle: this.#handle });
    this.#handle = null;
  }
}

/** VoiceCommands and Transcriber in the worker: events are emitted here, from what each call settled. */
class RemoteStream extends RemoteObject {
  #listeners;
  constructor(kind, handle, props, listeners) {
    super(kind, handle, props);
    this.#listeners = listeners;
    for (const m of ['feed', 'finish']) {
      const call = this[m];
      this[m] = (...args) => call(...args).then((events) => this.#listeners.emit(events));
    }
  }
  on(type, listener) {
    return this.#listeners.on(type, listener);
  }
  off(type, listener) {
    this.#listeners.off(type, listener);
  }
  listen(mic) {
    if (!mic || typeof mic.on !== 'function') throw new ShopfloorError('INVALID_ARGUMENT', 'listen() takes a MicrophoneStream (MicrophoneStream.open())');
    return mic.on('data', (samples) =>
      this.feed(samples, mic.sampleRate).catch((error) => this.#listeners.error(error)),
    );
  }
}
