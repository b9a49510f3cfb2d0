// The wasm instance every module of the package shares: init() picks the threaded or the
// single-thread build once; version(), backends() and memoryStats() ask it.
import { messageOf, ShopfloorError } from './errors.js';
import type { Backends, InitOptions, MemoryStats, WasmSource } from './runtime.js';

/** @internal The wasm-bindgen glue; both builds export the same API (the threaded one adds `startThreads`). */
export type Glue = typeof import('./wasm/shopfloor.js');

/** `threads: 'auto'` uses the cores the browser reports, at most this many. */
const AUTO_MAX_THREADS = 8;

/** How long the threaded module's workers may take to start, once the module is instantiated. */
const POOL_START_MS = 20_000;

let ready: Promise<Glue> | null = null;
let initOptions: InitOptions = {};
/** What `init()` decided about threads: `backends().cpu` reports it. */
let threading = { threads: 1, reason: 'not initialised yet' };

/**
 * Loads and instantiates the wasm module: the threaded build on a cross-origin isolated page
 * (a pool of Web Workers runs tract's kernels; the main thread never blocks), the single-thread
 * build elsewhere. Idempotent: later calls return the first promise, whatever their options.
 * Every other function calls it, so calling it yourself is only needed to load early, to choose
 * `threads` or to load from a custom location. Rejects with `BACKEND_UNAVAILABLE` if the module
 * cannot be fetched or compiled, `INVALID_ARGUMENT` for a bad `threads`.
 */
export async function init(options?: InitOptions): Promise<void> {
  await instance(options);
}

/** @internal The glue of the instance `init()` made (making it with `options` if there is none yet). */
export function instance(options: InitOptions = {}): Promise<Glue> {
  if (!ready) {
    let wanted: 'auto' | number;
    try {
      wanted = threadsWanted(options?.threads);
    } catch (e) {
      return Promise.reject(e);
    }
    initOptions = { ...options };
    ready = load(options ?? {}, wanted).catch((cause: unknown) => {
      ready = null; // let the caller retry, e.g. after fixing the URL
      throw cause instanceof ShopfloorError
        ? cause
        : new ShopfloorError(
            'BACKEND_UNAVAILABLE',
            `could not load shopfloor's wasm module (${messageOf(cause)}): ` +
              'check that shopfloor_bg.wasm is served with Content-Type application/wasm ' +
              'and that this browser supports WebAssembly SIMD',
            { cause },
          );
    });
  }
  return ready;
}

/** The options the first `init()` was given (the SDK's worker starts with the same). */
export function initSettings(): Pick<InitOptions, 'threads'> {
  const { threads } = initOptions;
  return threads === undefined ? {} : { threads };
}

/** The SDK version, e.g. `"0.1.0"`. */
export async function version(): Promise<string> {
  const glue = await instance();
  return glue.version();
}

/** Memory the SDK holds, for leak checks in long-running pages. */
export async function memoryStats(): Promise<MemoryStats> {
  const glue = await instance();
  return glue.memoryStats() as MemoryStats;
}

/** The parts of the browser's WebGPU adapter that `backends()` reads (lib.dom has no WebGPU types). */
interface BrowserAdapter {
  info?: { vendor?: string; architecture?: string; device?: string; description?: string; subgroupMinSize?: number; subgroupMaxSize?: number };
  features: { has(name: string): boolean };
}

/**
 * Which backends this browser offers. Never rejects for a missing GPU: `webgpu.available` is
 * false and `webgpu.reason` says why.
 */
export async function backends(): Promise<Backends> {
  const glue = await instance();
  const result = (await glue.backends()) as Backends;
  result.cpu.threadsReason = threading.reason;
  const adapter = result.webgpu.adapter;
  const gpu = (globalThis.navigator as { gpu?: { requestAdapter(o: object): Promise<BrowserAdapter | null> } } | undefined)?.gpu;
  // wgpu exposes only the adapter description on the web; the browser also tells vendor and
  // architecture, which users need to recognise their GPU.
  if (adapter && gpu) {
    try {
      const a = await gpu.requestAdapter({ powerPreference: 'high-performance' });
      const info = a?.info;
      if (a && info) {
        adapter.vendor = info.vendor ?? '';
        adapter.architecture = info.architecture ?? '';
        adapter.device = info.device ?? '';
        adapter.name ||= info.description || [info.vendor, info.architecture].filter(Boolean).join(' ');
        adapter.subgroups ||= a.features.has('subgroups');
        adapter.shaderF16 ||= a.features.has('shader-f16');
        adapter.timestampQuery ||= a.features.has('timestamp-query');
        adapter.subgroupMinSize ||= info.subgroupMinSize ?? 0;
        adapter.subgroupMaxSize ||= info.subgroupMaxSize ?? 0;
      }
    } catch {
      // The wgpu answer stands on its own.
    }
  }
  return result;
}

