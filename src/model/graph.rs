//! The model's graph at a plan key: the parsed, fixed-up ONNX graph with each input's type and
//! shape (and the value of the inputs tract needs as constants) pinned, analysed and checked.
//! What a backend compiles its plans from (`backend::TypedSource`); the values are checked here
//! before tract folds them in, where it would otherwise assert, overflow or allocate without
//! bound.

use std::sync::Mutex;

use tract_onnx::prelude::*;

use super::harden::nodes::DeconvShape;
use super::harden::typed::into_typed;
use super::value_inputs::Valued;
use crate::backend::plan_key::{shapes_text, PlanKey};
use crate::backend::TypedSource;
use crate::error::{Error, Result};

/// Each input's type and shape, in model order (a plan key's first half).
type Shapes = Vec<(DatumType, Vec<usize>)>;

/// The inference model a `Model` loaded, with what typing it at a key needs.
pub(crate) struct Graph {
    source: InferenceModel,
    /// ConvTranspose nodes with an `output_shape`, checked at each shape.
    deconvs: Vec<DeconvShape>,
    /// Per input: whether plans are compiled per value of it.
    valued: Vec<Valued>,
    /// The model's tensor budget: sizes computed from fed values are held to it.
    max_tensor_bytes: u64,
    /// The graph as analysis decluttered it at the file's own input shapes, for the first plans at
    /// exactly those shapes: typing and decluttering it again is a third of a static model's load.
    seed: Mutex<Option<Seed>>,
}

/// The analysed graph, its input shapes, and how many plans may still start from it: the CPU's,
/// and the GPU's when the load tries one. The last use takes it (kept, it would hold folded
/// weights a second time); earlier ones get a copy sharing its tensors.
struct Seed {
    shapes: Shapes,
    typed: TypedModel,
    uses: usize,
}

impl Graph {
    /// `analysed`: the source typed and decluttered at its own input facts, if analysis could,
    /// for the first `uses` plans at those shapes.
    pub(crate) fn new(
        source: InferenceModel,
        analysed: (Option<TypedModel>, usize),
        deconvs: Vec<DeconvShape>,
        valued: Vec<Valued>,
        max_tensor_bytes: u64,
    ) -> Self {
        let (typed, uses) = analysed;
        let seed = typed.and_then(|typed| Some(Seed { shapes: concrete_inputs(&typed)?, typed, uses }));
        Graph { source, deconvs, valued, max_tensor_bytes, seed: Mutex::new(seed.filter(|_| uses > 0)) }
    }

    /// Lets go of the analysed graph once no plan will start from it.
    pub(crate) fn drop_seed(&self) {
        if let Ok(mut seed) = self.seed.lock() {
            seed.take();
        }
    }

    /// Whether some input's value, not only its shape, selects the plan.
    pub(crate) fn keys_by_value(&self) -> bool {
        self.valued.iter().any(|&v| v != Valued::No)
    }

    /// The decluttered graph at these input shapes: what the GPU translator starts from.
    pub(crate) fn decluttered(&self, key: &[(DatumType, Vec<usize>)]) -> Result<TypedModel> {
        crate::error::guard("preparing the graph", || self.decluttered_at(&(key.to_vec(), vec![None; key.len()])))
    }

    /// The analysed graph, if `key` is the shapes it was analysed at (and holds no values).
    fn take_seed(&self, (shapes, values): &PlanKey) -> Option<TypedModel> {
        if values.iter().any(Option::is_some) {
            return None;
        }
        let mut seed = self.seed.lock().ok()?;
        match seed.as_mut() {
            Some(s) if s.shapes == *shapes && s.uses > 1 => {
                s.uses -= 1;
                Some(s.typed.clone())
            }
            Some(s) if s.shapes == *shapes => seed.take().map(|s| s.typed),
            _ => None,
        }
    }

    /// The graph typed at `key` (not yet decluttered), checked.
    fn typed_at(&self, key: &PlanKey) -> Result<TypedModel> {
        check_values(key, &self.valued, &self.source, self.max_tensor_bytes)?;
        let model = pinned(&self.source, key)?;
        // The file was read at load: what fails now fails at these inputs.
        let typed = into_typed(model, &self.deconvs).map_err(|e| match e {
            Error::ModelInvalid(e) => Error::InputMismatch {
                name: "(all inputs)".into(),
                detail: format!(
                    "the model cannot run at input shapes {}{}: {e}",
                    shapes_text(&key.0),
                    self.values_text(key)
                ),
            },
            e => e,
        })?;
        if key.1.iter().any(Option::is_some) {
            check_sizes(&typed, self.max_tensor_bytes)?;
        }
        Ok(typed)
    }
}

