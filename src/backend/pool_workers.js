// The CPU pool's Web Workers (threaded build only). Each worker loads this file as its script,
// imports the package's wasm glue, instantiates the page's module on the shared memory and enters
// rayon's worker loop (`__poolWorkerRun`, which never returns). Shaped after wasm-bindgen-rayon 1.3
// (Apache-2.0), which this replaces: there the page's thread could wait on an atomic while a worker
// registered in a channel (a trap that killed the instance, rarely), and a worker that failed to
// load left `initThreadPool` pending forever.

const INIT = 'shopfloor_pool_init';
const READY = 'shopfloor_pool_ready';
const FAILED = 'shopfloor_pool_failed';

// The glue imports this file too (on the page, in the SDK's worker): only a pool worker answers INIT.
if (typeof WorkerGlobalScope !== 'undefined' && self instanceof WorkerGlobalScope) {
  self.addEventListener('message', async function onInit({ data }) {
    if (data?.type !== INIT) return;
    self.removeEventListener('message', onInit);
    let glue;
    try {
      // snippets/shopfloor-<hash>/src/backend/ → the output directory's main module.
      glue = await import('../../../../shopfloor.js');
      await glue.default(data.init);
    } catch (e) {
      postMessage({ type: FAILED, message: String(e?.message ?? e) });
      return;
    }
    postMessage({ type: READY });
    glue.__poolWorkerRun();
  });
}

// Rooted here: Firefox collects workers that share a wasm memory but have no live `Worker` object.
let workers = [];

/**
 * Starts `n` workers on `module` and `memory` and resolves once each has instantiated them;
 * rejects (and stops the ones that started) if any worker cannot load.
 */
export async function startWorkers(module, memory, n) {
  const started = [];
  try {
    await Promise.all(
      Array.from({ length: n }, () => {
        const worker = new Worker(new URL(import.meta.url), { type: 'module', name: 'shopfloor-pool' });
        started.push(worker);
        return new Promise((resolve, reject) => {
          worker.addEventListener('message', ({ data }) => {
            if (data?.type === READY) resolve();
            else if (data?.type === FAILED) reject(new Error(`a pool worker could not instantiate the module: ${data.message}`));
          });
          // A 404 or a blocked fetch gives an error event without a message: name the file to serve.
          worker.addEventListener('error', (e) => reject(new Error(`a pool worker could not load its script ${import.meta.url}: ${e.message || 'check that it is served'}`)));
          worker.postMessage({ type: INIT, init: { module_or_path: module, memory } });
        });
      }),
    );
  } catch (e) {
    for (const w of started) w.terminate();
    throw e;
  }
  workers = started;
}
