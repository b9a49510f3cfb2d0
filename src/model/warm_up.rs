//! A small ONNX graph of the ops real CNNs are made of, loaded and run once on the CPU so the code
//! of a load and a run is compiled before the first real model needs it.
//!
//! Browsers compile a wasm function at its first call; on a cold page that is 200-300 ms of a
//! first inference (tract's loader and optimiser, then the kernels). The JS layer runs this in a
//! second instance of the same compiled module, in a Worker, while the page fetches its model:
//! the browser shares compiled code between instances of one module, so the page's load then
//! finds most of it compiled (docs/performance-log.md, "First inference").

use std::collections::HashMap;

use prost::Message;
use tract_onnx::pb::{self, tensor_proto::DataType};

use super::{LoadOptions, Model};
use crate::error::Result;
use crate::model::BackendChoice;
use crate::tensor::HostTensor;

const INPUT: &str = "image";
const SIDE: usize = 48;

/// Loads and runs the warm-up graph on the CPU; the outputs' element counts, in output order.
pub fn warm_up() -> Result<Vec<usize>> {
    let opts = LoadOptions { backend: BackendChoice::Cpu, ..LoadOptions::default() };
    let mut model = Model::load(&graph_bytes(), &opts)?;
    let pixels = (0..3 * SIDE * SIDE).map(|i| ((i % 97) as f32 / 48.0) - 1.0).collect();
    let feeds = HashMap::from([(INPUT.to_string(), HostTensor::f32(vec![1, 3, SIDE, SIDE], pixels)?)]);
    Ok(model.run(feeds)?.iter().map(|(_, t)| t.data.len()).collect())
}

/// The graph, as the bytes of an ONNX file (opset 17). What it holds, in the order of a typical
/// mobile CNN: a strided 3×3 convolution with batch norm and ReLU, a depthwise 3×3 with ReLU6, a
/// 1×1 with hard swish (both spellings), a 3×3 at stride 1 with leaky ReLU and a residual add,
/// max and average pools, a sigmoid gate, a nearest resize, a concat, a transposed convolution,
/// then two heads: global pool → Gemm → softmax, and a sequence head (reshape, transpose, matmul,
/// layer norm, tanh, reduce, slice, pad).
pub fn graph_bytes() -> Vec<u8> {
    let mut g = Graph::default();
    let x = g.conv(INPUT, 3, 24, 3, 2, 1);
    let x = g.batch_norm(&x, 24);
    let x = g.op("Relu", &[&x], vec![]);
    let x = g.conv(&x, 24, 24, 3, 1, 24);
    let (lo, hi) = (g.scalar(0.0), g.scalar(6.0));
    let x = g.op("Clip", &[&x, &lo, &hi], vec![]);
    let pw = g.conv(&x, 24, 32, 1, 1, 1);
    let gate = g.op("HardSigmoid", &[&pw], vec![float("alpha", 1.0 / 6.0), float("beta", 0.5)]);
    let pw = g.op("Mul", &[&pw, &gate], vec![]);
    let pw = g.op("HardSwish", &[&pw], vec![]);
    let c = g.conv(&pw, 32, 32, 3, 1, 1);
    let c = g.op("LeakyRelu", &[&c], vec![float("alpha", 0.1)]);
    let res = g.op("Add", &[&c, &pw], vec![]);
    let pool =
        g.op("MaxPool", &[&res], vec![ints("kernel_shape", &[3, 3]), ints("strides", &[2, 2]), ints("pads", &[1; 4])]);
    let s = g.op("Sigmoid", &[&pool], vec![]);
    let gated = g.op("Mul", &[&pool, &s], vec![]);
    let scales = g.init_f32(&[4], &[1.0, 1.0, 2.0, 2.0]);
    let up = g.op("Resize", &[&gated, "", &scales], vec![string("mode", "nearest")]);
    let cat = g.op("Concat", &[&up, &res], vec![int("axis", 1)]);
    let wt = g.weights(&[64, 8, 2, 2]);
    let deconv = g.op("ConvTranspose", &[&cat, &wt], vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]);
    let avg = g.op("AveragePool", &[&deconv], vec![ints("kernel_shape", &[2, 2]), ints("strides", &[2, 2])]);
    let map = g.op("ReduceMax", &[&avg], vec![ints("axes", &[1]), int("keepdims", 1)]);
    g.output(&map);

    let gap = g.op("GlobalAveragePool", &[&cat], vec![]);
    let flat = g.op("Flatten", &[&gap], vec![]);
    let (w, b) = (g.weights(&[10, 64]), g.weights(&[10]));
    let logits = g.op("Gemm", &[&flat, &w, &b], vec![int("transB", 1)]);
    let probs = g.op("Softmax", &[&logits], vec![int("axis", -1)]);
    g.output(&probs);

    let shape = g.init_i64(&[3], &[1, 32, 144]);
    let seq = g.op("Reshape", &[&pool, &shape], vec![]);
    let seq = g.op("Transpose", &[&seq], vec![ints("perm", &[0, 2, 1])]);
    let proj = g.weights(&[32, 32]);
    let seq = g.op("MatMul", &[&seq, &proj], vec![]);
    let (gamma, beta) = (g.weights(&[32]), g.weights(&[32]));
    let seq = g.op("LayerNormalization", &[&seq, &gamma, &beta], vec![int("axis", -1)]);
    let seq = g.op("Tanh", &[&seq], vec![]);
    let (starts, ends, axes) = (g.init_i64(&[1], &[1]), g.init_i64(&[1], &[143]), g.init_i64(&[1], &[1]));
    let seq = g.op("Slice", &[&seq, &starts, &ends, &axes], vec![]);
    let pads = g.init_i64(&[6], &[0, 1, 0, 0, 1, 0]);
    let seq = g.op("Pad", &[&seq, &pads], vec![]);
    let seq = g.op("ReduceMean", &[&seq], vec![ints("axes", &[2]), int("keepdims", 0)]);
    g.output(&seq);
    g.into_bytes()
}

