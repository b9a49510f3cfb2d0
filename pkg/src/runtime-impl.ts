// The wasm instance every module of the package shares: init() picks the threaded or the
// single-thread build once; version(), backends() and memoryStats() ask it.
import { messageOf, ShopfloorError } from './errors.js';
import type { Backends, InitOptions, MemoryStats, WasmSource } from './runtime.js';
import type { WarmUpDone, WarmUpRequest } from './warm-up.js';

/** @internal The wasm-bindgen glue; both builds export the same API (the threaded one adds `startThreads`). */
export type Glue = typeof import('./wasm/shopfloor.js');

/** `threads: 'auto'` uses the cores the browser reports, at most this many. */
const AUTO_MAX_THREADS = 8;

/** How long the threaded module's workers may take to start, once the module is instantiated. */
const POOL_START_MS = 20_000;

let ready: Promise<Glue> | null = null;
/** Resolves once the threaded module's pool has started or been given up (at once elsewhere). */
let settled: Promise<void> | null = null;
let initOptions: InitOptions = {};
/** What `init()` decided about threads: `backends().cpu` reports it. */
let threading = { threads: 1, reason: 'not initialised yet' };
/** What the warm-up Worker did: `backends().cpu.warmUp` reports it. */
let warming = 'not initialised yet';
/** Ends the warm-up if it is still running (set while it runs). */
let stopWarming: ((why: string) => void) | null = null;

/**
 * Loads and instantiates the wasm module: the threaded build on a cross-origin isolated page
 * (a pool of Web Workers runs tract's kernels; the main thread never blocks), the single-thread
 * build elsewhere. Idempotent: later calls return the first promise, whatever their options.
 * Every other function calls it, so calling it yourself is only needed to load early, to choose
 * `threads` or to load from a custom location. It resolves once the threaded build's pool of
 * workers is up (or given up: `backends().cpu.threadsReason` says why). `Model.load` and the
 * pipelines' `create()` wait for less: they start downloading their files at once and load them
 * as soon as the module is instantiated, while the pool's workers start; a run before the pool
 * is up goes on the calling thread, as on the single-thread build. So a page need not await
 * `init()` first. Once the module is instantiated it runs the CPU's matrix-product kernel for a
 * few milliseconds, so the browser has optimised that kernel by the first model's first run.
 * Rejects with `BACKEND_UNAVAILABLE` if the module cannot be fetched or compiled,
 * `INVALID_ARGUMENT` for a bad `threads` or `warmUp`.
 */
export async function init(options?: InitOptions): Promise<void> {
  await instance(options);
  await settled;
}

