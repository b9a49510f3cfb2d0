/**
 * shopfloor: image (CNN) and speech models inside the browser, on the GPU through WebGPU or on
 * the CPU through WebAssembly SIMD. Camera frames and audio never leave the device.
 */

/** Stable error codes: `switch (err.code)` on them. */
export type ErrorCode =
  | 'MODEL_INVALID'
  | 'UNSUPPORTED_OP'
  | 'INPUT_MISMATCH'
  | 'INTEGRITY_MISMATCH'
  | 'BACKEND_UNAVAILABLE'
  | 'RESOURCE_LIMIT'
  | 'INVALID_ARGUMENT'
  | 'BUSY'
  | 'FETCH_FAILED'
  | 'ABORTED'
  | 'SOURCE_NOT_READY'
  | 'TAINTED_SOURCE'
  | 'PERMISSION_DENIED'
  | 'INTERNAL';

/** Every error the SDK throws or rejects with. The message says what to fix. */
export class ShopfloorError extends Error {
  readonly name: 'ShopfloorError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
}

export interface InitOptions {
  /** Where to load the single-thread wasm from; defaults to `wasm/shopfloor_bg.wasm` next to this module. */
  wasm?: string | URL | Request | Response | BufferSource | WebAssembly.Module;
  /**
   * Where to load the threaded wasm from; defaults to `wasm-mt/shopfloor_bg.wasm` next to this
   * module. When `wasm` is given without it, the page runs on one thread.
   */
  wasmThreads?: string | URL | Request | Response | BufferSource | WebAssembly.Module;
  /**
   * Threads for CPU inference. `'auto'` (default): the cores the browser reports, at most 8.
   * A number (1-64): that many. Threads need a cross-origin isolated page (served with
   * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`);
   * elsewhere the SDK runs on one thread and `backends().cpu.threadsReason` says why. Anything
   * else rejects with `INVALID_ARGUMENT`.
   */
  threads?: 'auto' | number;
}

/**
 * Loads and instantiates the wasm module: the threaded build on a cross-origin isolated page
 * (a pool of Web Workers runs tract's kernels; the main thread never blocks), the single-thread
 * build elsewhere. Idempotent: later calls return the first promise, whatever their options.
 * Every other function calls it, so calling it yourself is only needed to load early, to choose
 * `threads` or to load from a custom location. Rejects with `BACKEND_UNAVAILABLE` if the module
 * cannot be fetched or compiled, `INVALID_ARGUMENT` for a bad `threads`.
 */
export function init(options?: InitOptions): Promise<void>;

/** The SDK version, e.g. `"0.1.0"`. */
export function version(): Promise<string>;

/** The CPU backend: tract's optimised plan compiled to wasm. */
export interface CpuBackendInfo {
  available: true;
  /** SIMD the module was compiled with: `"simd128"` or `"relaxed-simd"` in browsers. */
  simd: string;
  /** Threads CPU inference uses (1: the single-thread build, or a pool that was not started). */
  threads: number;
  /**
   * Why that many, e.g. `"a pool of 4 Web Workers ('auto': 4 cores reported, at most 8)"` or
   * `"the page is not cross-origin isolated: serve it with COOP ... to enable threads"`.
   */
  threadsReason: string;
}

/** A WebGPU adapter, as wgpu and the browser describe it. */
export interface GpuAdapterInfo {
  /** Description, or vendor + architecture when the browser hides the description. */
  name: string;
  /** `"discrete" | "integrated" | "virtual" | "cpu" | "other"`; `"cpu"` is a software adapter. */
  deviceType: 'discrete' | 'integrated' | 'virtual' | 'cpu' | 'other';
  /** `"webgpu"` in browsers; `"vulkan"`, `"metal"`, `"dx12"` or `"gl"` natively. */
  api: string;
  driver: string;
  /** True for software adapters (e.g. SwiftShader): correct but slow. */
  isFallbackAdapter: boolean;
  subgroups: boolean;
  shaderF16: boolean;
  timestampQuery: boolean;
  subgroupMinSize: number;
  subgroupMaxSize: number;
  maxBufferSize: number;
  maxStorageBufferBindingSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  /** From the browser's `GPUAdapterInfo`, when it tells. */
  vendor?: string;
  architecture?: string;
  device?: string;
}

export interface GpuBackendStatus {
  available: boolean;
  /** Present when `available`. */
  adapter?: GpuAdapterInfo;
  /** Present when not `available`: why, and what the user can do about it. */
  reason?: string;
}

