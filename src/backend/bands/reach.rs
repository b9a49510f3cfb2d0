//! Which input rows each tensor of a decluttered graph reads, along one spatial axis of its single
//! input, through the ops whose output rows depend only on a window of their input rows
//! (convolutions, pools, pads, element-wise ops, channel concatenations, products that keep the
//! axis, axis moves). Everything past the first op that mixes rows (a resize, a global pool, a
//! reduction or softmax over the axis, a reshape of it) is outside.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::array::{Pad, TypedConcat};
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::cnn::{Conv, MaxPool, PaddingSpec, PoolSpec, SumPool};
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::nn::{Reduce, Softmax};
use tract_onnx::tract_core::ops::source::TypedSource;

/// How one tensor's rows along `axis` depend on the input's rows: full row `j` reads input rows
/// `j·stride - before ..= j·stride + after` (padding included, so the interval can leave the
/// image at its edges).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Reach {
    pub axis: usize,
    pub stride: usize,
    pub before: isize,
    pub after: isize,
}

/// How an op maps its input's row count to its output's along the banded axis.
#[derive(Clone, Debug, PartialEq)]
pub enum Rows {
    Same,
    /// A pad: `before` and `after` rows added.
    Pad {
        before: usize,
        after: usize,
    },
    /// A sliding window (convolution or pool) along spatial axis `spatial`, with the paddings
    /// computed for the whole input made explicit (`explicit_padding`).
    Window {
        spatial: usize,
        kernel: usize,
        dilation: usize,
        stride: usize,
        padding: PaddingSpec,
    },
}

impl Rows {
    /// Output rows for `h` input rows.
    pub fn out(&self, h: usize) -> usize {
        match self {
            Rows::Same => h,
            Rows::Pad { before, after } => h + before + after,
            Rows::Window { spatial, kernel, dilation, stride, padding } => {
                padding.compute_one(*spatial, &h, *kernel, *dilation, *stride).convoluted
            }
        }
    }
}

/// A pool spec's padding with what `Same*` and `Valid` compute at the whole input written out, so
/// that a band of the input is padded as the whole input is (`ExplicitOnnxPool` is already).
pub fn explicit_padding(spec: &PoolSpec, input: &[usize]) -> Option<PaddingSpec> {
    if matches!(spec.padding, PaddingSpec::Explicit(..) | PaddingSpec::ExplicitOnnxPool(..)) {
        return Some(spec.padding.clone());
    }
    let shape = spec.data_format.shape(input.to_vec()).ok()?;
    let computed = spec.computed_padding(shape.hw_dims());
    Some(PaddingSpec::Explicit(
        computed.iter().map(|c| c.pad_before).collect(),
        computed.iter().map(|c| c.pad_after).collect(),
    ))
}

/// What the analysis knows of one node's (first) output.
#[derive(Clone, Debug, PartialEq)]
pub enum Fact {
    /// A constant: read whole by whoever reads it.
    Constant,
    /// Row-local in the input: its reach, and the op's row mapping.
    Banded { reach: Reach, rows: Rows },
    /// Depends on the input, not row by row (or the analysis does not know the op).
    Mixed,
}

/// Per node id, in the model's own numbering: the input's `axis` followed through the graph.
pub fn analyse(model: &TypedModel, axis: usize) -> TractResult<Vec<Fact>> {
    let mut facts = vec![Fact::Mixed; model.nodes().len()];
    let source = model.input_outlets()?[0].node;
    for id in model.eval_order()? {
        let node = model.node(id);
        facts[id] = if id == source {
            let reach = Reach { axis, stride: 1, before: 0, after: 0 };
            Fact::Banded { reach, rows: Rows::Same }
        } else if node.op_is::<Const>() {
            Fact::Constant
        } else {
            follow(model, node, &facts).unwrap_or(Fact::Mixed)
        };
    }
    Ok(facts)
}

