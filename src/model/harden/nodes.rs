//! Node-level checks on the decoded protobuf: attributes and declared shapes tract would index,
//! divide by or allocate from without checking (each a fuzz finding, named where it is checked).

use tract_onnx::pb;

use crate::error::{Error, Result};

/// Conv and pooling windows: tract indexes `pads`, `strides` and `dilations` by spatial axis and
/// divides by strides, so lengths that disagree with the window's rank or zero/negative values
/// must stop here (fuzz findings: a pool whose `pads` were shorter than its kernel's rank; a Conv
/// with 3 pads and no `kernel_shape`, its rank only in the weights' declared shape).
pub(super) fn check_window_attributes(graph: &pb::GraphProto, node: &pb::NodeProto) -> Result<()> {
    if !matches!(node.op_type.as_str(), "Conv" | "ConvTranspose" | "MaxPool" | "AveragePool" | "LpPool") {
        return Ok(());
    }
    let ints = |name: &str| node.attribute.iter().find(|a| a.name == name).map(|a| a.ints.as_slice());
    let bad = |what: String| Err(Error::ModelInvalid(format!("{} node \"{}\": {what}", node.op_type, node.name)));
    let kernel = ints("kernel_shape");
    if let Some(kernel) = kernel.filter(|k| k.iter().any(|&v| v < 1)) {
        return bad(format!("kernel_shape {kernel:?} must be positive"));
    }
    // The window's rank: kernel_shape's length, else the weights' (Conv) or the input's declared
    // rank less batch and channels, else whatever `strides`, `dilations` or `pads` imply.
    let declared = |ix: usize| node.input.get(ix).and_then(|n| declared_dims(graph, n)).map(|d| d.len());
    let from_tensor = if node.op_type.starts_with("Conv") { declared(1).or(declared(0)) } else { declared(0) };
    let (k, source) = match (kernel, from_tensor) {
        (Some(kernel), _) => (Some(kernel.len()), "kernel_shape".to_string()),
        (None, Some(r)) if r >= 2 => (
            Some(r - 2),
            format!("the rank-{r} {}", if node.op_type.starts_with("Conv") { "weights" } else { "input" }),
        ),
        _ => (window_rank(node), "the other window attributes".to_string()),
    };
    let Some(k) = k else { return Ok(()) };
    for (name, len, min) in [("strides", k, 1), ("dilations", k, 1), ("pads", 2 * k, 0)] {
        if let Some(v) = ints(name) {
            if v.len() != len {
                return bad(format!("{name} has {} values, a {k}-d window ({source}) needs {len}", v.len()));
            }
            if v.iter().any(|&x| x < min || x > 1 << 20) {
                return bad(format!("{name} {v:?} out of range"));
            }
        }
    }
    Ok(())
}

/// The spatial rank a conv/pool node's attributes imply: `kernel_shape`'s length, else that of
/// `strides`, `dilations` or half of `pads`. None when it has none of them.
pub(crate) fn window_rank(node: &pb::NodeProto) -> Option<usize> {
    let len = |name: &str| node.attribute.iter().find(|a| a.name == name).map(|a| a.ints.len());
    len("kernel_shape").or(len("strides")).or(len("dilations")).or(len("pads").map(|p| p / 2))
}

/// Integer attributes that count things (block sizes, groups, heads): tract converts them to
/// `usize` and divides or multiplies shapes by them, so 0 divided by zero and a huge one
/// overflowed (a fuzz finding: SpaceToDepth with blocksize 0).
pub(super) fn check_counts(node: &pb::NodeProto) -> Result<()> {
    let names: &[&str] = match node.op_type.as_str() {
        "SpaceToDepth" | "DepthToSpace" => &["blocksize"],
        "Conv" | "ConvTranspose" | "ConvInteger" | "QLinearConv" => &["group"],
        "LRN" => &["size"],
        "LpPool" | "LpNormalization" => &["p"],
        "GroupNormalization" => &["num_groups"],
        "MultiHeadAttention" | "GroupQueryAttention" | "Attention" => &["num_heads", "kv_num_heads"],
        "MatMulNBits" | "GatherBlockQuantized" => &["bits", "block_size"],
        _ => return Ok(()),
    };
    for a in node.attribute.iter().filter(|a| names.contains(&a.name.as_str())) {
        if !(1..=1 << 16).contains(&a.i) {
            return Err(Error::ModelInvalid(format!(
                "{} node \"{}\": {} is {}, it must be a count from 1 to 65536",
                node.op_type, node.name, a.name, a.i
            )));
        }
    }
    Ok(())
}

