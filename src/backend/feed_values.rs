//! Checks on the *values* a node is about to read, made just before tract evaluates it: the ops
//! whose behaviour depends on numbers fed at run time index out of bounds, divide by zero or
//! allocate without bound inside tract (a panic, or an allocation failure that aborts a wasm
//! instance whatever unwinding does). Each is refused here with a typed error instead:
//! `INPUT_MISMATCH` for values the model cannot take, `RESOURCE_LIMIT` for sizes over the
//! model's `maxTensorBytes`. onnxruntime answers the same inputs with an error too.
//!
//! Covered: Gather, GatherElements, GatherNd, ScatterElements, ScatterNd (indices against the axis
//! they index), integer Div and Rem (a zero divisor, and MIN / -1), TopK (k within the axis),
//! Range (a zero step, a length over the budget, integer bounds tract would size or step wrong).
//! Where tract mishandles values ONNX allows, they are fixed up instead of refused: GatherNd and
//! ScatterNd tuples counting from the end are wrapped, OneHot indices past the depth give the
//! all-off rows ONNX asks for. Which nodes to look at is decided once per plan (`watched`): every
//! other node costs a run one lookup.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{Gather, GatherElements, GatherNd, OneHot, ScatterElements, ScatterNd, Topk};

use crate::error::Error;

/// What is wrong with which values, before the culprit graph input is known.
#[derive(Debug)]
pub(crate) struct Refusal {
    /// The node input slot whose values are wrong.
    pub slot: usize,
    pub detail: String,
    /// An allocation over the budget (`RESOURCE_LIMIT`) rather than values out of range.
    pub too_large: bool,
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.detail)
    }
}

impl std::error::Error for Refusal {}

/// GatherND and ScatterND index tuples that count from the end (ONNX allows `-s..s`) made
/// non-negative, after `check` has bounded them: tract's kernels read them as unsigned (its
/// GatherND would index at 2^64 − 1 and panic, its ScatterND refuses them).
pub(crate) fn wrap_negative_tuples(node: &TypedNode, inputs: &mut TVec<TValue>) -> TractResult<()> {
    let shape: Vec<usize> = if let Some(op) = node.op_as::<GatherNd>() {
        inputs[0].shape()[op.batch_dims.min(inputs[0].rank())..].to_vec()
    } else if node.op_as::<ScatterNd>().is_some() {
        inputs[0].shape().to_vec()
    } else {
        return Ok(());
    };
    let Some(mut v) = ints(&inputs[1]) else { return Ok(()) };
    if !v.iter().any(|&i| i < 0) {
        return Ok(());
    }
    let width = inputs[1].shape().last().copied().unwrap_or(0).max(1);
    for tuple in v.chunks_mut(width) {
        for (i, &n) in tuple.iter_mut().zip(&shape) {
            if *i < 0 {
                *i += n as i64;
            }
        }
    }
    inputs[1] = replaced(&inputs[1], &v)?;
    Ok(())
}

/// OneHot indices outside `-depth..depth`, which ONNX answers with a row of `off` values and tract
/// would index past its output with (it also reads indices as i32): evaluated at 0, their rows
/// then reset by `reset_rows`. Returns the indices' shape and the flat positions of those, if any.
pub(crate) fn one_hot_outside(
    node: &TypedNode,
    inputs: &mut TVec<TValue>,
) -> TractResult<Option<(Vec<usize>, Vec<usize>)>> {
    let Some(op) = node.op_as::<OneHot>() else { return Ok(None) };
    let Some(mut v) = ints(&inputs[0]) else { return Ok(None) };
    let n = op.dim as i64;
    let outside: Vec<usize> = (0..v.len()).filter(|&i| v[i] < -n || v[i] >= n).collect();
    if outside.is_empty() {
        return Ok(None);
    }
    for &i in &outside {
        v[i] = 0;
    }
    let shape = inputs[0].shape().to_vec();
    inputs[0] = replaced(&inputs[0], &v)?;
    Ok(Some((shape, outside)))
}

