//! A binary op by an f32 constant, and how that constant spreads over the computed operand: one
//! value, or values along one axis. Three rewrites read graphs for it: the per-channel chains
//! (`channel_chain`), the scale and shift folded into a convolution (`affine_fold`) and the bias
//! folded into a 1x1 convolution (`pointwise_conv`).

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;

/// `node`'s binary op when exactly one operand is a constant of f32 and the other a computed f32
/// tensor, with no quantisation.
pub(super) struct ConstantOperand<'a> {
    pub op: &'a TypedBinOp,
    /// The computed operand's input slot (0: `x op c`; 1: `c op x`).
    pub slot: usize,
    pub konst: Arc<Tensor>,
}

/// How a constant aligned to the right of a tensor's shape (numpy broadcasting) varies over it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Spread {
    /// One value everywhere.
    One,
    /// Values along this axis of the tensor, one per position.
    Along(usize),
}

pub(super) fn constant_operand<'a>(
    model: &TypedModel,
    node: &'a TypedNode,
) -> TractResult<Option<ConstantOperand<'a>>> {
    let Some(op) = node.op_as::<TypedBinOp>() else { return Ok(None) };
    if op.1.is_some() || node.inputs.len() != 2 || node.outputs.len() != 1 {
        return Ok(None);
    }
    let facts = [model.outlet_fact(node.inputs[0])?, model.outlet_fact(node.inputs[1])?];
    let Some(slot) = (0..2).find(|&s| facts[s].konst.is_none() && facts[1 - s].konst.is_some()) else {
        return Ok(None);
    };
    let konst = facts[1 - slot].konst.clone().expect("the constant slot");
    if facts[slot].datum_type != f32::datum_type() || konst.datum_type() != f32::datum_type() {
        return Ok(None);
    }
    Ok(Some(ConstantOperand { op, slot, konst }))
}

impl ConstantOperand<'_> {
    /// How the constant spreads over a tensor of `shape` (symbolic dims allowed: only the axis it
    /// varies along must be a number); `None` when it varies along more than one axis, or does
    /// not broadcast to `shape` without widening it.
    pub fn spread(&self, shape: &[TDim]) -> Option<Spread> {
        let dims = self.konst.shape();
        let lead = shape.len().checked_sub(dims.len())?;
        let mut spread = Spread::One;
        for (i, &d) in dims.iter().enumerate() {
            if d > 1 && shape[lead + i] == TDim::from(d) {
                if spread != Spread::One {
                    return None;
                }
                spread = Spread::Along(lead + i);
            } else if d != 1 {
                return None;
            }
        }
        Some(spread)
    }

    /// The constant's values, one per position along its axis (`n` of them; a single value
    /// repeated when it is one value).
    pub fn values(&self, n: usize) -> TractResult<Vec<f32>> {
        let plain = self.konst.try_as_plain_ram()?;
        let v = plain.as_slice::<f32>()?;
        Ok(if v.len() == 1 { vec![v[0]; n] } else { v.to_vec() })
    }
}
