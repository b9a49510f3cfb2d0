// `{ worker: true }`: the same objects, hosted in the SDK's Web Worker (../worker.ts). The page
// keeps a thin proxy; frames cross as ImageBitmaps or VideoFrames (transferred, not copied),
// results come back with their typed arrays transferred.
import { messageOf, ShopfloorError } from '../errors.js';
import type { LoadProgress } from '../model/model.js';
import { initSettings } from '../runtime-impl.js';
import { CommandListeners, DictationListeners, type Listeners } from '../speech/listeners.js';
import { frameSize, is } from '../vision/frames.js';
import { FRAME_ARGS, LIVE_PROPS, METHODS, type CallResult, type Created, type FromWorker, type HandleId, type Kind, type PortableOptions, type ToWorker } from './protocol.js';

interface Pending {
  resolve(value: CallResult | Created): void;
  reject(error: ShopfloorError): void;
  onProgress?: (p: LoadProgress) => void;
  onSent?: (id: number) => void;
}

let worker: Worker | null = null;
let nextId = 1;
const pending = new Map<number, Pending>();

function send(message: ToWorker, transfer: Transferable[] = []): void {
  worker?.postMessage(message, transfer);
}

function fail(error: ShopfloorError): void {
  for (const p of pending.values()) p.reject(error);
  pending.clear();
  worker?.terminate();
  worker = null; // the next call starts a fresh worker
}

function getWorker(): Worker {
  if (worker) return worker;
  if (typeof Worker === 'undefined') {
    throw new ShopfloorError('BACKEND_UNAVAILABLE', 'this environment has no Web Workers: create the object without { worker: true }');
  }
  // This exact pattern lets bundlers (Vite, webpack, esbuild) emit the worker with the package.
  // The path is relative to index.js, the one module this file is built into (scripts/bundle-pkg.mjs).
  const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'shopfloor' });
  worker = w;
  // The worker loads the wasm as the page asked (`init({ threads })`), before any other message.
  send({ op: 'init', options: initSettings() });
  w.onmessage = ({ data }: MessageEvent<FromWorker>) => {
    const p = pending.get(data.id);
    if (!p) return;
    if ('progress' in data) {
      p.onProgress?.(data.progress);
      return;
    }
    pending.delete(data.id);
    if (data.ok) p.resolve(data.value);
    else p.reject(new ShopfloorError(data.error.code, data.error.message));
  };
  w.onerror = (e) => {
    e.preventDefault?.();
    fail(new ShopfloorError('BACKEND_UNAVAILABLE', `the SDK's worker (worker.js next to index.js) stopped: ${e.message || 'it could not be loaded'}; serve it with the package, and allow it in the page's CSP (worker-src 'self')`));
  };
  w.onmessageerror = () => fail(new ShopfloorError('INTERNAL', 'a message from the SDK worker could not be read'));
  return w;
}

function request<T extends CallResult | Created>(message: DistributiveOmit<Extract<ToWorker, { id: number }>, 'id'>, transfer: Transferable[] = [], hooks: Pick<Pending, 'onProgress' | 'onSent'> = {}): Promise<T> {
  const w = getWorker();
  const id = nextId++;
  return new Promise<T>((resolve, reject) => {
    pending.set(id, { resolve: resolve as (v: CallResult | Created) => void, reject, ...hooks });
    try {
      w.postMessage({ ...message, id }, transfer);
    } catch (cause) {
      pending.delete(id);
      for (const t of transfer) (t as { close?: () => void }).close?.();
      reject(new ShopfloorError('INVALID_ARGUMENT', `this argument cannot be sent to the worker: ${messageOf(cause)}`, { cause }));
    }
    hooks.onSent?.(id);
  });
}

type DistributiveOmit<T, K extends PropertyKey> = T extends unknown ? Omit<T, K> : never;

/** A frame source → something the worker can read: the caller's object is left untouched. */
async function portable(source: unknown): Promise<{ value: unknown; transfer: Transferable[] }> {
  if (is(source, 'ImageData')) return { value: source, transfer: [] }; // copied by postMessage
  frameSize(source); // SOURCE_NOT_READY / INVALID_ARGUMENT here, before any copy
  if (is(source, 'VideoFrame')) {
    const copy = (source as VideoFrame).clone();
    return { value: copy, transfer: [copy] };
  }
  try {
    const bitmap = await createImageBitmap(source as ImageBitmapSource);
    return { value: bitmap, transfer: [bitmap] };
  } catch (cause) {
    throw new ShopfloorError('INVALID_ARGUMENT', `the frame cannot be copied for the worker: ${messageOf(cause)}`, { cause });
  }
}

const absolute = (u: string | URL) => new URL(u, globalThis.location?.href).href;

