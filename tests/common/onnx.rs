//! Building small ONNX models in tests (protobuf through tract's generated types).

use prost::Message;
use tract_onnx::pb;

pub const F32: i32 = 1;
pub const I64: i32 = 7;
pub const BOOL: i32 = 9;

pub fn value_info(name: &str, elem: i32, dims: &[i64]) -> pb::ValueInfoProto {
    use pb::tensor_shape_proto::{dimension::Value as D, Dimension};
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                elem_type: elem,
                shape: Some(pb::TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| Dimension {
                            value: Some(if d < 0 { D::DimParam(format!("d{}", -d)) } else { D::DimValue(d) }),
                            ..Default::default()
                        })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

pub fn node(op: &str, inputs: &[&str], outputs: &[&str], attrs: Vec<pb::AttributeProto>) -> pb::NodeProto {
    pb::NodeProto {
        op_type: op.into(),
        name: format!("{op}_{}", outputs[0]),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: outputs.iter().map(|s| s.to_string()).collect(),
        attribute: attrs,
        ..Default::default()
    }
}

pub fn model(
    nodes: Vec<pb::NodeProto>,
    inputs: Vec<pb::ValueInfoProto>,
    outputs: Vec<pb::ValueInfoProto>,
    extra: impl FnOnce(&mut pb::GraphProto),
) -> Vec<u8> {
    let mut graph =
        pb::GraphProto { node: nodes, input: inputs, output: outputs, name: "g".into(), ..Default::default() };
    extra(&mut graph);
    pb::ModelProto {
        ir_version: 8,
        opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 17 }],
        graph: Some(graph),
        ..Default::default()
    }
    .encode_to_vec()
}

pub fn ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: 7, ints: v.to_vec(), ..Default::default() }
}

pub fn int(name: &str, v: i64) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: 2, i: v, ..Default::default() }
}

pub fn float(name: &str, v: f32) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: 1, f: v, ..Default::default() }
}

pub fn string(name: &str, v: &str) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: 3, s: v.as_bytes().to_vec(), ..Default::default() }
}

pub fn f32_init(name: &str, dims: &[i64], data: &[f32]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        data_type: F32,
        dims: dims.to_vec(),
        float_data: data.to_vec(),
        ..Default::default()
    }
}

pub fn i64_init(name: &str, dims: &[i64], data: &[i64]) -> pb::TensorProto {
    pb::TensorProto {
        name: name.into(),
        data_type: I64,
        dims: dims.to_vec(),
        int64_data: data.to_vec(),
        ..Default::default()
    }
}

/// A graph-valued attribute (an `If`'s branch, a `Loop`'s body).
pub fn graph_attr(name: &str, g: pb::GraphProto) -> pb::AttributeProto {
    pb::AttributeProto { name: name.into(), r#type: 5, g: Some(g), ..Default::default() }
}

/// A subgraph of one node reading outer names, its output "out" (float, any shape).
pub fn one_node(op: &str, inputs: &[&str]) -> pb::GraphProto {
    pb::GraphProto {
        name: format!("{op}_branch"),
        node: vec![node(op, inputs, &["out"], vec![])],
        output: vec![pb::ValueInfoProto { name: "out".into(), ..Default::default() }],
        ..Default::default()
    }
}
