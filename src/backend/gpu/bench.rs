//! Kernel micro-benchmarks: GFLOP/s of the matmul and conv kernels on this adapter, timed over
//! repeated dispatches in one submission (no upload or readback in the timing).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::context;
use super::session::GpuPlan;
use super::translate;

#[derive(Debug, Clone, serde::Serialize)]
pub struct KernelBench {
    pub name: String,
    pub gflop: f64,
    pub ms: f64,
    pub gflops: f64,
}

fn matmul_model(n: usize) -> TractResult<TypedModel> {
    let mut m = TypedModel::default();
    let a = m.add_source("a", f32::fact([n, n]))?;
    let b = m.add_const("b", Tensor::zero::<f32>(&[n, n])?)?;
    let op = EinSum { axes: "mk,kn->mn".parse()?, operating_dt: f32::datum_type(), q_params: None };
    let c = m.wire_node("matmul", op, &[a, b])?;
    m.select_output_outlets(&c)?;
    Ok(m)
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

async fn time(name: String, model: TractResult<TypedModel>, gflop: f64, reps: usize) -> Result<KernelBench, String> {
    let model = model.map_err(|e| e.to_string())?;
    let program = translate::translate(&model).map_err(|e| e.to_string())?;
    let plan = GpuPlan::new(context::shared().await?, &program).await?;
    plan.time_dispatches(1).await?; // compiles the pipelines on drivers that do it lazily
    let ms = plan.time_dispatches(reps).await? / reps as f64;
    Ok(KernelBench { name, gflop, ms, gflops: gflop / ms * 1e3 })
}

/// Matmul at 1024³ and 2048³, and a 3x3 convolution of 64 channels at 112².
pub async fn run_all() -> Result<Vec<KernelBench>, String> {
    let mut out = vec![];
    for (n, reps) in [(1024usize, 10), (2048, 4)] {
        let gflop = 2.0 * (n * n * n) as f64 / 1e9;
        out.push(time(format!("matmul {n}x{n}x{n}"), matmul_model(n), gflop, reps).await?);
    }
    let (c, hw) = (64usize, 112usize);
    let gflop = 2.0 * (c * c * 9 * hw * hw) as f64 / 1e9;
    out.push(time(format!("conv 3x3 {c}->{c} at {hw}x{hw}"), conv_model(c, hw), gflop, 10).await?);
    Ok(out)
}
