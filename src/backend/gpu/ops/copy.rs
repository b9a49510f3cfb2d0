//! Layout moves as one index-map copy kernel (copy.wgsl): transpose, slice, a concat's parts,
//! constant pad, broadcast, nearest upsample, downsample. Reshapes and axis insertions are free
//! (aliases of the input's bytes).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{Pad, PadMode, Slice};
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::downsample::Downsample;
use tract_onnx::tract_core::ops::nn as tnn;

use super::super::kernels::{Kernel, MAX_RANK};
use super::super::program::{f, grid_1d, strides, StepParams, Storage, ValueId};
use super::builder::{concrete, rank6, why, Builder, R};

/// copy.wgsl's words: [0] elements, [1] output offset, [2] input offset, [3] pad value (f32
/// bits), then rank-6 arrays (right-aligned): [4..10) shape, [10..16) output strides, [16..22)
/// input strides, [22..28) mul, [28..34) before (i32), [34..40) div, [40..46) input dims.
/// Output index i → input index (i · mul − before) / div per axis; outside the input: `pad`.
/// Mirrored by `struct CopyParams` in kernels/copy.wgsl.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyParams {
    pub shape: Vec<usize>,
    pub out_strides: Vec<usize>,
    pub in_strides: Vec<usize>,
    pub mul: Vec<usize>,
    pub before: Vec<i64>,
    pub div: Vec<usize>,
    pub in_dim: Vec<usize>,
    pub out_offset: usize,
    pub in_offset: usize,
    pub pad: f32,
}

impl CopyParams {
    /// Every output element from the input element at the same index, through `in_strides`.
    pub fn plain(shape: &[usize], in_strides: &[usize], in_dim: &[usize]) -> CopyParams {
        let r = shape.len();
        CopyParams {
            shape: shape.to_vec(),
            out_strides: strides(shape),
            in_strides: in_strides.to_vec(),
            mul: vec![1; r],
            before: vec![0; r],
            div: vec![1; r],
            in_dim: in_dim.to_vec(),
            out_offset: 0,
            in_offset: 0,
            pad: 0.0,
        }
    }
}

impl StepParams for CopyParams {
    fn words(&self) -> Vec<u32> {
        let n: usize = self.shape.iter().product();
        let mut w = vec![n as u32, self.out_offset as u32, self.in_offset as u32, f(self.pad)];
        w.extend(rank6(&self.shape, 1));
        w.extend(rank6(&self.out_strides, 0));
        w.extend(rank6(&self.in_strides, 0));
        w.extend(rank6(&self.mul, 1));
        let mut before = [0u32; MAX_RANK];
        for (d, &b) in before[MAX_RANK - self.before.len()..].iter_mut().zip(&self.before) {
            *d = b as i32 as u32;
        }
        w.extend(before);
        w.extend(rank6(&self.div, 1));
        w.extend(rank6(&self.in_dim, 1));
        w
    }
}

fn copy(b: &mut Builder, node: &TypedNode, out: ValueId, src: ValueId, map: CopyParams) {
    let n = map.shape.iter().product::<usize>();
    b.step(Kernel::Copy, out, vec![src], map, grid_1d(n, 256), node);
}

/// A copy of the node's only input into a new output, by `map(input shape, output shape)`.
fn one(b: &mut Builder, node: &TypedNode, map: impl FnOnce(&[usize], &[usize]) -> CopyParams) -> R<()> {
    let in_shape = b.input_shape(node, 0)?;
    let out_shape = concrete(&node.outputs[0].fact)?;
    let src = b.input(node, 0)?;
    let out = b.output(node, Storage::Temp)?;
    copy(b, node, out, src, map(&in_shape, &out_shape));
    Ok(())
}

