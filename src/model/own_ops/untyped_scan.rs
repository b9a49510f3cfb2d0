//! `Scan` whose body leaves its inputs untyped. ONNX allows it (they take the outer tensors'
//! types), and the ONNX tools' function expansions do it; tract's parser reads every graph
//! input's type and refuses the model. Here the untyped inputs get a placeholder type for tract's
//! own `Scan` parser, and lose it again afterwards: inference then fills them from the outer
//! inputs, as ONNX means.

use std::sync::OnceLock;

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::scan::InferenceScan;

/// tract's op builder signature (its alias is private).
type OpBuilder = fn(&ParsingContext, &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

static TRACT_SCAN: OnceLock<OpBuilder> = OnceLock::new();

pub fn install(reg: &mut OnnxOpRegister) {
    if let Some(&tract) = reg.0.get("Scan") {
        let _ = TRACT_SCAN.set(tract);
        reg.insert("Scan", parse);
    }
}

fn typed(input: &pb::ValueInfoProto) -> bool {
    input.r#type.as_ref().is_some_and(|t| t.value.is_some())
}

fn parse(ctx: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let tract = *TRACT_SCAN.get().context("tract's Scan parser was not registered")?;
    let body: &pb::GraphProto = node.get_attr("body")?;
    let untyped: Vec<usize> = body.input.iter().enumerate().filter(|(_, i)| !typed(i)).map(|(ix, _)| ix).collect();
    if untyped.is_empty() {
        return tract(ctx, node);
    }
    let scans: usize = node.get_attr("num_scan_inputs")?;
    let states = body.input.len().checked_sub(scans).context("Scan: num_scan_inputs exceeds the body's inputs")?;
    let mut node = node.clone();
    let placeholder = pb::TypeProto {
        value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
            elem_type: pb::tensor_proto::DataType::Float as i32,
            shape: None,
        })),
        ..Default::default()
    };
    for attr in node.attribute.iter_mut().filter(|a| a.name == "body") {
        if let Some(g) = attr.g.as_mut() {
            for &ix in &untyped {
                g.input[ix].r#type = Some(placeholder.clone());
            }
        }
    }
    let (mut op, closures) = tract(ctx, &node)?;
    let scan = op.as_op_mut().downcast_mut::<InferenceScan>().context("tract's Scan parser made another op")?;
    let inputs = scan.body.input_outlets()?.to_vec();
    for &ix in &untyped {
        if let Some(&outlet) = inputs.get(ix) {
            scan.body.set_outlet_fact(outlet, InferenceFact::default())?;
        }
        // A scanned input is sliced by a node tract inserted, which copied the placeholder.
        if ix >= states {
            let name = format!("{}.input-{}.adjust-dim", node.name, ix - states);
            if let Ok(id) = scan.body.node_id_by_name(&name) {
                scan.body.set_outlet_fact(OutletId::new(id, 0), InferenceFact::default())?;
            }
        }
    }
    Ok((op, closures))
}
