//! `CumProd`: absent from tract; `exclusive` and `reverse` as `CumSum` has them.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::inference_wrap;

use super::bit_shift::read_int;

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

impl CumProd {
    /// The running product of `xs` (row-major, `shape`) along `axis`, in place.
    fn scan<T: Copy>(&self, xs: &mut [T], shape: &[usize], axis: usize, one: T, times: impl Fn(T, T) -> T) {
        let n = shape[axis];
        let inner: usize = shape[axis + 1..].iter().product();
        let outer: usize = shape[..axis].iter().product();
        for o in 0..outer {
            for i in 0..inner {
                let mut acc = one;
                for step in 0..n {
                    let k = if self.reverse { n - 1 - step } else { step };
                    let at = (o * n + k) * inner + i;
                    let here = xs[at];
                    if self.exclusive {
                        xs[at] = acc;
                        acc = times(acc, here);
                    } else {
                        acc = times(acc, here);
                        xs[at] = acc;
                    }
                }
            }
        }
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
        // Two paths, not one per type (generic code per type cost the wasm bundle ~100 KiB):
        // floats in f64, rounded back once; integers in 64 bits, wrapping as numpy does, the
        // low bytes kept (the same bits as wrapping in the narrower type).
        let dt = x.datum_type();
        let shape = x.shape().to_vec();
        let out = match dt {
            DatumType::F32 | DatumType::F64 => {
                let mut xs: Vec<f64> = x.cast_to::<f64>()?.to_plain_array_view::<f64>()?.iter().copied().collect();
                self.scan(&mut xs, &shape, axis, 1.0, |a, b| a * b);
                Tensor::from_shape(&shape, &xs)?.cast_to_dt(dt)?.into_owned()
            }
            DatumType::I32 | DatumType::I64 | DatumType::U32 | DatumType::U64 => {
                let (width, signed) = (dt.size_of(), dt.is_signed());
                let mut xs: Vec<u64> = x.as_bytes().chunks(width).map(|b| read_int(b, signed) as u64).collect();
                self.scan(&mut xs, &shape, axis, 1u64, u64::wrapping_mul);
                let mut out = x.into_tensor();
                for (dst, v) in out.as_bytes_mut().chunks_mut(width).zip(&xs) {
                    dst.copy_from_slice(&v.to_le_bytes()[..width]);
                }
                out
            }
            other => bail!("CumProd on {other:?}: supported are f32, f64, i32, i64, u32, u64"),
        };
        Ok(tvec!(out.into_tvalue()))
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
