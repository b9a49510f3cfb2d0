//! Which einsums `VectorByMatrix` takes, and how it reads their operands in place.
//!
//! Taken: an f32 einsum of two operands that are both a run's values (the matrices' not derived
//! from constants alone: tract packs a weight once, at load), where one operand holds a single
//! vector per product: axes of more than one value are at most one batch axis (in both operands
//! and the output), one contracted axis (in both, not the output) and one output axis in the
//! other operand, the matrices; every other axis holds one value. Matrices cut by a `Slice` whose
//! axes before the cut hold one value each are read from the tensor the slice was cut from.
//! Before that, an einsum whose matrices are a `Concat` along its output axis (a key cache with
//! this step's key appended) becomes one einsum per part, so the cache's part is read in place
//! rather than copied into the concat.

use std::collections::HashSet;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::array::{Slice, TypedConcat};
use tract_onnx::tract_core::ops::einsum::EinSum;

use super::vector_by_matrix::VectorByMatrix;

/// An einsum's operands as vectors and matrices.
struct Layout {
    /// The slot of the matrices' operand.
    matrices: usize,
    batch: Option<char>,
    c: char,
    f: char,
    sizes: [usize; 3],
}

/// `einsum` over operands of these concrete shapes as vector × matrix products, if it is one.
fn layout(einsum: &EinSum, shapes: [&[usize]; 2]) -> Option<Layout> {
    if einsum.q_params.is_some() || einsum.operating_dt != f32::datum_type() {
        return None;
    }
    let (mut batch, mut c, mut free) = (None, None, [None, None]);
    for axis in einsum.axes.iter_all_axes() {
        let at = |positions: &TVec<usize>| positions.first().copied();
        if axis.inputs.len() != 2 || axis.inputs.iter().chain(&axis.outputs).any(|p| p.len() > 1) {
            return None;
        }
        let (i0, i1) = (at(&axis.inputs[0]), at(&axis.inputs[1]));
        let out = axis.outputs.first().and_then(at);
        let size = match (i0.map(|p| shapes[0][p]), i1.map(|p| shapes[1][p])) {
            (Some(a), Some(b)) if a != b => return None,
            (Some(n), _) | (_, Some(n)) => n,
            (None, None) => 1,
        };
        if size == 1 {
            continue;
        }
        let slot = match (i0.is_some(), i1.is_some(), out.is_some()) {
            (true, true, true) if batch.is_none() => &mut batch,
            (true, true, false) if c.is_none() => &mut c,
            (true, false, true) if free[0].is_none() => &mut free[0],
            (false, true, true) if free[1].is_none() => &mut free[1],
            _ => return None,
        };
        *slot = Some((axis.repr, size));
    }
    let (matrices, (f, nf)) = match free {
        [None, Some(f)] => (1, f),
        [Some(f), None] => (0, f),
        _ => return None,
    };
    let (c, nc) = c?;
    let nb = batch.map_or(1, |b| b.1);
    // The output's values in (batch, f) order, so a product's outputs are contiguous.
    if let Some((b, _)) = batch {
        let position = |r: char| einsum.axes.axis(r).ok().and_then(|a| a.outputs[0].first().copied());
        if position(b)? > position(f)? {
            return None;
        }
    }
    Some(Layout { matrices, batch: batch.map(|b| b.0), c, f, sizes: [nb, nc, nf] })
}

/// Row-major element strides of `shape` (tract's tensors are always laid out so).
fn strides(shape: &[usize]) -> TVec<usize> {
    Tensor::natural_strides(shape).into_iter().map(|s| s as usize).collect()
}

/// The concrete shape of an f32 value, if it has one.
fn f32_shape(model: &TypedModel, outlet: OutletId) -> TractResult<Option<TVec<usize>>> {
    let fact = model.outlet_fact(outlet)?;
    Ok((fact.datum_type == f32::datum_type()).then(|| fact.shape.as_concrete().map(|s| s.into())).flatten())
}

/// Whether `outlet`'s value depends on a model input (not on constants alone).
fn from_a_run(model: &TypedModel, outlet: OutletId) -> TractResult<bool> {
    let inputs = model.input_outlets()?;
    let (mut stack, mut seen) = (vec![outlet.node], HashSet::new());
    while let Some(id) = stack.pop() {
        if !seen.insert(id) {
            continue;
        }
        if inputs.iter().any(|i| i.node == id) {
            return Ok(true);
        }
        stack.extend(model.node(id).inputs.iter().map(|i| i.node));
    }
    Ok(false)
}

