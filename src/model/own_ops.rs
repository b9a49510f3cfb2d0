//! ONNX ops tract lacks or gets wrong, as our own ops registered with its ONNX loader:
//! - `BitShift`: tract shifts with Rust's `<<`/`>>`, which panics on a shift of the type's width
//!   or more (debug) or shifts by it modulo the width (release: a silent wrong answer). ONNX
//!   says such a shift, or a negative one, gives 0 (right shift of a negative number: -1).
//! - `CumProd`: absent from tract; `exclusive` and `reverse` as `CumSum` has them.
//! - `Attention` (opset 23-25): `attention.rs`.

use tract_onnx::model::{OnnxOpRegister, ParsingContext};
use tract_onnx::pb;
use tract_onnx::tract_core::broadcast::multi_broadcast;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, inference_wrap, Expansion};

pub fn install(reg: &mut OnnxOpRegister) {
    reg.insert("BitShift", parse_bit_shift);
    reg.insert("CumProd", parse_cum_prod);
    reg.insert("Attention", super::attention::parse);
}

fn parse_bit_shift(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let left = match node.get_attr::<&str>("direction")? {
        "LEFT" => true,
        "RIGHT" => false,
        other => bail!("BitShift: direction is \"{other}\", not \"LEFT\" or \"RIGHT\""),
    };
    Ok((expand(BitShift { left }), vec![]))
}

impl Expansion for BitShift {
    fn name(&self) -> StaticName {
        "BitShift".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &inputs[1].datum_type)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.given_2(&inputs[0].shape, &inputs[1].shape, move |s, a, b| {
            s.equals(&outputs[0].shape, multi_broadcast(&[a, b])?)
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        model.wire_node(prefix, self.clone(), inputs)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BitShift {
    left: bool,
}

impl BitShift {
    /// One element: `x` sign-extended (or not) from its type, `n` the shift, `bits` the width.
    fn shift(&self, x: i128, n: i128, bits: u32, signed: bool) -> i128 {
        if n < 0 || n >= bits as i128 {
            // Past the width: every bit shifted out (a negative number shifted right keeps its
            // sign bits).
            return if !self.left && signed && x < 0 { -1 } else { 0 };
        }
        if self.left {
            x << n // truncated to the width when written back
        } else if signed {
            x >> n
        } else {
            (x as u128 >> n) as i128
        }
    }
}

/// Reads the little-endian integer at `bytes`, sign-extended when `signed`.
fn read_int(bytes: &[u8], signed: bool) -> i128 {
    let mut wide = [0u8; 16];
    wide[..bytes.len()].copy_from_slice(bytes);
    if signed && bytes.last().is_some_and(|b| b & 0x80 != 0) {
        wide[bytes.len()..].fill(0xff);
    }
    i128::from_le_bytes(wide)
}

impl Op for BitShift {
    fn name(&self) -> StaticName {
        "BitShift".into()
    }

    op_as_typed_op!();
}

impl EvalOp for BitShift {
    op_out_of_plan!();

    // Byte-level, one function for the eight integer types (generic code per type cost the
    // wasm bundle 50 KiB gzipped).
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, b) = args_2!(inputs);
        let dt = a.datum_type();
        ensure!(
            dt.is_integer() && b.datum_type() == dt,
            "BitShift takes two integers of one type, got {dt:?} and {:?}",
            b.datum_type()
        );
        let signed = dt.is_signed();
        let width = dt.size_of();
        let shape = multi_broadcast(&[a.shape(), b.shape()])?;
        let (a, b) = (a.broadcast_to_shape(&shape)?, b.broadcast_to_shape(&shape)?);
        let mut out = a.clone();
        let bytes = out.as_bytes_mut();
        for ((x, n), dst) in a.as_bytes().chunks(width).zip(b.as_bytes().chunks(width)).zip(bytes.chunks_mut(width)) {
            let y = self.shift(read_int(x, signed), read_int(n, signed), 8 * width as u32, signed);
            dst.copy_from_slice(&y.to_le_bytes()[..width]);
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for BitShift {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = multi_broadcast(&[inputs[0].shape.to_tvec(), inputs[1].shape.to_tvec()])?;
        Ok(tvec!(inputs[0].datum_type.fact(shape)))
    }
}

fn parse_cum_prod(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let exclusive = node.get_attr_opt::<i64>("exclusive")?.unwrap_or(0) != 0;
    let reverse = node.get_attr_opt::<i64>("reverse")?.unwrap_or(0) != 0;
    Ok((inference_wrap(CumProd { exclusive, reverse }, 1, cum_prod_rules), vec![]))
}

fn cum_prod_rules<'p>(
    _op: &dyn Op,
    s: &mut Solver,
    inputs: &'p [TensorProxy],
    outputs: &'p [TensorProxy],
) -> InferenceResult {
    check_input_arity(inputs, 2)?;
    check_output_arity(outputs, 1)?;
    s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
    s.equals(&outputs[0].shape, &inputs[0].shape)?;
    s.equals(&inputs[1].rank, 0)
}

/// The running product along an axis given by the second input (read at each run).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CumProd {
    exclusive: bool,
    reverse: bool,
}

/// Multiplication as numpy does it: integers wrap on overflow.
trait Product: Datum + Copy {
    const ONE: Self;
    fn times(self, other: Self) -> Self;
}

macro_rules! product {
    (float: $($t:ty),*) => { $(impl Product for $t {
        const ONE: Self = 1.0;
        fn times(self, other: Self) -> Self { self * other }
    })* };
    (int: $($t:ty),*) => { $(impl Product for $t {
        const ONE: Self = 1;
        fn times(self, other: Self) -> Self { self.wrapping_mul(other) }
    })* };
}
product!(float: f32, f64);
product!(int: i32, i64, u32, u64);

impl CumProd {
    fn eval_t<T: Product>(&self, x: &Tensor, axis: usize) -> TractResult<TValue> {
        let mut out = x.to_plain_array_view::<T>()?.to_owned();
        for mut lane in out.lanes_mut(tract_ndarray::Axis(axis)) {
            let n = lane.len();
            let mut acc = T::ONE;
            for step in 0..n {
                let i = if self.reverse { n - 1 - step } else { step };
                let here = lane[i];
                if self.exclusive {
                    lane[i] = acc;
                    acc = acc.times(here);
                } else {
                    acc = acc.times(here);
                    lane[i] = acc;
                }
            }
        }
        Ok(out.into_tvalue())
    }
}

impl Op for CumProd {
    fn name(&self) -> StaticName {
        "CumProd".into()
    }

