//! ONNX ops tract lacks or gets wrong, as our own ops registered with its ONNX loader, one file
//! each:
//! - `BitShift`: tract's shift by the type's width or more panics or wraps; ONNX gives 0 (or -1).
//! - `CumProd`: absent from tract.
//! - `Attention` (opsets 23-25): tract's refuses `softcap`, `qk_matmul_output_mode` and
//!   `nonpad_kv_seqlen`, gives NaN for fully masked rows and aligns causal masks top-left.
//! - `LinearAttention`, `CausalConvWithState`, `BitCast`, `CenterCropPad`, `LpPool`, `AffineGrid`,
//!   `Col2Im`: absent from tract.
//! - `Scan` whose body's inputs are untyped (ONNX allows it; tract refuses): `untyped_scan.rs`.
//! - `ConstantOfShape`: tract's makes its tensor again at every step of a load
//!   (`constant_of_shape.rs`).

use tract_onnx::model::OnnxOpRegister;
use tract_onnx::tract_hir::internal::*;

mod affine_grid;
mod attention;
mod attention_math;
mod bit_cast;
mod bit_shift;
mod causal_conv;
mod center_crop_pad;
mod col2im;
mod constant_of_shape;
mod cum_prod;
mod linear_attention;
mod lp_pool;
mod untyped_scan;

pub fn install(reg: &mut OnnxOpRegister) {
    reg.insert("BitShift", bit_shift::parse_bit_shift);
    reg.insert("CumProd", cum_prod::parse_cum_prod);
    reg.insert("Attention", attention::parse);
    reg.insert("LinearAttention", linear_attention::parse);
    reg.insert("CausalConvWithState", causal_conv::parse);
    reg.insert("BitCast", bit_cast::parse);
    reg.insert("CenterCropPad", center_crop_pad::parse);
    reg.insert("LpPool", lp_pool::parse);
    reg.insert("AffineGrid", affine_grid::parse);
    reg.insert("Col2Im", col2im::parse);
    reg.insert("ConstantOfShape", constant_of_shape::parse);
    untyped_scan::install(reg);
}

/// Wires a typed op: one copy of tract's generic `wire_node` for every op here (one per op type
/// cost the wasm bundle ~7 KiB each).
#[inline(never)]
fn wire(
    model: &mut TypedModel,
    prefix: &str,
    op: Box<dyn TypedOp>,
    inputs: &[OutletId],
) -> TractResult<TVec<OutletId>> {
    model.wire_node(prefix, op, inputs)
}

/// The integers an input holds, which the plan must know (a constant, or a graph input keyed by
/// value in `value_inputs`): `what` names it in the error when it is not known.
fn known_i64s(model: &TypedModel, outlet: OutletId, what: &str) -> TractResult<Vec<i64>> {
    let t = model
        .outlet_fact(outlet)?
        .konst
        .clone()
        .with_context(|| format!("{what} must be known when the plan is compiled"))?;
    Ok(t.cast_to::<i64>()?.to_plain_array_view::<i64>()?.iter().copied().collect())
}