/// Scan splits its body's inputs into state and scanned ones by `num_scan_inputs`, and its
/// outputs by the state count; tract subtracts the counts unsigned while parsing (a fuzz finding:
/// one scan input, a body of none).
pub(super) fn check_scan(node: &pb::NodeProto) -> Result<()> {
    if node.op_type != "Scan" {
        return Ok(());
    }
    let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
    let Some(body) = attr("body").and_then(|a| a.g.as_ref()) else { return Ok(()) };
    let scans = attr("num_scan_inputs").map_or(0, |a| a.i);
    let bad = |what: String| Err(Error::ModelInvalid(format!("Scan node \"{}\": {what}", node.name)));
    let body_inputs = body.input.len() as i64;
    if scans < 1 || scans > body_inputs {
        return bad(format!("num_scan_inputs is {scans}, its body has {body_inputs} inputs (states, then scanned)"));
    }
    let states = body_inputs - scans;
    if (body.output.len() as i64) < states {
        return bad(format!("its body returns {} values, fewer than its {states} states", body.output.len()));
    }
    Ok(())
}

/// Transpose's `perm` must be a permutation of 0..n: tract indexes the input's shape by each entry
/// (a fuzz finding); an n that is not the input's rank is an analysis error tract reports itself.
pub(super) fn check_permutation(node: &pb::NodeProto) -> Result<()> {
    if node.op_type != "Transpose" {
        return Ok(());
    }
    let Some(perm) = node.attribute.iter().find(|a| a.name == "perm").map(|a| a.ints.as_slice()) else {
        return Ok(());
    };
    let mut seen = vec![false; perm.len()];
    for &p in perm {
        match usize::try_from(p).ok().and_then(|p| seen.get_mut(p)) {
            Some(s) if !*s => *s = true,
            _ => {
                return Err(Error::ModelInvalid(format!(
                    "Transpose node \"{}\": perm {perm:?} is not a permutation of 0..{}",
                    node.name,
                    perm.len()
                )))
            }
        }
    }
    Ok(())
}

/// A ConvTranspose given its `output_shape`: tract derives the output padding from it and the
/// input's size without checking the difference is not negative (a fuzz finding: an unsigned
/// subtraction that overflows). The input's size is known only after analysis, so the check is
/// `harden::typed::into_typed`'s.
#[derive(Debug, Clone)]
pub struct DeconvShape {
    /// The node's name in tract's graph: its own, else its first output's.
    pub node: String,
    pub output_shape: Vec<i64>,
    pub strides: Vec<i64>,
    pub dilations: Vec<i64>,
    pub pads: Vec<i64>,
}

/// The main graph's ConvTranspose nodes that give an `output_shape`.
pub fn deconvs_with_output_shape(proto: &pb::ModelProto) -> Result<Vec<DeconvShape>> {
    let mut out = vec![];
    for node in proto.graph.iter().flat_map(|g| &g.node).filter(|n| n.op_type == "ConvTranspose") {
        let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
        let ints = |name: &str| attr(name).map(|a| a.ints.clone()).unwrap_or_default();
        let output_shape = ints("output_shape");
        if output_shape.is_empty() {
            continue;
        }
        if attr("auto_pad").is_some_and(|a| a.s.starts_with(b"SAME")) {
            return Err(Error::UnsupportedOp {
                op: "ConvTranspose".into(),
                node: node.name.clone(),
                detail:
                    "output_shape with auto_pad SAME_UPPER/SAME_LOWER: give explicit pads (or output_padding) instead"
                        .into(),
            });
        }
        let name =
            if node.name.is_empty() { node.output.first().cloned().unwrap_or_default() } else { node.name.clone() };
        out.push(DeconvShape {
            node: name,
            output_shape,
            strides: ints("strides"),
            dilations: ints("dilations"),
            pads: ints("pads"),
        });
    }
    Ok(out)
}

/// Only generators take no input; tract's shape rules index the first one (a fuzz finding: a
/// MaxPool with none).
pub(super) fn check_has_inputs(node: &pb::NodeProto) -> Result<()> {
    let generator = matches!(node.op_type.as_str(), "Constant" | "RandomNormal" | "RandomUniform");
    let standard = node.domain.is_empty() || node.domain == "ai.onnx";
    if generator || !standard || node.input.iter().any(|i| !i.is_empty()) {
        return Ok(());
    }
    Err(Error::ModelInvalid(format!("{} node \"{}\" has no inputs", node.op_type, node.name)))
}

/// Resize before opset 13 has fixed input slots (10: X, scales; 11-12: X, roi, scales[, sizes]) that
/// tract indexes without checking they are there (a fuzz finding: an opset-12 Resize with 2 inputs).
pub(super) fn check_resize_inputs(node: &pb::NodeProto, opset: i64) -> Result<()> {
    let needed = match (node.op_type.as_str(), opset) {
        ("Resize", 10) => 2,
        ("Resize", 11..=12) => 3,
        _ => return Ok(()),
    };
    if node.input.len() >= needed && !node.input[needed - 1].is_empty() {
        return Ok(());
    }
    if node.input.len() > needed {
        return Err(Error::UnsupportedOp {
            op: "Resize".into(),
            node: node.name.clone(),
            detail: format!(
                "opset {opset} with sizes and an empty scales: re-export at opset 13 or later, or give scales"
            ),
        });
    }
    Err(Error::ModelInvalid(format!(
        "Resize node \"{}\" (opset {opset}) has inputs {:?}: this opset needs {needed}, the last being the scales",
        node.name, node.input
    )))
}

