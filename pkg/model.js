// `Model`: load an ONNX model from a URL or bytes, describe it, run it.
import { lookup, sha256Hex, store, digestHex } from './cache.js';
import { call, callAsync, init, ShopfloorError } from './core.js';
import { createRemote } from './remote.js';

// Frees the wasm side of models the caller forgot to free().
const finalizer = new FinalizationRegistry((inner) => {
  try {
    inner.free();
  } catch {
    // already freed
  }
});

const TYPED = { f32: Float32Array, i32: Int32Array, i64: BigInt64Array, u8: Uint8Array, bool: Uint8Array };

export class Model {
  #inner;
  #inputs;
  #outputs;

  constructor(inner) {
    if (!inner || typeof inner.run !== 'function') {
      throw new ShopfloorError('INVALID_ARGUMENT', 'use `await Model.load(source, options)` to create a Model');
    }
    this.#inner = inner;
    this.#inputs = Object.freeze(call(() => inner.inputs()));
    this.#outputs = Object.freeze(call(() => inner.outputs()));
    finalizer.register(this, inner, this);
  }

  /** See index.d.ts. */
  static async load(source, options = {}) {
    if (options?.worker) return createRemote('Model', options, source);
    const glue = await init();
    const { backend = 'auto', sha256, inputShapes, maxTensorBytes, planCacheSize, allowNonFinite } = options ?? {};
    if (sha256 !== undefined && typeof sha256 !== 'string') {
      throw new ShopfloorError('INVALID_ARGUMENT', 'sha256 must be a string: 64 hex digits or "sha256-<base64>"');
    }
    const bytes = await readSource(source, options ?? {});
    const opts = { backend, sha256, inputShapes, maxTensorBytes, planCacheSize, allowNonFinite };
    for (const k of Object.keys(opts)) if (opts[k] === undefined) delete opts[k];
    return new Model(await callAsync(() => glue.WasmModel.load(bytes, opts), 'Model.load'));
  }

  get inputs() {
    return this.#inputs;
  }

  get outputs() {
    return this.#outputs;
  }

  info() {
    return call(() => this.#live().info(), 'model.info()');
  }

  async run(feeds) {
    const inner = this.#live();
    if (feeds === null || typeof feeds !== 'object' || Array.isArray(feeds)) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'run() takes an object mapping input names to tensors { dims, data }');
    }
    return callAsync(() => inner.run(feeds), 'model.run()');
  }

  /** Releases the model's memory now. Further calls reject with INVALID_ARGUMENT. */
  free() {
    if (!this.#inner) return;
    finalizer.unregister(this);
    const inner = this.#inner;
    this.#inner = null;
    inner.free();
  }

  #live() {
    if (!this.#inner) throw new ShopfloorError('INVALID_ARGUMENT', 'this model was freed: load it again');
    return this.#inner;
  }
}

/** A tensor from typed-array data: `tensor('f32', [1, 3], [1, 2, 3])`. */
export function tensor(dtype, dims, data) {
  const T = TYPED[dtype];
  if (!T) throw new ShopfloorError('INVALID_ARGUMENT', `dtype "${dtype}" is not one of ${Object.keys(TYPED).join(', ')}`);
  const arr = data instanceof T ? data : T.from(data, dtype === 'i64' ? (x) => BigInt(x) : undefined);
  return { dims: [...dims], data: arr, dtype };
}

export async function readSource(source, { onProgress, signal, sha256, cache = true }) {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  if (ArrayBuffer.isView(source)) return new Uint8Array(source.buffer, source.byteOffset, source.byteLength);
  if (typeof source !== 'string' && !(source instanceof URL)) {
    throw new ShopfloorError('INVALID_ARGUMENT', 'Model.load takes a URL (string or URL), an ArrayBuffer or a Uint8Array');
  }
  // With a sha256 the bytes are their own cache key: read them from the Cache API when present
  // and intact, and keep a verified download for the next page load.
  const hex = cache === false ? null : sha256Hex(sha256);
  if (hex) {
    const cached = await lookup(hex, () => console.warn(`shopfloor: the cached copy of ${source} (sha256 ${hex}) was corrupt; fetching it again`));
    if (cached) {
      if (typeof onProgress === 'function') onProgress({ loaded: cached.byteLength, total: cached.byteLength, fromCache: true });
      return cached;
    }
  }
  const bytes = await download(source, { onProgress, signal });
  if (hex && (await digestHex(bytes)) === hex) await store(hex, bytes);
  return bytes;
}

async function download(source, { onProgress, signal }) {
  let response;
  try {
    response = await fetch(source, { signal });
  } catch (cause) {
    if (cause?.name === 'AbortError') throw new ShopfloorError('ABORTED', `loading ${source} was aborted`, { cause });
    throw new ShopfloorError('FETCH_FAILED', `could not fetch ${source}: ${cause?.message ?? cause}`, { cause });
  }
  if (!response.ok) {
    throw new ShopfloorError('FETCH_FAILED', `fetching ${source} answered HTTP ${response.status} ${response.statusText}: check the model URL`);
  }
  const total = Number(response.headers.get('content-length')) || 0;
  const cut = (cause) =>
    cause?.name === 'AbortError'
      ? new ShopfloorError('ABORTED', `loading ${source} was aborted`, { cause })
      : new ShopfloorError('FETCH_FAILED', `the download of ${source} broke off (${cause?.message ?? cause}): check the connection and load it again`, { cause });
  if (!response.body || typeof onProgress !== 'function') {
    try {
      return new Uint8Array(await response.arrayBuffer());
    } catch (cause) {
      throw cut(cause);
    }
  }
  const reader = response.body.getReader();
  const chunks = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.byteLength;
      onProgress({ loaded, total, fromCache: false });
    }
  } catch (cause) {
    throw cut(cause);
  }
  if (total && loaded !== total) {
    throw new ShopfloorError('FETCH_FAILED', `${source} ended after ${loaded} of ${total} bytes: the download was cut`);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const c of chunks) {
    bytes.set(c, at);
    at += c.byteLength;
  }
  return bytes;
}
