//! LSTM, GRU and RNN with `direction="reverse"`: tract 0.23 takes only the number of directions
//! from the weights and runs a single one forwards, a silent wrong answer. This fix runs the cell
//! forwards over the sequence reversed (a `Slice` with step -1) and reverses `Y` back; `Y_h` and
//! `Y_c`, the state after the whole sequence, need nothing. With `sequence_lens` each batch's
//! sequence would be reversed over its own length, which a `Slice` cannot do: `check` refuses such
//! a node as unsupported, naming it.

use tract_onnx::pb::{self, attribute_proto::AttributeType, tensor_proto::DataType};

use crate::error::{Error, Result};

fn attr<'a>(node: &'a pb::NodeProto, name: &str) -> Option<&'a pb::AttributeProto> {
    node.attribute.iter().find(|a| a.name == name)
}

fn i64s(name: String, v: i64) -> pb::TensorProto {
    pb::TensorProto {
        name,
        dims: vec![1],
        data_type: DataType::Int64 as i32,
        int64_data: vec![v],
        ..Default::default()
    }
}

/// A `Slice` reversing `axis` of `input` into `output`; its constants are added to `g`.
fn reversal(g: &mut pb::GraphProto, input: &str, output: &str, axis: i64) -> pb::NodeProto {
    let names: Vec<String> =
        ["starts", "ends", "axes", "steps"].iter().map(|k| format!("{output}.reverse_{k}")).collect();
    for (name, v) in names.iter().zip([-1, i64::MIN, axis, -1]) {
        g.initializer.push(i64s(name.clone(), v));
    }
    let mut inputs = vec![input.to_string()];
    inputs.extend(names);
    pb::NodeProto {
        op_type: "Slice".into(),
        name: format!("{output}.reverse"),
        input: inputs,
        output: vec![output.to_string()],
        ..Default::default()
    }
}

fn with_lens(node: &pb::NodeProto) -> bool {
    node.input.get(4).is_some_and(|s| !s.is_empty())
}

fn is_reverse(node: &pb::NodeProto) -> bool {
    matches!(node.op_type.as_str(), "LSTM" | "GRU" | "RNN")
        && attr(node, "direction").is_some_and(|a| a.s == b"reverse")
}

/// A reverse cell with `sequence_lens` in the main graph: `UNSUPPORTED_OP` naming it.
pub fn check(proto: &pb::ModelProto) -> Result<()> {
    if let Some(node) = proto.graph.iter().flat_map(|g| &g.node).find(|n| is_reverse(n) && with_lens(n)) {
        return Err(Error::UnsupportedOp {
            op: node.op_type.clone(),
            node: node.name.clone(),
            detail: "direction=\"reverse\" with sequence_lens: each batch's sequence would be reversed over its own \
                     length, which this runtime cannot do yet; pad the sequences to one length and drop sequence_lens"
                .into(),
        });
    }
    Ok(())
}

/// Applied with the loader's other fixes (`fixes.rs`); `log` is their `info().loaderFixes`.
pub fn fix(g: &mut pb::GraphProto, log: &mut Vec<String>) {
    let mut added = vec![];
    let mut fixed = 0;
    let mut extra_inits = pb::GraphProto::default();
    for node in g.node.iter_mut() {
        if !is_reverse(node) || node.input.is_empty() {
            continue;
        }
        if with_lens(node) {
            continue; // refused by `check` before the fixes
        }
        let seq_axis = i64::from(attr(node, "layout").is_some_and(|a| a.i == 1));
        let id = if node.name.is_empty() {
            node.output.iter().find(|o| !o.is_empty()).cloned().unwrap_or_default()
        } else {
            node.name.clone()
        };
        let x_rev = format!("{id}.x_reversed");
        added.push(reversal(&mut extra_inits, &node.input[0], &x_rev, seq_axis));
        node.input[0] = x_rev;
        if let Some(y) = node.output.first().filter(|y| !y.is_empty()).cloned() {
            let y_fwd = format!("{id}.y_forwards");
            node.output[0] = y_fwd.clone();
            added.push(reversal(&mut extra_inits, &y_fwd, &y, seq_axis));
        }
        for a in node.attribute.iter_mut().filter(|a| a.name == "direction") {
            a.s = b"forward".to_vec();
            a.r#type = AttributeType::String as i32;
        }
        fixed += 1;
    }
    g.initializer.extend(extra_inits.initializer);
    g.node.extend(added);
    if fixed > 0 {
        log.push(format!("{fixed} LSTM/GRU/RNN with direction=\"reverse\" run forwards over the reversed sequence"));
    }
}
