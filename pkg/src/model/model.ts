// The public types of `Model`: tensors, what a model describes of itself, load options.
// Implemented in model-impl.ts.

/** Element types of tensors. `bool` data is a `Uint8Array` of 0/1. */
export type DType = 'f32' | 'i32' | 'i64' | 'u8' | 'bool';

/** The typed array that holds each dtype. */
export interface DTypeArrays {
  f32: Float32Array;
  i32: Int32Array;
  i64: BigInt64Array;
  u8: Uint8Array;
  bool: Uint8Array;
}

/**
 * A dense row-major tensor. `data.length` must equal the product of `dims`. `dtype` is optional
 * on inputs (taken from the typed array; set `"bool"` to pass a `Uint8Array` as booleans) and
 * always present on outputs.
 */
export interface Tensor<D extends DType = DType> {
  dims: number[];
  data: DTypeArrays[D];
  dtype?: D;
}

/** A model input or output. Symbolic dimensions are their names (e.g. `"batch"`, `"height"`). */
export interface IoInfo {
  name: string;
  /** The dtype to pass or expect; `null` when the model leaves it open. */
  dtype: DType | null;
  /** The model's own element type (`"f32"`, `"f16"`, `"i64"`…): non-public types are converted. */
  modelDtype: string | null;
  /** `null` when even the rank is unknown. */
  shape: (number | string)[] | null;
}

export interface OpInfo {
  count: number;
  backend: 'cpu' | 'webgpu';
}

/** What `model.info()` reports. */
export interface ModelInfo {
  backend: 'cpu' | 'webgpu';
  /** Why this backend was chosen (for `"auto"`, the decision and its reason). */
  backendReason: string;
  opset: number;
  producer: string;
  nodeCount: number;
  parameterCount: number;
  /** ONNX op types with their counts and the backend each runs on. */
  ops: Record<string, OpInfo>;
  /** What the loader adjusted so the file runs as onnxruntime runs it. */
  loaderFixes: string[];
  /**
   * `"static"`: one plan compiled at load. `"per-shape"`: compiled per input shape, cached.
   * `"per-value"`: also per value of the small integer or bool inputs that pick an `If`'s branch
   * (Silero VAD's `sr`): only the branch taken is compiled, cached like shapes.
   */
  plan: 'static' | 'per-shape' | 'per-value';
  cachedPlans: number;
  /**
   * Threaded build, CPU models: where the latest plan's runs go, decided after its first runs
   * measured both ways and measured again every 60 runs, or at once when the chosen way's latest
   * runs have become 1.25 times slower than the other way's (what else runs in the page changes
   * which is faster). `"pool"`: the Web Worker pool, each layer split over its threads; `"bands"`: for a
   * small CNN whose first layers run as two bands of the image rows side by side, one on the
   * calling thread and one on a pool thread; `"inline"`: the calling thread on one core, measured faster for this small
   * model (only ever chosen for runs of a few milliseconds). Absent while first measuring and on
   * one thread.
   */
  cpuPlacement?: 'pool' | 'bands' | 'inline';
  /** The WebGPU plan, present when the model runs on the GPU. */
  gpu?: GpuPlanInfo;
  /** sha256 of the model bytes (hex). */
  sha256: string;
  byteLength: number;
}

/** How a model runs on the GPU. */
export interface GpuPlanInfo {
  /** Compute dispatches per run (all in one command buffer, one submit). */
  dispatches: number;
  /** Dispatches per kernel family, e.g. `{ conv: 6, elementwise: 99, matmul: 42 }`. */
  kernels: Record<string, number>;
  /** Weights uploaded once at load. */
  weightBytes: number;
  /** Activation memory after liveness pooling. */
  activationBytes: number;
  /** What one buffer per intermediate tensor would have taken. */
  unpooledActivationBytes: number;
  /** The adapter's name (browsers may leave it empty). */
  adapter: string;
}

export interface LoadProgress {
  loaded: number;
  /** 0 when the server sends no Content-Length. */
  total: number;
  /** True when the bytes came from the model cache (one event, `loaded === total`). */
  fromCache: boolean;
}

/** How files named by URL are fetched: progress, abort, cache. Part of every load's options. */
export interface FetchOptions {
  /** URL downloads: called as bytes arrive. */
  onProgress?: (progress: LoadProgress) => void;
  /** URL downloads: abort the fetch (rejects with `ABORTED`). */
  signal?: AbortSignal;
  /**
   * URL downloads with a `sha256`: keep the model in the Cache API under its hash and read it from
   * there next time (default true). See `modelCache`.
   */
  cache?: boolean;
}

/** Where a model runs: see `LoadOptions.backend`. */
export type BackendChoice = 'auto' | 'cpu' | 'webgpu';

export interface LoadOptions extends FetchOptions {
  /** Run the model in the SDK's Web Worker (see `Remote`); default false. */
  worker?: boolean;
  /**
   * `"auto"` (default): WebGPU only when the whole graph has GPU kernels and a short measured warm-up
   * of both paths on this device favours it (the decision and timings are in `info().backendReason`);
   * `"cpu"`; `"webgpu"`: rejects with `BACKEND_UNAVAILABLE` saying why where it cannot run (no adapter,
   * an op without a GPU kernel). With symbolic input dims and no `inputShapes`, the GPU plan (and
   * `"auto"`'s measurement) is made per input shape at the first run at each, so an op without a GPU
   * kernel then rejects that `run` instead of the load.
   */
  backend?: BackendChoice;
  /** Refuse the bytes unless their sha256 matches: 64 hex digits or `"sha256-<base64>"`. */
  sha256?: string;
  /** Pins input shapes by name; symbolic dims take these values and the plan is compiled at load. */
  inputShapes?: Record<string, number[]>;
  /** Largest tensor (weight or input) accepted, in bytes. Default 1 GiB. Larger: `RESOURCE_LIMIT`. */
  maxTensorBytes?: number;
  /**
   * Plans kept for models with symbolic input dims (one per distinct input shape, or value of an
   * input that decides a shape or branch), on the CPU and on WebGPU each. Default 8.
   */
  planCacheSize?: number;
  /**
   * Accept NaN and ±Infinity in float inputs. Default false: `run` rejects them with
   * `INPUT_MISMATCH` naming the input and the element (they silently poison every output).
   */
  allowNonFinite?: boolean;
}
