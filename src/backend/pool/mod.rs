//! The CPU's thread pool in the threaded wasm build (`--features threads`, `+atomics`).
//!
//! A page's main thread may never block, and tract blocks its caller while the pool works. So a
//! run is handed whole to the pool (`rayon::spawn`, which never blocks) and the caller awaits a
//! channel that the pool thread fills; inside, tract's kernels split their work over the other
//! pool threads (`Executor::RayonGlobal`, which every pool thread runs under). A small plan with
//! row bands (`backend::bands`) is not handed over whole: the caller runs one band and hands the
//! other to one pool thread (`beside`), holding the pool's turn as a job would. The pool's Web
//! Workers are started from JS (`startThreads`; `pool_workers` starts them). Everywhere else
//! (single-thread build, native, pool not started) a job runs inline on the caller's thread.

use std::sync::atomic::{AtomicUsize, Ordering};

mod placement;
pub use placement::{Placement, Where};

#[cfg(all(target_arch = "wasm32", feature = "threads"))]
use crate::error::Error;
use crate::error::Result;

/// Set by the test-only wasm export `__testForcePlacement` (`scripts/bands-ab.mjs`): 1 runs
/// every CPU run in the pool, 2 inline, 0 lets each plan's placement choose.
pub static FORCED: AtomicUsize = AtomicUsize::new(0);

/// Threads the CPU path uses: the pool's size once started, else 1.
static THREADS: AtomicUsize = AtomicUsize::new(1);

/// How many threads a CPU run uses now.
pub fn threads() -> usize {
    THREADS.load(Ordering::Relaxed)
}

/// Whether this binary can start a pool at all (the threaded wasm build).
pub const CAN_THREAD: bool = cfg!(all(target_arch = "wasm32", feature = "threads"));

/// Starts `n` Web Workers as tract's pool (threaded build only; a second call is refused, as
/// rayon's global pool can be built once per instance).
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
pub async fn start(n: usize) -> Result<usize> {
    if threads() > 1 {
        return Err(Error::InvalidArgument(format!("the CPU thread pool already runs {} threads", threads())));
    }
    if !(1..=64).contains(&n) {
        return Err(Error::InvalidArgument(format!("threads must be 1..64, got {n}")));
    }
    if n == 1 {
        return Ok(1);
    }
    super::pool_workers::start(n).await?;
    THREADS.store(n, Ordering::Relaxed);
    Ok(n)
}

/// Runs `job` on the pool or inline, as `placement` says (and tells `job` which), and records how
/// long it took there (the lock is held only around the bookkeeping). With `beside`, a run placed
/// in the pool stays on the caller's thread, holding the pool's turn, and hands the pool its share
/// itself (`beside`): a plan in row bands gives one band to one pool thread and computes the other.
pub async fn run_placed<T: Send + 'static>(
    placement: &std::sync::Mutex<Placement>,
    beside: bool,
    job: impl FnOnce(Where) -> Result<T> + Send + 'static,
) -> Result<T> {
    if threads() <= 1 {
        return job(Where::Inline);
    }
    let at = match FORCED.load(Ordering::Relaxed) {
        1 => Where::Pool,
        2 => Where::Inline,
        _ => placement.lock().map(|p| p.next()).unwrap_or(Where::Pool),
    };
    let (out, ms) = match at {
        Where::Pool if beside => holding_turn(move || job(Where::Pool)).await,
        Where::Pool => pooled(move || job(Where::Pool)).await,
        Where::Inline => timed(move || job(Where::Inline)),
    };
    if out.is_ok() {
        if let Ok(mut p) = placement.lock() {
            p.record(at, ms);
        }
    }
    out
}

/// `job` on the caller's thread with the pool's turn held (so that it may use the pool through
/// `beside`), timed from the turn on, as `pooled` times its jobs.
async fn holding_turn<T>(job: impl FnOnce() -> Result<T>) -> (Result<T>, f64) {
    #[cfg(all(target_arch = "wasm32", feature = "threads"))]
    let _turn = turn::take().await;
    timed(job)
}

