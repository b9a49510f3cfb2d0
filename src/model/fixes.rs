//! Loader fix-ups: what real-world exports need where onnxruntime accepts the file, applied to the
//! protobuf before tract parses it. Each is a no-op on models that do not need it and is reported
//! in `info().loaderFixes`.

use std::collections::{HashMap, HashSet};

use tract_onnx::pb::{self, attribute_proto::AttributeType, tensor_proto::DataType};

/// What a fix changed, reported in `info().loaderFixes`.
pub type FixLog = Vec<String>;

/// Applies every fix; each is a no-op on models that do not need it.
pub fn apply_fixes(proto: &mut pb::ModelProto) -> FixLog {
    let mut log = vec![];
    if let Some(g) = proto.graph.as_mut() {
        constant_of_shape_default(g, &mut log);
        fold_constant_ifs(g, &mut log);
        super::half_casts::fold(g, &mut log);
        super::reverse_rnn::fix(g, &mut log);
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
