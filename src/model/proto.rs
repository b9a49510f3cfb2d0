//! The ONNX protobuf before tract sees it: decoding, structural checks that keep malformed files
//! from reaching tract's internals, and the fixes real-world exports need where onnxruntime
//! accepts the file.

use std::collections::{BTreeMap, HashMap, HashSet};

use tract_onnx::pb::{self, attribute_proto::AttributeType, tensor_proto::DataType};
use tract_onnx::prelude::Framework;

use crate::error::{Error, Result};

/// Decodes the protobuf. Bytes that decode but hold no graph are not a model either.
pub fn decode(bytes: &[u8]) -> Result<pb::ModelProto> {
    let proto = tract_onnx::onnx().proto_model_for_read(&mut &bytes[..]).map_err(|e| {
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

/// Conv and pooling windows: tract indexes `pads`, `strides` and `dilations` by spatial axis and
/// divides by strides, so lengths that disagree with the window's rank or zero/negative values
/// must stop here (fuzz findings: a pool whose `pads` were shorter than its kernel's rank; a Conv
/// with 3 pads and no `kernel_shape`, its rank only in the weights' declared shape).
fn check_window_attributes(graph: &pb::GraphProto, node: &pb::NodeProto) -> Result<()> {
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
fn check_counts(node: &pb::NodeProto) -> Result<()> {
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
fn check_scan(node: &pb::NodeProto) -> Result<()> {
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
fn check_permutation(node: &pb::NodeProto) -> Result<()> {
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
/// `backend::cpu::into_typed`'s.
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
fn check_has_inputs(node: &pb::NodeProto) -> Result<()> {
    let generator = matches!(node.op_type.as_str(), "Constant" | "RandomNormal" | "RandomUniform");
    let standard = node.domain.is_empty() || node.domain == "ai.onnx";
    if generator || !standard || node.input.iter().any(|i| !i.is_empty()) {
        return Ok(());
    }
    Err(Error::ModelInvalid(format!("{} node \"{}\" has no inputs", node.op_type, node.name)))
}

/// Resize before opset 13 has fixed input slots (10: X, scales; 11-12: X, roi, scales[, sizes]) that
/// tract indexes without checking they are there (a fuzz finding: an opset-12 Resize with 2 inputs).
fn check_resize_inputs(node: &pb::NodeProto, opset: i64) -> Result<()> {
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
fn check_axes(node: &pb::NodeProto) -> Result<()> {
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
fn declared_dims(graph: &pb::GraphProto, name: &str) -> Option<Vec<i64>> {
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
fn check_recurrent_weights(graph: &pb::GraphProto, node: &pb::NodeProto) -> Result<()> {
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

/// The version of the default (ai.onnx) operator set the model imports; 0 if none.
pub fn default_opset(proto: &pb::ModelProto) -> i64 {
    proto.opset_import.iter().find(|o| o.domain.is_empty() || o.domain == "ai.onnx").map_or(0, |o| o.version)
}

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

/// Every sub-graph below `node`, each with the node that holds it, depth first.
fn for_each_subgraph<'a>(node: &'a pb::NodeProto, f: &mut dyn FnMut(&'a pb::NodeProto, &'a pb::GraphProto)) {
    for a in &node.attribute {
        for g in a.g.iter().chain(&a.graphs) {
            f(node, g);
            for inner in &g.node {
                for_each_subgraph(inner, f);
            }
        }
    }
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

fn element_size(data_type: i32) -> usize {
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

/// What a fix changed, reported in `info().loaderFixes`.
pub type FixLog = Vec<String>;

/// Applies every fix; each is a no-op on models that do not need it.
pub fn apply_fixes(proto: &mut pb::ModelProto) -> FixLog {
    let mut log = vec![];
    if let Some(g) = proto.graph.as_mut() {
        constant_of_shape_default(g, &mut log);
        fold_constant_ifs(g, &mut log);
        super::half_casts::fold(g, &mut log);
    }
    log
}

/// ONNX says a `ConstantOfShape` without `value` fills float32 zeros; tract 0.23 assumes f64.
fn constant_of_shape_default(g: &mut pb::GraphProto, log: &mut FixLog) {
    let mut n_fixed = 0;
    for node in g.node.iter_mut().filter(|n| n.op_type == "ConstantOfShape") {
        if !node.attribute.iter().any(|a| a.name == "value") {
            node.attribute.push(pb::AttributeProto {
                name: "value".into(),
                r#type: AttributeType::Tensor as i32,
                t: Some(pb::TensorProto {
                    dims: vec![1],
                    data_type: DataType::Float as i32,
                    float_data: vec![0.0],
                    ..Default::default()
                }),
                ..Default::default()
            });
            n_fixed += 1;
        }
    }
    if n_fixed > 0 {
        log.push(format!("ConstantOfShape without `value`: {n_fixed} node(s) set to float32 0 (ONNX default)"));
    }
}

/// Replaces `If` nodes whose condition is a constant by the branch taken, so tract never
/// analyses the dead branch (which often has shapes that only make sense when it runs).
fn fold_constant_ifs(g: &mut pb::GraphProto, log: &mut FixLog) {
    let mut consts: HashMap<String, bool> = HashMap::new();
    for t in &g.initializer {
        if let Some(b) = scalar_truth(t) {
            consts.insert(t.name.clone(), b);
        }
    }
    let mut folded = 0;
    let mut nodes = Vec::with_capacity(g.node.len());
    let mut extra_inits = vec![];
    for node in std::mem::take(&mut g.node) {
        if node.op_type == "Constant" {
            if let (Some(out), Some(t)) = (node.output.first(), node.attribute.iter().find_map(|a| a.t.as_ref())) {
                if let Some(b) = scalar_truth(t) {
                    consts.insert(out.clone(), b);
                }
            }
        }
        let cond = (node.op_type == "If").then(|| node.input.first().and_then(|c| consts.get(c))).flatten();
        match cond {
            Some(&taken) => {
                let branch_name = if taken { "then_branch" } else { "else_branch" };
                let Some(branch) = node.attribute.iter().find(|a| a.name == branch_name).and_then(|a| a.g.clone())
                else {
                    nodes.push(node);
                    continue;
                };
                inline_branch(&node, branch, folded, &mut nodes, &mut extra_inits);
                folded += 1;
            }
            None => nodes.push(node),
        }
    }
    g.node = nodes;
    g.initializer.extend(extra_inits);
    if folded > 0 {
        log.push(format!("If with a constant condition: {folded} node(s) replaced by the branch taken"));
    }
}

fn scalar_truth(t: &pb::TensorProto) -> Option<bool> {
    if t.dims.iter().product::<i64>() != 1 {
        return None;
    }
    match DataType::try_from(t.data_type).ok()? {
        DataType::Bool | DataType::Uint8 | DataType::Int8 => {
            t.raw_data.first().map(|&b| b != 0).or_else(|| t.int32_data.first().map(|&v| v != 0))
        }
        DataType::Int32 => t.int32_data.first().map(|&v| v != 0),
        DataType::Int64 => {
            t.int64_data.first().map(|&v| v != 0).or_else(|| t.raw_data.get(..8).map(|b| b.iter().any(|&x| x != 0)))
        }
        _ => None,
    }
}

/// Copies a branch's nodes into the parent, renaming the branch's own values so they cannot
/// collide, and wiring its outputs to the `If` node's output names.
fn inline_branch(
    if_node: &pb::NodeProto,
    branch: pb::GraphProto,
    ix: usize,
    nodes: &mut Vec<pb::NodeProto>,
    inits: &mut Vec<pb::TensorProto>,
) {
    let prefix = format!("__if{ix}__");
    let mut rename: HashMap<String, String> = HashMap::new();
    for (out, target) in branch.output.iter().zip(&if_node.output) {
        rename.insert(out.name.clone(), target.clone());
    }
    let local = |name: &str, rename: &HashMap<String, String>| {
        rename.get(name).cloned().unwrap_or_else(|| format!("{prefix}{name}"))
    };
    let mut produced: HashSet<String> = HashSet::new();
    for t in &branch.initializer {
        produced.insert(t.name.clone());
    }
    for n in &branch.node {
        produced.extend(n.output.iter().cloned());
    }
    for mut t in branch.initializer {
        t.name = local(&t.name, &rename);
        inits.push(t);
    }
    for mut n in branch.node {
        for i in n.input.iter_mut().filter(|i| produced.contains(i.as_str())) {
            *i = local(i, &rename);
        }
        for o in n.output.iter_mut().filter(|o| !o.is_empty()) {
            *o = local(o, &rename);
        }
        if !n.name.is_empty() {
            n.name = format!("{prefix}{}", n.name);
        }
        nodes.push(n);
    }
    // A branch output that is an outer value (not produced inside) needs an Identity.
    for (out, target) in branch.output.iter().zip(&if_node.output) {
        if !produced.contains(&out.name) {
            nodes.push(pb::NodeProto {
                op_type: "Identity".into(),
                input: vec![out.name.clone()],
                output: vec![target.clone()],
                name: format!("{prefix}identity_{target}"),
                ..Default::default()
            });
        }
    }
}

/// A float initializer by name, as (dims, values): pipelines read weights they post-process
/// with (a classifier's last linear layer for class activation maps).
pub fn initializer_f32(proto: &pb::ModelProto, name: &str) -> Result<(Vec<usize>, Vec<f32>)> {
    let graph = proto.graph.as_ref().ok_or_else(|| Error::ModelInvalid("the model has no graph".into()))?;
    let t = graph.initializer.iter().find(|t| t.name == name).ok_or_else(|| {
        Error::ModelInvalid(format!("the model has no initializer \"{name}\" (named by its manifest)"))
    })?;
    if t.data_type != DataType::Float as i32 {
        return Err(Error::ModelInvalid(format!("initializer \"{name}\" is not float32")));
    }
    let dims: Vec<usize> = t.dims.iter().map(|&d| d.max(0) as usize).collect();
    let n: usize = dims.iter().product();
    let values: Vec<f32> = if !t.float_data.is_empty() {
        t.float_data.clone()
    } else {
        t.raw_data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect()
    };
    if values.len() != n {
        return Err(Error::ModelInvalid(format!(
            "initializer \"{name}\" holds {} values for dims {dims:?}",
            values.len()
        )));
    }
    Ok((dims, values))
}

/// The model's `metadata_props` value for `key` (PaddleOCR keeps its character list there).
pub fn metadata<'a>(proto: &'a pb::ModelProto, key: &str) -> Option<&'a str> {
    proto.metadata_props.iter().find(|p| p.key == key).map(|p| p.value.as_str())
}
