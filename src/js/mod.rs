//! The wasm-bindgen layer: JS values in, JS values out, nothing else. It also compiles natively
//! so that `cargo test` type-checks it; the logic it calls lives in the modules above.

mod error;
mod model;
mod panic;
mod speech;
mod tensor;
mod transcribe;
mod vision;

pub use error::to_js_error;
pub use model::WasmModel;
pub use speech::{WasmKeywordSpotter, WasmVad, WasmVoiceCommands};
pub use transcribe::WasmTranscriber;
pub use vision::{WasmFaceDetector, WasmImageClassifier, WasmLinearSvm, WasmObjectDetector, WasmTextReader};

use panic::unwinds;
use serde::Serialize;
use wasm_bindgen::prelude::*;

/// Runs once when the module is instantiated: static constructors (the kernel registrations of
/// tract-linalg and `backend::cpu_kernels`), then Rust panics print a readable stack in the console.
#[wasm_bindgen(start)]
pub fn start() {
    run_constructors();
    console_error_panic_hook::set_once();
}

/// Runs the module's static constructors. wasm-ld calls them at the top of *every* export unless
/// the module calls them itself (it then assumes the embedder's start does): this call is what
/// keeps each of the ~240 exports, from a tensor copy to a whole run, from re-running ~127
/// registrations (inventory ignores the repeats, but each costs a call). Repeats stay harmless.
fn run_constructors() {
    #[cfg(target_arch = "wasm32")]
    {
        unsafe extern "C" {
            fn __wasm_call_ctors();
        }
        // SAFETY: linker-synthesised, no arguments; every constructor here is inventory's
        // registration, which is idempotent.
        unsafe { __wasm_call_ctors() }
    }
}

/// The SDK version.
#[wasm_bindgen]
pub fn version() -> String {
    crate::VERSION.to_string()
}

/// Which backends this environment offers: `{ cpu: {...}, webgpu: { available, adapter?, reason? } }`.
#[wasm_bindgen]
pub async fn backends() -> Result<JsValue, JsValue> {
    to_js(&unwinds(crate::backend::probe()).await)
}

/// Starts the CPU thread pool with `n` Web Workers (threaded build only; the npm wrapper calls
/// it from `init()`). Resolves to the number of threads CPU runs use.
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
#[wasm_bindgen(js_name = startThreads)]
pub async fn start_threads(n: u32) -> Result<u32, JsValue> {
    unwinds(crate::backend::pool::start(n as usize)).await.map(|n| n as u32).map_err(|e| to_js_error(&e))
}

/// Loads and runs a small graph of common CNN ops once on the CPU (`model::warm_up`), so that
/// the browser compiles that code before a real model needs it. The npm wrapper calls it in a
/// second instance of the module, in a Worker, while the page fetches its model.
#[wasm_bindgen(js_name = warmUp)]
pub fn warm_up() -> Result<(), JsValue> {
    crate::model::warm_up::warm_up().map(drop).map_err(|e| to_js_error(&e))
}

/// Runs the CPU's GEMM kernel and convolution tile briefly, so the browser has optimised them by
/// a model's first run (the npm wrapper calls it once the module is instantiated, while a model
/// downloads).
#[wasm_bindgen(js_name = tierUp)]
pub fn tier_up() {
    crate::backend::cpu_kernels::tier_up();
}

/// Test-only (not part of the package API): the next CPU run panics inside tract's guard, so the
/// browser tests can check that a real panic reaches the caller as `INTERNAL` and that the
/// instance keeps working.
#[wasm_bindgen(js_name = __testPanicNextRun)]
pub fn test_panic_next_run() {
    crate::backend::cpu::PANIC_NEXT_RUN.store(true, std::sync::atomic::Ordering::Relaxed);
}

/// Test-only (not part of the package API): `"pool"` or `"inline"` places every CPU run there
/// (a plan with row bands runs them in the pool), `"auto"` gives the choice back to each plan; for
/// measuring the two ways in one page (`scripts/bands-ab.mjs`).
#[wasm_bindgen(js_name = __testForcePlacement)]
pub fn test_force_placement(way: &str) -> Result<(), JsValue> {
    let forced = match way {
        "auto" => 0,
        "pool" => 1,
        "inline" => 2,
        other => return Err(JsValue::from_str(&format!("unknown placement {other:?}: use auto, pool or inline"))),
    };
    crate::backend::pool::FORCED.store(forced, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// Test-only (not part of the package API): CPU runs so far that went in row bands
/// (`backend::bands`), and bands the caller's thread ran itself because no pool thread had started
/// them (`pool::beside`), so the browser tests can tell the threaded build's bands ran side by side.
#[wasm_bindgen(js_name = __testBandedRuns)]
pub fn test_banded_runs() -> Vec<usize> {
    use std::sync::atomic::Ordering::Relaxed;
    vec![crate::backend::cpu::BANDED_RUNS.load(Relaxed), crate::backend::pool::TAKEN_BACK.load(Relaxed)]
}

/// Memory in use: `{ liveModels, wasmMemoryBytes }`. For leak checks in long sessions.
#[wasm_bindgen(js_name = memoryStats)]
pub fn memory_stats() -> Result<JsValue, JsValue> {
    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Stats {
        live_models: usize,
        wasm_memory_bytes: f64,
        heap_bytes: usize,
        gpu_buffers: usize,
    }
    #[cfg(target_arch = "wasm32")]
    let bytes = (core::arch::wasm32::memory_size(0) * 65536) as f64;
    #[cfg(not(target_arch = "wasm32"))]
    let bytes = 0.0;
    to_js(&Stats {
        live_models: model::live_models(),
        wasm_memory_bytes: bytes,
        heap_bytes: crate::heap::live_bytes(),
        gpu_buffers: crate::backend::gpu::session::live_buffers(),
    })
}

/// Plain JS objects (not `Map`s) for every struct the API returns.
pub(crate) fn to_js<T: Serialize + ?Sized>(value: &T) -> Result<JsValue, JsValue> {
    let ser = serde_wasm_bindgen::Serializer::new()
        .serialize_maps_as_objects(true)
        .serialize_large_number_types_as_bigints(false);
    value.serialize(&ser).map_err(|e| to_js_error(&crate::Error::Internal(format!("result conversion: {e}"))))
}
