// shopfloor: the public JS API. Documented in index.d.ts and the README.
import initWasm, * as wasm from './wasm/shopfloor.js';

/** Every error the SDK throws: a JS `Error` with a stable `code`. */
export class ShopfloorError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'ShopfloorError';
    this.code = code;
  }
}

let ready = null;

/**
 * Instantiates the wasm module once; later calls return the same promise.
 * `options.wasm` overrides where the `.wasm` comes from (URL, Response, bytes or WebAssembly.Module).
 */
export function init(options = {}) {
  if (!ready) {
    const source = options.wasm ?? new URL('./wasm/shopfloor_bg.wasm', import.meta.url);
    ready = initWasm({ module_or_path: source }).then(
      () => undefined,
      (cause) => {
        ready = null; // let the caller retry, e.g. after fixing the URL
        throw new ShopfloorError(
          'BACKEND_UNAVAILABLE',
          `could not load shopfloor's wasm module (${cause?.message ?? cause}): ` +
            'check that shopfloor_bg.wasm is served with Content-Type application/wasm ' +
            'and that this browser supports WebAssembly SIMD',
          { cause },
        );
      },
    );
  }
  return ready;
}

/** The SDK version. */
export async function version() {
  await init();
  return wasm.version();
}

/**
 * Which backends this browser offers. CPU is always available; WebGPU carries the adapter's
 * description and limits, or the reason it is absent.
 */
export async function backends() {
  await init();
  const result = await wasm.backends();
  const adapter = result.webgpu.adapter;
  // wgpu exposes only the adapter description on the web; the browser also tells vendor and
  // architecture, which users need to recognise their GPU.
  if (adapter && globalThis.navigator?.gpu) {
    try {
      const a = await navigator.gpu.requestAdapter({ powerPreference: 'high-performance' });
      const info = a?.info;
      if (info) {
        adapter.vendor = info.vendor ?? '';
        adapter.architecture = info.architecture ?? '';
        adapter.device = info.device ?? '';
        adapter.name ||= info.description || [info.vendor, info.architecture].filter(Boolean).join(' ');
      }
    } catch {
      // The wgpu answer stands on its own.
    }
  }
  return result;
}
