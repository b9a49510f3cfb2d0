//! The fixed-up protobuf → tract's inference model → its typed form and signature.

use tract_onnx::pb;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{Factoid, GenericFactoid};

use super::harden::nodes::DeconvShape;
use super::signature::{self, IoInfo};
use super::weights::Weights;
use super::{harden, proto};
use crate::error::{guard, Error, Result};

pub(super) struct Analysed {
    pub(super) model: InferenceModel,
    pub(super) inputs: Vec<IoInfo>,
    pub(super) input_dts: Vec<Option<DatumType>>,
    pub(super) outputs: Vec<IoInfo>,
    pub(super) typed_error: Option<String>,
    /// The decluttered graph at the file's input facts, when it could be typed.
    pub(super) typed: Option<TypedModel>,
}

/// Parses the proto into tract and runs type/shape analysis. value_info entries are hints that
/// exports often get wrong (PyTorch leaves symbolic ones that contradict concrete inputs, and
/// subgraph hints break analysis at concrete shapes): like onnxruntime, infer shapes from the
/// inputs and ignore them; use them only if analysis cannot succeed without.
pub(super) fn analyse(
    proto: &pb::ModelProto,
    weights: &Weights,
    onnx: &tract_onnx::Onnx,
    pins: &[(String, Vec<usize>)],
    deconvs: &[DeconvShape],
    fixes: &mut Vec<String>,
) -> Result<Analysed> {
    let hints = proto::value_info_count(proto);
    let without = parse(proto, weights, onnx.clone().with_ignore_value_info(true), pins)?;
    let err = match typed(&without, deconvs) {
        Ok(t) => {
            if hints > 0 {
                fixes.push(format!("value_info: {hints} shape hint(s) ignored, shapes inferred from the inputs"));
            }
            return Ok(describe(without, Some(t), None));
        }
        // Why the model has no typed form, as `info()` says it.
        Err(Error::ModelInvalid(m)) => m,
        Err(e) => e.to_string(),
    };
    if hints > 0 {
        let with = parse(proto, weights, onnx.clone(), pins)?;
        if let Ok(t) = typed(&with, deconvs) {
            return Ok(describe(with, Some(t), None));
        }
    }
    Ok(describe(without, None, Some(err)))
}

fn parse(
    proto: &pb::ModelProto,
    weights: &Weights,
    onnx: tract_onnx::Onnx,
    pins: &[(String, Vec<usize>)],
) -> Result<InferenceModel> {
    let mut model = guard("parsing the model", || {
        onnx.parse(proto, None)
            .and_then(|parsed| weights.restore(parsed))
            .map_err(|e| unsupported_feature(&e).unwrap_or(Error::ModelInvalid(format!("{e:#}"))))
    })?;
    for (name, shape) in pins {
        let ix = model
            .input_outlets()
            .map_err(|e| Error::Internal(format!("{e:#}")))?
            .iter()
            .position(|o| model.node(o.node).name == *name)
            .ok_or_else(|| {
                Error::InvalidArgument(format!("inputShapes names \"{name}\", which is not an input of the model"))
            })?;
        let mut fact = model.input_fact(ix).map_err(|e| Error::Internal(format!("{e:#}")))?.clone();
        if let GenericFactoid::Only(r) = fact.shape.rank() {
            if r as usize != shape.len() {
                return Err(Error::InvalidArgument(format!(
                    "inputShapes gives \"{name}\" rank {}, the model declares rank {r}",
                    shape.len()
                )));
            }
        }
        fact.shape = shape.iter().copied().collect::<TVec<usize>>().into();
        model.set_input_fact(ix, fact).map_err(|e| Error::Internal(format!("{e:#}")))?;
    }
    Ok(model)
}

/// tract refusing a valid node that uses a part of its op it lacks (an attribute value, an
/// optional input): `UNSUPPORTED_OP` naming the node, not `MODEL_INVALID`.
fn unsupported_feature(e: &TractError) -> Option<Error> {
    let detail = e.root_cause().to_string();
    if !detail.contains("not supported") {
        return None;
    }
    let building = e.chain().find_map(|c| c.to_string().strip_prefix("Building node ").map(str::to_string))?;
    let (node, op) = building.rsplit_once(" (")?;
    Some(Error::UnsupportedOp { op: op.strip_suffix(')')?.to_string(), node: node.to_string(), detail })
}

fn typed(model: &InferenceModel, deconvs: &[DeconvShape]) -> Result<TypedModel> {
    let m = model.clone();
    guard("analysing the model", || {
        crate::backend::optimise::decluttered(harden::typed::into_typed(m, deconvs)?)
            .map_err(|e| Error::ModelInvalid(format!("{e:#}")))
    })
}

fn describe(model: InferenceModel, typed: Option<TypedModel>, typed_error: Option<String>) -> Analysed {
    let name_of = |m: &InferenceModel, o: OutletId| {
        m.outlet_label(o).map(str::to_string).unwrap_or_else(|| m.node(o.node).name.clone())
    };
    let in_outlets = model.input_outlets().map(|o| o.to_vec()).unwrap_or_default();
    let out_outlets = model.output_outlets().map(|o| o.to_vec()).unwrap_or_default();
    let input_dts =
        in_outlets.iter().map(|&o| model.outlet_fact(o).ok().and_then(|f| f.datum_type.concretize())).collect();
    let (inputs, outputs) = match &typed {
        Some(t) => (
            in_outlets
                .iter()
                .zip(t.input_outlets().unwrap_or(&[]))
                .map(|(&o, &to)| signature::from_typed_fact(&model.node(o.node).name, t.outlet_fact(to).unwrap()))
                .collect(),
            out_outlets
                .iter()
                .zip(t.output_outlets().unwrap_or(&[]))
                .map(|(&o, &to)| signature::from_typed_fact(&name_of(&model, o), t.outlet_fact(to).unwrap()))
                .collect(),
        ),
        None => (
            in_outlets
                .iter()
                .map(|&o| signature::from_inference_fact(&model.node(o.node).name, model.outlet_fact(o).unwrap()))
                .collect(),
            out_outlets
                .iter()
                .map(|&o| signature::from_inference_fact(&name_of(&model, o), model.outlet_fact(o).unwrap()))
                .collect(),
        ),
    };
    Analysed { model, inputs, input_dts, outputs, typed_error, typed }
}
