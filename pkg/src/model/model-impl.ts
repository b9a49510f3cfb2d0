// `Model`: load an ONNX model from a URL or bytes, describe it, run it.
import { call, callAsync, defined } from '../call.js';
import { ShopfloorError } from '../errors.js';
import { Handle } from '../handle.js';
import { createRemote } from '../remote/remote-impl.js';
import type { InWorker, Remote } from '../remote/remote.js';
import { instanceWith, stopWarmUp } from '../runtime-impl.js';
import type { WasmModel } from '../wasm/shopfloor.js';
import type { DType, DTypeArrays, IoInfo, LoadOptions, ModelInfo, Tensor } from './model.js';
import { nativeDigest } from './cache.js';
import { readSourceHashed } from './source.js';

type TypedArrayClass = { from(data: ArrayLike<number>, map?: (x: number) => unknown): DTypeArrays[DType] };
const TYPED: Record<DType, TypedArrayClass & (abstract new (...a: never[]) => DTypeArrays[DType])> = {
  f32: Float32Array,
  i32: Int32Array,
  i64: BigInt64Array as unknown as TypedArrayClass & (abstract new (...a: never[]) => BigInt64Array),
  u8: Uint8Array,
  bool: Uint8Array,
};

/** What a model file may be given as. */
export type ModelSource = string | URL | ArrayBuffer | ArrayBufferView;

/**
 * An ONNX model loaded into the SDK.
 *
 * Errors: `MODEL_INVALID` (not ONNX, truncated, corrupt), `UNSUPPORTED_OP` (names the op type and
 * node), `INPUT_MISMATCH` (names the input; expected vs given dtype/shape), `INTEGRITY_MISMATCH`,
 * `BACKEND_UNAVAILABLE`, `RESOURCE_LIMIT`, `FETCH_FAILED`, `ABORTED`, `INVALID_ARGUMENT`, `BUSY`.
 */
export class Model extends Handle {
  readonly #inputs: readonly IoInfo[];
  readonly #outputs: readonly IoInfo[];

  private constructor(inner: WasmModel) {
    if (!inner || typeof inner.run !== 'function') {
      throw new ShopfloorError('INVALID_ARGUMENT', 'use `await Model.load(source, options)` to create a Model');
    }
    super(inner);
    this.#inputs = Object.freeze(call(() => inner.inputs() as IoInfo[]));
    this.#outputs = Object.freeze(call(() => inner.outputs() as IoInfo[]));
  }

  /** The wasm object (`INVALID_ARGUMENT` once freed). */
  get #inner(): WasmModel {
    return this._inner as WasmModel;
  }

  /**
   * Loads a model from a URL (fetched with progress), an `ArrayBuffer` or a `Uint8Array`.
   * The only network request the SDK makes is this fetch of the URL you give.
   */
  static load(source: ModelSource, options: LoadOptions & InWorker): Promise<Remote<Model>>;
  static load(source: ModelSource, options?: LoadOptions): Promise<Model>;
  static async load(source: ModelSource, options: LoadOptions = {}): Promise<Model | Remote<Model>> {
    if (options?.worker) return createRemote('Model', options, source) as unknown as Promise<Remote<Model>>;
    const { backend = 'auto', sha256, inputShapes, maxTensorBytes, planCacheSize, allowNonFinite } = options ?? {};
    if (sha256 !== undefined && typeof sha256 !== 'string') {
      throw new ShopfloorError('INVALID_ARGUMENT', 'sha256 must be a string: 64 hex digits or "sha256-<base64>"');
    }
    // Hashed once by the browser's native SHA-256 (Chromium runs it on this thread: ~30 ms for
    // 18 MB, still faster than wasm), as soon as the bytes are in, so while the module may still
    // be compiling: the core reports (and checks a pinned sha256 against) this digest instead of
    // hashing the bytes in wasm.
    const read = readSourceHashed(source, options ?? {}).then(async (r) => ({ bytes: r.bytes, digest: r.digest ?? (await nativeDigest(r.bytes)) }));
    const [glue, { bytes, digest }] = await instanceWith(read);
    const opts = defined({ backend, sha256, inputShapes, maxTensorBytes, planCacheSize, allowNonFinite, digest });
    stopWarmUp();
    return new Model(await callAsync(() => glue.WasmModel.load(bytes, opts), 'Model.load'));
  }

  /** The model's inputs, in order. */
  get inputs(): readonly IoInfo[] {
    return this.#inputs;
  }

  /** The model's outputs, in order. */
  get outputs(): readonly IoInfo[] {
    return this.#outputs;
  }

  /** Op histogram, parameter count, backend per op, loader fixes, plan cache state. */
  info(): ModelInfo {
    return call(() => this.#inner.info() as ModelInfo, 'model.info()');
  }

  /**
   * Runs the model. Every input must be given, by name. Models with symbolic dimensions run at
   * any concrete shape (a plan is compiled per shape and cached). Rejects with `BUSY` while a
   * previous run of this model is pending. If the GPU device is lost, the model moves to the CPU
   * for good and this run still answers (`info().backendReason` says so).
   */
  async run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor & { dtype: DType }>> {
    const inner = this.#inner;
    if (feeds === null || typeof feeds !== 'object' || Array.isArray(feeds)) {
      throw new ShopfloorError('INVALID_ARGUMENT', 'run() takes an object mapping input names to tensors { dims, data }');
    }
    return callAsync(() => inner.run(feeds) as Promise<Record<string, Tensor & { dtype: DType }>>, 'model.run()');
  }

  protected override _freedMessage(): string {
    return 'this model was freed: load it again';
  }
}

/** Builds a tensor, converting plain arrays: `tensor('f32', [1, 3], [0.1, 0.2, 0.3])`. */
export function tensor<D extends DType>(dtype: D, dims: readonly number[], data: DTypeArrays[D] | ArrayLike<number>): Tensor<D> & { dtype: D } {
  const T = TYPED[dtype];
  if (!T) throw new ShopfloorError('INVALID_ARGUMENT', `dtype "${dtype}" is not one of ${Object.keys(TYPED).join(', ')}`);
  const arr = data instanceof T ? data : T.from(data as ArrayLike<number>, dtype === 'i64' ? (x) => BigInt(x) : undefined);
  return { dims: [...dims], data: arr as DTypeArrays[D], dtype };
}