/// Builds the graph: nodes named by their output, deterministic weights.
#[derive(Default)]
struct Graph {
    nodes: Vec<pb::NodeProto>,
    initializers: Vec<pb::TensorProto>,
    outputs: Vec<String>,
}

impl Graph {
    fn name(&self, what: &str) -> String {
        format!("{what}_{}", self.nodes.len() + self.initializers.len())
    }

    fn op(&mut self, op: &str, inputs: &[&str], attribute: Vec<pb::AttributeProto>) -> String {
        let out = self.name(op);
        self.nodes.push(pb::NodeProto {
            op_type: op.into(),
            name: out.clone(),
            input: inputs.iter().map(|s| s.to_string()).collect(),
            output: vec![out.clone()],
            attribute,
            ..Default::default()
        });
        out
    }

    fn init_f32(&mut self, dims: &[i64], data: &[f32]) -> String {
        self.initializer(dims, DataType::Float, pb::TensorProto { float_data: data.to_vec(), ..Default::default() })
    }

    fn init_i64(&mut self, dims: &[i64], data: &[i64]) -> String {
        self.initializer(dims, DataType::Int64, pb::TensorProto { int64_data: data.to_vec(), ..Default::default() })
    }

    /// `values` (a tensor holding only its data) as a named initializer of that type and shape.
    fn initializer(&mut self, dims: &[i64], kind: DataType, values: pb::TensorProto) -> String {
        let name = self.name("w");
        self.initializers.push(pb::TensorProto {
            name: name.clone(),
            data_type: kind as i32,
            dims: dims.to_vec(),
            ..values
        });
        name
    }

    fn scalar(&mut self, v: f32) -> String {
        self.init_f32(&[], &[v])
    }

