//! ONNX `If`, analysed the way it runs: once its condition is known (a constant, a shape, or an
//! input whose value the plan is compiled for), only the branch it takes is analysed and compiled.
//!
//! tract's own `If` analyses both branches at the outer graph's shapes. Exporters guard
//! shape-specific code with `If` (PyTorch's "squeeze this axis if it is 1", Silero VAD's 16 kHz /
//! 8 kHz branches), so the branch that is not taken often cannot type-check at those shapes and
//! the whole model was refused. Here the taken branch is inlined into the typed graph; with the
//! condition unknown both branches are analysed and the choice is made per run, as tract does.

use tract_onnx::model::{OnnxOpRegister, ParseResult, ParsingContext};
use tract_onnx::pb;
use tract_onnx::tract_core::ops::logic::IfThenElse;
use tract_onnx::tract_hir::internal::*;

pub fn install(reg: &mut OnnxOpRegister) {
    reg.insert("If", parse);
}

fn parse(ctx: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let then_graph: &pb::GraphProto = node.get_attr("then_branch")?;
    let else_graph: &pb::GraphProto = node.get_attr("else_branch")?;
    let ParseResult { model: then_body, unresolved_inputs: then_outer, .. } = ctx.parse_graph(then_graph)?;
    let ParseResult { model: else_body, unresolved_inputs: else_outer, .. } = ctx.parse_graph(else_graph)?;
    // The node's inputs: the condition, then every outer name either branch reads, once.
    let mut outer: Vec<String> = then_outer.iter().chain(&else_outer).cloned().collect();
    outer.sort();
    outer.dedup();
    let slot = |name: &String| outer.iter().position(|o| o == name).map(|p| p + 1);
    let then_mapping = then_outer.iter().filter_map(slot).collect();
    let else_mapping = else_outer.iter().filter_map(slot).collect();
    let op = KnownIf {
        branches: [
            Branch { body: else_body, mapping: else_mapping },
            Branch { body: then_body, mapping: then_mapping },
        ],
    };
    Ok((Box::new(op), outer))
}

#[derive(Debug, Clone)]
struct Branch {
    body: InferenceModel,
    /// For each of the body's inputs, the node input (1-based: 0 is the condition) it reads.
    mapping: Vec<usize>,
}

/// `branches[cond as usize]`: else first, then.
#[derive(Debug, Clone)]
pub struct KnownIf {
    branches: [Branch; 2],
}

// Two subgraph ops are never merged as equal (tract's own `If` says the same).
impl PartialEq for KnownIf {
    fn eq(&self, _: &Self) -> bool {
        false
    }
}
impl Eq for KnownIf {}

impl KnownIf {
    fn known_condition(fact: &InferenceFact) -> TractResult<Option<bool>> {
        fact.value.concretize().map(|c| c.cast_to_scalar::<bool>()).transpose()
    }
}

impl Op for KnownIf {
    fn name(&self) -> StaticName {
        "If".into()
    }

    not_a_typed_op!();
}

impl EvalOp for KnownIf {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let branch = &self.branches[inputs[0].cast_to_scalar::<bool>()? as usize];
        let inputs: TVec<TValue> = branch.mapping.iter().map(|&ix| inputs[ix].clone()).collect();
        branch.body.clone().into_runnable()?.run(inputs)
    }
}

