//! tract's optimiser with a bound on the rewrites it applies. Two of its rules can keep undoing
//! each other (seen on a `Scan` body from the ONNX tools' function expansion), and its loop runs
//! until nothing changes: a file must not hang the page. Past the bound the graph is left as far
//! as it got, which is still the same computation, only less simplified.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::optim::Optimizer;

/// Rewrites allowed: far above what real models take (a few per node), reached only by a loop.
fn bound(model: &TypedModel) -> usize {
    5_000 + 50 * model.nodes().len()
}

/// `into_decluttered`, bounded.
pub fn decluttered(mut model: TypedModel) -> TractResult<TypedModel> {
    let limit = bound(&model);
    Optimizer::declutter().stopping_at(limit).optimize(&mut model)?;
    Ok(model)
}

/// `into_optimized` (declutter, then codegen), bounded.
pub fn optimized(model: TypedModel) -> TractResult<TypedModel> {
    codegen(decluttered(model)?)
}

/// tract's codegen on a decluttered graph, bounded.
pub fn codegen(mut model: TypedModel) -> TractResult<TypedModel> {
    let limit = bound(&model);
    model.optimize_with_session(&mut Optimizer::codegen().stopping_at(limit).session())?;
    Ok(model)
}
