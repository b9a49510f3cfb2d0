//! Why the GPU path cannot take a model or a run. The model layer turns each into
//! `BACKEND_UNAVAILABLE` (or keeps the CPU, for `"auto"`) with this text as the reason.

use super::translate::Unsupported;

#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuError {
    /// No adapter or no device: WebGPU missing, blocked, or refused.
    #[error("{0}")]
    Unavailable(String),
    #[error("the GPU device was lost")]
    DeviceLost,
    /// A node no GPU kernel takes; the whole graph then stays on the CPU.
    #[error("{0}: no GPU kernel, so the graph stays whole on the CPU")]
    NoKernel(Unsupported),
    #[error("an input's value decides the graph (an If's branch, a shape): no GPU kernel for that, so the graph stays whole on the CPU")]
    ValueDependent,
    /// The graph could not be prepared for translation (tract's decluttering at these shapes).
    #[error("{0}")]
    Prepare(String),
    #[error("the GPU is out of memory for this model: {0}")]
    OutOfMemory(String),
    /// WebGPU validation refused what we built (`what`: the plan, the frame buffers).
    #[error("the GPU rejected {what}: {detail}")]
    Rejected { what: &'static str, detail: String },
    /// A buffer past the adapter's limits, or a feature it lacks.
    #[error("{0}")]
    Limits(String),
    /// Waiting for or mapping a result buffer failed.
    #[error("{0}")]
    Readback(String),
    /// A translation that broke its own invariants (a bug: please report it).
    #[error("the GPU program is malformed: {0}")]
    Program(String),
    /// Inputs that do not fit the plan.
    #[error("{0}")]
    Input(String),
}

impl From<GpuError> for crate::Error {
    fn from(e: GpuError) -> Self {
        crate::Error::BackendUnavailable { backend: "webgpu".into(), reason: e.to_string() }
    }
}
