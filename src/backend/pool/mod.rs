//! The CPU's thread pool in the threaded wasm build (`--features threads`, `+atomics`).
//!
//! A page's main thread may never block, and tract blocks its caller while the pool works. So a
//! run is handed whole to the pool (`rayon::spawn`, which never blocks) and the caller awaits a
//! channel that the pool thread fills; inside, tract's kernels split their work over the other
//! pool threads (`Executor::RayonGlobal`, which every pool thread runs under), which spin for the
//! length of the run rather than sleep between its products (`keep_warm`). A small plan with
//! row bands (`backend::bands`) is not handed over whole: the caller runs one band and hands the
//! other to one pool thread (`beside`), holding the pool's turn as a job would. The pool's Web
//! Workers are started from JS (`startThreads`; `pool_workers` starts them). Everywhere else
//! (single-thread build, native, pool not started) a job runs inline on the caller's thread.

use std::sync::atomic::{AtomicUsize, Ordering};

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

/// Where one plan's runs go in the threaded build. Handing a run to the pool and splitting its
/// products over threads has a fixed cost that a small model does not earn back (BlazeFace: 10 ms
/// on one thread, 14 ms on two), so each plan measures both ways once its first `WARMUP` runs
/// are done and keeps the faster by their median runs: the pool, or inline on the caller's thread
/// with tract's single-thread kernels. What else runs in the page changes which is faster (another model or
/// runtime between the runs leaves the pool's threads asleep and the caches cold), so every
/// `REVISIT` runs the other way is measured again against the latest runs of the chosen one.
/// Inline is only ever tried for plans whose pooled run is short, so a page's thread is never held
/// long.
#[derive(Debug, Default, Clone)]
pub struct Placement {
    /// The latest runs measured each way after the `WARMUP` runs: pooled, inline.
    pooled: Samples,
    inline: Samples,
    warmed: usize,
    decided: Option<Where>,
    /// Pooled runs too long to ever try inline: the pool for good.
    fixed: bool,
    /// Runs the chosen way since the choice was last made.
    since: usize,
    /// Measuring the other way again (`REVISIT`).
    probing: bool,
}

/// The runs measured one way (ms), in order; the latest `SAMPLES` only.
#[derive(Debug, Clone, Default)]
struct Samples(Vec<f64>);

impl Samples {
    fn push(&mut self, ms: f64) {
        if self.0.len() == SAMPLES {
            self.0.remove(0);
        }
        self.0.push(ms);
    }

    fn best(&self) -> f64 {
        self.0.iter().copied().fold(f64::INFINITY, f64::min)
    }

    /// The middle run: a pooled run's time varies far more than an inline one's (other threads,
    /// the hand-over), so the fastest of a few flattered the pool.
    fn median(&self) -> f64 {
        let mut v = self.0.clone();
        v.sort_by(f64::total_cmp);
        v.get(v.len() / 2).copied().unwrap_or(f64::INFINITY)
    }
}

/// Where a run goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Where {
    Pool,
    Inline,
}

/// A pooled run longer than this is never tried inline (it would hold the caller's thread).
const INLINE_MAX_MS: f64 = 25.0;
/// Inline runs shorter than this hold the caller's thread for less than a third of a 60-Hz
/// frame: the faster way wins outright. Longer ones must beat the pool by 10 %.
const SHORT_MS: f64 = 5.0;
/// Runs measured each way before choosing (their medians are compared).
const SAMPLES: usize = 5;
/// A plan's first runs, in the pool, before either way is measured: the browser is still
/// optimising the code they run (BlazeFace's runs 2-12 took 11-17 ms, later ones 4-6 ms in
/// Chromium), and a choice made on them was a coin toss that then stood for `REVISIT` runs.
const WARMUP: usize = 5;
/// Runs the chosen way between two measurements of the other.
const REVISIT: usize = 60;

impl Where {
    fn other(self) -> Where {
        match self {
            Where::Pool => Where::Inline,
            Where::Inline => Where::Pool,
        }
    }
}

impl Placement {
    /// Where the next run goes.
    pub fn next(&self) -> Where {
        if let Some(w) = self.decided {
            return if self.probing { w.other() } else { w };
        }
        if self.warmed < WARMUP || self.inline.0.len() >= self.pooled.0.len() {
            Where::Pool
        } else {
            Where::Inline
        }
    }

