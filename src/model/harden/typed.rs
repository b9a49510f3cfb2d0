//! The last loader checks, on the typed graph: tract's analysis, then what it lets through but
//! its later passes (optimisation, codegen) panic on. Run at every shape a plan is compiled for.

use tract_onnx::prelude::*;

use super::nodes::DeconvShape;
use crate::error::{Error, Result};

/// tract's analysis, then what it lets through but its later passes panic on (fuzz findings).
pub(crate) fn into_typed(mut model: InferenceModel, deconvs: &[DeconvShape]) -> Result<TypedModel> {
    if !deconvs.is_empty() {
        // Errors here are tract's to report, from into_typed below.
        let _ = model.analyse(false);
        for d in deconvs {
            check_deconv_output_shape(&model, d)?;
        }
    }
    let typed = model.into_typed().map_err(|e| Error::ModelInvalid(format!("{e:#}")))?;
    for node in typed.nodes() {
        check_quantized_matmul(node).and_then(|_| check_window(&typed, node))?;
    }
    Ok(typed)
}

/// tract computes a ConvTranspose's output padding as `output_shape + pads − natural size` in
/// unsigned arithmetic; an `output_shape` below the natural size must be refused first.
fn check_deconv_output_shape(model: &InferenceModel, d: &DeconvShape) -> Result<()> {
    use tract_onnx::tract_hir::infer::Factoid;
    let Ok(node) = model.node_by_name(&d.node) else { return Ok(()) };
    let dims = |ix: usize| -> Option<Vec<i64>> {
        let fact = model.outlet_fact(*node.inputs.get(ix)?).ok()?;
        fact.shape.concretize()?.iter().map(|d| d.to_i64().ok()).collect()
    };
    // tract itself refuses an output_shape over an input of unknown size.
    let (Some(x), Some(w)) = (dims(0), dims(1)) else { return Ok(()) };
    let n = d.output_shape.len();
    let bad = |what: String| Err(Error::ModelInvalid(format!("ConvTranspose node \"{}\": {what}", d.node)));
    if x.len() != n + 2 || w.len() != n + 2 {
        return bad(format!("output_shape {:?} has {n} entries for a rank-{} input", d.output_shape, x.len()));
    }
    for i in 0..n {
        let at = |v: &[i64], default: i64| v.get(i).copied().unwrap_or(default) as i128;
        let pads = if d.pads.len() == 2 * n { (d.pads[i] + d.pads[i + n]) as i128 } else { 0 };
        let (xi, ki) = (x[i + 2] as i128, w[i + 2] as i128);
        let natural = at(&d.strides, 1) * (xi - 1) + (ki - 1) * at(&d.dilations, 1) + 1;
        if xi < 1 || ki < 1 || (d.output_shape[i] as i128) + pads < natural {
            return bad(format!(
                "output_shape {:?} is smaller on axis {i} than the {} that this input, kernel, strides and pads make: \
                 remove output_shape and crop with a Slice",
                d.output_shape,
                natural - pads
            ));
        }
    }
    Ok(())
}

/// A quantized matmul (QLinearMatMul, MatMulInteger) is clamped to its output zero point's
/// range; a zero point of a type without one (bool, string) panics in codegen.
fn check_quantized_matmul(node: &TypedNode) -> Result<()> {
    use tract_onnx::tract_core::ops::einsum::EinSum;
    use DatumType::*;
    let Some(dt) = node.op_as::<EinSum>().and_then(|e| e.q_params) else { return Ok(()) };
    if matches!(dt.unquantized(), U8 | U16 | U32 | U64 | I8 | I16 | I32 | I64 | F16 | F32 | F64) {
        return Ok(());
    }
    Err(Error::ModelInvalid(format!(
        "node \"{}\" is a quantized matmul whose output zero point is {dt:?}: it must be an integer type (uint8 or int8)",
        node.name
    )))
}

/// A convolution's or pool's window must have one entry per spatial axis of its input: tract
/// indexes the input's padding by the kernel's axes, so a 2-d kernel over a 1-d signal panics.
fn check_window(model: &TypedModel, node: &TypedNode) -> Result<()> {
    use tract_onnx::tract_core::ops::cnn::{Conv, Deconv, MaxPool, PaddingSpec, PoolSpec, SumPool};
    let spec: &PoolSpec = if let Some(op) = node.op_as::<MaxPool>() {
        &op.pool_spec
    } else if let Some(op) = node.op_as::<SumPool>() {
        &op.pool_spec
    } else if let Some(op) = node.op_as::<Conv>() {
        &op.pool_spec
    } else if let Some(op) = node.op_as::<Deconv>() {
        &op.pool_spec
    } else {
        return Ok(());
    };
    let Some(input) = node.inputs.first() else { return Ok(()) };
    let rank = model.outlet_fact(*input).map_err(|e| Error::Internal(format!("{e:#}")))?.rank();
    let spatial = rank.checked_sub(1 + spec.data_format.has_n() as usize);
    let k = spec.kernel_shape.len();
    let pads = match &spec.padding {
        PaddingSpec::Explicit(b, a) | PaddingSpec::ExplicitOnnxPool(b, a, _) => [Some(b.len()), Some(a.len())],
        _ => [None, None],
    };
    let lens = [spec.dilations.as_ref().map(|d| d.len()), spec.strides.as_ref().map(|s| s.len())];
    if spatial == Some(k) && lens.iter().chain(&pads).flatten().all(|&n| n == k) {
        return Ok(());
    }
    Err(Error::ModelInvalid(format!(
        "node \"{}\" ({}): a {k}-d window (kernel {:?}) over a rank-{rank} input: the kernel, strides, dilations and pads need one entry per spatial axis",
        node.name,
        node.op.name(),
        spec.kernel_shape
    )))
}