pub fn axis_op(b: &mut Builder, node: &TypedNode, op: &AxisOp) -> R<()> {
    let src = b.input(node, 0)?;
    if let AxisOp::Move(from, to) = op {
        let in_shape = b.input_shape(node, 0)?;
        let mut perm: Vec<usize> = (0..in_shape.len()).collect();
        let a = perm.remove(*from);
        perm.insert(*to, a);
        // Moving only size-1 axes keeps the bytes in order.
        let moved: Vec<usize> = perm.iter().copied().filter(|&p| in_shape[p] > 1).collect();
        if moved.windows(2).all(|w| w[0] < w[1]) {
            b.output(node, Storage::Alias(src))?;
            return Ok(());
        }
        let in_strides = strides(&in_shape);
        let out_shape: Vec<usize> = perm.iter().map(|&p| in_shape[p]).collect();
        let map = CopyParams::plain(&out_shape, &perm.iter().map(|&p| in_strides[p]).collect::<Vec<_>>(), &out_shape);
        let out = b.output(node, Storage::Temp)?;
        copy(b, node, out, src, map);
        return Ok(());
    }
    b.output(node, Storage::Alias(src))?;
    Ok(())
}

pub fn concat(b: &mut Builder, node: &TypedNode, axis: usize) -> R<()> {
    let out_shape = concrete(&node.outputs[0].fact)?;
    let out_strides = strides(&out_shape);
    let out = b.output(node, Storage::Temp)?;
    let mut offset = 0;
    for ix in 0..node.inputs.len() {
        let shape = b.input_shape(node, ix)?;
        let src = b.input(node, ix)?;
        let mut map = CopyParams::plain(&shape, &strides(&shape), &shape);
        map.out_strides = out_strides.clone();
        map.out_offset = offset * out_strides[axis];
        offset += shape[axis];
        if shape.iter().product::<usize>() > 0 {
            copy(b, node, out, src, map);
        }
    }
    Ok(())
}

pub fn slice(b: &mut Builder, node: &TypedNode, op: &Slice) -> R<()> {
    let start = op.start.to_i64().map_err(|e| e.to_string())? as usize;
    one(b, node, |in_shape, out_shape| {
        let in_strides = strides(in_shape);
        CopyParams { in_offset: start * in_strides[op.axis], ..CopyParams::plain(out_shape, &in_strides, in_shape) }
    })
}

pub fn pad(b: &mut Builder, node: &TypedNode, op: &Pad) -> R<()> {
    let PadMode::Constant(v) = &op.mode else { return Err(why!("pad mode {:?}", op.mode)) };
    let value = v.cast_to_scalar::<f32>().map_err(|e| e.to_string())?;
    one(b, node, |in_shape, out_shape| {
        let mut map = CopyParams::plain(out_shape, &strides(in_shape), in_shape);
        map.before = op.pads.iter().map(|p| p.0 as i64).collect();
        map.pad = value;
        map
    })
}

pub fn broadcast(b: &mut Builder, node: &TypedNode) -> R<()> {
    one(b, node, |in_shape, out_shape| {
        let mut in_shape_r = vec![1; out_shape.len() - in_shape.len()];
        in_shape_r.extend(in_shape);
        let in_strides: Vec<usize> =
            strides(&in_shape_r).iter().zip(&in_shape_r).map(|(&s, &d)| if d == 1 { 0 } else { s }).collect();
        CopyParams::plain(out_shape, &in_strides, out_shape)
    })
}

pub fn upsample(b: &mut Builder, node: &TypedNode, op: &tnn::resize::NearestUpsample) -> R<()> {
    one(b, node, |in_shape, out_shape| {
        let mut map = CopyParams::plain(out_shape, &strides(in_shape), in_shape);
        map.div = op.scales.to_vec();
        map
    })
}

pub fn downsample(b: &mut Builder, node: &TypedNode, op: &Downsample) -> R<()> {
    if op.stride <= 0 {
        return Err("negative stride".into());
    }
    one(b, node, |in_shape, out_shape| {
        let mut map = CopyParams::plain(out_shape, &strides(in_shape), in_shape);
        map.mul[op.axis] = op.stride as usize;
        map.before[op.axis] = -(op.modulo as i64);
        map
    })
}
