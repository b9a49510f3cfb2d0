//! A share of a run handed to one pool thread while the caller computes its own (`beside`).
//!
//! Whoever claims the share first runs it: the pool thread when it starts before the caller is
//! done with its own, else the caller. A claimed share is waited for by spinning (a page's thread
//! may not block), within a bound after which the caller runs it too.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// Shares the caller ran itself because no pool thread had started them (or one stalled), for the
/// browser tests and `scripts/bands-ab.mjs` (the test-only export `__testBandedRuns`).
pub static TAKEN_BACK: AtomicUsize = AtomicUsize::new(0);

/// The handed-over share's state, shared by the caller and the pool's job.
struct Handoff<R> {
    claimed: AtomicBool,
    /// Set when the pool thread that claimed the share is done with it, answer or panic.
    done: AtomicBool,
    answer: Mutex<Option<R>>,
}

/// Sets `done` when the pool's job ends, also by unwinding.
struct Done<'a>(&'a AtomicBool);

impl Drop for Done<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Release);
    }
}

/// `local` here and `remote` on the pool thread that `spawn` hands it to, as `pool::beside` says.
pub fn beside_with<L, R: Send + 'static>(
    local: impl FnOnce() -> L,
    remote: Arc<dyn Fn() -> R + Send + Sync>,
    wait_ms: f64,
    spawn: impl FnOnce(Box<dyn FnOnce() + Send>),
) -> (L, R) {
    let handoff =
        Arc::new(Handoff { claimed: AtomicBool::new(false), done: AtomicBool::new(false), answer: Mutex::new(None) });
    let (h, job) = (handoff.clone(), remote.clone());
    spawn(Box::new(move || {
        if h.claimed.swap(true, Ordering::AcqRel) {
            return;
        }
        let _done = Done(&h.done);
        let answer = job();
        if let Ok(mut slot) = h.answer.lock() {
            *slot = Some(answer);
        }
    }));
    let mine = local();
    if !handoff.claimed.swap(true, Ordering::AcqRel) {
        TAKEN_BACK.fetch_add(1, Ordering::Relaxed);
        return (mine, remote());
    }
    let start = crate::backend::clock::now_ms();
    let mut spins = 0u32;
    while !handoff.done.load(Ordering::Acquire) {
        std::hint::spin_loop();
        spins = spins.wrapping_add(1);
        if spins.is_multiple_of(1024) && crate::backend::clock::now_ms() - start > wait_ms {
            TAKEN_BACK.fetch_add(1, Ordering::Relaxed);
            return (mine, remote());
        }
    }
    let answer = handoff.answer.lock().ok().and_then(|mut slot| slot.take());
    (mine, answer.unwrap_or_else(|| remote()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::AtomicUsize;
    use std::thread;
    use std::time::Duration;

    fn on_a_thread(job: Box<dyn FnOnce() + Send>) {
        thread::spawn(job);
    }

    #[test]
    fn the_pool_thread_runs_the_share_it_starts_before_the_caller_is_done() {
        let caller = thread::current().id();
        let started = Arc::new(AtomicBool::new(false));
        let flag = started.clone();
        let remote: Arc<dyn Fn() -> thread::ThreadId + Send + Sync> = Arc::new(move || {
            flag.store(true, Ordering::SeqCst);
            thread::current().id()
        });
        // The caller's own share lasts until the pool thread has begun its share (a fixed sleep
        // was not always long enough for a new thread to start on a busy machine).
        let own = || {
            let t0 = std::time::Instant::now();
            while !started.load(Ordering::SeqCst) {
                assert!(t0.elapsed() < Duration::from_secs(30), "the pool thread never began its share");
                thread::sleep(Duration::from_millis(1));
            }
        };
        let (mine, theirs) = beside_with(own, remote, 5_000.0, on_a_thread);
        assert_eq!(mine, ());
        assert_ne!(theirs, caller);
    }

    #[test]
    fn the_caller_runs_a_share_no_pool_thread_has_started() {
        let caller = thread::current().id();
        let late = Arc::new(Mutex::new(None::<Box<dyn FnOnce() + Send>>));
        let keep = late.clone();
        let runs = Arc::new(AtomicUsize::new(0));
        let counted = runs.clone();
        let remote: Arc<dyn Fn() -> thread::ThreadId + Send + Sync> = Arc::new(move || {
            counted.fetch_add(1, Ordering::SeqCst);
            thread::current().id()
        });
        let (_, theirs) = beside_with(|| (), remote, 5_000.0, move |job| *keep.lock().unwrap() = Some(job));
        assert_eq!(theirs, caller);
        // The pool's job, started after the caller returned, finds the share taken.
        (late.lock().unwrap().take().unwrap())();
        assert_eq!(runs.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_pool_thread_that_panics_leaves_the_share_to_the_caller() {
        let caller = thread::current().id();
        let remote: Arc<dyn Fn() -> thread::ThreadId + Send + Sync> = Arc::new(move || {
            let here = thread::current().id();
            assert_eq!(here, caller, "the pool thread's run panics");
            here
        });
        let (_, theirs) = beside_with(|| thread::sleep(Duration::from_millis(50)), remote, 5_000.0, on_a_thread);
        assert_eq!(theirs, caller);
    }

    #[test]
    fn a_stalled_pool_thread_is_waited_for_within_the_bound_only() {
        let caller = thread::current().id();
        let remote: Arc<dyn Fn() -> thread::ThreadId + Send + Sync> = Arc::new(move || {
            if thread::current().id() != caller {
                thread::sleep(Duration::from_secs(5));
            }
            thread::current().id()
        });
        let t0 = std::time::Instant::now();
        let (_, theirs) = beside_with(|| thread::sleep(Duration::from_millis(50)), remote, 20.0, on_a_thread);
        assert_eq!(theirs, caller);
        assert!(t0.elapsed() < Duration::from_secs(4), "{:?}", t0.elapsed());
    }
}
