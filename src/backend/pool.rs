//! The CPU's thread pool in the threaded wasm build (`--features threads`, `+atomics`).
//!
//! A page's main thread may never block, and tract blocks its caller while the pool works. So a
//! run is handed whole to the pool (`rayon::spawn`, which never blocks) and the caller awaits a
//! channel that the pool thread fills; inside, tract's kernels split their work over the other
//! pool threads (`Executor::RayonGlobal`, scoped to that run). The pool's Web Workers are started
//! from JS (`startThreads`, which wraps `wasm-bindgen-rayon`'s `initThreadPool`). Everywhere else
//! (single-thread build, native, pool not started) a job runs inline on the caller's thread.

use std::sync::atomic::{AtomicUsize, Ordering};

#[cfg(all(target_arch = "wasm32", feature = "threads"))]
use crate::error::Error;
use crate::error::Result;

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
    let started = wasm_bindgen_futures::JsFuture::from(wasm_bindgen_rayon::init_thread_pool(n)).await;
    started.map_err(|e| Error::BackendUnavailable {
        backend: "cpu".into(),
        reason: format!("the CPU thread pool could not start its workers: {}", js_message(&e)),
    })?;
    THREADS.store(n, Ordering::Relaxed);
    Ok(n)
}

#[cfg(all(target_arch = "wasm32", feature = "threads"))]
fn js_message(e: &wasm_bindgen::JsValue) -> String {
    use wasm_bindgen::JsCast;
    e.dyn_ref::<js_sys::Error>().map(|e| String::from(e.message())).or_else(|| e.as_string()).unwrap_or_default()
}

/// Runs `job` on the pool when there is one (awaiting it without blocking), inline otherwise.
/// Jobs go to the pool one at a time, in call order: tract keeps per-thread scratch space that a
/// node holds for its whole evaluation, and a pool thread waiting inside one run's matrix product
/// may steal work, so two runs in the pool at once could meet on one thread (two models of a
/// page, e.g. the camera's and the microphone's, each awaiting its run).
pub async fn run<T: Send + 'static>(job: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    #[cfg(all(target_arch = "wasm32", feature = "threads"))]
    if threads() > 1 {
        use tract_linalg::multithread::{multithread_tract_scope, Executor};
        let _turn = turn::take().await;
        let (tx, rx) = futures_channel::oneshot::channel();
        rayon::spawn(move || {
            let _ = tx.send(multithread_tract_scope(Executor::RayonGlobal, job));
        });
        // The sender only drops unsent if the job panicked on its pool thread.
        return rx.await.unwrap_or_else(|_| Err(Error::Internal("a CPU run stopped on its pool thread".into())));
    }
    job()
}

/// One pool job at a time, for the thread that awaits them (the page's or the SDK worker's).
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
mod turn {
    use std::cell::RefCell;
    use std::collections::VecDeque;
    use std::task::{Poll, Waker};

    thread_local! {
        /// Whether a job is in the pool, and who waits for its turn (oldest first).
        static STATE: RefCell<(bool, VecDeque<Waker>)> = const { RefCell::new((false, VecDeque::new())) };
    }

    /// Held while a job is in the pool; dropping it (also on a panic) lets the next one in.
    pub struct Turn;

    impl Drop for Turn {
        fn drop(&mut self) {
            let next = STATE.with_borrow_mut(|(busy, waiting)| {
                *busy = false;
                waiting.pop_front()
            });
            if let Some(w) = next {
                w.wake();
            }
        }
    }

    pub async fn take() -> Turn {
        let mut queued = false;
        std::future::poll_fn(|cx| {
            STATE.with_borrow_mut(|(busy, waiting)| {
                // Newcomers wait behind those already queued; a woken waiter takes a free turn.
                if !*busy && (queued || waiting.is_empty()) {
                    *busy = true;
                    // A waiter polled before its wake-up leaves no stale entry behind.
                    waiting.retain(|w| !w.will_wake(cx.waker()));
                    Poll::Ready(Turn)
                } else {
                    if queued {
                        waiting.push_front(cx.waker().clone());
                    } else {
                        waiting.push_back(cx.waker().clone());
                        queued = true;
                    }
                    Poll::Pending
                }
            })
        })
        .await
    }
}
