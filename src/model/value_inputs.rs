//! Graph inputs whose *values*, not only their shapes, the plan must know: a sample rate that
//! picks an `If`'s branch, a shape fed to `Reshape` or `ConstantOfShape`, `Slice`'s bounds, a
//! `OneHot` depth. tract needs those as constants to type the graph, so the CPU backend compiles
//! a plan per value of them (small tensors: at most 16 elements), cached like per-shape plans.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb;

/// Node inputs that tract types only when constant: (op, input slots).
const VALUE_SLOTS: &[(&str, &[usize])] = &[
    ("If", &[0]),
    ("ConstantOfShape", &[0]),
    ("Expand", &[1]),
    ("Reshape", &[1]),
    ("Tile", &[1]),
    ("Slice", &[1, 2, 3, 4]),
    ("OneHot", &[1, 2]),
    ("Resize", &[2, 3]),
    ("Upsample", &[1]),
    ("Pad", &[1, 2, 3]),
    ("CumSum", &[1]),
    ("CumProd", &[1]),
    ("DFT", &[1, 2]),
    ("Compress", &[1]),
    ("BatchNormalization", &[1, 2, 3, 4]),
    ("QuantizeLinear", &[1, 2]),
    ("DequantizeLinear", &[1, 2]),
    ("HannWindow", &[0]),
    ("HammingWindow", &[0]),
    ("BlackmanWindow", &[0]),
    ("MelWeightMatrix", &[0, 1, 2, 3, 4]),
    ("STFT", &[1, 2, 3]),
    ("LSTM", &[4]),
    ("Squeeze", &[1]),
    ("Unsqueeze", &[1]),
    ("Split", &[1]),
    ("ReduceSum", &[1]),
    ("ReduceMean", &[1]),
    ("ReduceMax", &[1]),
    ("ReduceMin", &[1]),
    ("ReduceProd", &[1]),
    ("ReduceL1", &[1]),
    ("ReduceL2", &[1]),
    ("ReduceLogSum", &[1]),
    ("ReduceLogSumExp", &[1]),
    ("ReduceSumSquare", &[1]),
    ("CenterCropPad", &[1]),
    ("AffineGrid", &[1]),
    ("Col2Im", &[1, 2]),
];

/// Slots whose values are sizes of a new tensor: an absurd or negative value there must be
/// refused before tract folds it into a constant at compile time (`Sizing`). (Pads may be
/// negative, and add rather than multiply: the plan's tensors are checked after typing.)
const SIZING_SLOTS: &[(&str, usize)] = &[
    ("ConstantOfShape", 0),
    ("Expand", 1),
    ("Tile", 1),
    ("Resize", 3),
    ("OneHot", 1),
    ("HannWindow", 0),
    ("HammingWindow", 0),
    ("BlackmanWindow", 0),
    ("MelWeightMatrix", 0),
    ("MelWeightMatrix", 1),
    ("CenterCropPad", 1),
    ("AffineGrid", 1),
    ("Col2Im", 1),
];

/// Slots that take floats (scales, a OneHot depth or its values, a Pad value, BatchNorm's and
/// quantization's parameters, an STFT window, mel band edges). Elsewhere only integer and bool
/// inputs are keyed by value: a small float input reaching an `If` is data, and would compile a
/// plan per run.
const FLOAT_SLOTS: &[(&str, usize)] = &[
    ("Resize", 2),
    ("Upsample", 1),
    ("OneHot", 1),
    ("OneHot", 2),
    ("Pad", 2),
    ("BatchNormalization", 1),
    ("BatchNormalization", 2),
    ("BatchNormalization", 3),
    ("BatchNormalization", 4),
    ("QuantizeLinear", 1),
    ("DequantizeLinear", 1),
    ("STFT", 2),
    ("MelWeightMatrix", 3),
    ("MelWeightMatrix", 4),
];

/// What the plan needs to know about one input's value.
/// Ordered: an input reaching several slots gets the strictest checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub enum Valued {
    /// Its shape is enough.
    #[default]
    No,
    /// Its value is compiled into the plan.
    Yes,
    /// Compiled in, and they are `Pad`'s pads: tract pads in unsigned arithmetic, so negative
    /// pads (ONNX's cropping) are refused first.
    Pads,
    /// Compiled in, and it sizes a tensor: held to the tensor budget, and not negative.
    Sizing,
}

/// Per graph input name: how its value matters (inputs absent from the map: `Valued::No`).
/// Integer and bool inputs qualify, and float ones that reach a float slot. Found by walking back
/// from each slot above, through
/// every node (at any depth of subgraphs: a branch reads outer names), stopping at `Shape` and
/// `Size`, which read shapes only.
pub fn value_inputs(graph: &pb::GraphProto) -> HashMap<String, Valued> {
    fn index<'a>(
        g: &'a pb::GraphProto,
        producers: &mut HashMap<&'a str, &'a pb::NodeProto>,
        roots: &mut Vec<(&'a str, Valued, bool)>,
    ) {
        for node in &g.node {
            for out in &node.output {
                producers.insert(out, node);
            }
            if let Some((_, slots)) = VALUE_SLOTS.iter().find(|(op, _)| *op == node.op_type) {
                for &slot in *slots {
                    let at = (node.op_type.as_str(), slot);
                    let how = match at {
                        _ if SIZING_SLOTS.contains(&at) => Valued::Sizing,
                        ("Pad", 1) => Valued::Pads,
                        _ => Valued::Yes,
                    };
                    if let Some(name) = node.input.get(slot).filter(|n| !n.is_empty()) {
                        roots.push((name, how, FLOAT_SLOTS.contains(&at)));
                    }
                }
            }
            for attr in &node.attribute {
                for sub in attr.g.iter().chain(&attr.graphs) {
                    index(sub, producers, roots);
                }
            }
        }
    }
    let (mut producers, mut stack) = (HashMap::new(), vec![]);
    index(graph, &mut producers, &mut stack);
    let mut seen: HashSet<(&str, Valued, bool)> = HashSet::new();
    let mut found: HashMap<String, Valued> = HashMap::new();
    let elem_types: HashMap<&str, i32> = graph.input.iter().map(|i| (i.name.as_str(), elem_type(i))).collect();
    while let Some((name, how, floats)) = stack.pop() {
        if !seen.insert((name, how, floats)) {
            continue;
        }
        // ONNX element types INT8..INT64, UINT8..UINT64, BOOL; FLOAT16, FLOAT, DOUBLE, BFLOAT16.
        let keyed = match elem_types.get(name) {
            Some(2..=7 | 9 | 12 | 13) => true,
            Some(1 | 10 | 11 | 16) => floats,
            _ => false,
        };
        if keyed {
            let entry = found.entry(name.to_string()).or_default();
            *entry = (*entry).max(how);
        }
        let Some(node) = producers.get(name) else { continue };
        if !matches!(node.op_type.as_str(), "Shape" | "Size") {
            stack.extend(node.input.iter().filter(|n| !n.is_empty()).map(|n| (n.as_str(), how, floats)));
        }
    }
    found
}

/// A graph input's ONNX element type (0 if it is not a tensor).
fn elem_type(v: &pb::ValueInfoProto) -> i32 {
    match v.r#type.as_ref().and_then(|t| t.value.as_ref()) {
        Some(pb::type_proto::Value::TensorType(t)) => t.elem_type,
        None => 0,
    }
}