    /// Records how long a run placed by `next()` took, and decides once both ways are measured
    /// (again after every `REVISIT` runs).
    pub fn record(&mut self, at: Where, ms: f64) {
        if self.fixed {
            return;
        }
        if self.warmed < WARMUP {
            self.warmed += 1;
            if ms > INLINE_MAX_MS * 4.0 {
                self.fix();
            }
            return;
        }
        match at {
            Where::Pool => self.pooled.push(ms),
            Where::Inline => self.inline.push(ms),
        };
        // A run that would hold the caller's thread long: the pool's (while it is the choice or
        // being chosen; an inline choice's probe of the pool may be slow) or inline's own.
        let long = match at {
            Where::Pool => self.decided != Some(Where::Inline) && self.pooled.best() > INLINE_MAX_MS,
            Where::Inline => self.inline.best() > INLINE_MAX_MS,
        };
        if long {
            self.fix();
            return;
        }
        match self.decided {
            None if self.pooled.0.len() >= SAMPLES && self.inline.0.len() >= SAMPLES => self.decide(),
            None => {}
            Some(w) if self.probing => {
                // The other way's fresh runs against the chosen way's latest ones.
                let fresh = if w == Where::Pool { &self.inline } else { &self.pooled };
                if at != w && fresh.0.len() >= SAMPLES {
                    self.decide();
                }
            }
            Some(w) => {
                self.since += 1;
                if self.since >= REVISIT {
                    self.probing = true;
                    match w {
                        Where::Pool => self.inline.0.clear(),
                        Where::Inline => self.pooled.0.clear(),
                    }
                }
            }
        }
    }

    fn decide(&mut self) {
        // Near-ties go to the pool, which keeps the caller's thread free, unless inline runs are
        // short: there a 10 % margin kept the openWakeWord embedding in the pool at 2.5-4 ms a run
        // against 2.2-2.4 inline (docs/performance-log.md, "Short runs go the faster way").
        let inline = self.inline.median();
        let margin = if inline < SHORT_MS { 1.0 } else { 0.9 };
        let inline_wins = inline < margin * self.pooled.median();
        self.decided = Some(if inline_wins { Where::Inline } else { Where::Pool });
        (self.since, self.probing) = (0, false);
    }

    fn fix(&mut self) {
        (self.decided, self.fixed, self.probing) = (Some(Where::Pool), true, false);
    }

