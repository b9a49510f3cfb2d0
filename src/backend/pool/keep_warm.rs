//! The pool's other threads kept awake while a run is in the pool.
//!
//! rayon puts an idle thread to sleep after 33 quick rounds of looking for work, and on wasm a
//! round's `thread::yield_now` returns at once: a pool thread is asleep microseconds after its
//! share of a product is done. A run hands out a share per product (about fifty on a Whisper
//! decoder step), and each share then waits for a wake-up through `memory.atomic.notify`, whose
//! cost the run's thread pays and whose latency leaves the waker to do most of the share itself.
//! So, as onnxruntime's pool spins during a parallel section, each other thread runs a spinner for
//! the length of the run: it takes any share the moment it is offered (`rayon::yield_now`) and
//! returns when the run ends.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

/// Whether a run is in the pool, and which one (a spinner leaves once its run is over, even if
/// the next has begun: that run starts spinners of its own).
static ACTIVE: AtomicBool = AtomicBool::new(false);
static RUN: AtomicUsize = AtomicUsize::new(0);

/// Clears `ACTIVE` when the run ends, unwinding included.
struct Running;

impl Drop for Running {
    fn drop(&mut self) {
        ACTIVE.store(false, Ordering::Release);
    }
}

/// `job` on this pool thread with the others spinning until it returns.
pub fn during<T>(job: impl FnOnce() -> T) -> T {
    let Some(me) = rayon::current_thread_index() else { return job() };
    let run = RUN.fetch_add(1, Ordering::AcqRel) + 1;
    ACTIVE.store(true, Ordering::Release);
    let _running = Running;
    rayon::spawn_broadcast(move |ctx| {
        // This thread's own spinner runs after the job (or inside one of its waits, where
        // spinning would keep the job from ever finishing).
        if ctx.index() != me {
            spin(run);
        }
    });
    job()
}

fn spin(run: usize) {
    while ACTIVE.load(Ordering::Acquire) && RUN.load(Ordering::Acquire) == run {
        if rayon::yield_now() != Some(rayon::Yield::Executed) {
            std::hint::spin_loop();
        }
    }
}