    /// Small values of both signs, different in every tensor.
    fn weights(&mut self, dims: &[i64]) -> String {
        let n: i64 = dims.iter().product();
        let seed = self.initializers.len() as f32;
        let data: Vec<f32> = (0..n).map(|i| 0.2 * ((i as f32 * 0.37 + seed).sin())).collect();
        self.init_f32(dims, &data)
    }

    fn conv(&mut self, x: &str, cin: i64, cout: i64, k: i64, stride: i64, group: i64) -> String {
        let (w, b) = (self.weights(&[cout, cin / group, k, k]), self.weights(&[cout]));
        let pad = k / 2;
        self.op(
            "Conv",
            &[x, &w, &b],
            vec![
                ints("kernel_shape", &[k, k]),
                ints("strides", &[stride, stride]),
                ints("pads", &[pad; 4]),
                int("group", group),
            ],
        )
    }

    fn batch_norm(&mut self, x: &str, c: i64) -> String {
        let (scale, bias, mean) = (self.weights(&[c]), self.weights(&[c]), self.weights(&[c]));
        let var = self.init_f32(&[c], &vec![1.5; c as usize]);
        self.op("BatchNormalization", &[x, &scale, &bias, &mean, &var], vec![])
    }

    fn output(&mut self, name: &str) {
        self.outputs.push(name.to_string());
    }

    fn into_bytes(self) -> Vec<u8> {
        use pb::tensor_shape_proto::{dimension::Value, Dimension};
        let dims = [1, 3, SIDE as i64, SIDE as i64];
        let input = pb::ValueInfoProto {
            name: INPUT.into(),
            r#type: Some(pb::TypeProto {
                value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                    elem_type: DataType::Float as i32,
                    shape: Some(pb::TensorShapeProto {
                        dim: dims
                            .iter()
                            .map(|&d| Dimension { value: Some(Value::DimValue(d)), ..Default::default() })
                            .collect(),
                    }),
                })),
                ..Default::default()
            }),
            ..Default::default()
        };
        let outputs = self.outputs.into_iter().map(|name| pb::ValueInfoProto { name, ..Default::default() }).collect();
        let graph = pb::GraphProto {
            name: "warm_up".into(),
            node: self.nodes,
            initializer: self.initializers,
            input: vec![input],
            output: outputs,
            ..Default::default()
        };
        pb::ModelProto {
            ir_version: 8,
            opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 17 }],
            graph: Some(graph),
            ..Default::default()
        }
        .encode_to_vec()
    }
}

fn ints(name: &str, v: &[i64]) -> pb::AttributeProto {
    attribute(name, pb::attribute_proto::AttributeType::Ints, |a| a.ints = v.to_vec())
}

fn int(name: &str, v: i64) -> pb::AttributeProto {
    attribute(name, pb::attribute_proto::AttributeType::Int, |a| a.i = v)
}

fn float(name: &str, v: f32) -> pb::AttributeProto {
    attribute(name, pb::attribute_proto::AttributeType::Float, |a| a.f = v)
}

fn string(name: &str, v: &str) -> pb::AttributeProto {
    attribute(name, pb::attribute_proto::AttributeType::String, |a| a.s = v.as_bytes().to_vec())
}

fn attribute(
    name: &str,
    kind: pb::attribute_proto::AttributeType,
    set: impl FnOnce(&mut pb::AttributeProto),
) -> pb::AttributeProto {
    let mut a = pb::AttributeProto { name: name.into(), r#type: kind as i32, ..Default::default() };
    set(&mut a);
    a
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The graph loads through every check a user's model goes through, and runs: a warm-up
    /// that fails would leave the page's first load cold without a word.
    #[test]
    fn loads_and_runs_every_head() {
        // map: 1×1×24×24; probs: 1×10; seq: 1×144.
        assert_eq!(warm_up().unwrap(), vec![24 * 24, 10, 144]);
    }
}
