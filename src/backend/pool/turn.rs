//! One pool job at a time, for the thread that awaits them (the page's or the SDK worker's).

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
