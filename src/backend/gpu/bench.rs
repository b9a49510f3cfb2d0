//! Kernel micro-benchmarks: GFLOP/s of the matmul and conv kernels on this adapter, timed over
//! repeated dispatches in one submission (no upload or readback in the timing).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::context;
use super::error::GpuError;
use super::kernels::{Gemm, Kernel, Wide};
use super::session::GpuPlan;
use super::translate;
use super::tune::{self, matmul_model};

#[derive(Debug, Clone, serde::Serialize)]
pub struct KernelBench {
    pub name: String,
    pub gflop: f64,
    pub ms: f64,
    pub gflops: f64,
}

fn conv_model(c: usize, hw: usize) -> TractResult<TypedModel> {
    let mut m = TypedModel::default();
    let x = m.add_source("x", f32::fact([1, c, hw, hw]))?;
    let w = m.add_const("w", Tensor::zero::<f32>(&[c, c, 3, 3])?)?;
    let b = m.add_const("b", Tensor::zero::<f32>(&[c])?)?;
    let pool_spec = PoolSpec {
        data_format: DataFormat::NCHW,
        kernel_shape: tvec![3, 3],
        padding: PaddingSpec::Explicit(tvec![1, 1], tvec![1, 1]),
        dilations: None,
        strides: None,
        input_channels: c,
        output_channels: c,
    };
    let op = Conv { pool_spec, kernel_fmt: KernelFormat::OIHW, group: 1, q_params: None };
    let y = m.wire_node("conv", op, &[x, w, b])?;
    m.select_output_outlets(&y)?;
    Ok(m)
}

async fn time(
    name: String,
    model: TractResult<TypedModel>,
    gflop: f64,
    reps: usize,
    gemm: Option<Gemm>,
) -> Result<KernelBench, GpuError> {
    let model = model.map_err(|e| GpuError::Prepare(e.to_string()))?;
    let program = translate::translate(&model).map_err(GpuError::NoKernel)?;
    let ctx = context::shared().await?;
    let plan = match gemm {
        Some(g) => GpuPlan::with_matmul(ctx, &program, g).await?,
        None => tune::plan(ctx, &program).await?,
    };
    plan.time_dispatches(1).await?; // compiles the pipelines on drivers that do it lazily
    let ms = plan.time_dispatches(reps).await? / reps as f64;
    Ok(KernelBench { name, gflop, ms, gflops: gflop / ms * 1e3 })
}

/// Matmul at 1024³ and 2048³ with each matmul kernel this device can run, and a 3x3
/// convolution of 64 channels at 112².
pub async fn run_all() -> Result<Vec<KernelBench>, GpuError> {
    let ctx = context::shared().await?;
    let tile = |tile| Gemm { tile, wide: Wide::Never };
    let mut kernels = vec![tile(Kernel::Matmul), tile(Kernel::TILED)];
    kernels.extend(ctx.fixed_subgroup_size().map(|size| tile(Kernel::MatmulSubgroup(size))));
    kernels.push(Gemm { tile: Kernel::TILED, wide: Wide::Always });
    let mut out = vec![];
    for (n, reps) in [(1024usize, 10), (2048, 4)] {
        for &g in &kernels {
            let gflop = 2.0 * (n * n * n) as f64 / 1e9;
            let kernel = if g.wide == Wide::Always { Kernel::MatmulWide } else { g.tile };
            let name = format!("{} {n}x{n}x{n}", kernel.name());
            out.push(time(name, matmul_model(n), gflop, reps, Some(g)).await?);
        }
    }
    let (c, hw) = (64usize, 112usize);
    let gflop = 2.0 * (c * c * 9 * hw * hw) as f64 / 1e9;
    out.push(time(format!("conv 3x3 {c}->{c} at {hw}x{hw}"), conv_model(c, hw), gflop, 10, None).await?);
    Ok(out)
}
