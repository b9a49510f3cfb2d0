// The wasm instance and the error type every module of the package shares.

/** Every error the SDK throws: a JS `Error` with a stable `code`. */
export class ShopfloorError extends Error {
  constructor(code, message, options) {
    super(message, options);
    this.name = 'ShopfloorError';
    this.code = code;
  }
}

/** `threads: 'auto'` uses the cores the browser reports, at most this many. */
const AUTO_MAX_THREADS = 8;

let ready = null;
let initOptions = {};
/** What `init()` decided about threads: `backends().cpu` reports it. */
let threading = { threads: 1, reason: 'not initialised yet' };

/**
 * Instantiates the wasm module once; see `init` in index.d.ts. Picks the threaded build on a
 * cross-origin isolated page (shared memory needs it) unless `threads` is 1, else the
 * single-thread one; the caller's code is the same either way.
 */
export function init(options = {}) {
  if (!ready) {
    let wanted;
    try {
      wanted = threadsWanted(options?.threads);
    } catch (e) {
      return Promise.reject(e);
    }
    initOptions = { ...options };
    ready = load(options ?? {}, wanted).catch((cause) => {
      ready = null; // let the caller retry, e.g. after fixing the URL
      throw cause instanceof ShopfloorError
        ? cause
        : new ShopfloorError(
            'BACKEND_UNAVAILABLE',
            `could not load shopfloor's wasm module (${cause?.message ?? cause}): ` +
              'check that shopfloor_bg.wasm is served with Content-Type application/wasm ' +
              'and that this browser supports WebAssembly SIMD',
            { cause },
          );
    });
  }
  return ready;
}

/** The options the first `init()` was given (the SDK's worker starts with the same). */
export function initSettings() {
  const { threads } = initOptions;
  return threads === undefined ? {} : { threads };
}

/** `backends().cpu.threads` and `.threadsReason`, as `init()` decided them. */
export function threadingInfo() {
  return { ...threading };
}

function threadsWanted(threads = 'auto') {
  if (threads === 'auto') return 'auto';
  if (Number.isInteger(threads) && threads >= 1 && threads <= 64) return threads;
  throw new ShopfloorError('INVALID_ARGUMENT', `init({ threads }) takes 'auto' or a whole number of threads from 1 to 64, got ${JSON.stringify(threads) ?? String(threads)}`);
}

/** How long the threaded module may take to instantiate and start its workers. */
const POOL_START_MS = 60_000;

async function startPool(options, n) {
  const glue = await import('./wasm-mt/shopfloor.js');
  await glue.default({ module_or_path: options.wasmThreads ?? new URL('./wasm-mt/shopfloor_bg.wasm', import.meta.url) });
  return { glue, threads: await glue.startThreads(n) };
}

async function load(options, wanted) {
  const cores = Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
  const n = wanted === 'auto' ? Math.min(cores, AUTO_MAX_THREADS) : wanted;
  const isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  let why;
  if (n === 1) {
    if (wanted === 1) why = 'init({ threads: 1 }) asked for one thread';
    else why = globalThis.navigator?.hardwareConcurrency ? 'the browser reports one core' : 'not a browser (no navigator.hardwareConcurrency): one thread';
  }
  else if (!isolated) why = 'the page is not cross-origin isolated: serve it with COOP: same-origin and COEP: require-corp to enable threads';
  else if (options.wasm !== undefined && options.wasmThreads === undefined) why = 'init({ wasm }) names the single-thread module only: pass wasmThreads too for threads';
  else {
    try {
      // A pool whose workers never report (seen rarely in headless Chromium) must not hold the
      // page: past the deadline the single-thread build serves it and the reason says why.
      const started = await new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`its ${n} workers did not start within ${POOL_START_MS / 1000} s`)), POOL_START_MS);
        startPool(options, n).then((s) => {
          clearTimeout(timer);
          resolve(s);
        }, (e) => {
          clearTimeout(timer);
          reject(e);
        });
      });
      const glue = started.glue;
      const how = wanted === 'auto' ? `'auto': ${cores} cores reported, at most ${AUTO_MAX_THREADS}` : `init({ threads: ${n} })`;
      threading = { threads: started.threads, reason: `a pool of ${started.threads} Web Workers (${how})` };
      return glue;
    } catch (cause) {
      // The single-thread build still serves the page; the reason says what failed.
      why = `the threaded module could not start (${cause?.message ?? cause}): running on one thread`;
      console.warn(`shopfloor: ${why}`);
    }
  }
  const glue = await import('./wasm/shopfloor.js');
  await glue.default({ module_or_path: options.wasm ?? new URL('./wasm/shopfloor_bg.wasm', import.meta.url) });
  threading = { threads: 1, reason: why };
  return glue;
}

/**
 * Calls into wasm and normalises what comes out: Rust errors already carry a code; a Rust panic
 * (unwound and caught at the boundary: wasm-bindgen's `PanicError`) becomes INTERNAL naming
 * `what`, and the instance keeps working; a trap (out of memory) becomes INTERNAL too.
 */
export function call(fn, what) {
  try {
    return fn();
  } catch (e) {
    throw normalise(e, what);
  }
}

/** `call` for promises: awaits inside the same normalisation. */
export async function callAsync(fn, what) {
  try {
    return await fn();
  } catch (e) {
    throw normalise(e, what);
  }
}

export function normalise(e, what = 'a call into the SDK') {
  if (e instanceof ShopfloorError) return e;
  if (e && typeof e === 'object' && typeof e.code === 'string' && e.name === 'ShopfloorError') {
    return new ShopfloorError(e.code, e.message, { cause: e });
  }
  if (e?.name === 'PanicError') {
    return new ShopfloorError('INTERNAL', `shopfloor panicked during ${what}: ${e.message} (please report this with the model; the SDK keeps working)`, { cause: e });
  }
  if (e instanceof WebAssembly.RuntimeError) {
    return new ShopfloorError('INTERNAL', `the wasm module trapped during ${what} (${e.message}): please report this with the model`, { cause: e });
  }
  return new ShopfloorError('INTERNAL', String(e?.message ?? e), { cause: e });
}
