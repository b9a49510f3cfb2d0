//! What `model.info()` reports.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::backend::gpu::session::GpuPlanInfo;
use crate::backend::BackendKind;

/// One op type of the model: how many nodes use it and where they run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpInfo {
    pub count: usize,
    pub backend: BackendKind,
}

/// What `model.info()` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub backend: BackendKind,
    /// Why this backend was chosen.
    pub backend_reason: String,
    pub opset: i64,
    pub producer: String,
    pub node_count: usize,
    pub parameter_count: u64,
    pub ops: BTreeMap<String, OpInfo>,
    /// What the loader adjusted so the file runs as onnxruntime runs it.
    pub loader_fixes: Vec<String>,
    /// `"static"`: one plan compiled at load; `"per-shape"`: compiled per input shape, cached;
    /// `"per-value"`: also per value of the small inputs tract needs as constants (an `If`'s
    /// condition, a shape, `Slice` bounds: `value_inputs`).
    pub plan: &'static str,
    pub cached_plans: usize,
    /// Threaded build, CPU: where the latest plan's runs go once measured (`"pool"`: the worker
    /// pool, each layer split over it; `"bands"`: the pool, a small plan's first layers in two
    /// bands of rows side by side (`backend::bands`); `"inline"`: on the calling thread,
    /// single-threaded, measured faster for this small plan); absent while measuring, on one
    /// thread, or on the GPU.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_placement: Option<&'static str>,
    /// The WebGPU plan, when the model runs there.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub gpu: Option<GpuPlanInfo>,
    pub sha256: String,
    pub byte_length: usize,
}
