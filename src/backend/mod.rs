//! Execution backends, the seam they plug into (`TypedSource`), and what this environment offers.
//!
//! The CPU backend (tract) is always present. The WebGPU backend needs an adapter, which a
//! browser (or a native Vulkan/Metal/DX12 driver) may or may not provide: `probe` says which
//! and why, so the page can tell the user plainly.

pub mod bands;
pub mod clock;
pub mod cpu;
pub use shopfloor_cpu_kernels as cpu_kernels;
pub(crate) mod feed_values;
pub mod gpu;
pub mod optimise;
pub mod plan_key;
pub mod pool;
#[cfg(all(target_arch = "wasm32", feature = "threads"))]
mod pool_workers;

use serde::Serialize;
use tract_onnx::prelude::{Tensor, TypedModel};

use plan_key::PlanKey;

/// The seam between the model layer and a backend: where plans come from. The model layer owns
/// the graph (loading, fix-ups, analysis, every loader check); a backend asks it for the graph
/// typed at a key and compiles that into its own plan (the CPU backend: tract's optimised plan;
/// the GPU backend translates the decluttered graph the same way, see `gpu::translate`).
pub trait TypedSource: Send + Sync {
    /// The key of a run with these inputs, in the model's input order.
    fn key(&self, inputs: &mut dyn Iterator<Item = &Tensor>) -> PlanKey;
    /// The graph at `key`, typed and decluttered: shapes (and keyed values) pinned, analysed,
    /// checked.
    fn decluttered_at(&self, key: &PlanKey) -> crate::Result<TypedModel>;
    /// The keyed values, for messages: ` with "sr" = 8000`.
    fn values_text(&self, key: &PlanKey) -> String;
}

/// Where a model runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum BackendKind {
    Cpu,
    Webgpu,
}

impl BackendKind {
    pub fn as_str(self) -> &'static str {
        match self {
            BackendKind::Cpu => "cpu",
            BackendKind::Webgpu => "webgpu",
        }
    }
}

/// The CPU path: tract's optimised plan, with the SIMD width this build was compiled for.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CpuInfo {
    pub available: bool,
    /// wasm `simd128` (browser) or the host's vector ISA (native), as compiled in.
    pub simd: &'static str,
    /// Threads a CPU run uses (the pool's size in the threaded wasm build, else 1).
    pub threads: usize,
    /// Why that many: the JS layer replaces it with what it decided at `init()` (e.g. the page
    /// is not cross-origin isolated).
    pub threads_reason: String,
}

impl CpuInfo {
    pub fn current() -> Self {
        let threads = pool::threads();
        let threads_reason = if threads > 1 {
            format!("a pool of {threads} threads")
        } else if pool::CAN_THREAD {
            "the thread pool was not started".to_string()
        } else if cfg!(target_arch = "wasm32") {
            "the single-thread build".to_string()
        } else {
            "the native build runs tract on one thread".to_string()
        };
        CpuInfo { available: true, simd: simd_name(), threads, threads_reason }
    }
}

fn simd_name() -> &'static str {
    if cfg!(all(target_arch = "wasm32", target_feature = "relaxed-simd")) {
        "relaxed-simd"
    } else if cfg!(all(target_arch = "wasm32", target_feature = "simd128")) {
        "simd128"
    } else if cfg!(target_arch = "wasm32") {
        "none"
    } else if cfg!(target_arch = "x86_64") {
        "x86_64 (runtime-detected AVX2/FMA)"
    } else if cfg!(target_arch = "aarch64") {
        "neon"
    } else {
        "generic"
    }
}

pub use gpu::context::{GpuAdapterInfo, GpuStatus};

/// Everything `backends()` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Backends {
    pub cpu: CpuInfo,
    pub webgpu: GpuStatus,
}

/// Probes both backends. Never fails: an absent GPU is a status with a reason, not an error.
pub async fn probe() -> Backends {
    Backends { cpu: CpuInfo::current(), webgpu: gpu::context::probe().await }
}
