//! Local response normalisation across channels (lrn.wgsl).

use tract_onnx::prelude::*;
use tract_onnx_opl::lrn::Lrn;

use super::super::kernels::Kernel;
use super::super::program::{f, grid_1d, StepParams, Storage};
use super::builder::{Builder, R};

/// lrn.wgsl's words: [0] elements, [1] channels, [2] inner (h·w), [3] window size, [4] alpha,
/// [5] beta, [6] bias (f32 bits). Mirrored by `struct LrnParams` in kernels/lrn.wgsl.
#[derive(Debug, Clone, PartialEq)]
pub struct LrnParams {
    pub total: u32,
    pub channels: u32,
    pub inner: u32,
    pub size: u32,
    pub alpha: f32,
    pub beta: f32,
    pub bias: f32,
}

impl StepParams for LrnParams {
    fn words(&self) -> Vec<u32> {
        vec![self.total, self.channels, self.inner, self.size, f(self.alpha), f(self.beta), f(self.bias)]
    }
}

pub fn lrn(b: &mut Builder, node: &TypedNode, op: &Lrn) -> R<()> {
    let shape = b.input_shape(node, 0)?;
    if shape.len() < 2 {
        return Err("LRN needs [N, C, ...]".into());
    }
    let total: usize = shape.iter().product();
    let inner: usize = shape[2..].iter().product();
    let x = b.input(node, 0)?;
    let out = b.output(node, Storage::Temp)?;
    let params = LrnParams {
        total: total as u32,
        channels: shape[1] as u32,
        inner: inner as u32,
        size: op.size as u32,
        alpha: op.alpha,
        beta: op.beta,
        bias: op.bias,
    };
    b.step(Kernel::Lrn, out, vec![x], params, grid_1d(total, 256), node);
    Ok(())
}