/// Sets the OneHot output rows of the indices `one_hot_outside` found back to `off`.
pub(crate) fn reset_rows(
    node: &TypedNode,
    in_shape: &[usize],
    outputs: &mut TVec<TValue>,
    outside: &[usize],
) -> TractResult<()> {
    let Some(op) = node.op_as::<OneHot>() else { return Ok(()) };
    let mut out = outputs[0].clone().into_tensor();
    let off = op.off.as_bytes().to_vec();
    let size = out.datum_type().size_of();
    if off.len() != size {
        return Err(TractError::msg(format!("OneHot's off value is not one {:?}", out.datum_type())));
    }
    let shape = out.shape().to_vec();
    let bytes = out.as_bytes_mut();
    for &flat in outside {
        // The index's coordinates, with 0 at the one-hot axis: where evaluating it at 0 wrote `on`.
        let mut coord = vec![0usize; in_shape.len()];
        let mut rest = flat;
        for (c, &d) in coord.iter_mut().zip(in_shape).rev() {
            *c = rest % d.max(1);
            rest /= d.max(1);
        }
        coord.insert(op.axis, 0);
        let at = coord.iter().zip(&shape).fold(0, |acc, (&c, &d)| acc * d + c) * size;
        bytes[at..at + size].copy_from_slice(&off);
    }
    outputs[0] = out.into_tvalue();
    Ok(())
}

/// Checks `inputs` of `node` (about to be evaluated). `max_bytes`: the model's tensor budget.
pub(crate) fn check(node: &TypedNode, inputs: &[TValue], max_bytes: u64) -> Result<(), Refusal> {
    let name = node.op().name();
    let what = |slot: usize, detail: String| Refusal {
        slot,
        detail: format!("node \"{}\" ({name}) {detail}", node.name),
        too_large: false,
    };
    if let Some(op) = node.op_as::<Gather>() {
        return indices_within(&inputs[1], dim(&inputs[0], op.axis)).map_err(|d| what(1, d.to_string()));
    }
    if let Some(op) = node.op_as::<GatherElements>() {
        return indices_within(&inputs[1], dim(&inputs[0], op.axis)).map_err(|d| what(1, d.to_string()));
    }
    if let Some(op) = node.op_as::<ScatterElements>() {
        return indices_within(&inputs[1], dim(&inputs[0], op.axis)).map_err(|d| what(1, d.to_string()));
    }
    if let Some(op) = node.op_as::<OneHot>() {
        // Handled by `one_hot_outside` where the values are plain data; refused otherwise, and
        // at depth 0, where there is no in-range index to evaluate instead (a fuzz finding).
        if op.off.datum_type() == DatumType::String || op.dim == 0 {
            return indices_within(&inputs[0], op.dim).map_err(|d| what(0, d.to_string()));
        }
    }
    if let Some(op) = node.op_as::<GatherNd>() {
        return tuples_within(&inputs[1], &inputs[0].shape()[op.batch_dims.min(inputs[0].rank())..])
            .map_err(|d| what(1, d.to_string()));
    }
    if node.op_as::<ScatterNd>().is_some() {
        return tuples_within(&inputs[1], inputs[0].shape()).map_err(|d| what(1, d.to_string()));
    }
    if let Some(op) = node.op_as::<Topk>() {
        let axis = dim(&inputs[0], op.axis);
        let k = ints(&inputs[1]).and_then(|k| k.first().copied());
        return match k {
            Some(k) if (0..=axis as i64).contains(&k) => Ok(()),
            Some(k) => Err(what(1, format!("asks for the top {k} of an axis of {axis}: k must be 0..={axis}"))),
            None => Ok(()),
        };
    }
    if name == "Range" && inputs.len() == 3 {
        return range_len(&inputs[0], &inputs[1], &inputs[2], max_bytes)
            .map_err(|(slot, detail, too_large)| Refusal { too_large, ..what(slot, detail) });
    }
    if is_division(&name) && inputs.len() == 2 && inputs[1].datum_type().is_integer() {
        return divisor_ok(&inputs[0], &inputs[1]).map_err(|d| what(1, d.to_string()));
    }
    Ok(())
}

/// tract's Div and Rem, plain or optimised (`OptDivUnicast`, `OptRemByScalar`, …).
fn is_division(name: &str) -> bool {
    let core = name.strip_prefix("Opt").unwrap_or(name);
    ["Div", "Rem"].iter().any(|op| {
        core.strip_prefix(op)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with("Unicast") || rest.starts_with("ByScalar"))
    })
}

/// Per node id of `model`: whether `check`, `wrap_negative_tuples` or `one_hot_outside` can act on
/// it. Worked out once per plan: some of tract's op names are formatted on each call, and a run
/// should not pay for that on every node.
pub(crate) fn watched(model: &TypedModel) -> Vec<bool> {
    let mut watched = vec![false; model.nodes().len()];
    for node in model.nodes() {
        let name = node.op().name();
        watched[node.id] = node.op_as::<Gather>().is_some()
            || node.op_as::<GatherElements>().is_some()
            || node.op_as::<ScatterElements>().is_some()
            || node.op_as::<OneHot>().is_some()
            || node.op_as::<GatherNd>().is_some()
            || node.op_as::<ScatterNd>().is_some()
            || node.op_as::<Topk>().is_some()
            || name == "Range"
            || is_division(&name);
    }
    watched
}