/// Runs `job` on the pool when there is one (awaiting it without blocking), inline otherwise,
/// with the milliseconds from the job's turn in the pool to its answer (a turn's wait behind
/// another model's run is not the job's cost). Jobs go to the pool one at a time, in call order:
/// tract keeps per-thread scratch space that a node holds for its whole evaluation, and a pool
/// thread waiting inside one run's matrix product may steal work, so two runs in the pool at once
/// could meet on one thread (two models of a page, e.g. the camera's and the microphone's).
async fn pooled<T: Send + 'static>(job: impl FnOnce() -> Result<T> + Send + 'static) -> (Result<T>, f64) {
    #[cfg(all(target_arch = "wasm32", feature = "threads"))]
    if threads() > 1 {
        let _turn = turn::take().await;
        let t0 = super::clock::now_ms();
        let (tx, rx) = futures_channel::oneshot::channel();
        rayon::spawn(move || {
            // Pool threads already run under tract's pool executor (`pool_workers`).
            let _ = tx.send(job());
        });
        // The sender only drops unsent if the job panicked on its pool thread.
        let out = rx.await.unwrap_or_else(|_| Err(Error::Internal("a CPU run stopped on its pool thread".into())));
        return (out, super::clock::now_ms() - t0);
    }
    timed(job)
}

/// `job` on the pool when there is one, neither placed nor timed; inline otherwise.
pub async fn on_pool<T: Send + 'static>(job: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    pooled(job).await.0
}

/// How long the caller waits for a pool thread's share that has started (`beside`) before it
/// computes that share itself. A share is a band of a small plan (milliseconds): the bound is a
/// guard against a pool thread stalled by the browser, never reached in a normal run.
#[cfg_attr(not(all(target_arch = "wasm32", feature = "threads")), allow(dead_code))]
const BESIDE_WAIT_MS: f64 = 100.0;

/// `local` on the caller's thread while a pool thread runs `remote`, side by side, with the pool's
/// turn held (`run_placed` with `beside`); one after the other where there is no pool. A page's
/// thread may not block, and the hand-off of a whole run to the pool and back cost 0.5-0.7 ms of a
/// 4-5 ms BlazeFace run (docs/performance-log.md, "Row bands"), so: the caller runs `local`, then
/// runs `remote` itself if no pool thread has started it yet, or else spins until the pool thread
/// is done (at most `BESIDE_WAIT_MS`, after which it runs `remote` too and drops the pool's
/// answer; so does a pool thread's panic). `remote` is shared, not borrowed, for that reason: the
/// caller may return while the pool still runs it.
pub fn beside<L, R: Send + 'static>(
    local: impl FnOnce() -> L,
    remote: std::sync::Arc<dyn Fn() -> R + Send + Sync>,
) -> (L, R) {
    #[cfg(all(target_arch = "wasm32", feature = "threads"))]
    if threads() > 1 && rayon::current_thread_index().is_none() {
        // Pool threads already run under tract's pool executor; a share sets its own (`cpu`).
        return helper::beside_with(local, remote, BESIDE_WAIT_MS, |job| rayon::spawn(job));
    }
    (local(), remote())
}

/// `job` on the caller's thread, and how long it took (ms).
fn timed<T>(job: impl FnOnce() -> Result<T>) -> (Result<T>, f64) {
    let t0 = super::clock::now_ms();
    let out = job();
    (out, super::clock::now_ms() - t0)
}

/// One pool job at a time, for the thread that awaits them (the page's or the SDK worker's).
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
mod turn;

/// A share of a run handed to one pool thread while the caller computes its own (`beside`).
#[cfg_attr(not(all(target_arch = "wasm32", feature = "threads")), allow(dead_code))]
mod helper;
pub use helper::TAKEN_BACK;
