//! The decoded graph's structure: wired (every value read is produced), sized sanely (declared
//! tensors within the budget and holding what they declare), each node's attributes checked
//! (`nodes`), sub-graphs (Scan, Loop, If bodies) included.

use std::collections::HashSet;

use tract_onnx::pb::{self, tensor_proto::DataType};

use super::nodes::*;
use crate::error::{Error, Result};
use crate::model::proto::{default_opset, element_size, for_each_subgraph};

/// Checks the graph is wired and sized sanely, sub-graphs (Scan, Loop, If bodies) included.
/// tract indexes by value name and allocates declared sizes, so a name that nothing produces or
/// an absurd initializer must stop here.
pub fn validate(proto: &pb::ModelProto, max_tensor_bytes: u64) -> Result<()> {
    let graph = proto.graph.as_ref().ok_or_else(|| Error::ModelInvalid("the model has no graph".into()))?;
    if graph.input.is_empty() && graph.initializer.is_empty() && graph.node.is_empty() {
        return Err(Error::ModelInvalid("the graph is empty".into()));
    }
    let opset = default_opset(proto);
    let mut result = validate_graph(graph, None, opset, max_tensor_bytes);
    for node in &graph.node {
        for_each_subgraph(node, &mut |owner, g| {
            if result.is_ok() {
                result = validate_graph(g, Some(owner), opset, max_tensor_bytes);
            }
        });
    }
    result
}

/// One graph's own checks. `owner` is the node whose attribute holds a sub-graph: a sub-graph may
/// read values of the enclosing scopes (tract wires them in as extra inputs), but its outputs must
/// be made inside it, or tract's parser indexes a missing name.
fn validate_graph(
    graph: &pb::GraphProto,
    owner: Option<&pb::NodeProto>,
    opset: i64,
    max_tensor_bytes: u64,
) -> Result<()> {
    let mut known: HashSet<&str> = HashSet::new();
    known.extend(graph.input.iter().map(|i| i.name.as_str()));
    for init in &graph.initializer {
        known.insert(init.name.as_str());
        check_tensor_proto(init, max_tensor_bytes)?;
    }
    for node in &graph.node {
        for attr in &node.attribute {
            for t in attr.t.iter().chain(&attr.tensors) {
                check_tensor_proto(t, max_tensor_bytes)?;
            }
        }
        check_window_attributes(graph, node)?;
        check_permutation(node)?;
        check_counts(node)?;
        check_scan(node)?;
        check_axes(node)?;
        check_recurrent_weights(graph, node)?;
        check_resize_inputs(node, opset)?;
        check_has_inputs(node)?;
        known.extend(node.output.iter().map(String::as_str));
        if owner.is_some() {
            known.extend(node.input.iter().map(String::as_str));
        }
    }
    known.remove("");
    for out in &graph.output {
        if !known.contains(out.name.as_str()) {
            return Err(Error::ModelInvalid(match owner {
                None => format!(
                    "graph output \"{}\" is not produced by any node, input or initializer: the file is corrupt",
                    out.name
                ),
                Some(n) => format!(
                    "the sub-graph of {} node \"{}\" has output \"{}\", which nothing inside it produces: \
                     the file is corrupt, or returns an outer value directly (make it an Identity node's output)",
                    n.op_type, n.name, out.name
                ),
            }));
        }
    }
    Ok(())
}

fn check_tensor_proto(t: &pb::TensorProto, max_bytes: u64) -> Result<()> {
    if !t.external_data.is_empty() || t.data_location == Some(1) {
        return Err(Error::ModelInvalid(format!(
            "tensor \"{}\" keeps its data in an external file, which a browser cannot open: \
             re-save the model with all weights embedded (onnx.save(model, f, save_as_external_data=False))",
            t.name
        )));
    }
    let mut elems: u64 = 1;
    for &d in &t.dims {
        if d < 0 {
            return Err(Error::ModelInvalid(format!("tensor \"{}\" has a negative dimension {d}", t.name)));
        }
        elems = elems.checked_mul(d as u64).ok_or_else(|| too_big(&t.name, u64::MAX, max_bytes))?;
    }
    let declared = elems.saturating_mul(element_size(t.data_type) as u64);
    if declared > max_bytes {
        return Err(too_big(&t.name, declared, max_bytes));
    }
    // Typed fields must hold what dims say; a short raw_data would make tract read past it.
    let stored = if !t.raw_data.is_empty() {
        t.raw_data.len() as u64
    } else {
        let n = [
            t.float_data.len(),
            t.int32_data.len(),
            t.int64_data.len(),
            t.double_data.len(),
            t.uint64_data.len(),
            t.string_data.len(),
        ]
        .into_iter()
        .max()
        .unwrap_or(0) as u64;
        n.saturating_mul(element_size(t.data_type) as u64)
    };
    if t.data_type != DataType::String as i32 && elems > 0 && stored > 0 && stored < declared {
        return Err(Error::ModelInvalid(format!(
            "tensor \"{}\" declares {declared} bytes but holds {stored}: the file is truncated or corrupt",
            t.name
        )));
    }
    Ok(())
}

fn too_big(name: &str, bytes: u64, max: u64) -> Error {
    Error::ResourceLimit(format!(
        "tensor \"{name}\" needs {} MiB, over the {} MiB budget for one tensor: raise `maxTensorBytes` or use a smaller model",
        bytes / (1 << 20),
        max / (1 << 20)
    ))
}