/// Whether a band must take its own rows of `node`'s constant input `konst`: an element-wise op's
/// or a concatenation's operand with a row per row of the output (BlazeFace's channel padding is a
/// concatenation of zeros).
pub fn sliced_constant(node: &TypedNode, konst: &TypedFact, facts: &[Fact]) -> Option<Reach> {
    let Fact::Banded { reach, rows: Rows::Same } = facts[node.id] else { return None };
    let rows = *node.outputs[0].fact.shape.as_concrete()?.get(reach.axis)?;
    let op = node.op();
    let takes_rows = op.is::<TypedBinOp>() || op.is::<ElementWiseOp>() || op.is::<TypedConcat>();
    (takes_rows && rows > 1 && konst.rank() == node.outputs[0].fact.rank() && konst.shape[reach.axis] == rows.to_dim())
        .then_some(reach)
}

/// The reach of a node's input slot, if it is banded.
fn reach_of(facts: &[Fact], outlet: OutletId) -> Option<Reach> {
    match facts[outlet.node] {
        Fact::Banded { reach, .. } if outlet.slot == 0 => Some(reach),
        _ => None,
    }
}

fn follow(model: &TypedModel, node: &TypedNode, facts: &[Fact]) -> Option<Fact> {
    if node.outputs.len() != 1 {
        return None;
    }
    let out = &node.outputs[0].fact;
    let (slot, first) = node.inputs.iter().enumerate().find_map(|(s, i)| Some((s, reach_of(facts, *i)?)))?;
    let windowed = |spec: &PoolSpec| -> Option<Fact> {
        if slot != 0 {
            return None;
        }
        let shape = model.outlet_fact(node.inputs[0]).ok()?.shape.as_concrete()?.to_vec();
        let window = window(spec, &shape, first.axis)?;
        let reach = through(first, &window)?;
        // Every other input (weights, bias) must be a constant.
        if node.inputs[1..].iter().any(|i| facts[i.node] != Fact::Constant) {
            return None;
        }
        Some(Fact::Banded { reach, rows: window })
    };
    let op = node.op();
    if let Some(conv) = op.downcast_ref::<Conv>() {
        if conv.q_params.is_some() {
            return None;
        }
        return windowed(&conv.pool_spec);
    }
    if let Some(pool) = op.downcast_ref::<MaxPool>() {
        if pool.with_index_outputs.is_some() {
            return None;
        }
        return windowed(&pool.pool_spec);
    }
    if let Some(pool) = op.downcast_ref::<SumPool>() {
        return windowed(&pool.pool_spec);
    }
    if let Some(pad) = op.downcast_ref::<Pad>() {
        if slot != 0 {
            return None;
        }
        let (before, after) = *pad.pads.get(first.axis)?;
        let rows = Rows::Pad { before, after };
        let shift = (first.stride * before) as isize;
        let reach = Reach { before: first.before + shift, after: first.after - shift, ..first };
        return Some(Fact::Banded { reach, rows });
    }
    if let Some(axis_op) = op.downcast_ref::<AxisOp>() {
        let axis = axis_op.transform_axis(first.axis)?;
        return Some(Fact::Banded { reach: Reach { axis, ..first }, rows: Rows::Same });
    }
    if let Some(einsum) = op.downcast_ref::<EinSum>() {
        if einsum.q_params.is_some() {
            return None;
        }
        // The banded axis must pass to the output, and be read by no other input but banded ones
        // at the same place.
        let repr = einsum.axes.axis((InOut::In(slot), first.axis)).ok()?;
        let to = *repr.outputs.first()?.first()?;
        let mut reach = first;
        for (slot, i) in node.inputs.iter().enumerate() {
            let positions = repr.inputs.get(slot)?;
            match (&facts[i.node], positions.as_slice()) {
                (Fact::Constant, []) => {}
                (Fact::Banded { .. }, [p]) => {
                    reach = merge(reach, Reach { axis: *p, ..reach_of(facts, *i)? })?;
                }
                _ => return None,
            }
        }
        return Some(Fact::Banded { reach: Reach { axis: to, ..reach }, rows: Rows::Same });
    }
    let elementwise = op.is::<TypedBinOp>() || op.is::<ElementWiseOp>() || op.is::<Cast>();
    let concat_across = op.downcast_ref::<TypedConcat>().is_some_and(|c| c.axis != first.axis);
    let keeps_axis = |axes: &[usize]| !axes.contains(&first.axis);
    let across = op.downcast_ref::<Softmax>().is_some_and(|s| keeps_axis(&s.axes))
        || op.downcast_ref::<Reduce>().is_some_and(|r| keeps_axis(&r.axes));
    if !(elementwise || concat_across || across) {
        return None;
    }
    let rows = *out.shape.as_concrete()?.get(first.axis)?;
    let mut reach = first;
    for i in &node.inputs {
        let shape = model.outlet_fact(*i).ok()?.shape.as_concrete()?.to_vec();
        match &facts[i.node] {
            // A constant broadcast along the axis, or one with a row per row (a band takes its
            // own rows of it: `sliced_constant`).
            Fact::Constant
                if shape.len() == out.rank()
                    && (elementwise && shape[first.axis] == 1 || shape[first.axis] == rows) => {}
            Fact::Banded { .. } if shape.get(first.axis) == Some(&rows) => reach = merge(reach, reach_of(facts, *i)?)?,
            _ => return None,
        }
    }
    Some(Fact::Banded { reach, rows: Rows::Same })
}