/** @internal The glue of the instance `init()` made (making it with `options` if there is none yet). */
export function instance(options: InitOptions = {}): Promise<Glue> {
  if (!ready) {
    let wanted: 'auto' | number;
    try {
      wanted = threadsWanted(options?.threads);
      if (options?.warmUp !== undefined && typeof options.warmUp !== 'boolean') {
        throw new ShopfloorError('INVALID_ARGUMENT', `init({ warmUp }) takes true or false, got ${JSON.stringify(options.warmUp) ?? String(options.warmUp)}`);
      }
    } catch (e) {
      return Promise.reject(e);
    }
    initOptions = { ...options };
    const loading = load(options ?? {}, wanted).catch((cause: unknown) => {
      ready = settled = null; // let the caller retry, e.g. after fixing the URL
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
    ready = loading.then((l) => l.glue);
    settled = loading.then(
      (l) => l.pool,
      () => {},
    );
  }
  return ready;
}

/**
 * @internal The glue, and what `files` resolves to. The caller starts reading its files before
 * calling this, so on a cold page they download while the module downloads and compiles instead
 * of after it. A failed `init()` is reported first, as it would be without the overlap.
 */
export async function instanceWith<T>(files: Promise<T>): Promise<[Glue, T]> {
  // Awaited below once the instance is up; this only keeps a failed read from counting as
  // unhandled while the instance is still pending (or when it failed first).
  files.catch(() => {});
  const glue = await instance();
  return [glue, await files];
}

/** The options the first `init()` was given (the SDK's worker starts with the same). */
export function initSettings(): Pick<InitOptions, 'threads' | 'warmUp'> {
  const { threads, warmUp } = initOptions;
  return { ...(threads === undefined ? {} : { threads }), ...(warmUp === undefined ? {} : { warmUp }) };
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
  await settled;
  const result = (await glue.backends()) as Backends;
  result.cpu.threadsReason = threading.reason;
  result.cpu.warmUp = warming;
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

/**
 * @internal Called as the page starts loading a model into wasm: a warm-up still running would
 * only compete with that load for the cores (both compiling the same code); what it compiled
 * so far stays compiled.
 */
export function stopWarmUp(): void {
  stopWarming?.('the page began loading a model');
}

function threadsWanted(threads: unknown = 'auto'): 'auto' | number {
  if (threads === 'auto') return 'auto';
  if (typeof threads === 'number' && Number.isInteger(threads) && threads >= 1 && threads <= 64) return threads;
  throw new ShopfloorError('INVALID_ARGUMENT', `init({ threads }) takes 'auto' or a whole number of threads from 1 to 64, got ${JSON.stringify(threads) ?? String(threads)}`);
}

/**
 * The compiled module, from any source `init` takes: one given by URL is fetched and compiled
 * while the glue is imported (the glue is 120 KB of JS to fetch and parse, the module 13 MB to
 * fetch and compile), and the warm-up Worker gets the same compiled module. A server that sends
 * the wasm without `Content-Type: application/wasm` still works, compiled from its bytes.
 */
function compile(source: WasmSource): Promise<WebAssembly.Module> {
  if (source instanceof WebAssembly.Module) return Promise.resolve(source);
  const fromResponse = (r: Response): Promise<WebAssembly.Module> => {
    if (!r.ok) throw new Error(`failed to fetch Wasm: ${r.status} ${r.statusText} fetching '${r.url}'`);
    if (typeof WebAssembly.compileStreaming === 'function' && r.headers.get('Content-Type')?.split(';')[0].trim() === 'application/wasm') return WebAssembly.compileStreaming(r);
    console.warn(`shopfloor: ${r.url} is not served as application/wasm: compiling it from its bytes, which is slower`);
    return r.arrayBuffer().then((bytes) => WebAssembly.compile(bytes));
  };
  if (typeof Response === 'function' && source instanceof Response) return Promise.resolve(source).then(fromResponse);
  const byUrl = typeof source === 'string' || source instanceof URL || (typeof Request === 'function' && source instanceof Request);
  const compiled = byUrl ? fetch(source as string | URL | Request).then(fromResponse) : WebAssembly.compile(source as BufferSource);
  // Awaited beside the glue's import; this only keeps a failure from counting as unhandled
  // while that import is still pending.
  compiled.catch(() => {});
  return compiled;
}

/** The glue `glueImport` imports (while `compiled` compiles), instantiated from that module. */
async function instantiate<G extends Glue>(glueImport: Promise<unknown>, compiled: Promise<WebAssembly.Module>): Promise<{ glue: G; module: WebAssembly.Module }> {
  const [glue, module] = (await Promise.all([glueImport, compiled])) as [G, WebAssembly.Module];
  await glue.default({ module_or_path: module });
  // A few ms now, while a model most likely still downloads: the browser then optimises the
  // GEMM kernel and the convolutions' tile in the background during the load, where the first
  // run would have waited for them (docs/performance-log.md, "First inference"). It only reads
  // and writes its own fixed buffers.
  glue.tierUp();
  return { glue, module };
}

/**
 * Starts the threaded instance's pool of `n` workers. Never rejects: until the pool is up, and
 * for good if it cannot start, the instance runs on one thread (every CPU run inline on the
 * calling thread, as the single-thread build does), and `threading` says why. A pool that has
 * not started after POOL_START_MS is reported as such, and reported again if it starts later.
 */
function startThreads(glue: ThreadedGlue, n: number, how: string): Promise<void> {
  const started = glue.startThreads(n);
  const up = (k: number) => {
    threading = { threads: k, reason: `a pool of ${k} Web Workers (${how})` };
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<'late'>((resolve) => {
    timer = setTimeout(() => resolve('late'), POOL_START_MS);
  });
  return Promise.race([started, late]).then(
    (k) => {
      clearTimeout(timer);
      if (k !== 'late') return up(k);
      threading = { threads: 1, reason: `its ${n} pool workers have not started within ${POOL_START_MS / 1000} s: running on one thread until they do` };
      console.warn(`shopfloor: ${threading.reason}`);
      started.then(up, () => {});
    },
    (cause: unknown) => {
      clearTimeout(timer);
      threading = { threads: 1, reason: `the thread pool could not start (${messageOf(cause)}): running on one thread` };
      console.warn(`shopfloor: ${threading.reason}`);
    },
  );
}

type ThreadedGlue = Glue & { startThreads(n: number): Promise<number> };

/** The instance, and its pool's start (settled when the pool is up or given up). */
interface Loaded {
  glue: Glue;
  pool: Promise<void>;
}

async function load(options: InitOptions, wanted: 'auto' | number): Promise<Loaded> {
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
      const compiled = compile(options.wasmThreads ?? new URL('./wasm-mt/shopfloor_bg.wasm', import.meta.url));
      const { glue, module } = await instantiate<ThreadedGlue>(import('./wasm-mt/shopfloor.js'), compiled);
      const how = wanted === 'auto' ? `'auto': ${cores} cores reported, at most ${AUTO_MAX_THREADS}` : `init({ threads: ${n} })`;
      threading = { threads: 1, reason: `starting a pool of ${n} Web Workers (${how}): one thread until it is up` };
      // The instance serves at once: a model loads while the workers start (they instantiate the
      // same module, a few hundred ms on a cold page), and runs before the pool is up go inline.
      const pool = startThreads(glue, n, how).then(() => warmUp(options, module, true));
      return { glue, pool };
    } catch (cause) {
      // The single-thread build still serves the page; the reason says what failed.
      why = `the threaded module could not start (${messageOf(cause)}): running on one thread`;
      console.warn(`shopfloor: ${why}`);
    }
  }
  const compiled = compile(options.wasm ?? new URL('./wasm/shopfloor_bg.wasm', import.meta.url));
  const { glue, module } = await instantiate<Glue>(import('./wasm/shopfloor.js'), compiled);
  threading = { threads: 1, reason: why };
  warmUp(options, module, false);
  return { glue, pool: Promise.resolve() };
}

/**
 * Starts the warm-up Worker (warm-up.ts) with the module the page's instance came from, when
 * asked (`init({ warmUp: true })`) and it can help: not where the browser reports one core (it
 * would compete with the page) or has no `Worker` (Node). It never delays `init()` and never
 * fails it: a worker that cannot start (a Content-Security-Policy without `worker-src 'self'`)
 * or that fails only leaves the first load as cold as without it, and `backends().cpu.warmUp`
 * says so. Off by default: on a 2-core machine, overlapping a model's download and load it
 * slowed them more than it saved (docs/performance-log.md, "First inference").
 */
function warmUp(options: InitOptions, module: WebAssembly.Module, threaded: boolean): void {
  const cores = globalThis.navigator?.hardwareConcurrency ?? 1;
  if (options.warmUp !== true) warming = 'off: not asked for (init({ warmUp: true }))';
  else if (typeof Worker !== 'function') warming = 'skipped: no Web Workers here';
  else if (cores < 2) warming = 'skipped: the browser reports one core, which the page needs';
  else {
    const t0 = performance.now();
    let worker: Worker;
    try {
      worker = new Worker(new URL('./warm-up.js', import.meta.url), { type: 'module', name: 'shopfloor warm-up' });
    } catch (e) {
      warming = `failed: the warm-up Worker could not start (${messageOf(e)})`;
      return;
    }
    warming = 'running';
    const end = (what: string) => {
      warming = what;
      stopWarming = null;
      worker.terminate();
    };
    stopWarming = (why) => end(`stopped after ${Math.round(performance.now() - t0)} ms: ${why}`);
    worker.onmessage = ({ data }: MessageEvent<WarmUpDone>) =>
      end('error' in data ? `failed: ${data.error}` : `done in ${Math.round(performance.now() - t0)} ms`);
    worker.onerror = (e) => {
      e.preventDefault();
      end(`failed: the warm-up Worker could not run (${e.message || 'its script did not load'})`);
    };
    worker.postMessage({ module, threaded } satisfies WarmUpRequest);
  }
}
