// The public types of the wasm runtime: init's options, backends() and memoryStats().
// Implemented in runtime-impl.ts.

/** Where a wasm module may be loaded from (what `init` passes to `WebAssembly.instantiateStreaming` or `instantiate`). */
export type WasmSource = string | URL | Request | Response | BufferSource | WebAssembly.Module;

export interface InitOptions {
  /** Where to load the single-thread wasm from; defaults to `wasm/shopfloor_bg.wasm` next to this module. */
  wasm?: WasmSource;
  /**
   * Where to load the threaded wasm from; defaults to `wasm-mt/shopfloor_bg.wasm` next to this
   * module. When `wasm` is given without it, the page runs on one thread.
   */
  wasmThreads?: WasmSource;
  /**
   * Threads for CPU inference. `'auto'` (default): the cores the browser reports, at most 8.
   * A number (1-64): that many. Threads need a cross-origin isolated page (served with
   * `Cross-Origin-Opener-Policy: same-origin` and `Cross-Origin-Embedder-Policy: require-corp`);
   * elsewhere the SDK runs on one thread and `backends().cpu.threadsReason` says why. Anything
   * else rejects with `INVALID_ARGUMENT`.
   */
  threads?: 'auto' | number;
  /**
   * Compile the CPU path's code in the background (default `false`). With `true`, right after
   * the module is instantiated a Worker runs a second instance of it on a small graph of common
   * CNN ops once, then ends. Browsers compile wasm code at its first call and share it between
   * the instances of one module, so a model loaded after that finds most of its load and run
   * code compiled: measured on a 2-core machine, EfficientNet-Lite0's load 85 ms and first run
   * 40 ms shorter, BlazeFace's 85 and 25 ms. Worth it where `init()` runs well before the first
   * model load (at page start, models on a user's action). It never delays `init()`; it uses one
   * other core for about 250 ms and the memory of a small instance until it ends; it stops as
   * soon as the page starts loading a model (it would compete with that load for the cores;
   * what it compiled by then stays compiled). Needs `worker-src 'self'` (or `script-src`)
   * under a Content-Security-Policy. Skipped where the browser reports one core;
   * `backends().cpu.warmUp` says what it did.
   */
  warmUp?: boolean;
}

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
  /**
   * What the warm-up Worker did (see `InitOptions.warmUp`): `"off: ..."` (not asked for),
   * `"running"`, `"done in 250 ms"`, `"stopped after 120 ms: the page began loading a model"`,
   * `"skipped: ..."` or `"failed: ..."` (the SDK works the same either way; a failure only
   * leaves the first load colder).
   */
  warmUp: string;
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