    /// The choice once made (`None` while still measuring).
    pub fn decided(&self) -> Option<Where> {
        self.decided
    }
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
        Where::Pool => pooled(move || warm(move || job(Where::Pool))).await,
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

/// `job` with the pool's other threads awake for its length (`keep_warm`), where there is a pool.
fn warm<T>(job: impl FnOnce() -> T) -> T {
    #[cfg(all(target_arch = "wasm32", feature = "threads"))]
    return keep_warm::during(job);
    #[cfg(not(all(target_arch = "wasm32", feature = "threads")))]
    job()
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

/// The pool's other threads spinning while a run is in the pool.
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
mod keep_warm;

/// A share of a run handed to one pool thread while the caller computes its own (`beside`).
#[cfg_attr(not(all(target_arch = "wasm32", feature = "threads")), allow(dead_code))]
mod helper;
pub use helper::TAKEN_BACK;

#[cfg(test)]
mod tests {
    use super::{Placement, Where, REVISIT, SAMPLES, WARMUP};

    fn measure(p: &mut Placement, pooled: f64, inline: f64) -> Vec<Where> {
        let mut seen = vec![];
        for _ in 0..30 {
            let at = p.next();
            seen.push(at);
            p.record(at, if at == Where::Pool { pooled } else { inline });
        }
        seen
    }

    #[test]
    fn a_small_plan_that_runs_faster_inline_moves_inline_after_measuring_both() {
        let mut p = Placement::default();
        let seen = measure(&mut p, 14.0, 10.0);
        assert_eq!(p.decided(), Some(Where::Inline));
        // The warm-up in the pool, then `SAMPLES` of each, alternating, then inline for good.
        let measured = WARMUP + 2 * SAMPLES;
        assert!(seen[..WARMUP].iter().all(|w| *w == Where::Pool), "{seen:?}");
        let alternating: Vec<Where> =
            (0..2 * SAMPLES).map(|i| if i % 2 == 0 { Where::Pool } else { Where::Inline }).collect();
        assert_eq!(&seen[WARMUP..measured], &alternating[..], "{seen:?}");
        assert!(seen[measured..].iter().all(|w| *w == Where::Inline), "{seen:?}");
    }

    /// The pool's runs vary: one fast pooled run among slow ones does not make the pool look
    /// faster than steady inline runs.
    #[test]
    fn the_pools_occasional_fast_run_does_not_decide() {
        let mut p = Placement::default();
        let warm_up = [2.0; WARMUP];
        let (mut pooled, mut inline) =
            (warm_up.into_iter().chain([3.0, 9.0, 8.5, 9.2, 8.8]), [3.4, 3.3, 3.5, 3.4, 3.6].into_iter());
        while p.decided().is_none() {
            let at = p.next();
            let ms = if at == Where::Pool { pooled.next() } else { inline.next() };
            p.record(at, ms.expect("decided within the samples"));
        }
        // After the warm-up (2.0): pooled 3.0, 9.0, 8.5, 9.2, 8.8 (the fastest, 3.0, would have
        // kept the pool).
        assert_eq!(p.decided(), Some(Where::Inline), "pooled median 8.8 ms against inline 3.4");
    }

    /// What runs beside a plan changes: the other way is measured again every `REVISIT` runs and
    /// taken when it has become faster; while it is not, the choice stands.
    #[test]
    fn the_choice_is_measured_again_and_follows_the_faster_way() {
        let mut p = Placement::default();
        let seen = measure(&mut p, 10.0, 14.0);
        assert_eq!(p.decided(), Some(Where::Pool));
        assert!(seen[WARMUP + 2 * SAMPLES..].iter().all(|w| *w == Where::Pool));
        // The pool slows down (another runtime's runs between ours): within REVISIT runs and
        // SAMPLES inline ones, runs go inline.
        let mut seen = vec![];
        for _ in 0..REVISIT + 10 {
            let at = p.next();
            seen.push(at);
            p.record(at, if at == Where::Pool { 20.0 } else { 14.0 });
        }
        assert_eq!(p.decided(), Some(Where::Inline), "{seen:?}");
        let first = seen.iter().position(|w| *w == Where::Inline).unwrap();
        assert!(first < REVISIT, "measured again within {REVISIT} runs: {seen:?}");
        assert!(seen[first..].iter().all(|w| *w == Where::Inline), "the probes, then inline: {seen:?}");
        // Inline stays while the pool is still slower when measured again.
        let mut seen = vec![];
        for _ in 0..2 * REVISIT {
            let at = p.next();
            seen.push(at);
            p.record(at, if at == Where::Pool { 20.0 } else { 14.0 });
        }
        assert_eq!(p.decided(), Some(Where::Inline));
        let probes = seen.windows(SAMPLES).filter(|w| w.iter().all(|w| *w == Where::Pool)).count();
        assert_eq!(probes, 2, "a probe of {SAMPLES} pooled runs every {REVISIT} runs: {seen:?}");
        assert_eq!(
            seen.iter().filter(|w| **w == Where::Pool).count(),
            2 * SAMPLES,
            "and no other pooled run: {seen:?}"
        );
    }

    /// An inline choice's probe of the pool that comes out slow (past what inline may hold the
    /// thread for) keeps the plan inline; inline runs that become that long go to the pool.
    #[test]
    fn a_slow_probe_of_the_pool_keeps_an_inline_plan_inline() {
        let mut p = Placement::default();
        measure(&mut p, 14.0, 10.0);
        assert_eq!(p.decided(), Some(Where::Inline));
        for _ in 0..REVISIT + 10 {
            let at = p.next();
            p.record(at, if at == Where::Pool { 40.0 } else { 10.0 });
        }
        assert_eq!(p.decided(), Some(Where::Inline));
        for _ in 0..5 {
            let at = p.next();
            p.record(at, if at == Where::Pool { 14.0 } else { 30.0 });
        }
        assert_eq!(p.decided(), Some(Where::Pool), "inline runs of 30 ms hold the thread too long");
    }

    #[test]
    fn ties_and_large_plans_stay_in_the_pool() {
        let mut p = Placement::default();
        measure(&mut p, 10.0, 9.5);
        assert_eq!(p.decided(), Some(Where::Pool), "within 10 %: the pool keeps the caller free");
        let mut p = Placement::default();
        measure(&mut p, 5.4, 5.1);
        assert_eq!(p.decided(), Some(Where::Pool), "inline runs of 5 ms or more need the 10 %");
        let mut p = Placement::default();
        let seen = measure(&mut p, 60.0, 1.0);
        assert_eq!(p.decided(), Some(Where::Pool));
        assert!(seen.iter().all(|w| *w == Where::Pool), "a 60 ms run is never tried inline: {seen:?}");
    }

    /// A few milliseconds on the caller's thread cost a page less than a frame: the faster way
    /// wins outright, with no margin for the pool.
    #[test]
    fn short_runs_go_the_faster_way() {
        let mut p = Placement::default();
        measure(&mut p, 2.5, 2.3);
        assert_eq!(p.decided(), Some(Where::Inline), "inline 2.3 ms against the pool's 2.5");
        let mut p = Placement::default();
        measure(&mut p, 2.3, 2.5);
        assert_eq!(p.decided(), Some(Where::Pool), "and the pool when it is the faster");
    }
}
