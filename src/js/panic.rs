//! Panics at the JS boundary. The wasm build unwinds (`-C panic=unwind`, WebAssembly exception
//! handling), so a panic anywhere below an export is caught here and reaches the caller as a
//! `ShopfloorError` with code `INTERNAL` naming the operation, and the instance keeps working.
//!
//! Synchronous exports are covered by wasm-bindgen itself (it catches at each export and throws a
//! `PanicError`, which pkg/src/call.ts turns into `INTERNAL`). Futures are not: a panic while a
//! promise's future is polled would unwind out of wasm-bindgen-futures' task queue and leave the
//! promise pending forever. `catching` polls a future inside `catch_unwind` and rejects instead.
//!
//! The exported handles (`WasmModel`, the pipelines) are declared unwind-safe where they are
//! defined (`handles_stay_usable!`): each method borrows its pipeline through a `RefCell`, which
//! the unwinding releases, and a panicked call changes nothing a later call relies on (a run's
//! state is built per run), so a handle stays usable after a caught panic, as the browser test
//! `tests/e2e/feeds.test.mjs` checks.

use std::future::Future;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::pin::Pin;
use std::task::{Context, Poll};

use wasm_bindgen::JsValue;

use super::to_js_error;
use crate::error::Error;

/// The error a panic during `what` becomes.
pub(crate) fn to_error(what: &str, payload: &(dyn std::any::Any + Send)) -> Error {
    Error::Internal(format!("shopfloor panicked while {what}: {}", crate::error::panic_message(payload)))
}

/// `fut`, with a panic during any poll turned into a rejection (`INTERNAL`, naming `what`).
/// The future is dropped after a panic; whatever it borrowed (a model's `RefCell`) is released
/// by the unwinding, so the object stays usable.
pub(crate) fn catching<F>(
    what: &'static str,
    fut: F,
) -> impl Future<Output = Result<JsValue, JsValue>> + std::panic::UnwindSafe
where
    F: Future<Output = Result<JsValue, JsValue>>,
{
    Catching { what, fut: Some(Box::pin(fut)) }
}

struct Catching<F> {
    what: &'static str,
    fut: Option<Pin<Box<F>>>,
}

// A panic inside `fut` is caught here and the future dropped, never polled again: nothing can
// observe its broken state, which is what wasm-bindgen's `future_to_promise` asks of a future
// under panic=unwind.
impl<F> std::panic::UnwindSafe for Catching<F> {}

impl<F: Future<Output = Result<JsValue, JsValue>>> Future for Catching<F> {
    type Output = Result<JsValue, JsValue>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        // Only the boxed future is pinned; `Catching` itself is Unpin.
        let this = self.get_mut();
        let Some(fut) = this.fut.as_mut() else {
            return Poll::Ready(Err(to_js_error(&Error::Internal(format!(
                "{} was polled after it failed",
                this.what
            )))));
        };
        match catch_unwind(AssertUnwindSafe(|| fut.as_mut().poll(cx))) {
            Ok(p) => p,
            Err(payload) => {
                this.fut = None;
                Poll::Ready(Err(to_js_error(&to_error(this.what, payload.as_ref()))))
            }
        }
    }
}

/// `fut` declared unwind-safe, for the `async` exports: wasm-bindgen runs them through
/// `future_to_promise`, which catches a panic (the promise rejects with a `PanicError` that
/// pkg/src/call.ts reports as `INTERNAL`) and drops the future, so no broken state is seen again.
pub(crate) fn unwinds<F: Future>(fut: F) -> std::panic::AssertUnwindSafe<F> {
    std::panic::AssertUnwindSafe(fut)
}

/// Declares exported handles unwind-safe (see the module's doc).
macro_rules! handles_stay_usable {
    ($($t:ty),*) => {$(
        impl std::panic::RefUnwindSafe for $t {}
        impl std::panic::UnwindSafe for $t {}
    )*};
}
pub(crate) use handles_stay_usable;