fn dim(t: &Tensor, axis: usize) -> usize {
    t.shape().get(axis).copied().unwrap_or(0)
}

/// `t` with these values (read by `ints`), in its own shape and integer type.
fn replaced(t: &Tensor, v: &[i64]) -> TractResult<TValue> {
    Ok(Tensor::from_shape(t.shape(), v)?.cast_to_dt(t.datum_type())?.into_owned().into_tvalue())
}

/// A fed value tract would index, divide or overflow with.
#[derive(Debug, thiserror::Error)]
enum BadValue {
    #[error("got index {bad} for an axis of {n}: indices must be in -{n}..{n}")]
    Index { bad: i64, n: i64 },
    #[error("index tuples of {width} for data of rank {rank}")]
    TupleWidth { width: usize, rank: usize },
    #[error("got index {bad} at position {position} of a tuple, for an axis of {n}: must be in -{n}..{n}")]
    TupleIndex { bad: i64, position: usize, n: i64 },
    #[error("divides an integer by zero: every divisor must be non-zero")]
    ZeroDivisor,
    #[error("divides {min} by -1, which overflows {dt:?}")]
    Overflow { min: i64, dt: DatumType },
}

/// Integer values as i64 (None for other types).
fn ints(t: &Tensor) -> Option<Vec<i64>> {
    if !t.datum_type().is_integer() {
        return None;
    }
    let c = t.cast_to::<i64>().ok()?;
    let v = c.to_plain_array_view::<i64>().ok()?.iter().copied().collect();
    Some(v)
}

/// Every index in `-n..n` (ONNX's negative indices count from the end).
fn indices_within(indices: &Tensor, n: usize) -> Result<(), BadValue> {
    let Some(v) = ints(indices) else { return Ok(()) };
    let n = n as i64;
    match v.iter().find(|&&i| i < -n || i >= n) {
        Some(&bad) => Err(BadValue::Index { bad, n }),
        None => Ok(()),
    }
}

/// Index tuples (the last axis of `indices`) each within `shape`'s leading axes.
fn tuples_within(indices: &Tensor, shape: &[usize]) -> Result<(), BadValue> {
    let Some(v) = ints(indices) else { return Ok(()) };
    let width = indices.shape().last().copied().unwrap_or(0);
    if width > shape.len() {
        return Err(BadValue::TupleWidth { width, rank: shape.len() });
    }
    if width == 0 {
        return Ok(());
    }
    for tuple in v.chunks(width) {
        for (j, (&i, &n)) in tuple.iter().zip(shape).enumerate() {
            let n = n as i64;
            if i < -n || i >= n {
                return Err(BadValue::TupleIndex { bad: i, position: j, n });
            }
        }
    }
    Ok(())
}

/// No zero divisor, and no MIN / -1 (the one integer quotient that overflows).
fn divisor_ok(numerator: &Tensor, divisor: &Tensor) -> Result<(), BadValue> {
    let Some(d) = ints(divisor) else { return Ok(()) };
    if d.contains(&0) {
        return Err(BadValue::ZeroDivisor);
    }
    let dt = numerator.datum_type();
    if dt.is_signed() && d.contains(&-1) {
        let min = match dt {
            DatumType::I8 => i8::MIN as i64,
            DatumType::I16 => i16::MIN as i64,
            DatumType::I32 => i32::MIN as i64,
            _ => i64::MIN,
        };
        if ints(numerator).is_some_and(|n| n.contains(&min)) {
            return Err(BadValue::Overflow { min, dt });
        }
    }
    Ok(())
}