impl InferenceOp for KnownIf {
    fn infer_facts(
        &mut self,
        inputs: TVec<&InferenceFact>,
        outputs: TVec<&InferenceFact>,
        observed: TVec<&InferenceFact>,
    ) -> TractResult<(TVec<InferenceFact>, TVec<InferenceFact>, TVec<InferenceFact>)> {
        let mut inputs: TVec<InferenceFact> = inputs.into_iter().cloned().collect();
        let mut outputs: TVec<InferenceFact> = outputs.into_iter().cloned().collect();
        let nboutputs = self.nboutputs()?;
        loop {
            let mut changed = inputs[0].datum_type.unify_with(&bool::datum_type().into())?;
            let taken = Self::known_condition(&inputs[0])?;
            let live: &mut [Branch] = match taken {
                Some(c) => std::slice::from_mut(&mut self.branches[c as usize]),
                None => &mut self.branches,
            };
            for branch in live.iter_mut() {
                for (body_ix, &outer_ix) in branch.mapping.iter().enumerate() {
                    changed |= branch.body.input_fact_mut(body_ix)?.unify_with_mut(&mut inputs[outer_ix])?;
                }
            }
            if let [branch] = live {
                for (ix, output) in outputs.iter_mut().enumerate().take(nboutputs) {
                    changed |= branch.body.output_fact_mut(ix)?.unify_with_mut(output)?;
                }
            } else {
                // Unknown condition: the outputs get only what both branches agree on.
                for (ix, output) in outputs.iter_mut().enumerate().take(nboutputs) {
                    for branch in live.iter_mut() {
                        let fact = branch.body.output_fact_mut(ix)?;
                        changed |= fact.shape.unify_with_mut(&mut output.shape)?;
                        changed |= fact.datum_type.unify_with_mut(&mut output.datum_type)?;
                    }
                }
            }
            for branch in live.iter_mut() {
                changed |= branch.body.analyse(false)?;
            }
            if !changed {
                return Ok((inputs, outputs, observed.into_iter().cloned().collect()));
            }
        }
    }

    fn nboutputs(&self) -> TractResult<usize> {
        let [e, t] = &self.branches;
        ensure!(
            e.body.outputs.len() == t.body.outputs.len(),
            "If: then_branch has {} outputs and else_branch {}: they must match",
            t.body.outputs.len(),
            e.body.outputs.len()
        );
        Ok(t.body.outputs.len())
    }

    fn to_typed(
        &self,
        source: &InferenceModel,
        node: &InferenceNode,
        target: &mut TypedModel,
        mapping: &HashMap<OutletId, OutletId>,
    ) -> TractResult<TVec<OutletId>> {
        let outer: TVec<OutletId> = node.inputs.iter().map(|o| mapping[o]).collect();
        if let Some(c) = Self::known_condition(source.outlet_fact(node.inputs[0])?)? {
            let branch = &self.branches[c as usize];
            return inline(&node.name, &branch.body.clone().into_typed()?, &branch.mapping, &outer, target);
        }
        let [else_branch, then_branch] = &self.branches;
        let op = IfThenElse {
            then_body: then_branch.body.clone().into_typed()?,
            then_input_mapping: then_branch.mapping.clone(),
            else_body: else_branch.body.clone().into_typed()?,
            else_input_mapping: else_branch.mapping.clone(),
        };
        target.wire_node(&node.name, op, &outer)
    }

    as_op!();
}

/// Wires `body`'s nodes into `target`, its inputs read from `outer[mapping[i]]`; its outputs.
fn inline(
    prefix: &str,
    body: &TypedModel,
    mapping: &[usize],
    outer: &[OutletId],
    target: &mut TypedModel,
) -> TractResult<TVec<OutletId>> {
    let mut wired: HashMap<OutletId, OutletId> = HashMap::default();
    for (&outer_ix, &input) in mapping.iter().zip(body.input_outlets()?) {
        wired.insert(input, outer[outer_ix]);
    }
    for id in body.eval_order()? {
        let node = body.node(id);
        if TypedModel::is_source(&node.op) {
            continue;
        }
        let inputs: TVec<OutletId> = node.inputs.iter().map(|o| wired[o]).collect();
        let outputs = target.wire_node(format!("{prefix}.{}", node.name), node.op.clone(), &inputs)?;
        for (slot, outlet) in outputs.into_iter().enumerate() {
            wired.insert(OutletId::new(id, slot), outlet);
        }
    }
    Ok(body.outputs.iter().map(|o| wired[o]).collect())
}
