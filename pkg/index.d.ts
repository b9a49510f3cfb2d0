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
  | 'INTERNAL';

/** Every error the SDK throws or rejects with. The message says what to fix. */
export class ShopfloorError extends Error {
  readonly name: 'ShopfloorError';
  readonly code: ErrorCode;
  constructor(code: ErrorCode, message: string, options?: { cause?: unknown });
}

export interface InitOptions {
  /** Where to load the wasm from; defaults to `wasm/shopfloor_bg.wasm` next to this module. */
  wasm?: string | URL | Request | Response | BufferSource | WebAssembly.Module;
}

/**
 * Loads and instantiates the wasm module. Idempotent: later calls return the first promise.
 * Every other function calls it, so calling it yourself is only needed to load early or from a
 * custom location. Rejects with `BACKEND_UNAVAILABLE` if the module cannot be fetched or compiled.
 */
export function init(options?: InitOptions): Promise<void>;

/** The SDK version, e.g. `"0.1.0"`. */
export function version(): Promise<string>;

/** The CPU backend: tract's optimised plan compiled to wasm. */
export interface CpuBackendInfo {
  available: true;
  /** SIMD the module was compiled with: `"simd128"` or `"relaxed-simd"` in browsers. */
  simd: string;
  /** Worker threads used by inference (1: single-threaded). */
  threads: number;
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
