//! tract's decluttered `TypedModel` (concrete shapes) → a GPU `Program`, in explicit phases:
//! check the inputs, plan the element-wise fusion, translate each node in evaluation order by
//! its family's function in `ops/`, collect the outputs, fold element-wise tails into their
//! producers (`epilogue::fuse`). A node no family takes makes the whole translation fail with the
//! reason: the caller then runs the model on the CPU rather than bouncing tensors between the
//! GPU and the CPU.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{MultiBroadcastTo, Pad, Slice, TypedConcat};
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::cnn::{Conv, Deconv, MaxPool, SumPool};
use tract_onnx::tract_core::ops::downsample::Downsample;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::nn::{self as tnn, Reduce, RmsNorm, Softmax};
use tract_onnx::tract_core::ops::source::TypedSource;

use super::kernels::PoolMode;
use super::ops::builder::{why, Builder, Why, R};
use super::ops::{conv, copy, elementwise, lrn, matmul, pool, rows};
use super::program::{Program, Storage};

/// Why a model cannot run on the GPU.
#[derive(Debug, Clone)]
pub struct Unsupported {
    pub op: String,
    pub node: String,
    pub why: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, fm: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(fm, "{} (node \"{}\"): {}", self.op, self.node, self.why)
    }
}

pub fn translate(model: &TypedModel) -> std::result::Result<Program, Unsupported> {
    let whole = |why: String| Unsupported { op: "-".into(), node: "-".into(), why };
    let order = model.eval_order().map_err(|e| whole(e.to_string()))?;
    let mut b = Builder::new(model, &order);
    for &o in model.input_outlets().map_err(|e| whole(e.to_string()))? {
        let fact = b.fact(o);
        if fact.datum_type != f32::datum_type() {
            let node = &model.node(o.node).name;
            return Err(Unsupported {
                op: "input".into(),
                node: node.clone(),
                why: format!("type {:?} (the GPU path takes f32 inputs)", fact.datum_type),
            });
        }
    }
    elementwise::plan_fusion(&mut b, &order);
    for &id in &order {
        let node = model.node(id);
        translate_node(&mut b, node).map_err(|Why(why)| Unsupported {
            op: node.op.name().to_string(),
            node: node.name.clone(),
            why,
        })?;
    }
    let out_err = |why: String| Unsupported { op: "output".into(), node: "-".into(), why };
    for o in model.output_outlets().map_err(|e| out_err(e.to_string()))? {
        let v = b.value(*o).map_err(|Why(why)| out_err(why))?;
        b.prog.outputs.push(v);
    }
    let mut prog = b.prog;
    super::epilogue::fuse(&mut prog);
    Ok(prog)
}

/// One node, by the family that takes its tract op.
fn translate_node(b: &mut Builder, node: &TypedNode) -> R<()> {
    if node.op_as::<TypedSource>().is_some() {
        let fact = &node.outputs[0].fact;
        if fact.datum_type != f32::datum_type() {
            return Err(why!("input of type {:?} (the GPU path takes f32 inputs)", fact.datum_type));
        }
        let outlets = b.model.input_outlets().map_err(|e| e.to_string())?;
        let ix = outlets.iter().position(|o| o.node == node.id).ok_or("a source that is not a model input")?;
        let v = b.output(node, Storage::Input(ix))?;
        b.prog.inputs.push(v);
        return Ok(());
    }
    if node.op_as::<Const>().is_some() {
        return Ok(()); // uploaded when a step reads it
    }
    if node.outputs[0].fact.konst.is_some() && !b.is_output(node.id.into()) {
        return Ok(()); // folded by tract: a constant, not a computation
    }
    if elementwise::ew_op(node).is_some() {
        if b.fused.contains(&node.id) {
            return Ok(());
        }
        return elementwise::group(b, node);
    }
    if let Some(op) = node.op_as::<AxisOp>() {
        return copy::axis_op(b, node, op);
    }
    if let Some(op) = node.op_as::<Cast>() {
        if op.to == f32::datum_type() && b.fact(node.inputs[0]).datum_type == f32::datum_type() {
            let src = b.input(node, 0)?;
            b.output(node, Storage::Alias(src))?;
            return Ok(());
        }
        return Err(why!("cast to {:?}", op.to));
    }
    if let Some(op) = node.op_as::<EinSum>() {
        return matmul::einsum(b, node, op);
    }
    if let Some(op) = node.op_as::<Conv>() {
        return conv::conv(b, node, op);
    }
    if let Some(op) = node.op_as::<Deconv>() {
        return conv::deconv(b, node, op);
    }
    if let Some(op) = node.op_as::<MaxPool>() {
        if op.with_index_outputs.is_some() {
            return Err("MaxPool with indices".into());
        }
        return pool::pool(b, node, &op.pool_spec, PoolMode::Max);
    }
    if let Some(op) = node.op_as::<SumPool>() {
        let mode = match (op.normalize, op.count_include_pad) {
            (false, _) => PoolMode::Sum,
            (true, false) => PoolMode::Average,
            (true, true) => PoolMode::AverageCountPad,
        };
        return pool::pool(b, node, &op.pool_spec, mode);
    }
    if let Some(op) = node.op_as::<Reduce>() {
        return rows::reduce(b, node, op);
    }
    if let Some(op) = node.op_as::<Softmax>() {
        return rows::softmax(b, node, op);
    }
    if let Some(op) = node.op_as::<RmsNorm>() {
        return rows::rms_norm(b, node, op);
    }
    if let Some(op) = node.op_as::<tract_onnx_opl::lrn::Lrn>() {
        return lrn::lrn(b, node, op);
    }
    if let Some(op) = node.op_as::<TypedConcat>() {
        return copy::concat(b, node, op.axis);
    }
    if let Some(op) = node.op_as::<Slice>() {
        return copy::slice(b, node, op);
    }
    if let Some(op) = node.op_as::<Pad>() {
        return copy::pad(b, node, op);
    }
    if node.op_as::<MultiBroadcastTo>().is_some() {
        return copy::broadcast(b, node);
    }
    if let Some(op) = node.op_as::<tnn::resize::NearestUpsample>() {
        return copy::upsample(b, node, op);
    }
    if let Some(op) = node.op_as::<Downsample>() {
        return copy::downsample(b, node, op);
    }
    Err("no GPU kernel for this op".into())
}
