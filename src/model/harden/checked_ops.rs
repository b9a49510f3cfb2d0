//! tract's shape rules index with an op's attributes before checking them against its inputs'
//! ranks, so a corrupt model panics inside analysis, which in wasm aborts the instance. Fuzz
//! findings: an Unsqueeze whose constant axes lie past the output rank, a Reduce with axes
//! -137438953473, a 1-d MaxPool window over a rank-4 input. The proto checks can only compare
//! with *declared* ranks (graph inputs, initializers); an intermediate tensor's rank is known
//! only during analysis. So the parsers of these ops are wrapped: the wrapper's first shape rule
//! checks the attributes against the inferred ranks and fails with an error before tract's own
//! rules (later in the same solver list) use them, and `wire` checks again on the typed facts.
//! Covered: axes (27 ops) and conv/pool windows.

use std::collections::HashMap;
use std::sync::OnceLock;

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};

type Builder = fn(&ParsingContext, &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)>;

/// Ops whose axes index their first input. (name, input slot that carries the axes in the
/// opsets where it is an input, how many positions past the input's rank are valid).
const AXES_OPS: &[(&str, Option<usize>, Extra)] = &[
    ("Unsqueeze", Some(1), Extra::AxesCount),
    ("Squeeze", Some(1), Extra::None),
    ("ReduceSum", Some(1), Extra::None),
    ("ReduceMean", Some(1), Extra::None),
    ("ReduceMax", Some(1), Extra::None),
    ("ReduceMin", Some(1), Extra::None),
    ("ReduceProd", Some(1), Extra::None),
    ("ReduceL1", Some(1), Extra::None),
    ("ReduceL2", Some(1), Extra::None),
    ("ReduceLogSum", Some(1), Extra::None),
    ("ReduceLogSumExp", Some(1), Extra::None),
    ("ReduceSumSquare", Some(1), Extra::None),
    ("ArgMax", None, Extra::None),
    ("ArgMin", None, Extra::None),
    ("CumSum", Some(1), Extra::None),
    ("Softmax", None, Extra::None),
    ("LogSoftmax", None, Extra::None),
    ("Hardmax", None, Extra::None),
    ("Concat", None, Extra::None),
    ("Gather", None, Extra::None),
    ("GatherElements", None, Extra::None),
    ("ScatterElements", None, Extra::None),
    ("Split", None, Extra::None),
    ("Flatten", None, Extra::Inclusive),
    ("LayerNormalization", None, Extra::None),
    ("TopK", None, Extra::None),
    ("OneHot", None, Extra::One),
];

/// Ops with a window over the input's spatial axes (NC + spatial), and the input slot of their
/// weights (whose rank is the input's).
const WINDOW_OPS: &[(&str, Option<usize>)] =
    &[("Conv", Some(1)), ("ConvTranspose", Some(1)), ("MaxPool", None), ("AveragePool", None)];

/// Valid axes are `-n..n` with n = rank + this.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Extra {
    None,
    /// Unsqueeze: the output rank, input rank + number of axes.
    AxesCount,
    /// Flatten: 0..=rank.
    Inclusive,
    /// OneHot: the new axis can be anywhere in the output.
    One,
}

impl Extra {
    fn bound(self, rank: i64, count: usize) -> i64 {
        match self {
            Extra::None => rank,
            Extra::AxesCount => rank + count as i64,
            Extra::Inclusive | Extra::One => rank + 1,
        }
    }
}

/// Where an op's axes come from.
#[derive(Debug, Clone)]
enum AxesFrom {
    Attribute(Vec<i64>),
    Input(usize),
}

fn wrapped_ops() -> impl Iterator<Item = &'static str> {
    AXES_OPS.iter().map(|o| o.0).chain(WINDOW_OPS.iter().map(|o| o.0))
}

/// Replaces, in `register`, the parsers of the ops above with wrapping ones.
pub fn install(register: &mut OnnxOpRegister) {
    for name in wrapped_ops() {
        if register.0.contains_key(name) && originals().contains_key(name) {
            register.0.insert(name.to_string(), parse_checked);
        }
    }
}

/// tract's own parsers, to call from the wrapping one (a register holds plain fn pointers).
fn originals() -> &'static HashMap<String, Builder> {
    static ORIGINALS: OnceLock<HashMap<String, Builder>> = OnceLock::new();
    ORIGINALS.get_or_init(|| {
        let all = tract_onnx::onnx().op_register.0;
        wrapped_ops().filter_map(|n| all.get(n).map(|b| (n.to_string(), *b))).collect()
    })
}