impl TypedSource for Graph {
    fn key(&self, inputs: &mut dyn Iterator<Item = &Tensor>) -> PlanKey {
        key(&self.valued, inputs)
    }

    fn decluttered_at(&self, key: &PlanKey) -> Result<TypedModel> {
        if let Some(seed) = self.take_seed(key) {
            return Ok(seed);
        }
        crate::backend::optimise::decluttered(self.typed_at(key)?).map_err(|e| Error::InputMismatch {
            name: "(all inputs)".into(),
            detail: format!(
                "the model cannot run at input shapes {}{}: {e:#}",
                shapes_text(&key.0),
                self.values_text(key)
            ),
        })
    }

    fn values_text(&self, key: &PlanKey) -> String {
        values_text(&self.source, key)
    }
}

/// Each input's type and shape, if all are concrete.
fn concrete_inputs(typed: &TypedModel) -> Option<Shapes> {
    let facts = typed.input_outlets().ok()?.iter().map(|&o| typed.outlet_fact(o).ok());
    facts.map(|f| f.and_then(|f| Some((f.datum_type, f.shape.as_concrete()?.to_vec())))).collect()
}

/// An input keys plans by value only while it is this small (a sample rate, a mode flag).
const MAX_KEYED_ELEMENTS: usize = 16;

/// The key of a run with these inputs (model order); `valued` per input.
fn key<'a>(valued: &[Valued], inputs: impl IntoIterator<Item = &'a Tensor>) -> PlanKey {
    let (mut shapes, mut values) = (vec![], vec![]);
    for (t, &how) in inputs.into_iter().zip(valued.iter().chain(std::iter::repeat(&Valued::No))) {
        shapes.push((t.datum_type(), t.shape().to_vec()));
        values.push((how != Valued::No && t.len() <= MAX_KEYED_ELEMENTS).then(|| t.clone()));
    }
    (shapes, values)
}

/// A value that sizes a tensor (a shape for `ConstantOfShape` or `Expand`, `Tile`'s repeats,
/// `Resize`'s sizes, a `OneHot` depth, a window length) is compiled into the plan, where tract
/// may build that tensor at once: the product of its entries is held to the tensor budget
/// first, and a negative entry is refused (tract asserts on negative dims). Pads must not be
/// negative (tract pads in unsigned arithmetic) nor one alone past the budget.
fn check_values(
    (_, values): &PlanKey,
    valued: &[Valued],
    source: &InferenceModel,
    max_tensor_bytes: u64,
) -> Result<()> {
    let budget = max_tensor_bytes as u128;
    for ((value, how), name) in values.iter().zip(valued).zip(input_names(source)) {
        let Some(value) = value.as_ref().filter(|_| *how >= Valued::Pads) else { continue };
        let ints = integers(value).unwrap_or_default();
        if *how == Valued::Pads {
            if let Some(v) = ints.iter().find(|&&v| v < 0) {
                return Err(Error::InputMismatch {
                    name: name.clone(),
                    detail: format!(
                        "{ints:?} has the negative pad {v}: cropping by a negative pad is not supported here; \
                         crop with a Slice before the Pad"
                    ),
                });
            }
            // One pad past the budget makes an axis, so a tensor, past it (and sums of huge pads
            // overflow tract's dims).
            if let Some(v) = ints.iter().find(|&&v| v as u128 * 4 > budget) {
                return Err(Error::ResourceLimit(format!(
                    "input \"{name}\" = {ints:?}: the pad {v} alone makes a tensor over the {} MiB tensor budget \
                     (maxTensorBytes)",
                    max_tensor_bytes >> 20
                )));
            }
            continue;
        }
        let elements = ints.iter().fold(1u128, |acc, &v| acc.saturating_mul(v.unsigned_abs().max(1) as u128));
        if elements.saturating_mul(4) > budget {
            return Err(Error::ResourceLimit(format!(
                "input \"{name}\" = {ints:?} sizes a tensor of about {elements} elements, over the {} MiB tensor \
                 budget (maxTensorBytes): check the value, or raise the budget",
                max_tensor_bytes >> 20
            )));
        }
        if let Some(v) = ints.iter().find(|&&v| v < 0) {
            return Err(Error::InputMismatch {
                name: name.clone(),
                detail: format!("{ints:?} sizes a tensor and has the negative entry {v}: sizes must be 0 or more"),
            });
        }
    }
    Ok(())
}

