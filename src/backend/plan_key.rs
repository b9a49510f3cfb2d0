//! A CPU plan's key: each input's type and shape, and the value of the inputs tract needs as
//! constants (the model layer says which: `model::value_inputs`). Plans are cached by it.

use tract_onnx::prelude::*;

/// Each input's element type and shape.
pub type Shapes = Vec<(DatumType, Vec<usize>)>;

/// The shapes, and the value of each input tract needs as a constant (`None` for the others):
/// such a plan is compiled for those values (only the `If` branches they take, the shapes they
/// give).
pub type PlanKey = (Shapes, Vec<Option<Tensor>>);

/// The shapes, for messages: `[1, 3, 224, 224], [1]`.
pub fn shapes_text(shapes: &Shapes) -> String {
    shapes.iter().map(|(_, s)| format!("{s:?}")).collect::<Vec<_>>().join(", ")
}
