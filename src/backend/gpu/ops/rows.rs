//! Ops along consecutive axes, one workgroup per row: the reductions (Sum, Max, Min, Prod, mean
//! of squares), Softmax / LogSoftmax and RmsNorm (rows.wgsl, its mode an override constant).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::nn::{Reduce, Reducer, RmsNorm, Softmax, SoftmaxKind};

use super::super::kernels::{Kernel, RowsMode};
use super::super::program::{f, StepParams, Storage};
use super::builder::{why, Builder, R};

/// rows.wgsl's words: [0] outer, [1] the row's length, [2] inner (the tensor viewed as
/// [outer, len, inner], reduced along len), [3] epsilon (f32 bits, RmsNorm). Mirrored by
/// `struct RowsParams` in kernels/rows.wgsl.
#[derive(Debug, Clone, PartialEq)]
pub struct RowsParams {
    pub outer: u32,
    pub len: u32,
    pub inner: u32,
    pub eps: f32,
}

impl StepParams for RowsParams {
    fn words(&self) -> Vec<u32> {
        vec![self.outer, self.len, self.inner, f(self.eps)]
    }
}

pub fn reduce(b: &mut Builder, node: &TypedNode, op: &Reduce) -> R<()> {
    let mode = match op.reducer {
        Reducer::Sum => RowsMode::Sum,
        Reducer::Max => RowsMode::Max,
        Reducer::Min => RowsMode::Min,
        Reducer::Prod => RowsMode::Prod,
        Reducer::MeanOfSquares => RowsMode::MeanOfSquares,
        r => return Err(why!("reducer {r:?}")),
    };
    rows(b, node, &op.axes, mode, 0.0)
}

pub fn softmax(b: &mut Builder, node: &TypedNode, op: &Softmax) -> R<()> {
    if op.quant_output_dt.is_some() {
        return Err("quantised softmax".into());
    }
    let mode = if op.kind == SoftmaxKind::LogSoftmax { RowsMode::LogSoftmax } else { RowsMode::Softmax };
    rows(b, node, &op.axes, mode, 0.0)
}

pub fn rms_norm(b: &mut Builder, node: &TypedNode, op: &RmsNorm) -> R<()> {
    let eps = op.eps.cast_to_scalar::<f32>().map_err(|e| e.to_string())?;
    rows(b, node, &[op.axis], RowsMode::RmsNorm, eps)
}

/// `axes` must be consecutive: the tensor is viewed as [outer, axes..., inner].
fn rows(b: &mut Builder, node: &TypedNode, axes: &[usize], mode: RowsMode, eps: f32) -> R<()> {
    let shape = b.input_shape(node, 0)?;
    let mut axes = axes.to_vec();
    axes.sort();
    if axes.is_empty() || axes.windows(2).any(|w| w[1] != w[0] + 1) {
        return Err(why!("axes {axes:?} are not consecutive"));
    }
    let (first, last) = (axes[0], *axes.last().unwrap());
    let outer: usize = shape[..first].iter().product();
    let len: usize = shape[first..=last].iter().product();
    let inner: usize = shape[last + 1..].iter().product();
    let x = b.input(node, 0)?;
    let out = b.output(node, Storage::Temp)?;
    let rows = outer * inner;
    let params = RowsParams { outer: outer as u32, len: len as u32, inner: inner as u32, eps };
    let x_groups = rows.clamp(1, 65535);
    let wg = [x_groups as u32, rows.div_ceil(x_groups).max(1) as u32, 1];
    b.step(Kernel::Rows(mode), out, vec![x], params, wg, node);
    Ok(())
}