/// Two banded inputs of one op: the same axis and stride, the wider window.
fn merge(a: Reach, b: Reach) -> Option<Reach> {
    (a.axis == b.axis && a.stride == b.stride).then_some(Reach {
        before: a.before.max(b.before),
        after: a.after.max(b.after),
        ..a
    })
}

/// A pool spec's window along `axis` of the input.
fn window(spec: &PoolSpec, input: &[usize], axis: usize) -> Option<Rows> {
    let shape = spec.data_format.shape(input.to_vec()).ok()?;
    let spatial = axis.checked_sub(shape.h_axis()).filter(|s| *s < shape.hw_rank())?;
    Some(Rows::Window {
        spatial,
        kernel: spec.kernel_shape[spatial],
        dilation: spec.dilations()[spatial],
        stride: spec.strides()[spatial],
        padding: explicit_padding(spec, input)?,
    })
}

/// The reach of a window's output, from its input's.
fn through(input: Reach, window: &Rows) -> Option<Reach> {
    let Rows::Window { spatial, kernel, dilation, stride, padding } = window else { return None };
    let before = match padding {
        PaddingSpec::Explicit(b, _) | PaddingSpec::ExplicitOnnxPool(b, _, _) => b[*spatial],
        _ => return None,
    };
    let (extent, stride) = ((kernel - 1) * dilation + 1, *stride);
    let (s, p, k) = (input.stride as isize, before as isize, extent as isize);
    Some(Reach {
        axis: input.axis,
        stride: input.stride * stride,
        before: s * p + input.before,
        after: s * (k - 1 - p) + input.after,
    })
}

/// A node's work in a run, roughly in multiply-adds: its products' for convolutions and einsums,
/// its windows' taps for pools, one per output element for everything else.
pub fn work(model: &TypedModel, node: &TypedNode) -> f64 {
    let elements = |o: &TypedFact| o.shape.as_concrete().map_or(0.0, |s| s.iter().product::<usize>() as f64);
    let Some(out) = node.outputs.first().map(|o| elements(&o.fact)) else { return 0.0 };
    let op = node.op();
    let per_output = if let Some(conv) = op.downcast_ref::<Conv>() {
        let spec = &conv.pool_spec;
        spec.kernel_shape.iter().product::<usize>() * spec.input_channels / conv.group.max(1)
    } else if let Some(pool) = op.downcast_ref::<MaxPool>() {
        pool.pool_spec.kernel_shape.iter().product()
    } else if let Some(pool) = op.downcast_ref::<SumPool>() {
        pool.pool_spec.kernel_shape.iter().product()
    } else if let Some(einsum) = op.downcast_ref::<EinSum>() {
        einsum
            .axes
            .iter_all_axes()
            .filter(|a| a.outputs[0].is_empty())
            .filter_map(|a| {
                let (slot, pos) = a.inputs.iter().enumerate().find_map(|(s, p)| p.first().map(|p| (s, *p)))?;
                model.outlet_fact(node.inputs[slot]).ok()?.shape[pos].to_usize().ok()
            })
            .product()
    } else if op.is::<Const>() || op.is::<AxisOp>() || op.is::<TypedSource>() {
        0
    } else {
        1
    };
    out * per_output as f64
}
