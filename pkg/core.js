// The wasm instance and the error type every module of the package shares.
import initWasm, * as glue from './wasm/shopfloor.js';

/** Every error the SDK throws: a JS `Error` with a stable `code`. */
export class ShopfloorError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'ShopfloorError';
    this.code = code;
  }
}

let ready = null;
let wasmSource;

/** Instantiates the wasm module once; see `init` in index.d.ts. */
export function init(options = {}) {
  if (!ready) {
    wasmSource = options.wasm ?? new URL('./wasm/shopfloor_bg.wasm', import.meta.url);
    ready = initWasm({ module_or_path: wasmSource }).then(
      () => glue,
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

/**
 * Calls into wasm and normalises what comes out: Rust errors already carry a code; a wasm trap
 * (a Rust panic, which must not happen) becomes INTERNAL instead of an opaque RuntimeError.
 */
export function call(fn) {
  try {
    return fn();
  } catch (e) {
    throw normalise(e);
  }
}

/** `call` for promises: awaits inside the same normalisation. */
export async function callAsync(fn) {
  try {
    return await fn();
  } catch (e) {
    throw normalise(e);
  }
}

export function normalise(e) {
  if (e instanceof ShopfloorError) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.name === 'ShopfloorError') {
    return new ShopfloorError(e.code, e.message, { cause: e });
  }
  if (e instanceof WebAssembly.RuntimeError) {
    return new ShopfloorError('INTERNAL', `the wasm module trapped (${e.message}): please report this with the model`, { cause: e });
  }
  return new ShopfloorError('INTERNAL', String(e?.message ?? e), { cause: e });
}
