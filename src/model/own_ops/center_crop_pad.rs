//! `CenterCropPad` (opset 18): crops or zero-pads the given axes to a size, centred (an odd
//! difference puts the extra element at the end). The sizes are a value the plan is compiled for
//! (`value_inputs`: they size the output).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};
use tract_onnx::tract_hir::tract_ndarray::SliceInfoElem;

pub fn parse(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let axes = node.get_attr_opt_vec::<i64>("axes")?;
    Ok((expand(CenterCropPad { axes }), vec![]))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CenterCropPad {
    axes: Option<Vec<i64>>,
}

impl Expansion for CenterCropPad {
    fn name(&self) -> StaticName {
        "CenterCropPad".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.equals(&outputs[0].rank, &inputs[0].rank)?;
        s.equals(&inputs[1].rank, 1)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let sizes = model
            .outlet_fact(inputs[1])?
            .konst
            .clone()
            .context("CenterCropPad: the sizes must be known when the plan is compiled")?;
        let sizes: Vec<i64> = sizes.cast_to::<i64>()?.to_plain_array_view::<i64>()?.iter().copied().collect();
        let rank = model.outlet_fact(inputs[0])?.rank();
        let axes: Vec<usize> = match &self.axes {
            Some(a) => a
                .iter()
                .map(|&x| {
                    let r = rank as i64;
                    ensure!((-r..r).contains(&x), "CenterCropPad: axis {x} is outside a rank-{rank} input");
                    Ok(x.rem_euclid(r) as usize)
                })
                .collect::<TractResult<_>>()?,
            None => (0..rank).collect(),
        };
        ensure!(sizes.len() == axes.len(), "CenterCropPad: {} sizes for {} axes", sizes.len(), axes.len());
        let mut target: TVec<Option<usize>> = tvec![None; rank];
        for (&a, &n) in axes.iter().zip(&sizes) {
            ensure!(n >= 0, "CenterCropPad: size {n} for axis {a} is negative");
            target[a] = Some(n as usize);
        }
        model.wire_node(prefix, Resized { target }, &inputs[..1])
    }
}

/// The typed op: each axis with a size is cropped or padded to it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Resized {
    target: TVec<Option<usize>>,
}

/// (start in the input, start in the output, length copied) along one axis of `dim` to `n`.
fn centre(dim: usize, n: usize) -> (usize, usize, usize) {
    if n <= dim {
        ((dim - n) / 2, 0, n)
    } else {
        (0, (n - dim) / 2, dim)
    }
}

impl Op for Resized {
    fn name(&self) -> StaticName {
        "CenterCropPad".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Resized {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let shape: TVec<usize> = x.shape().iter().zip(&self.target).map(|(&d, t)| t.unwrap_or(d)).collect();
        let mut out = Tensor::zero_dt(x.datum_type(), &shape)?;
        let spans: Vec<_> = x.shape().iter().zip(&shape).map(|(&d, &n)| centre(d, n)).collect();
        let from: Vec<SliceInfoElem> = spans
            .iter()
            .map(|&(a, _, len)| SliceInfoElem::Slice { start: a as isize, end: Some((a + len) as isize), step: 1 })
            .collect();
        let to: Vec<SliceInfoElem> = spans
            .iter()
            .map(|&(_, b, len)| SliceInfoElem::Slice { start: b as isize, end: Some((b + len) as isize), step: 1 })
            .collect();
        fn copy<T: Datum>(
            x: &Tensor,
            out: &mut Tensor,
            from: &[SliceInfoElem],
            to: &[SliceInfoElem],
        ) -> TractResult<()> {
            let src = x.to_plain_array_view::<T>()?;
            let src = src.slice(from);
            let mut dst = out.to_plain_array_view_mut::<T>()?;
            dst.slice_mut(to).assign(&src);
            Ok(())
        }
        dispatch_datum!(copy(x.datum_type())(&x, &mut out, &from, &to))?;
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for Resized {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs[0].rank() == self.target.len(), "CenterCropPad: the input's rank changed");
        let shape: TVec<TDim> = inputs[0]
            .shape
            .iter()
            .zip(&self.target)
            .map(|(d, t)| t.map(|n| n.to_dim()).unwrap_or_else(|| d.clone()))
            .collect();
        Ok(tvec!(inputs[0].datum_type.fact(shape)))
    }
}