/// `axis` / `axes` attributes. No tensor has more than a few dozen axes, so one far outside any
/// rank is corrupt: tract normalises a negative axis by adding the rank, and an absurd one made it
/// loop for ever (a fuzz finding: LayerNormalization with axis -3.6e16). Axes against the actual
/// rank are checked during analysis (`checked_ops`), where every tensor's rank is known.
pub(super) fn check_axes(node: &pb::NodeProto) -> Result<()> {
    const MAX_RANK: i64 = 1 << 10;
    for a in node.attribute.iter().filter(|a| a.name == "axis" || a.name == "axes") {
        let values = if a.ints.is_empty() { std::slice::from_ref(&a.i) } else { &a.ints[..] };
        if let Some(v) = values.iter().find(|v| v.unsigned_abs() > MAX_RANK as u64) {
            return Err(Error::ModelInvalid(format!(
                "{} node \"{}\": {} {v} is outside any tensor's rank",
                node.op_type, node.name, a.name
            )));
        }
    }
    Ok(())
}

/// The shape of an initializer, or of a graph input whose type says it (a symbolic dim is -1).
pub(super) fn declared_dims(graph: &pb::GraphProto, name: &str) -> Option<Vec<i64>> {
    if let Some(t) = graph.initializer.iter().find(|t| t.name == name) {
        return Some(t.dims.clone());
    }
    let input = graph.input.iter().find(|i| i.name == name)?;
    let Some(pb::type_proto::Value::TensorType(t)) = input.r#type.as_ref()?.value.as_ref() else { return None };
    let dim = |d: &pb::tensor_shape_proto::Dimension| match d.value {
        Some(pb::tensor_shape_proto::dimension::Value::DimValue(v)) => v,
        _ => -1,
    };
    Some(t.shape.as_ref()?.dim.iter().map(dim).collect())
}

/// LSTM / GRU / RNN tensors are `[directions, gates·hidden, ·]` and the like: tract slices them per
/// direction and gate while it runs and panics where they disagree (a fuzz finding: an input of 2
/// features against weights for 1). Checked where the shapes are declared (initializers, typed
/// graph inputs); analysis does not compare them.
pub(super) fn check_recurrent_weights(graph: &pb::GraphProto, node: &pb::NodeProto) -> Result<()> {
    let gates = match node.op_type.as_str() {
        "LSTM" => 4,
        "GRU" => 3,
        "RNN" => 1,
        _ => return Ok(()),
    };
    let attr = |name: &str| node.attribute.iter().find(|a| a.name == name);
    let directions = if attr("direction").is_some_and(|a| a.s == b"bidirectional") { 2 } else { 1 };
    let dirs = Some(directions);
    let batch_first = attr("layout").is_some_and(|a| a.i == 1);
    // A symbolic dim (-1) matches anything below.
    let dims = |ix: usize| node.input.get(ix).filter(|n| !n.is_empty()).and_then(|n| declared_dims(graph, n));
    let (x, w, r) = (dims(0), dims(1), dims(2));
    let known = |v: &Option<Vec<i64>>, i: usize| v.as_ref().and_then(|v| v.get(i).copied()).filter(|&d| d >= 0);
    let hidden = attr("hidden_size").map(|a| a.i).or(known(&r, 2));
    let features = known(&w, 2).or(known(&x, 2));
    let batch = if batch_first { None } else { known(&x, 1) };
    let gh = hidden.map(|h| h * gates);
    let mut expected: Vec<(usize, &str, Vec<Option<i64>>)> = vec![
        (0, "X", vec![None, None, features]),
        (1, "W", vec![dirs, gh, features]),
        (2, "R", vec![dirs, gh, hidden]),
        (3, "B", vec![dirs, gh.map(|g| 2 * g)]),
    ];
    if !batch_first {
        expected.push((5, "initial_h", vec![dirs, batch, hidden]));
        if gates == 4 {
            expected.push((6, "initial_c", vec![dirs, batch, hidden]));
        }
    }
    if gates == 4 {
        expected.push((7, "P", vec![dirs, hidden.map(|h| 3 * h)]));
    }
    for (ix, what, want) in expected {
        let Some(got) = dims(ix) else { continue };
        let fits = got.len() == want.len() && got.iter().zip(&want).all(|(&g, w)| g < 0 || w.is_none_or(|w| g == w));
        if !fits {
            let want: Vec<String> = want.iter().map(|w| w.map_or("?".into(), |w| w.to_string())).collect();
            return Err(Error::ModelInvalid(format!(
                "{} node \"{}\": {what} has shape {got:?}, expected [{}] for {} direction(s), {gates} gate(s) \
                 and the other inputs' sizes",
                node.op_type,
                node.name,
                want.join(", "),
                directions
            )));
        }
    }
    Ok(())
}