function threadsWanted(threads: unknown = 'auto'): 'auto' | number {
  if (threads === 'auto') return 'auto';
  if (typeof threads === 'number' && Number.isInteger(threads) && threads >= 1 && threads <= 64) return threads;
  throw new ShopfloorError('INVALID_ARGUMENT', `init({ threads }) takes 'auto' or a whole number of threads from 1 to 64, got ${JSON.stringify(threads) ?? String(threads)}`);
}

/**
 * Starts fetching and compiling a module given by URL before its glue is imported, so the two
 * overlap (the glue is 120 KB of JS to fetch and parse, the module 13 MB to fetch and compile).
 * Other sources (bytes, a `Response`, a compiled module) go to the glue as they are. A server
 * that sends the wasm without `Content-Type: application/wasm` still works, compiled from its
 * bytes as the glue would.
 */
function compileEarly(source: WasmSource): WasmSource | Promise<WebAssembly.Module> {
  const byUrl = typeof source === 'string' || source instanceof URL || (typeof Request === 'function' && source instanceof Request);
  if (!byUrl || typeof fetch !== 'function' || typeof WebAssembly.compileStreaming !== 'function') return source;
  const compiled = fetch(source).then((r) => {
    if (!r.ok) throw new Error(`failed to fetch Wasm: ${r.status} ${r.statusText} fetching '${r.url}'`);
    if (r.headers.get('Content-Type')?.split(';')[0].trim() === 'application/wasm') return WebAssembly.compileStreaming(r);
    console.warn(`shopfloor: ${r.url} is not served as application/wasm: compiling it from its bytes, which is slower`);
    return r.arrayBuffer().then((bytes) => WebAssembly.compile(bytes));
  });
  // Handled where the glue awaits it; this only keeps a failure from counting as unhandled while
  // the glue is still being imported.
  compiled.catch(() => {});
  return compiled;
}

async function startPool(options: InitOptions, n: number): Promise<{ glue: Glue; threads: number }> {
  const module = compileEarly(options.wasmThreads ?? new URL('./wasm-mt/shopfloor_bg.wasm', import.meta.url));
  const glue = (await import('./wasm-mt/shopfloor.js')) as unknown as Glue & { startThreads(n: number): Promise<number> };
  await glue.default({ module_or_path: module });
  // Compiling the module may take long on a slow device; its workers instantiating it may not. A
  // pool that still has not started must not hold the page: the single-thread build serves it.
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`its ${n} workers did not start within ${POOL_START_MS / 1000} s`)), POOL_START_MS);
  });
  try {
    return { glue, threads: await Promise.race([glue.startThreads(n), deadline]) };
  } finally {
    clearTimeout(timer);
  }
}

async function load(options: InitOptions, wanted: 'auto' | number): Promise<Glue> {
  const cores = Math.max(1, globalThis.navigator?.hardwareConcurrency ?? 1);
  const n = wanted === 'auto' ? Math.min(cores, AUTO_MAX_THREADS) : wanted;
  const isolated = globalThis.crossOriginIsolated === true && typeof SharedArrayBuffer === 'function';
  let why: string;
  if (n === 1) {
    if (wanted === 1) why = 'init({ threads: 1 }) asked for one thread';
    else why = globalThis.navigator?.hardwareConcurrency ? 'the browser reports one core' : 'not a browser (no navigator.hardwareConcurrency): one thread';
  } else if (!isolated) why = 'the page is not cross-origin isolated: serve it with COOP: same-origin and COEP: require-corp to enable threads';
  else if (options.wasm !== undefined && options.wasmThreads === undefined) why = 'init({ wasm }) names the single-thread module only: pass wasmThreads too for threads';
  else {
    try {
      const started = await startPool(options, n);
      const how = wanted === 'auto' ? `'auto': ${cores} cores reported, at most ${AUTO_MAX_THREADS}` : `init({ threads: ${n} })`;
      threading = { threads: started.threads, reason: `a pool of ${started.threads} Web Workers (${how})` };
      return started.glue;
    } catch (cause) {
      // The single-thread build still serves the page; the reason says what failed.
      why = `the threaded module could not start (${messageOf(cause)}): running on one thread`;
      console.warn(`shopfloor: ${why}`);
    }
  }
  const module = compileEarly(options.wasm ?? new URL('./wasm/shopfloor_bg.wasm', import.meta.url));
  const glue: Glue = await import('./wasm/shopfloor.js');
  await glue.default({ module_or_path: module });
  threading = { threads: 1, reason: why };
  return glue;
}