export interface Backends {
  cpu: CpuBackendInfo;
  webgpu: GpuBackendStatus;
}

/**
 * Which backends this browser offers. Never rejects for a missing GPU: `webgpu.available` is
 * false and `webgpu.reason` says why.
 */
export function backends(): Promise<Backends>;

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

/** Builds a tensor, converting plain arrays: `tensor('f32', [1, 3], [0.1, 0.2, 0.3])`. */
export function tensor<D extends DType>(dtype: D, dims: readonly number[], data: DTypeArrays[D] | ArrayLike<number>): Tensor<D> & { dtype: D };

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
   * measured both ways. `"pool"`: the Web Worker pool; `"inline"`: the calling thread on one core,
   * measured faster for this small model (only ever chosen for runs of a few milliseconds).
   * Absent while measuring and on one thread.
   */
  cpuPlacement?: 'pool' | 'inline';
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

/**
 * An object created with `{ worker: true }`: it lives in the SDK's Web Worker (`worker.js`, next
 * to `index.js`; one worker per page, shared by every such object) and the page holds this proxy.
 * Same members, but every method answers with a promise (`info()` included); properties
 * (`labels`, `inputs`, `commands`, `vadProbability`…) are mirrored after each call. Frames cross
 * as `ImageBitmap`/`VideoFrame` copies transferred without a further copy (the caller's source is
 * left untouched), results come back transferred. Calls on one object run in order (no `BUSY`).
 * Needs a module worker from the page's origin (CSP `worker-src 'self'`, the default of
 * `default-src 'self'`); `BACKEND_UNAVAILABLE` where there is none.
 */
export type Remote<T> = {
  readonly [K in keyof T]: K extends 'free' | 'on' | 'off' | 'listen'
    ? T[K]
    : T[K] extends (...args: infer A) => infer R
      ? (...args: A) => Promise<Awaited<R>>
      : T[K];
} & { readonly worker: true; readonly kind: string };

/** `{ worker: true }`: create the object in the SDK's Web Worker (see `Remote`). */
export interface InWorker {
  worker: true;
}