fn parse_checked(ctx: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let Some(original) = originals().get(&node.op_type) else { bail!("no parser for {}", node.op_type) };
    let (op, extra_inputs) = original(ctx, node)?;
    let Some(check) = check_for(node) else { return Ok((op, extra_inputs)) };
    // Only expansions can be wrapped; an op above that is not one keeps tract's parser (the
    // unit test below says which are).
    let Some(inner) = op.as_op().downcast_ref::<Box<dyn Expansion>>() else { return Ok((op, extra_inputs)) };
    let checked = Checked { inner: inner.clone(), node: node.name.clone(), check };
    Ok((expand(checked), extra_inputs))
}

fn check_for(node: &pb::NodeProto) -> Option<Check> {
    if let Some((_, weights)) = WINDOW_OPS.iter().find(|(n, _)| *n == node.op_type) {
        let spatial = super::nodes::window_rank(node);
        let weights = weights.filter(|ix| node.input.get(*ix).is_some_and(|n| !n.is_empty()));
        return Some(Check::Window { spatial: spatial.filter(|&k| k > 0), weights });
    }
    let (_, slot, extra) = AXES_OPS.iter().find(|(n, _, _)| *n == node.op_type)?;
    let attr = node.attribute.iter().find(|a| a.name == "axes" || a.name == "axis");
    let from = match (attr, slot) {
        (Some(a), _) => AxesFrom::Attribute(if a.ints.is_empty() { vec![a.i] } else { a.ints.clone() }),
        (None, Some(ix)) if node.input.get(*ix).is_some_and(|n| !n.is_empty()) => AxesFrom::Input(*ix),
        // ONNX defaults (axis 0 or -1, all axes) are always in range.
        _ => return None,
    };
    Some(Check::Axes { from, extra: *extra })
}

#[derive(Debug, Clone)]
enum Check {
    Axes {
        from: AxesFrom,
        extra: Extra,
    },
    /// The input is batch, channels and `spatial` axes (from the window attributes; else the
    /// weights' rank tells, which must then equal the input's).
    Window {
        spatial: Option<usize>,
        weights: Option<usize>,
    },
}

#[derive(Debug, Clone)]
struct Checked {
    inner: Box<dyn Expansion>,
    node: String,
    check: Check,
}

impl Checked {
    fn fail(&self, what: String) -> TractResult<()> {
        bail!("{} node \"{}\": {what}", Expansion::name(&*self.inner), self.node)
    }

    fn axes(&self, extra: Extra, rank: i64, axes: &[i64]) -> TractResult<()> {
        let n = extra.bound(rank, axes.len());
        match axes.iter().find(|&&a| a < -n || a >= n) {
            Some(a) => self.fail(format!("axis {a} is outside -{n}..{} for its rank-{rank} input", n - 1)),
            None => Ok(()),
        }
    }

    fn window(&self, spatial: Option<usize>, rank: i64, weights_rank: Option<i64>) -> TractResult<()> {
        if rank < 3 {
            return self.fail(format!("its input has rank {rank}; a window needs batch, channels and spatial axes"));
        }
        if let Some(k) = spatial.filter(|&k| k as i64 + 2 != rank) {
            return self
                .fail(format!("a {k}-d window over a rank-{rank} input (batch, channels, {} spatial)", rank - 2));
        }
        match weights_rank {
            Some(w) if w != rank => self.fail(format!("rank-{w} weights for a rank-{rank} input")),
            _ => Ok(()),
        }
    }

    /// The same checks when the typed graph is wired (the rules may not have seen a constant).
    fn check_typed(&self, model: &TypedModel, inputs: &[OutletId]) -> TractResult<()> {
        let Some(data) = inputs.first() else { return Ok(()) };
        let rank = model.outlet_fact(*data)?.rank() as i64;
        let fact = |ix: usize| inputs.get(ix).map(|o| model.outlet_fact(*o)).transpose();
        match &self.check {
            Check::Axes { from: AxesFrom::Attribute(axes), extra } => self.axes(*extra, rank, axes),
            Check::Axes { from: AxesFrom::Input(ix), extra } => match fact(*ix)?.and_then(|f| f.konst.clone()) {
                Some(k) => self.axes(*extra, rank, &axes_of(&k)?),
                None => Ok(()),
            },
            Check::Window { spatial, weights } => {
                let w = weights.map(fact).transpose()?.flatten().map(|f| f.rank() as i64);
                self.window(*spatial, rank, w)
            }
        }
    }
}

fn axes_of(t: &Tensor) -> TractResult<Vec<i64>> {
    Ok(t.cast_to::<i64>()?.try_as_plain_ram()?.as_slice::<i64>()?.to_vec())
}

