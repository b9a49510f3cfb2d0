//! The two graphs a cut makes: the part before the cut, rebuilt for a band of the input's rows
//! (its windows padded as at the whole input), and the part after it, fed the whole cut tensor.

use std::collections::HashMap;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, MaxPool, PoolSpec, SumPool};
use tract_onnx::tract_core::ops::konst::Const;

use super::reach::{explicit_padding, sliced_constant, Fact};

/// The graph up to `cut` (the input's node and every other node `cut` depends on), for the rows
/// `start..start + rows` of the input's `axis` (`facts`: the rows' analysis along it).
pub fn before(
    model: &TypedModel,
    facts: &[Fact],
    cut: OutletId,
    axis: usize,
    start: usize,
    rows: usize,
) -> TractResult<TypedModel> {
    let needed = ancestors(model, cut.node);
    let source = model.input_outlets()?[0];
    let mut band = TypedModel::default();
    let mut wired = HashMap::<OutletId, OutletId>::new();
    for id in model.eval_order()? {
        if !needed[id] {
            continue;
        }
        let node = model.node(id);
        if id == source.node {
            let mut fact = model.outlet_fact(source)?.clone();
            let mut shape = fact.shape.to_tvec();
            shape[axis] = rows.to_dim();
            fact.shape = shape.into();
            wired.insert(source, band.add_source(&node.name, fact)?);
            continue;
        }
        if node.op_is::<Const>() {
            continue;
        }
        let mut inputs = tvec![];
        for i in &node.inputs {
            let input = match wired.get(i) {
                Some(w) => *w,
                None => wire_constant(&mut band, model, node, *i, facts, start, &inputs)?,
            };
            inputs.push(input);
        }
        let whole = node.inputs.first().map(|i| model.outlet_fact(*i)).transpose()?;
        let shape = whole.and_then(|f| f.shape.as_concrete()).map(|s| s.to_vec()).unwrap_or_default();
        let op = padded_as_whole(node.op.as_ref(), &shape).unwrap_or_else(|| node.op.clone());
        let outs = band.wire_node(&node.name, op, &inputs)?;
        for (slot, o) in outs.into_iter().enumerate() {
            wired.insert(OutletId::new(id, slot), o);
        }
    }
    band.select_output_outlets(&[wired[&cut]])?;
    Ok(band)
}

/// The graph after `cut`, with `cut` as its input (the constants it reads copied).
pub fn after(model: &TypedModel, cut: OutletId) -> TractResult<TypedModel> {
    let skipped = ancestors(model, cut.node);
    let mut rest = TypedModel::default();
    let mut wired = HashMap::<OutletId, OutletId>::new();
    wired.insert(cut, rest.add_source(&model.node(cut.node).name, model.outlet_fact(cut)?.clone())?);
    for id in model.eval_order()? {
        let node = model.node(id);
        if skipped[id] || node.op_is::<Const>() {
            continue;
        }
        let mut inputs = tvec![];
        for i in &node.inputs {
            if !wired.contains_key(i) {
                let producer = model.node(i.node);
                ensure!(producer.op_is::<Const>(), "{} reads {} from before the cut", node.name, producer.name);
                let konst = rest.wire_node(&producer.name, producer.op.clone(), &[])?;
                wired.insert(*i, konst[0]);
            }
            inputs.push(wired[i]);
        }
        let outs = rest.wire_node(&node.name, node.op.clone(), &inputs)?;
        for (slot, o) in outs.into_iter().enumerate() {
            wired.insert(OutletId::new(id, slot), o);
        }
    }
    let outputs = model
        .output_outlets()?
        .iter()
        .map(|o| wired.get(o).copied().ok_or_else(|| format_err!("an output is before the cut")))
        .collect::<TractResult<TVec<_>>>()?;
    rest.select_output_outlets(&outputs)?;
    Ok(rest)
}

/// A constant input `i` of `node` in a band: whole, or the band's rows of it where the node reads
/// one row of it per row (`sliced_constant`). `wired`: the node's inputs wired so far.
fn wire_constant(
    band: &mut TypedModel,
    model: &TypedModel,
    node: &TypedNode,
    i: OutletId,
    facts: &[Fact],
    start: usize,
    wired: &[OutletId],
) -> TractResult<OutletId> {
    let producer = model.node(i.node);
    let konst = producer.op_as::<Const>().ok_or_else(|| format_err!("{} is not wired", producer.name))?;
    let Some(reach) = sliced_constant(node, model.outlet_fact(i)?, facts) else {
        return Ok(band.wire_node(format!("{}.{}", producer.name, node.name), konst.clone(), &[])?[0]);
    };
    // The band's rows of the node: those of the banded input wired so far.
    let banded = node.inputs.iter().zip(wired).find(|(n, _)| matches!(facts[n.node], Fact::Banded { .. }));
    let (_, w) = banded.ok_or_else(|| format_err!("{} has no banded input before its constant", node.name))?;
    let rows = band.outlet_fact(*w)?.shape[reach.axis].to_usize()?;
    let first = start / reach.stride;
    let rows_of = konst.val().slice(reach.axis, first, first + rows)?;
    band.add_const(format!("{}.{}", producer.name, node.name), rows_of)
}

/// `id` and every node it depends on, by node id.
fn ancestors(model: &TypedModel, id: usize) -> Vec<bool> {
    let mut seen = vec![false; model.nodes().len()];
    let mut stack = vec![id];
    while let Some(n) = stack.pop() {
        if !std::mem::replace(&mut seen[n], true) {
            stack.extend(model.node(n).inputs.iter().map(|i| i.node));
        }
    }
    seen
}

/// A convolution or pool whose padding depends on its input's size, with the padding it has at
/// the whole input written out.
fn padded_as_whole(op: &dyn TypedOp, input: &[usize]) -> Option<Box<dyn TypedOp>> {
    let explicit = |spec: &PoolSpec| Some(PoolSpec { padding: explicit_padding(spec, input)?, ..spec.clone() });
    if let Some(conv) = op.downcast_ref::<Conv>() {
        return Some(Box::new(Conv { pool_spec: explicit(&conv.pool_spec)?, ..conv.clone() }));
    }
    if let Some(pool) = op.downcast_ref::<MaxPool>() {
        return Some(Box::new(MaxPool { pool_spec: explicit(&pool.pool_spec)?, ..pool.clone() }));
    }
    if let Some(pool) = op.downcast_ref::<SumPool>() {
        return Some(Box::new(SumPool { pool_spec: explicit(&pool.pool_spec)?, ..pool.clone() }));
    }
    None
}
