//! Auto-tuning above the device layer: which matrix-product kernel plans use on this device,
//! measured once per device, and the plan built with it.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

use super::context::GpuContext;
use super::error::GpuError;
use super::kernels::{Gemm, Kernel, Wide};
use super::program::Program;
use super::session::GpuPlan;
use super::translate;

/// The GPU plan of `prog` with this device's matrix-product kernels.
pub async fn plan(ctx: Arc<GpuContext>, prog: &Program) -> Result<GpuPlan, GpuError> {
    let gemm = gemm(&ctx).await?;
    GpuPlan::with_matmul(ctx, prog, gemm).await
}

/// The matrix-product kernels plans use on this device: for each product, whichever of the
/// tiled kernel with scalar loads, with vec4 loads, and (where the device can run it) the
/// subgroup one measured fastest here (`faster_tile`); for large products the 128x128 kernel
/// where it measured faster still (`wide_pays`), on devices that ran the 256³ product in under
/// `GPU_CLASS_MS` (software adapters and the weakest GPUs keep the 64x64 tiles unmeasured: the
/// 512³ product would cost them a second of every page's first plan). Natively, `SHOPFLOOR_GPU_GEMM=tiled|subgroup|
/// tiled-scalar|wide` skips the measurement (tests cover each path that way; `wide` puts every
/// product on the 128x128 kernel).
pub async fn gemm(ctx: &Arc<GpuContext>) -> Result<Gemm, GpuError> {
    if let Some(g) = *ctx.matmul.lock().unwrap_or_else(|e| e.into_inner()) {
        return Ok(g);
    }
    let size = ctx.fixed_subgroup_size();
    let fixed = |tile| Gemm { tile, wide: Wide::Never };
    let gemm = match (forced_matmul().as_deref(), size) {
        (Some("tiled-scalar"), _) => fixed(Kernel::Matmul),
        (Some("tiled"), _) => fixed(Kernel::TILED),
        (Some("subgroup"), Some(size)) => fixed(Kernel::MatmulSubgroup(size)),
        (Some("wide"), _) => Gemm { tile: Kernel::TILED, wide: Wide::Always },
        _ => {
            let (tile, ms) = faster_tile(ctx, size).await?;
            let wide = if ms < GPU_CLASS_MS && wide_pays(ctx, tile).await? { Wide::Large } else { Wide::Never };
            Gemm { tile, wide }
        }
    };
    *ctx.matmul.lock().unwrap_or_else(|e| e.into_inner()) = Some(gemm);
    Ok(gemm)
}

#[cfg(not(target_arch = "wasm32"))]
fn forced_matmul() -> Option<String> {
    std::env::var("SHOPFLOOR_GPU_GEMM").ok()
}

#[cfg(target_arch = "wasm32")]
fn forced_matmul() -> Option<String> {
    None
}

/// Wall time (submission to readback) of the fastest tiled kernel's 256³ product under which a
/// device is worth measuring the 128x128 kernel on: lavapipe takes ~25 ms, SwiftShader more, an
/// H200 in Chromium a few (mostly the readback's trip through the browser).
const GPU_CLASS_MS: f64 = 10.0;

/// The fastest of `candidates` on `model`'s products and its time (ms): medians of 3
/// alternating rounds after one warm-up each.
async fn fastest(
    ctx: &Arc<GpuContext>,
    model: TractResult<TypedModel>,
    candidates: &[Gemm],
) -> Result<(usize, f64), GpuError> {
    let model = model.map_err(|e| GpuError::Prepare(e.to_string()))?;
    let program = translate::translate(&model).map_err(GpuError::NoKernel)?;
    let mut plans = vec![];
    for &g in candidates {
        let plan = GpuPlan::with_matmul(ctx.clone(), &program, g).await?;
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
    let best = (0..candidates.len()).min_by(|&a, &b| medians[a].total_cmp(&medians[b])).unwrap_or(0);
    Ok((best, medians[best]))
}

/// The fastest tiled kernel: scalar loads, vec4 loads, and the subgroup one where the device has
/// a fixed subgroup `size`, timed on a 256³ product. Once per device: software adapters
/// (SwiftShader, lavapipe) and GPUs do not agree on which wins.
async fn faster_tile(ctx: &Arc<GpuContext>, size: Option<u32>) -> Result<(Kernel, f64), GpuError> {
    let mut kernels = vec![Kernel::Matmul, Kernel::TILED];
    kernels.extend(size.map(Kernel::MatmulSubgroup));
    let candidates: Vec<Gemm> = kernels.iter().map(|&tile| Gemm { tile, wide: Wide::Never }).collect();
    let (best, ms) = fastest(ctx, matmul_model(256), &candidates).await?;
    Ok((kernels[best], ms))
}

/// Whether the 128x128 kernel beats `tile` on a 512³ product (on an NVIDIA H200 it ran 2048³
/// products 5x faster than the best 64x64 tile).
async fn wide_pays(ctx: &Arc<GpuContext>, tile: Kernel) -> Result<bool, GpuError> {
    let candidates = [Gemm { tile, wide: Wide::Never }, Gemm { tile, wide: Wide::Always }];
    Ok(fastest(ctx, matmul_model(512), &candidates).await?.0 == 1)
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
