//! The ONNX protobuf: decoding it, and reading what the SDK needs from the decoded file (op types
//! and counts, opset, parameter count). Its checks are in `harden`, its fix-ups in `fixes`; a few
//! fields read without decoding (a classifier's weights, metadata) are in `peek`.

use std::collections::{BTreeMap, HashSet};

use prost::Message;
use tract_onnx::pb::{self, tensor_proto::DataType};

use crate::error::{Error, Result};

/// Decodes the protobuf from the bytes as they are (tract's reader copies the whole file first).
/// Bytes that decode but hold no graph are not a model either.
pub fn decode(bytes: &[u8]) -> Result<pb::ModelProto> {
    // From a `&[u8]`, prost copies every bytes or string field twice: into a `Bytes` of its own,
    // then into the field's `Vec`. From a `Bytes` the first is a slice of the buffer, no copy:
    // EfficientNet-Lite0's 18.5 MB of weights copied once less, into fresh memory.
    // SAFETY: the `Bytes` and the slices prost takes of it live only while `decode` runs: every
    // field of tract's protobuf types owns its data (`Vec<u8>`, `String`), so none is kept in
    // the message it returns, and a static `Bytes` frees nothing when dropped.
    let buffer = bytes::Bytes::from_static(unsafe { std::mem::transmute::<&[u8], &'static [u8]>(bytes) });
    let proto = pb::ModelProto::decode(buffer).map_err(|e| {
        Error::ModelInvalid(format!(
            "not an ONNX model, or a truncated one ({} bytes; protobuf: {e:#}): check the URL serves the .onnx file itself",
            bytes.len()
        ))
    })?;
    if proto.graph.as_ref().is_none_or(|g| g.node.is_empty() && g.output.is_empty()) {
        return Err(Error::ModelInvalid(format!(
            "the {} bytes decode as protobuf but hold no ONNX graph: this is not an .onnx model file",
            bytes.len()
        )));
    }
    Ok(proto)
}

/// The version of the default (ai.onnx) operator set the model imports; 0 if none.
pub fn default_opset(proto: &pb::ModelProto) -> i64 {
    proto.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map_or(0, |o| o.version)
}

/// Every sub-graph below `node`, each with the node that holds it, depth first.
pub(crate) fn for_each_subgraph<'a>(node: &'a pb::NodeProto, f: &mut dyn FnMut(&'a pb::NodeProto, &'a pb::GraphProto)) {
    for a in &node.attribute {
        for g in a.g.iter().chain(&a.graphs) {
            f(node, g);
            for inner in &g.node {
                for_each_subgraph(inner, f);
            }
        }
    }
}

pub(crate) fn element_size(data_type: i32) -> usize {
    match DataType::try_from(data_type).unwrap_or(DataType::Undefined) {
        DataType::Double | DataType::Int64 | DataType::Uint64 | DataType::Complex64 => 8,
        DataType::Complex128 => 16,
        DataType::Float | DataType::Int32 | DataType::Uint32 => 4,
        DataType::Float16 | DataType::Bfloat16 | DataType::Int16 | DataType::Uint16 => 2,
        _ => 1,
    }
}

/// Unregistered op types, each with the first node that uses it, in graph order.
pub fn unsupported_ops(proto: &pb::ModelProto, onnx: &tract_onnx::Onnx) -> Vec<(String, String)> {
    let mut seen = HashSet::new();
    let mut out = vec![];
    let visit = |g: &pb::GraphProto, out: &mut Vec<(String, String)>, seen: &mut HashSet<String>| {
        for n in &g.node {
            if !onnx.op_register.0.contains_key(&n.op_type) && seen.insert(n.op_type.clone()) {
                let name =
                    if n.name.is_empty() { n.output.first().cloned().unwrap_or_default() } else { n.name.clone() };
                out.push((n.op_type.clone(), name));
            }
        }
    };
    for_each_graph(proto.graph.as_ref(), &mut |g| visit(g, &mut out, &mut seen));
    out
}

/// The main graph, then every sub-graph below it.
fn for_each_graph(g: Option<&pb::GraphProto>, f: &mut dyn FnMut(&pb::GraphProto)) {
    let Some(g) = g else { return };
    f(g);
    for n in &g.node {
        for_each_subgraph(n, &mut |_, sub| f(sub));
    }
}

/// ONNX op types with their counts (sub-graphs included), for `info()`.
pub fn op_histogram(proto: &pb::ModelProto) -> BTreeMap<String, usize> {
    let mut h = BTreeMap::new();
    for_each_graph(proto.graph.as_ref(), &mut |g| {
        for n in &g.node {
            *h.entry(n.op_type.clone()).or_insert(0) += 1;
        }
    });
    h
}

/// value_info entries in all graphs.
pub fn value_info_count(proto: &pb::ModelProto) -> usize {
    let mut n = 0;
    for_each_graph(proto.graph.as_ref(), &mut |g| n += g.value_info.len());
    n
}

/// Number of weights: initializer and `Constant` elements.
pub fn parameter_count(proto: &pb::ModelProto) -> u64 {
    let count = |t: &pb::TensorProto| t.dims.iter().map(|&d| d.max(0) as u64).product::<u64>();
    let mut total = 0;
    for_each_graph(proto.graph.as_ref(), &mut |g| {
        total += g.initializer.iter().map(count).sum::<u64>();
        for n in g.node.iter().filter(|n| n.op_type == "Constant") {
            total += n.attribute.iter().filter_map(|a| a.t.as_ref()).map(count).sum::<u64>();
        }
    });
    total
}