impl Expansion for Checked {
    fn name(&self) -> StaticName {
        Expansion::name(&*self.inner)
    }

    fn validation(&self) -> Validation {
        Expansion::validation(&*self.inner)
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Expansion::info(&*self.inner)
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Expansion::nboutputs(&*self.inner)
    }

    fn runs_out_of_plan(&self) -> bool {
        Expansion::runs_out_of_plan(&*self.inner)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        self.check_typed(model, inputs)?;
        Expansion::wire(&*self.inner, prefix, model, inputs)
    }

    fn wire_with_inference_model_and_node(
        &self,
        prefix: &str,
        model: &InferenceModel,
        node: &InferenceNode,
        typed_model: &mut TypedModel,
        inputs: &[OutletId],
    ) -> TractResult<TVec<OutletId>> {
        self.check_typed(typed_model, inputs)?;
        Expansion::wire_with_inference_model_and_node(&*self.inner, prefix, model, node, typed_model, inputs)
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        if let Some(data) = inputs.first() {
            match &self.check {
                Check::Axes { from: AxesFrom::Attribute(axes), extra } => {
                    s.given(&data.rank, move |_, rank| self.axes(*extra, rank, axes))?;
                }
                Check::Axes { from: AxesFrom::Input(ix), extra } => {
                    if let Some(axes) = inputs.get(*ix) {
                        s.given_2(&data.rank, &axes.value, move |_, rank, axes| {
                            self.axes(*extra, rank, &axes_of(&axes)?)
                        })?;
                    }
                }
                Check::Window { spatial, weights } => {
                    s.given(&data.rank, move |_, rank| self.window(*spatial, rank, None))?;
                    if let Some(w) = weights.and_then(|ix| inputs.get(ix)) {
                        s.given_2(&data.rank, &w.rank, move |_, rank, w| self.window(*spatial, rank, Some(w)))?;
                    }
                }
            }
        }
        Expansion::rules(&*self.inner, s, inputs, outputs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Which of the ops above tract parses into an expansion this wrapper can hold: each entry
    /// in OPS must be one, or it is a check that never runs.
    #[test]
    fn every_listed_op_is_wrapped() {
        let mut onnx = tract_onnx::onnx();
        install(&mut onnx.op_register);
        let mut unwrapped = vec![];
        let window = WINDOW_OPS.iter().map(|(n, _)| (*n, None, true));
        for (op, slot, is_window) in AXES_OPS.iter().map(|(n, s, _)| (*n, *s, false)).chain(window) {
            let (inputs, attribute) = match slot {
                Some(ix) => ((0..=ix).map(|i| format!("i{i}")).collect::<Vec<_>>(), vec![]),
                None => {
                    let axis = if is_window {
                        pb::AttributeProto {
                            name: "kernel_shape".into(),
                            r#type: 7,
                            ints: vec![3, 3],
                            ..Default::default()
                        }
                    } else {
                        pb::AttributeProto { name: "axis".into(), r#type: 2, i: 0, ..Default::default() }
                    };
                    let n = if is_window { 2 } else { 3 };
                    ((0..n).map(|i| format!("i{i}")).collect(), vec![axis])
                }
            };
            let node = pb::NodeProto {
                op_type: op.to_string(),
                name: "n".into(),
                input: inputs.clone(),
                output: vec!["y".into()],
                attribute,
                ..Default::default()
            };
            let tensor = |n: &String| pb::ValueInfoProto {
                name: n.clone(),
                r#type: Some(pb::TypeProto {
                    value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor {
                        elem_type: 1,
                        shape: None,
                    })),
                    ..Default::default()
                }),
                ..Default::default()
            };
            let graph = pb::GraphProto {
                node: vec![node],
                input: inputs.iter().map(tensor).collect(),
                output: vec![tensor(&"y".to_string())],
                ..Default::default()
            };
            let proto = pb::ModelProto {
                ir_version: 8,
                opset_import: vec![pb::OperatorSetIdProto { domain: String::new(), version: 18 }],
                graph: Some(graph),
                ..Default::default()
            };
            let model = onnx.model_for_proto_model(&proto).unwrap_or_else(|e| panic!("{op}: {e:#}"));
            let n = model.nodes.iter().find(|n| n.name == "n").unwrap();
            let wrapped = n.op.as_op().downcast_ref::<Box<dyn Expansion>>().is_some_and(|e| {
                tract_onnx::tract_core::downcast_rs::Downcast::as_any(&**e).downcast_ref::<Checked>().is_some()
            });
            if !wrapped {
                unwrapped.push(op);
            }
        }
        assert!(unwrapped.is_empty(), "not wrapped: {unwrapped:?}");
    }
}