/// Range(start, limit, delta): a non-zero, finite step and a length within the budget.
fn range_len(start: &Tensor, limit: &Tensor, delta: &Tensor, max_bytes: u64) -> Result<(), (usize, String, bool)> {
    let scalar =
        |t: &Tensor| t.cast_to::<f64>().ok().and_then(|c| c.to_plain_array_view::<f64>().ok()?.iter().next().copied());
    let (Some(s), Some(l), Some(d)) = (scalar(start), scalar(limit), scalar(delta)) else { return Ok(()) };
    if !(s.is_finite() && l.is_finite() && d.is_finite()) {
        return Err((2, format!("has a non-finite bound or step (start {s}, limit {l}, delta {d})"), false));
    }
    if d == 0.0 {
        return Err((2, "has a step of 0: the sequence would never end".into(), false));
    }
    let len = ((l - s) / d).ceil().max(0.0);
    let bytes = len * start.datum_type().size_of() as f64;
    if bytes > max_bytes as f64 {
        return Err((1, format!("would make {len} elements ({bytes} bytes), over maxTensorBytes ({max_bytes})"), true));
    }
    integer_range_fits(start, limit, delta)
}

/// An integer Range's running value stays within its type: tract adds the step once more after
/// the last element, which overflows (a panic where overflow is checked, a wrapped value where
/// not) when the sequence ends near the type's edge.
fn integer_range_fits(start: &Tensor, limit: &Tensor, delta: &Tensor) -> Result<(), (usize, String, bool)> {
    let dt = start.datum_type();
    let bounds: (i128, i128) = match dt {
        DatumType::I8 => (i8::MIN.into(), i8::MAX.into()),
        DatumType::I16 => (i16::MIN.into(), i16::MAX.into()),
        DatumType::I32 => (i32::MIN.into(), i32::MAX.into()),
        DatumType::I64 => (i64::MIN.into(), i64::MAX.into()),
        DatumType::U8 => (0, u8::MAX.into()),
        DatumType::U16 => (0, u16::MAX.into()),
        DatumType::U32 => (0, u32::MAX.into()),
        _ => return Ok(()),
    };
    let first = |t: &Tensor| ints(t).and_then(|v| v.first().copied()).map(i128::from);
    let (Some(s), Some(l), Some(d)) = (first(start), first(limit), first(delta)) else { return Ok(()) };
    // The length was bounded by the budget above, so these products fit in i128.
    let (num, den) = if d > 0 { (l - s, d) } else { (s - l, -d) };
    let len = if num <= 0 { 0 } else { (num + den - 1) / den };
    // tract sizes an integer Range in f64, which is off beyond 2^53: a wrong length, silently.
    let sized = ((l as f64 - s as f64) / d as f64).ceil().max(0.0);
    if sized != len as f64 {
        return Err((2, format!("from {s} to {l} by {d} has {len} elements, which this runtime would size as {sized} (bounds past 2^53 lose precision)"), false));
    }
    let after = s + len * d;
    if after < bounds.0 || after > bounds.1 {
        return Err((
            2,
            format!("counts from {s} by {d} past the range of {dt:?} (the step after the last element overflows)"),
            false,
        ));
    }
    Ok(())
}

/// The graph inputs whose values reach `outlet`, by name: who to blame for a refusal.
pub(crate) fn upstream_inputs(model: &TypedModel, outlet: OutletId) -> Vec<String> {
    let inputs = model.input_outlets().unwrap_or(&[]);
    let mut seen = std::collections::HashSet::new();
    let mut stack = vec![outlet.node];
    let mut found = vec![];
    while let Some(n) = stack.pop() {
        if !seen.insert(n) {
            continue;
        }
        if inputs.iter().any(|o| o.node == n) {
            found.push(model.node(n).name.clone());
        }
        stack.extend(model.node(n).inputs.iter().map(|i| i.node));
    }
    found.sort();
    found
}

/// The error a refusal becomes, naming the graph inputs that fed the bad values.
pub(crate) fn to_error(model: &TypedModel, node: &TypedNode, r: &Refusal) -> Error {
    if r.too_large {
        return Error::ResourceLimit(r.detail.clone());
    }
    let culprits = node.inputs.get(r.slot).map(|&o| upstream_inputs(model, o)).unwrap_or_default();
    let name = if culprits.is_empty() { node.name.clone() } else { culprits.join("\", \"") };
    Error::InputMismatch { name, detail: format!("{}: the values fed to the model are out of its range", r.detail) }
}

#[cfg(test)]
mod tests {
    use super::is_division;

    #[test]
    fn division_names_plain_and_optimised() {
        for name in ["Div", "Rem", "OptDivUnicast", "OptRemByScalar", "DivByScalar", "OptDivUnicast(f32)"] {
            assert!(is_division(name), "{name}");
        }
        for name in ["Mul", "OptMulUnicast", "Divide", "OptDivider", "Remap", "OptBinChain(Div+Add)", ""] {
            assert!(!is_division(name), "{name}");
        }
    }
}