/// With values compiled in, every tensor of the plan whose shape is now known is held to the
/// tensor budget before anything runs (e.g. `Tile` of a large input by modest repeats).
fn check_sizes(typed: &TypedModel, max_tensor_bytes: u64) -> Result<()> {
    for node in typed.nodes() {
        for output in &node.outputs {
            let fact = &output.fact;
            let Some(shape) = fact.shape.as_concrete() else { continue };
            let bytes = shape.iter().fold(fact.datum_type.size_of() as u128, |acc, &d| acc.saturating_mul(d as u128));
            if bytes > max_tensor_bytes as u128 {
                return Err(Error::ResourceLimit(format!(
                    "node \"{}\" would make a {shape:?} {:?} tensor ({} MiB) at these input values, over the {} MiB \
                     tensor budget (maxTensorBytes)",
                    node.name,
                    fact.datum_type,
                    bytes >> 20,
                    max_tensor_bytes >> 20
                )));
            }
        }
    }
    Ok(())
}

/// The source with each input's type and shape set, and the value of those the key holds.
fn pinned(source: &InferenceModel, (shapes, values): &PlanKey) -> Result<InferenceModel> {
    let mut model = source.clone();
    for (ix, (dt, shape)) in shapes.iter().enumerate() {
        let fact = match values.get(ix) {
            Some(Some(value)) => InferenceFact::from(value.clone()),
            _ => InferenceFact::dt_shape(*dt, shape.clone()),
        };
        model.set_input_fact(ix, fact).map_err(|e| Error::Internal(format!("setting input fact: {e:#}")))?;
    }
    Ok(model)
}

/// The keyed values, for messages: ` with "sr" = 8000 with "shape" = [2, 3]`.
fn values_text(source: &InferenceModel, key: &PlanKey) -> String {
    let mut text = String::new();
    for (value, name) in key.1.iter().zip(input_names(source)) {
        if let Some(v) = value {
            text += &match integers(v).as_deref() {
                Some([one]) => format!(" with \"{name}\" = {one}"),
                Some(many) => format!(" with \"{name}\" = {many:?}"),
                None => format!(" with \"{name}\" as given"),
            };
        }
    }
    text
}

/// The model's input names, in order.
fn input_names(source: &InferenceModel) -> Vec<String> {
    source.input_outlets().map(|o| o.iter().map(|o| source.node(o.node).name.clone()).collect()).unwrap_or_default()
}

/// A small integer or bool tensor's values as i64.
fn integers(t: &Tensor) -> Option<Vec<i64>> {
    let t = t.cast_to::<i64>().ok()?;
    Some(t.to_plain_array_view::<i64>().ok()?.iter().copied().collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A graph of one input (also its output), and as "analysis" a typed one told apart by its name.
    fn graph() -> Graph {
        let mut source = InferenceModel::default();
        let x = source.add_source("x", f32::fact([1, 3]).into()).unwrap();
        source.select_output_outlets(&[x]).unwrap();
        let mut analysed = TypedModel::default();
        let x = analysed.add_source("seeded", f32::fact([1, 3])).unwrap();
        analysed.select_output_outlets(&[x]).unwrap();
        Graph::new(source, (Some(analysed), 1), vec![], vec![Valued::No], 1 << 30)
    }

    fn seeded(g: &Graph, key: &PlanKey) -> bool {
        g.decluttered_at(key).unwrap().nodes().iter().any(|n| n.name == "seeded")
    }

    #[test]
    fn the_analysed_graph_seeds_one_plan_at_its_own_shapes() {
        let g = graph();
        let at = |dims: Vec<usize>, value: Option<Tensor>| (vec![(DatumType::F32, dims)], vec![value]);
        assert!(!seeded(&g, &at(vec![2, 3], None)), "other shapes are typed afresh");
        assert!(!seeded(&g, &at(vec![1, 3], Some(tensor2(&[[1f32, 2., 3.]])))), "a keyed value is typed afresh");
        assert!(seeded(&g, &at(vec![1, 3], None)));
        assert!(!seeded(&g, &at(vec![1, 3], None)), "taken once: the plan cache keeps what was built from it");
    }

    #[test]
    fn a_load_that_tries_the_gpu_seeds_both_plans_then_lets_go() {
        let g =
            Graph { seed: Mutex::new(graph().seed.into_inner().unwrap().map(|s| Seed { uses: 2, ..s })), ..graph() };
        let key = (vec![(DatumType::F32, vec![1, 3])], vec![None]);
        assert!(seeded(&g, &key), "the CPU's plan");
        assert!(g.seed.lock().unwrap().is_some(), "kept for the GPU's");
        assert!(seeded(&g, &key), "the GPU's plan");
        assert!(g.seed.lock().unwrap().is_none(), "the last use takes it");
        let g =
            Graph { seed: Mutex::new(graph().seed.into_inner().unwrap().map(|s| Seed { uses: 2, ..s })), ..graph() };
        g.drop_seed();
        assert!(!seeded(&g, &key), "dropped when the load needs it no more");
    }
}
