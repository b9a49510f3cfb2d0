//! `CumProd`: absent from tract; `exclusive` and `reverse` as `CumSum` has them.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::inference_wrap;

pub fn parse_cum_prod(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
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