export interface LoadOptions {
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
  backend?: 'auto' | 'cpu' | 'webgpu';
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

/**
 * An ONNX model loaded into the SDK.
 *
 * Errors: `MODEL_INVALID` (not ONNX, truncated, corrupt), `UNSUPPORTED_OP` (names the op type and
 * node), `INPUT_MISMATCH` (names the input; expected vs given dtype/shape), `INTEGRITY_MISMATCH`,
 * `BACKEND_UNAVAILABLE`, `RESOURCE_LIMIT`, `FETCH_FAILED`, `ABORTED`, `INVALID_ARGUMENT`, `BUSY`.
 */
export class Model {
  private constructor();
  /**
   * Loads a model from a URL (fetched with progress), an `ArrayBuffer` or a `Uint8Array`.
   * The only network request the SDK makes is this fetch of the URL you give.
   */
  static load(source: string | URL | ArrayBuffer | ArrayBufferView, options: LoadOptions & InWorker): Promise<Remote<Model>>;
  static load(source: string | URL | ArrayBuffer | ArrayBufferView, options?: LoadOptions): Promise<Model>;
  /** The model's inputs, in order. */
  readonly inputs: readonly IoInfo[];
  /** The model's outputs, in order. */
  readonly outputs: readonly IoInfo[];
  /** Op histogram, parameter count, backend per op, loader fixes, plan cache state. */
  info(): ModelInfo;
  /**
   * Runs the model. Every input must be given, by name. Models with symbolic dimensions run at
   * any concrete shape (a plan is compiled per shape and cached). Rejects with `BUSY` while a
   * previous run of this model is pending. If the GPU device is lost, the model moves to the CPU
   * for good and this run still answers (`info().backendReason` says so).
   */
  run(feeds: Record<string, Tensor>): Promise<Record<string, Tensor & { dtype: DType }>>;
  /** Releases the model now (a FinalizationRegistry also frees forgotten models). Later calls throw `INVALID_ARGUMENT`. */
  free(): void;
}

export interface MemoryStats {
  /** Models loaded and not yet freed (by `free()` or the FinalizationRegistry). */
  liveModels: number;
  /** Size of the wasm linear memory (it grows, never shrinks). */
  wasmMemoryBytes: number;
  /** Bytes allocated on the wasm heap and not yet freed: returns to its level when models are freed. */
  heapBytes: number;
  /** GPU buffers held by live WebGPU plans (destroyed when their model is freed). */
  gpuBuffers: number;
}

/** Memory the SDK holds, for leak checks in long-running pages. */
export function memoryStats(): Promise<MemoryStats>;

// ───────────────────────────── Vision ─────────────────────────────

/**
 * A camera frame or picture. Pixels are read on this device (through a canvas) and never sent
 * anywhere. Errors: `SOURCE_NOT_READY` (a video with no frame yet, an image still loading),
 * `TAINTED_SOURCE` (cross-origin pixels without CORS), `INVALID_ARGUMENT` (a closed bitmap or
 * `VideoFrame`, a canvas transferred offscreen, a 0 × 0 canvas, anything else).
 */
export type FrameSource =
  | HTMLVideoElement
  | HTMLImageElement
  | HTMLCanvasElement
  | OffscreenCanvas
  | ImageBitmap
  | ImageData
  | VideoFrame;

/** Reads a frame source into RGBA `ImageData` (what every pipeline does first). */
export function readFrame(source: FrameSource): ImageData;

/** A model manifest (`models/cache/<model>/manifest.json`, written by the setup). */
export interface Manifest {
  task: 'classification' | 'face-detection' | 'object-detection' | 'text-reading';
  name: string;
  licence?: string;
  source?: string;
  /** For a manifest given as an object: the URL its model files are relative to. */
  baseUrl?: string;
  [key: string]: unknown;
}

export interface PipelineOptions {
  /** Run the pipeline in the SDK's Web Worker (see `Remote`); default false. */
  worker?: boolean;
  /** The URL of a `manifest.json`, or the manifest itself (with `baseUrl`). Model files are fetched relative to it and checked against its sha256. */
  model: string | URL | Manifest;
  /** As for `Model.load`. For `TextReader`, `"webgpu"` runs every model on the GPU at fixed shapes (see `TextReaderOptions.fixedSide`); `"auto"` keeps its lines on the CPU. */
  backend?: 'auto' | 'cpu' | 'webgpu';
  maxTensorBytes?: number;
  planCacheSize?: number;
  onProgress?: (progress: LoadProgress) => void;
  signal?: AbortSignal;
  /** Cache the manifest's model files under their sha256 (default true); see `modelCache`. */
  cache?: boolean;
}

/** A box in source pixels. */
export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface Classification {
  label: string;
  /** Probability, 0..1. */
  score: number;
  classIndex: number;
}

export interface Explanation extends Classification {
  /** The class activation map over the source frame: a blue→red overlay whose opacity follows the evidence; draw it over the frame. */
  heatmap: ImageData;
  /** The same map as numbers in 0..1, row-major, `heatmap.width × heatmap.height`. */
  heat: Float32Array;
}

/** Shared by every pipeline. */
declare class Pipeline {
  protected constructor();
  /** The `Model.info()` of the pipeline's model (an array of them for `TextReader`). */
  info(): ModelInfo | ModelInfo[];
  /** Releases the models now. Later calls throw `INVALID_ARGUMENT`. */
  free(): void;
}

/**
 * Image classification (EfficientNet-Lite0 on ImageNet by default in the demo). Pre-processing
 * (crop, resize, normalisation, layout) follows the manifest. Calls reject with `BUSY` while a
 * previous call on the same instance is pending.
 */
export class ImageClassifier extends Pipeline {
  static create(options: PipelineOptions & InWorker): Promise<Remote<ImageClassifier>>;
  static create(options: PipelineOptions): Promise<ImageClassifier>;
  readonly labels: readonly string[];
  /** Length of `embed`'s vectors (1280 for EfficientNet-Lite0). */
  readonly embeddingSize: number;
  /** The `topK` (default 5) most likely classes, best first. */
  classify(source: FrameSource, options?: { topK?: number }): Promise<Classification[]>;
  /** The L2-normalised penultimate features (1280 for EfficientNet-Lite0). */
  embed(source: FrameSource): Promise<Float32Array>;
  /** Where the evidence for `classIndex` (default: the top class) lies: a class activation map aligned to the source. */
  explain(source: FrameSource, classIndex?: number): Promise<Explanation>;
}

export interface Face {
  box: Box;
  score: number;
  /** Six [x, y] landmarks in source pixels: right eye, left eye, nose tip, mouth, right ear, left ear (the subject's right/left). */
  keypoints: [number, number][];
}

/** Face detection (MediaPipe BlazeFace): anchors, weighted NMS, boxes in source pixels. */
export class FaceDetector extends Pipeline {
  static create(options: PipelineOptions & InWorker): Promise<Remote<FaceDetector>>;
  static create(options: PipelineOptions): Promise<FaceDetector>;
  detect(source: FrameSource): Promise<Face[]>;
  /** Overrides the manifest's score (default 0.5) and IoU (0.3) thresholds; values in 0..1. */
  setThresholds(thresholds: { score?: number; iou?: number }): void;
}

export interface Detection {
  box: Box;
  score: number;
  classIndex: number;
  label: string;
}

/** YOLO-style (`[1, 4+C, N]` / `[1, N, 4(+1)+C]`) or SSD-style (boxes + scores) heads, per the manifest's `decoder`; per-class NMS. */
export class ObjectDetector extends Pipeline {
  static create(options: PipelineOptions & InWorker): Promise<Remote<ObjectDetector>>;
  static create(options: PipelineOptions): Promise<ObjectDetector>;
  detect(source: FrameSource): Promise<Detection[]>;
}

export interface TextLine {
  text: string;
  /** Mean of the characters' confidences. */
  confidence: number;
  /** Corners in source pixels: top-left, top-right, bottom-right, bottom-left. */
  box: [[number, number], [number, number], [number, number], [number, number]];
  chars: { char: string; confidence: number }[];
  /** Whether the orientation classifier turned the line 180° before reading it. */
  rotated: boolean;
}

export interface TextReaderOptions extends PipelineOptions {
  /**
   * Letterbox every frame into one `fixedSide × fixedSide` detector input (32..4096, rounded up
   * to a multiple of 32) instead of a size that follows the frame's. A GPU plan has one shape,
   * so on `"webgpu"` it defaults to the manifest's `limitSide` (960): set it to the camera's
   * longer side to neither shrink nor enlarge frames. Out of range: `INVALID_ARGUMENT`.
   */
  fixedSide?: number;
}

/**
 * Text reading (PP-OCRv4): DB boxes, upright crops, 0°/180° classifier, CTC decoding. Lines top
 * to bottom. On `"webgpu"` the detector runs at `fixedSide`², and lines are read by one
 * recogniser model per width bucket (320, 480, 640, 960, 1280, 1600 pixels), each loaded the
 * first time a line needs it.
 */
export class TextReader extends Pipeline {
  static create(options: TextReaderOptions & InWorker): Promise<Remote<TextReader>>;
  static create(options: TextReaderOptions): Promise<TextReader>;
  read(source: FrameSource): Promise<TextLine[]>;
}

/** Frames → feature vectors for a trainable head (a classifier's pooled penultimate layer). */
export class Embedder {
  constructor(classifier: ImageClassifier | Remote<ImageClassifier>);
  static create(options: PipelineOptions): Promise<Embedder>;
  /** Feature size. */
  readonly size: number;
  embed(source: FrameSource): Promise<Float32Array>;
  free(): void;
}

export interface SvmPrediction {
  label: string;
  classIndex: number;
  /** The winning class's decision value `w·x + b` (positive: on its side of the margin). */
  decision: number;
  /** Every class's decision value, best first. */
  scores: { label: string; decision: number }[];
}

export interface SvmTrainReport {
  examples: number;
  classes: number;
  iterations: number;
  converged: boolean;
}

export interface SvmOptions {
  /** With an embedder, examples and predictions take frames. */
  embedder?: Embedder;
  /** Feature size when there is no embedder. */
  dim?: number;
  /** Inverse regularisation (default 1). */
  c?: number;
  tolerance?: number;
  maxIterations?: number;
}

/**
 * A one-vs-rest linear SVM (squared hinge, L2; scikit-learn `LinearSVC`'s defaults) trained in
 * wasm by dual coordinate descent. It keeps its examples, so `toJSON()` can be stored (e.g. in
 * IndexedDB) and training resumed after `fromJSON`.
 */
export class LinearSvm {
  private constructor();
  static create(options: SvmOptions): Promise<LinearSvm>;
  static fromJSON(json: string | object, options?: { embedder?: Embedder }): Promise<LinearSvm>;
  addExample(source: FrameSource | Float32Array | number[], label: string): Promise<void>;
  /** Trains on every example so far; needs at least 2 classes. */
  train(): SvmTrainReport;
  predict(source: FrameSource | Float32Array | number[]): Promise<SvmPrediction>;
  readonly classes: string[];
  readonly counts: Record<string, number>;
  readonly trained: boolean;
  toJSON(): object;
  free(): void;
}

/**
 * Draws `source` on `canvas` with every detected face blurred (for portals that store or stream
 * frames); resolves to the faces. `margin` widens each box (default 0.2); `radius` is the blur in
 * pixels (default: a sixth of the face).
 */
export function blurFaces(
  source: FrameSource,
  canvas: HTMLCanvasElement | OffscreenCanvas,
  options: { detector: FaceDetector | Remote<FaceDetector>; radius?: number; margin?: number },
): Promise<Face[]>;

// ---- Speech ------------------------------------------------------------------------------------

/** Options for `VoiceCommands.create`. */
export interface VoiceCommandsOptions {
  /** URL of the voice-command manifest (`models/speech/manifest.json`) or the object with `baseUrl`. */
  model: string | URL | (Record<string, unknown> & { baseUrl?: string });
  backend?: 'auto' | 'cpu' | 'webgpu';
  /**
   * Which commands to listen for: names from the manifest's grammar ("stop", "line two") or new
   * sequences of its vocabulary words ("stop line two"). Default: all of the manifest's.
   */
  commands?: string[];
  /** Path score to fire at (default: the manifest's); higher means fewer false alarms, more misses. */
  threshold?: number;
  /** Silero VAD settings (defaults: Silero's own). */
  vad?: VadOptions;
  /**
   * A command stands only when said on its own: `before` speech-free seconds before it (default
   * 0.5) and the speech stopping within `after` seconds after it (default 0.5; the event comes
   * when it does). 0 turns that side off; each in [0, 3], else `INVALID_ARGUMENT`.
   */
  pause?: { before?: number; after?: number };
  signal?: AbortSignal;
  /** Run the pipeline in the SDK's Web Worker (see `Remote`); events are still emitted on this thread. */
  worker?: boolean;
}

export interface VadOptions {
  /** Speech starts above this probability (default 0.5). */
  threshold?: number;
  /** …and ends after `minSilenceSeconds` below this one (default 0.35). */
  negThreshold?: number;
  /** Shorter segments are dropped (default 0.25 s). */
  minSpeechSeconds?: number;
  minSilenceSeconds?: number;
}

/** A detected command; times in seconds since the stream began. */
export interface CommandEvent {
  type: 'command';
  command: string;
  /** Mean posterior of the command's words over the frames Viterbi gave them (0-1). */
  confidence: number;
  start: number;
  end: number;
  /** Stream time at which it was decided: `decidedAt - end` is the latency. */
  decidedAt: number;
}

export type VadEvent = { type: 'speechStart'; time: number } | { type: 'speechEnd'; start: number; end: number };

/** A custom command as `enrol` returns it: store it and pass it to `addEnrolled` later. */
export interface EnrolledCommand {
  name: string;
  hmm: { start: number[]; trans: number[][]; states: { mean: number[]; var: number[] }[] };
  background: { mean: number[]; var: number[] };
  threshold: number;
  recordings: number;
}

export interface Recording {
  samples: Float32Array;
  sampleRate: number;
}

/**
 * Voice commands from a microphone (or any audio): 16 kHz conversion, Silero VAD, openWakeWord's
 * speech embeddings, our command head's word posteriors, and an HMM grammar decoded by Viterbi
 * against a filler model; custom phrases enrolled from 3-10 recordings (Baum-Welch).
 */
export class VoiceCommands {
  private constructor();
  static create(options: VoiceCommandsOptions & InWorker): Promise<Remote<VoiceCommands>>;
  static create(options: VoiceCommandsOptions): Promise<VoiceCommands>;
  /** The commands it listens for (grammar, then enrolled). */
  readonly commands: string[];
  /** The head's vocabulary. */
  readonly words: readonly string[];
  /** Speech probability of the latest 32 ms window. */
  readonly vadProbability: number;
  on(type: 'command', listener: (e: CommandEvent) => void): () => void;
  on(type: 'vad', listener: (e: VadEvent) => void): () => void;
  /** Errors from chunks fed by `listen` (otherwise logged). */
  on(type: 'error', listener: (e: ShopfloorError) => void): () => void;
  off(type: 'command' | 'vad' | 'error', listener: (...args: never[]) => void): void;
  /** Feeds mono samples in [-1, 1] at `sampleRate` Hz (8-384 kHz); resolves to the events they settled (also emitted). Calls queue. */
  feed(samples: Float32Array, sampleRate: number): Promise<(CommandEvent | VadEvent)[]>;
  /** Ends the stream: decodes the last audio and closes an open speech segment. */
  finish(): Promise<(CommandEvent | VadEvent)[]>;
  /** Starts a new stream (enrolled commands stay). */
  reset(): Promise<void>;
  /** Feeds a microphone's chunks as they come; returns a function that stops. */
  listen(mic: MicrophoneStream): () => void;
  /** Trains a custom command from 3-10 recordings of one phrase and starts detecting it. */
  enrol(name: string, recordings: Recording[]): Promise<EnrolledCommand>;
  /** Adds a saved custom command; returns its name. */
  addEnrolled(saved: EnrolledCommand | string): string;
  removeEnrolled(name: string): boolean;
  readonly enrolled: EnrolledCommand[];
  info(): { commands: string[]; words: string[]; threshold: number; models: ModelInfo[] };
  free(): void;
}

// ---- Speech to text -----------------------------------------------------------------------------

/** Options for `Transcriber.create`. */
export interface TranscriberOptions {
  /**
   * URL of a speech-to-text manifest (`task: "transcribe"`, e.g. the setup's
   * `whisper-tiny-en/manifest.json`: encoder, decoder, tokenizer, config and, for live dictation,
   * a VAD) or the object with `baseUrl`.
   */
  model: string | URL | (Record<string, unknown> & { baseUrl?: string });
  /** Where the encoder runs (`"auto"` measures both; the one-token decoder and the VAD stay on the CPU). */
  backend?: 'auto' | 'cpu' | 'webgpu';
  /**
   * Words and spellings to expect (part numbers, station names, jargon), given to the decoder
   * as the text that came before: it biases the transcript towards them.
   */
  prompt?: string;
  /** Do not prompt each 30-s window (or utterance) with the text before it. Default false. */
  noContext?: boolean;
  /**
   * Live dictation: also emit `partial` events with the text of an utterance while it goes on
   * (about once a second of speech, less often when transcribing takes longer). Each costs a
   * transcription of the utterance so far. Default false.
   */
  partials?: boolean;
  /** Beam search with this many beams, 1 to 8 (default 1: greedy); each beam costs a decoder step per token. */
  beamSize?: number;
  /**
   * When a window's text loops (it compresses over 2.4×) or the decoder was guessing (mean token
   * log-probability under −1), decode it again by sampling at temperatures 0.2, 0.4 … 1.0 and keep
   * the likeliest attempt (Whisper's own rule; seeded, so the same audio gives the same text).
   * Costs time only on such windows. Default true.
   */
  temperatureFallback?: boolean;
  maxTensorBytes?: number;
  signal?: AbortSignal;
  /** Run it in the SDK's Web Worker (see `Remote`); events are still emitted on this thread. */
  worker?: boolean;
}

/** One token of a segment and the decoder's probability for it. */
export interface TranscriptToken {
  text: string;
  probability: number;
}

/** A stretch of text with its times (seconds from the start of the audio or stream). */
export interface TranscriptSegment {
  text: string;
  start: number;
  end: number;
  /** Geometric mean of the token probabilities (0-1). */
  confidence: number;
  /** The temperature its window was decoded at: 0, unless the temperature fallback had to retry it. */
  temperature: number;
  tokens: TranscriptToken[];
}

export interface Transcript {
  /** The whole text (segments joined by spaces). Not normalised: casing, digits, punctuation as the model writes them. */
  text: string;
  segments: TranscriptSegment[];
  /** Seconds of audio. */
  duration: number;
}

/** An utterance of live dictation, transcribed when it ended. */
export interface SegmentEvent extends TranscriptSegment {
  type: 'segment';
  /** Milliseconds its transcription took (transcription starts after 0.25 s of quiet, so the text arrives about that long after the words ended, plus 0.25 s). */
  decodeMs: number;
}

/** The text so far of an utterance still going on (`partials: true`); later partials and then its segments replace it. */
export interface PartialEvent {
  type: 'partial';
  text: string;
  /** Stream seconds the utterance began, and how far it was heard. */
  start: number;
  end: number;
  decodeMs: number;
}

/**
 * Speech to text on the device (Whisper): whole recordings with `transcribe`, or live dictation
 * (`feed` / `listen`) where Silero VAD cuts the stream into utterances, each transcribed when it
 * ends. Audio at any rate from 8 to 384 kHz, mono, in [-1, 1].
 */
export class Transcriber {
  private constructor();
  static create(options: TranscriberOptions & InWorker): Promise<Remote<Transcriber>>;
  static create(options: TranscriberOptions): Promise<Transcriber>;
  /** A whole recording of any length (30-s windows, each starting where the last complete segment ended). Empty or silent audio gives `text: ""`; non-finite samples `INVALID_ARGUMENT`. */
  transcribe(samples: Float32Array, sampleRate: number): Promise<Transcript>;
  on(type: 'segment', listener: (e: SegmentEvent) => void): () => void;
  /** Only with `partials: true` (else `INVALID_ARGUMENT`). */
  on(type: 'partial', listener: (e: PartialEvent) => void): () => void;
  on(type: 'vad', listener: (e: VadEvent) => void): () => void;
  /** Errors from chunks fed by `listen` (otherwise logged). */
  on(type: 'error', listener: (e: ShopfloorError) => void): () => void;
  off(type: 'segment' | 'partial' | 'vad' | 'error', listener: (...args: never[]) => void): void;
  /** Live dictation: feeds a chunk; resolves to the events it settled (also emitted). Calls queue. Needs a manifest with a VAD, else `INVALID_ARGUMENT`. */
  feed(samples: Float32Array, sampleRate: number): Promise<(SegmentEvent | PartialEvent | VadEvent)[]>;
  /** Ends the stream: transcribes an utterance still open; the next `feed` starts a new stream. */
  finish(): Promise<(SegmentEvent | PartialEvent | VadEvent)[]>;
  /** Forgets the stream (options stay). */
  reset(): Promise<void>;
  /** Feeds a microphone's chunks as they come; returns a function that stops. */
  listen(mic: MicrophoneStream): () => void;
  info(): { name: string; live: boolean; models: ModelInfo[] };
  free(): void;
}

/** One 80 ms frame of the keyword spotter. */
export interface WordFrame {
  index: number;
  /** End of the frame, seconds since the stream began. */
  time: number;
  /** P(word ended within the last ~0.4 s) for each of `labels` (vocabulary, then "filler"). */
  posteriors: number[];
}

/** The lower level under `VoiceCommands`: audio → per-frame word posteriors. */
export class KeywordSpotter {
  private constructor();
  static create(options: { model: VoiceCommandsOptions['model']; backend?: 'auto' | 'cpu' | 'webgpu'; signal?: AbortSignal } & InWorker): Promise<Remote<KeywordSpotter>>;
  static create(options: { model: VoiceCommandsOptions['model']; backend?: 'auto' | 'cpu' | 'webgpu'; signal?: AbortSignal; worker?: boolean }): Promise<KeywordSpotter>;
  readonly labels: readonly string[];
  feed(samples: Float32Array, sampleRate: number): Promise<WordFrame[]>;
  reset(): Promise<void>;
  info(): ModelInfo[];
  free(): void;
}

/** Silero VAD on a stream: a probability per 32 ms window and speech segments. */
export class Vad {
  private constructor();
  /** `model`: URL of `silero_vad_op18_ifless.onnx`; `sha256` pins it. */
  static create(options: { model: string | URL; sha256?: string; backend?: 'auto' | 'cpu' | 'webgpu'; signal?: AbortSignal } & VadOptions & InWorker): Promise<Remote<Vad>>;
  static create(options: { model: string | URL; sha256?: string; backend?: 'auto' | 'cpu' | 'webgpu'; signal?: AbortSignal; worker?: boolean } & VadOptions): Promise<Vad>;
  feed(samples: Float32Array, sampleRate: number): Promise<{ probabilities: [number, number][]; events: VadEvent[] }>;
  reset(): Promise<void>;
  info(): ModelInfo;
  free(): void;
}

/** Options of `AudioFeatures`: librosa's parameters by the same names (camelCase), same defaults. */
export interface AudioFeatureOptions {
  /** The rate of the samples you will give, in Hz (required; resample first if it is not the model's). */
  sampleRate: number;
  /** `'mel'`: `melspectrogram`; `'logmel'` (default): `power_to_db(melspectrogram)`; `'mfcc'`: `mfcc`. */
  kind?: 'mel' | 'logmel' | 'mfcc';
  /** FFT size, default 2048. */
  nFft?: number;
  /** Default `nFft / 4`. */
  hopLength?: number;
  /** Hann window length centred in the FFT frame, default `nFft`. */
  winLength?: number;
  /** Frames centred on `t * hopLength`, zero-padded (librosa's `pad_mode="constant"`); default true. */
  center?: boolean;
  /** Exponent of the magnitude: 2 (default) power, 1 magnitude. */
  power?: number;
  /** Default 128. */
  nMels?: number;
  /** Default 0 Hz. */
  fmin?: number;
  /** Default `sampleRate / 2`. */
  fmax?: number;
  /** HTK mel scale instead of Slaney's (default false). */
  htk?: boolean;
  /** `'slaney'` (default): unit-area triangles; `'none'`: peak 1. */
  norm?: 'slaney' | 'none';
  /** `power_to_db`: `amin` (default 1e-10), `ref` (default 1), `topDb` (default 80; null: no clipping). */
  amin?: number;
  ref?: number;
  topDb?: number | null;
  /** MFCCs kept (default 20) and the cepstral lifter (default 0: none). */
  nMfcc?: number;
  lifter?: number;
}

/** Feature frames, time-major: `data[t * bins + b]` (librosa returns the transpose, `(bins, frames)`). */
export interface AudioFeatureFrames {
  frames: number;
  bins: number;
  data: Float32Array;
}

/**
 * Log-mel spectrograms, mel spectrograms and MFCCs computed in wasm exactly as librosa 0.11
 * defines them (within 1e-4 of librosa's values; tested), for models trained on classic
 * features. Bad options reject with INVALID_ARGUMENT naming the option.
 */
export class AudioFeatures {
  private constructor();
  static create(options: AudioFeatureOptions & InWorker): Promise<Remote<AudioFeatures>>;
  static create(options: AudioFeatureOptions & { worker?: false }): Promise<AudioFeatures>;
  /** The whole clip's features (including `topDb`, which clips against the clip's loudest value). */
  compute(samples: Float32Array): AudioFeatureFrames;
  /**
   * Streaming: the frames these samples complete. The concatenated frames equal `compute` on the
   * whole stream; `topDb` must be null (INVALID_ARGUMENT otherwise).
   */
  push(samples: Float32Array): AudioFeatureFrames;
  /** Ends the stream (the last frames, from the centre padding); the next `push` starts a new one. */
  finish(): AudioFeatureFrames;
  reset(): void;
  /** The options in effect, defaults filled in, plus `bins`. */
  info(): Required<Omit<AudioFeatureOptions, 'topDb'>> & { topDb?: number; bins: number };
  free(): void;
}

/**
 * The microphone through an AudioWorklet: mono chunks of `chunkSize` samples at the device's
 * rate (the core converts to 16 kHz with an anti-aliasing filter). Echo cancellation, noise
 * suppression and gain control are off: the models want the raw signal.
 */
export class MicrophoneStream {
  private constructor();
  /** Rejects with PERMISSION_DENIED when the user refuses, BACKEND_UNAVAILABLE without AudioWorklet or a secure context. */
  static open(options?: { deviceId?: string; chunkSize?: number; stream?: MediaStream }): Promise<MicrophoneStream>;
  readonly sampleRate: number;
  readonly context: AudioContext;
  /** Connect an AnalyserNode here for a spectrogram. */
  readonly source: MediaStreamAudioSourceNode;
  on(type: 'data', listener: (samples: Float32Array) => void): () => void;
  /** The next `seconds` of audio (for `enrol`). */
  record(seconds: number): Promise<Recording>;
  close(): Promise<void>;
}

/** A model file in the cache. */
export interface CachedModel {
  /** 64 lowercase hex digits: the key, and the hash the bytes were checked against. */
  sha256: string;
  bytes: number;
}

/**
 * The model cache: files loaded from a URL with a known sha256 (`Model.load(url, { sha256 })`
 * and every pipeline's manifest files) are kept in the Cache API (`shopfloor-models-v1`) under
 * their hash. A later load, in this or another page of the origin, reads them from there; an entry
 * whose bytes no longer match its hash is deleted and fetched again (with a console warning).
 * When storage is full or blocked the model still loads, uncached. Needs a secure context
 * (https or localhost); elsewhere nothing is cached.
 */
export declare const modelCache: {
  list(): Promise<CachedModel[]>;
  /** Removes one model; resolves to whether it was there. `INVALID_ARGUMENT` for a malformed hash. */
  delete(sha256: string): Promise<boolean>;
  /** Removes every cached model. */
  clear(): Promise<boolean>;
};
