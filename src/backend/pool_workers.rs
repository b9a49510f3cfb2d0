//! Starting the CPU pool's Web Workers (threaded wasm build only) without ever waiting on an
//! atomic on the page's thread.
//!
//! The page's thread may not block: `memory.atomic.wait` there traps, and a trap crossing an
//! export marks the whole instance terminated. wasm-bindgen-rayon, which this replaces, hands
//! each worker its rayon `ThreadBuilder` over a crossbeam channel whose `send` can wait on a std
//! mutex while a worker registers as a receiver, and rayon's `build_global` waits until every
//! thread has started: both rare, both fatal (a pool that never started, then "Module
//! terminated"). Here the builders go through a `wasm_sync` mutex and condvar (they spin on the
//! page's thread and block in workers), and rayon is built with `web_spin_lock`, which does the
//! same for its own latches and sleep states. Pool threads never take tract's default-executor
//! mutex, so the page's thread is the only one that does.

use tract_linalg::multithread::{multithread_tract_scope, Executor};
use wasm_bindgen::prelude::*;
use wasm_sync::{Condvar, Mutex};

use crate::error::{Error, Result};

#[wasm_bindgen(module = "/src/backend/pool_workers.js")]
extern "C" {
    #[wasm_bindgen(js_name = startWorkers)]
    fn start_workers(module: JsValue, memory: JsValue, n: usize) -> js_sys::Promise;
}

/// The rayon threads waiting for a worker to run them: filled on the caller's thread by rayon's
/// spawn handler, emptied by the workers.
static WAITING: Mutex<Vec<rayon::ThreadBuilder>> = Mutex::new(Vec::new());
static ARRIVED: Condvar = Condvar::new();

/// A pool worker's whole life (called by `pool_workers.js` once the module is instantiated):
/// take a rayon thread, waiting for one, and run it (its loop never returns) with tract's pool
/// executor named for it.
#[wasm_bindgen(js_name = __poolWorkerRun)]
pub fn pool_worker_run() {
    let mut waiting = WAITING.lock().unwrap_or_else(|e| e.into_inner());
    let thread = loop {
        if let Some(t) = waiting.pop() {
            break t;
        }
        waiting = ARRIVED.wait(waiting).unwrap_or_else(|e| e.into_inner());
    };
    drop(waiting);
    // tract asks a thread with no executor of its own for the default one, behind a std mutex
    // that the page's thread takes too: a pool thread holding it could make the page wait.
    multithread_tract_scope(Executor::RayonGlobal, || thread.run());
}

/// Starts `n` workers, then rayon's global pool on them. Resolves once every rayon thread runs.
pub async fn start(n: usize) -> Result<()> {
    // tract cuts a product whose packed operands pass 1.5 MB into one chunk per thread where it
    // knows no cache size (wasm): a thread slowed by anything else on its core then holds the
    // whole product up. Four chunks per thread, as tract takes on a large cache, let the others
    // take its share (docs/performance-log.md, "Chunks per thread").
    tract_linalg::knobs::TRACT_MMM_CHUNKS_PER_THREAD.set(Some(4));
    tract_linalg::multithread::set_threading_mac_threshold(1 << 17);
    let unavailable = |reason: String| Error::BackendUnavailable { backend: "cpu".into(), reason };
    wasm_bindgen_futures::JsFuture::from(start_workers(wasm_bindgen::module(), wasm_bindgen::memory(), n))
        .await
        .map_err(|e| {
            unavailable(format!("the CPU thread pool could not start its workers: {}", crate::error::js_message(&e)))
        })?;
    rayon::ThreadPoolBuilder::new()
        .num_threads(n)
        .thread_name(|i| format!("shopfloor-pool-{i}"))
        .spawn_handler(|thread| {
            WAITING.lock().unwrap_or_else(|e| e.into_inner()).push(thread);
            ARRIVED.notify_one();
            Ok(())
        })
        .build_global()
        .map_err(|e| unavailable(format!("the CPU thread pool could not start: {e}")))
}
