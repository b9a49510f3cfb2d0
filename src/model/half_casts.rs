//! Loader fix: float16 initializers behind a `Cast` to float32 (how exports halve a download)
//! become float32 initializers at load. tract leaves a large constant `Cast` in the plan, so it
//! ran on every inference (Whisper's 20 M-entry embedding: 58 ms to cast, 68 ms to repack for
//! the logits product, each decoder step); folded here, it is cast once and packed at compile.
//! A folded constant read by several nodes (a tied embedding: a Gather and the logits product)
//! gets one copy per reader: tract folds a large constant into its packed form only when that
//! is its sole use, and otherwise repacks it on every run.

use std::collections::HashSet;

use tract_onnx::pb::{self, tensor_proto::DataType};
use tract_onnx::prelude::f16;

/// Larger tensors are left to tract (their float32 copy would be a large allocation).
const MAX_FOLDED_BYTES: usize = 256 << 20;

fn half_values(t: &pb::TensorProto) -> Option<Vec<u16>> {
    if t.data_type != DataType::Float16 as i32 || !t.external_data.is_empty() {
        return None;
    }
    let n: usize = t.dims.iter().try_fold(1usize, |a, &d| a.checked_mul(usize::try_from(d).ok()?))?;
    let bits: Vec<u16> = if !t.raw_data.is_empty() {
        t.raw_data.chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]])).collect()
    } else {
        // ONNX stores float16 bit patterns in int32_data when not raw.
        t.int32_data.iter().map(|&v| v as u16).collect()
    };
    (bits.len() == n && n * 4 <= MAX_FOLDED_BYTES).then_some(bits)
}

pub fn fold(g: &mut pb::GraphProto, log: &mut Vec<String>) {
    let mut folded = 0;
    let mut consumed = HashSet::new();
    let mut keep = Vec::with_capacity(g.node.len());
    for node in std::mem::take(&mut g.node) {
        let to_float = node.op_type == "Cast"
            && node.attribute.iter().any(|a| a.name == "to" && a.i == DataType::Float as i64)
            && node.input.len() == 1
            && node.output.len() == 1;
        let source = to_float.then(|| g.initializer.iter().find(|t| t.name == node.input[0])).flatten();
        match source.and_then(half_values) {
            Some(bits) => {
                let raw: Vec<u8> = bits.iter().flat_map(|&b| f16::from_bits(b).to_f32().to_le_bytes()).collect();
                let dims = source.map(|t| t.dims.clone()).unwrap_or_default();
                consumed.insert(node.input[0].clone());
                g.initializer.push(pb::TensorProto {
                    name: node.output[0].clone(),
                    dims,
                    data_type: DataType::Float as i32,
                    raw_data: raw,
                    ..Default::default()
                });
                folded += 1;
            }
            None => keep.push(node),
        }
    }
    g.node = keep;
    let made: Vec<String> = g.initializer.iter().rev().take(folded).map(|t| t.name.clone()).collect();
    for name in made {
        let readers: Vec<usize> =
            g.node.iter().enumerate().filter(|(_, n)| n.input.contains(&name)).map(|(i, _)| i).collect();
        for (k, &i) in readers.iter().enumerate().skip(1) {
            let copy_name = format!("{name}.reader{k}");
            let mut copy = g.initializer.iter().find(|t| t.name == name).cloned().unwrap_or_default();
            copy.name.clone_from(&copy_name);
            g.initializer.push(copy);
            for input in g.node[i].input.iter_mut().filter(|x| **x == name) {
                input.clone_from(&copy_name);
            }
        }
    }
    // Half initializers nothing else reads are dropped (the float32 copy replaces them).
    let used: HashSet<&str> = g.node.iter().flat_map(|n| n.input.iter().map(String::as_str)).collect();
    let outputs: HashSet<&str> = g.output.iter().map(|o| o.name.as_str()).collect();
    g.initializer
        .retain(|t| !consumed.contains(&t.name) || used.contains(t.name.as_str()) || outputs.contains(t.name.as_str()));
    if folded > 0 {
        log.push(format!("float16 constants cast to float32: {folded} folded at load (cast once, not per run)"));
    }
}
