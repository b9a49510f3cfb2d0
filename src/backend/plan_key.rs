//! A CPU plan's key (each input's type and shape, and the value of the inputs tract needs as
//! constants: `model::value_inputs`), and what is checked before tract folds those values into a
//! plan, where it would otherwise assert, overflow or allocate without bound.

use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::model::value_inputs::Valued;

/// Each input's element type and shape.
pub(super) type Shapes = Vec<(DatumType, Vec<usize>)>;

/// The shapes, and the value of each input tract needs as a constant (`None` for the others):
/// such a plan is compiled for those values (only the `If` branches they take, the shapes they
/// give).
pub(super) type PlanKey = (Shapes, Vec<Option<Tensor>>);

/// An input keys plans by value only while it is this small (a sample rate, a mode flag).
const MAX_KEYED_ELEMENTS: usize = 16;

/// The key of a run with these inputs (model order); `valued` per input.
pub(super) fn key<'a>(valued: &[Valued], inputs: impl IntoIterator<Item = &'a Tensor>) -> PlanKey {
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
pub(super) fn check_values(
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
pub(super) fn check_sizes(typed: &TypedModel, max_tensor_bytes: u64) -> Result<()> {
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
pub(super) fn pinned(source: &InferenceModel, (shapes, values): &PlanKey) -> Result<InferenceModel> {
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
pub(super) fn values_text(source: &InferenceModel, key: &PlanKey) -> String {
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