    op_as_typed_op!();
}

impl EvalOp for CumProd {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (x, axis) = args_2!(inputs);
        let rank = x.rank() as i64;
        let axis = axis.cast_to_scalar::<i64>()?;
        ensure!((-rank..rank).contains(&axis), "CumProd: axis {axis} is outside a rank-{rank} input");
        let axis = axis.rem_euclid(rank.max(1)) as usize;
        let out = match x.datum_type() {
            DatumType::F32 => self.eval_t::<f32>(&x, axis)?,
            DatumType::F64 => self.eval_t::<f64>(&x, axis)?,
            DatumType::I32 => self.eval_t::<i32>(&x, axis)?,
            DatumType::I64 => self.eval_t::<i64>(&x, axis)?,
            DatumType::U32 => self.eval_t::<u32>(&x, axis)?,
            DatumType::U64 => self.eval_t::<u64>(&x, axis)?,
            other => bail!("CumProd on {other:?}: supported are f32, f64, i32, i64, u32, u64"),
        };
        Ok(tvec!(out))
    }
}

impl TypedOp for CumProd {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        // The axis is known here when it is a constant or a graph input the plan is compiled
        // for (`value_inputs`): a bad one is refused before the run.
        if let Some(axis) = &inputs[1].konst {
            let (axis, rank) = (axis.cast_to_scalar::<i64>()?, inputs[0].rank() as i64);
            ensure!((-rank..rank).contains(&axis), "CumProd: axis {axis} is outside a rank-{rank} input");
        }
        Ok(tvec!(inputs[0].without_value()))
    }
}
