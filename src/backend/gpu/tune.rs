//! Auto-tuning above the device layer: which matrix-product kernel plans use on this device,
//! measured once per device, and the plan built with it.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

use super::context::GpuContext;
use super::error::GpuError;
use super::kernels::Kernel;
use super::program::Program;
use super::session::GpuPlan;
use super::translate;

/// The GPU plan of `prog` with this device's matrix-product kernel.
pub async fn plan(ctx: Arc<GpuContext>, prog: &Program) -> Result<GpuPlan, GpuError> {
    let matmul = matmul_kernel(&ctx).await?;
    GpuPlan::with_matmul(ctx, prog, matmul).await
}

/// The matrix-product kernel plans on this device use: whichever of the tiled kernel with
/// scalar loads, with vec4 loads, and (where the device can run it) the subgroup one measured
/// fastest here (`faster_matmul`). Natively, `SHOPFLOOR_GPU_GEMM=tiled|subgroup|
/// tiled-scalar` skips the measurement (tests cover each path that way).
pub async fn matmul_kernel(ctx: &Arc<GpuContext>) -> Result<Kernel, GpuError> {
    if let Some(k) = *ctx.matmul.lock().unwrap_or_else(|e| e.into_inner()) {
        return Ok(k);
    }
    let size = ctx.fixed_subgroup_size();
    let kernel = match (forced_matmul().as_deref(), size) {
        (Some("tiled-scalar"), _) => Kernel::Matmul,
        (Some("tiled"), _) => Kernel::TILED,
        (Some("subgroup"), Some(size)) => Kernel::MatmulSubgroup(size),
        _ => faster_matmul(ctx, size).await?,
    };
    *ctx.matmul.lock().unwrap_or_else(|e| e.into_inner()) = Some(kernel);
    Ok(kernel)
}

#[cfg(not(target_arch = "wasm32"))]
fn forced_matmul() -> Option<String> {
    std::env::var("SHOPFLOOR_GPU_GEMM").ok()
}

#[cfg(target_arch = "wasm32")]
fn forced_matmul() -> Option<String> {
    None
}

/// The fastest matrix-product kernel on this device: the tiled one with scalar loads, the tiled
/// one with vec4 loads, and the subgroup one where the device has a fixed subgroup `size`; timed
/// on a 256³ product (medians of 3 alternating rounds after one warm-up each). Once per device:
/// software adapters (SwiftShader, lavapipe) and GPUs do not agree on which wins.
async fn faster_matmul(ctx: &Arc<GpuContext>, size: Option<u32>) -> Result<Kernel, GpuError> {
    let model = matmul_model(256).map_err(|e| GpuError::Prepare(e.to_string()))?;
    let program = translate::translate(&model).map_err(GpuError::NoKernel)?;
    let mut kernels = vec![Kernel::Matmul, Kernel::TILED];
    kernels.extend(size.map(Kernel::MatmulSubgroup));
    let mut plans = vec![];
    for &k in &kernels {
        let plan = GpuPlan::with_matmul(ctx.clone(), &program, k).await?;
        plan.time_dispatches(1).await?;
        plans.push(plan);
    }
    let mut times = vec![vec![]; plans.len()];
    for _ in 0..3 {
        for (plan, t) in plans.iter().zip(&mut times) {
            t.push(plan.time_dispatches(1).await?);
        }
    }
    let medians: Vec<f64> = times
        .into_iter()
        .map(|mut v| {
            v.sort_by(f64::total_cmp);
            v[1]
        })
        .collect();
    let best = (0..kernels.len()).min_by(|&a, &b| medians[a].total_cmp(&medians[b])).unwrap_or(0);
    Ok(kernels[best])
}

/// `[n, n]` times a constant `[n, n]`: one product, for timing kernels.
pub(super) fn matmul_model(n: usize) -> TractResult<TypedModel> {
    let mut m = TypedModel::default();
    let a = m.add_source("a", f32::fact([n, n]))?;
    let b = m.add_const("b", Tensor::zero::<f32>(&[n, n])?)?;
    let op = EinSum { axes: "mk,kn->mn".parse()?, operating_dt: f32::datum_type(), q_params: None };
    let c = m.wire_node("matmul", op, &[a, b])?;
    m.select_output_outlets(&c)?;
    Ok(m)
}