/** What every remote create takes besides its own options. */
interface CreateOptions {
  onProgress?: (p: LoadProgress) => void;
  signal?: AbortSignal;
  worker?: boolean;
  model?: unknown;
  partials?: boolean;
}

/** Options that can cross to the worker: URLs made absolute, callbacks and signals replaced by flags. */
function portableOptions(options: CreateOptions | undefined): PortableOptions {
  const { onProgress, signal, worker: _, ...rest } = options ?? {};
  const out: PortableOptions = { ...rest, hasProgress: typeof onProgress === 'function', hasSignal: !!signal };
  if (typeof rest.model === 'string' || rest.model instanceof URL) out.model = absolute(rest.model);
  else if (rest.model && typeof rest.model === 'object') out.model = { ...rest.model, baseUrl: absolute((rest.model as { baseUrl?: string }).baseUrl ?? '.') };
  return out;
}

const registry = new FinalizationRegistry<HandleId>((handle) => send({ op: 'free', handle }));

/** Creates `kind` in the worker; `source` is Model.load's first argument. */
export async function createRemote(kind: Kind, options: object | undefined, source?: unknown): Promise<RemoteObject> {
  const opts = options as CreateOptions | undefined;
  const { signal, onProgress } = opts ?? {};
  if (signal?.aborted) throw new ShopfloorError('ABORTED', 'the load was aborted before it started');
  let src = source;
  if (typeof source === 'string' || source instanceof URL) src = absolute(source);
  let sentId: number | undefined;
  const onAbort = () => send({ op: 'abort', target: sentId });
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const { handle, props } = await request<Created>({ op: 'create', kind, source: src, options: portableOptions(opts) }, [], {
      onProgress,
      onSent: (id) => (sentId = id),
    });
    if (kind === 'VoiceCommands') return new RemoteStream(kind, handle, props, new CommandListeners());
    if (kind === 'Transcriber') return new RemoteStream(kind, handle, props, new DictationListeners(!!opts?.partials));
    return new RemoteObject(kind, handle, props);
  } finally {
    signal?.removeEventListener('abort', onAbort);
  }
}

/** The page's proxy of an object in the worker (its public shape is `Remote<T>`). */
export class RemoteObject {
  #handle: HandleId | null;
  #props: Record<string, unknown>;
  readonly kind: Kind;
  readonly worker = true;
  [method: string]: unknown;

  constructor(kind: Kind, handle: HandleId, props: Record<string, unknown>) {
    this.#handle = handle;
    this.#props = props;
    this.kind = kind;
    registry.register(this, handle, this);
    for (const p of LIVE_PROPS[kind] ?? []) Object.defineProperty(this, p, { get: () => this.#props[p], enumerable: true });
    for (const m of METHODS[kind]) this[m] = (...args: unknown[]) => this._call(m, args);
  }

  async _call(method: string, args: unknown[]): Promise<unknown> {
    if (this.#handle === null) throw new ShopfloorError('INVALID_ARGUMENT', `this ${this.kind} was freed: create it again`);
    const transfer: Transferable[] = [];
    const sent = [...args];
    const at = FRAME_ARGS[method];
    if (at !== undefined) {
      const { value, transfer: t } = await portable(args[at]);
      sent[at] = value;
      transfer.push(...t);
    }
    const { result, props } = await request<CallResult>({ op: 'call', handle: this.#handle, method, args: sent }, transfer);
    this.#props = props;
    return result;
  }

  free(): void {
    if (this.#handle === null) return;
    registry.unregister(this);
    send({ op: 'free', handle: this.#handle });
    this.#handle = null;
  }
}

type Call = (...args: unknown[]) => Promise<unknown>;

/** VoiceCommands and Transcriber in the worker: events are emitted here, from what each call settled. */
class RemoteStream extends RemoteObject {
  #listeners: Listeners;
  constructor(kind: Kind, handle: HandleId, props: Record<string, unknown>, listeners: Listeners) {
    super(kind, handle, props);
    this.#listeners = listeners;
    for (const m of ['feed', 'finish']) {
      const call = this[m] as Call;
      this[m] = (...args: unknown[]) => call(...args).then((events) => this.#listeners.emit(events as { type: string }[]));
    }
  }
  on(type: string, listener: (e: never) => void): () => void {
    return this.#listeners.on(type, listener);
  }
  off(type: string, listener: (e: never) => void): void {
    this.#listeners.off(type, listener);
  }
  listen(mic: { on?: unknown; sampleRate?: number }): () => void {
    if (!mic || typeof mic.on !== 'function') throw new ShopfloorError('INVALID_ARGUMENT', 'listen() takes a MicrophoneStream (MicrophoneStream.open())');
    const source = mic as { on(type: 'data', l: (samples: Float32Array) => void): () => void; sampleRate: number };
    return source.on('data', (samples) => (this.feed as Call)(samples, source.sampleRate).catch((error: unknown) => this.#listeners.error(error)));
  }
}