/// The kernel for `node`, with the outlets it reads (vectors, matrices), if it takes the node.
pub fn replacing(model: &TypedModel, node: &TypedNode) -> TractResult<Option<(VectorByMatrix, [OutletId; 2])>> {
    let Some(einsum) = node.op_as::<EinSum>() else { return Ok(None) };
    if node.inputs.len() != 2 {
        return Ok(None);
    }
    let (Some(s0), Some(s1), Some(out)) = (
        f32_shape(model, node.inputs[0])?,
        f32_shape(model, node.inputs[1])?,
        f32_shape(model, OutletId::new(node.id, 0))?,
    ) else {
        return Ok(None);
    };
    let shapes = [&*s0, &*s1];
    let Some(l) = layout(einsum, shapes) else { return Ok(None) };
    let (m_slot, v_slot) = (l.matrices, 1 - l.matrices);
    if model.outlet_fact(node.inputs[m_slot])?.konst.is_some() || !from_a_run(model, node.inputs[m_slot])? {
        return Ok(None);
    }
    let stride_of = |slot: usize, r: Option<char>| -> TractResult<usize> {
        let Some(r) = r else { return Ok(0) };
        Ok(einsum.axes.axis(r)?.inputs[slot].first().map_or(0, |&p| strides(shapes[slot])[p]))
    };
    let a_strides = [stride_of(v_slot, l.batch)?, stride_of(v_slot, Some(l.c))?];
    let b_strides = [stride_of(m_slot, l.batch)?, stride_of(m_slot, Some(l.c))?, stride_of(m_slot, Some(l.f))?];
    if b_strides[1] != 1 && b_strides[2] != 1 {
        return Ok(None);
    }
    let (source, b_offset) = cut_from(model, node.inputs[m_slot])?;
    let op = VectorByMatrix {
        batch: l.sizes[0],
        c: l.sizes[1],
        f: l.sizes[2],
        a_strides,
        b_offset,
        b_strides,
        out_shape: out,
    };
    Ok(Some((op, [node.inputs[v_slot], source])))
}

/// Where `outlet`'s values lie contiguously in another value: the tensor a `Slice` cut them from
/// (its axes before the cut of one value each) and the offset of the first, else `outlet` itself.
fn cut_from(model: &TypedModel, outlet: OutletId) -> TractResult<(OutletId, usize)> {
    let node = model.node(outlet.node);
    if let Some(slice) = node.op_as::<Slice>() {
        if let (Some(shape), Ok(start)) = (f32_shape(model, node.inputs[0])?, slice.start.to_usize()) {
            if shape[..slice.axis].iter().all(|&d| d == 1) {
                return Ok((node.inputs[0], start * strides(&shape)[slice.axis]));
            }
        }
    }
    Ok((outlet, 0))
}

/// Splits each einsum whose matrices are a `Concat` along its output axis into one einsum per
/// part and a concat of their outputs; returns how many it split.
pub fn split_over_concat(model: &mut TypedModel) -> TractResult<usize> {
    let mut split = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let Some(einsum) = node.op_as::<EinSum>() else { continue };
        if node.inputs.len() != 2 {
            continue;
        }
        let (Some(s0), Some(s1)) = (f32_shape(model, node.inputs[0])?, f32_shape(model, node.inputs[1])?) else {
            continue;
        };
        let Some(l) = layout(einsum, [&s0, &s1]) else { continue };
        let matrices = node.inputs[l.matrices];
        let producer = model.node(matrices.node);
        let Some(concat) = producer.op_as::<TypedConcat>() else { continue };
        let f_axis = einsum.axes.axis(l.f)?;
        let alone = producer.outputs[0].successors.len() == 1 && !model.output_outlets()?.contains(&matrices);
        let (Some(&in_axis), Some(&out_axis)) = (f_axis.inputs[l.matrices].first(), f_axis.outputs[0].first()) else {
            continue;
        };
        if !alone || concat.axis != in_axis {
            continue;
        }
        let mut patch = TypedModelPatch::default();
        let other = patch.tap_model(model, node.inputs[1 - l.matrices])?;
        let mut parts = tvec![];
        for (i, &part) in producer.inputs.iter().enumerate() {
            let part = patch.tap_model(model, part)?;
            let inputs = if l.matrices == 1 { [other, part] } else { [part, other] };
            parts.push(patch.wire_node(format!("{}.concat-split.{i}", node.name), einsum.clone(), &inputs)?[0]);
        }
        let out = patch.wire_node(format!("{}.concat-split", node.name), TypedConcat { axis: out_axis }, &parts)?[0];
        patch.shunt_outside(model, OutletId::new(id, 0), out)?;
        patch.obliterate(id)?;
        patch.obliterate(producer.id)?;
        patch.apply(model)?;
        split += 1;
    }
    Ok(split)
}
