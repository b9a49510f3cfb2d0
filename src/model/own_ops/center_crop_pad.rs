//! `CenterCropPad` (opset 18): crops or zero-pads the given axes to a size, centred (an odd
//! difference puts the extra element at the end). The sizes are a value the plan is compiled for
//! (`value_inputs`: they size the output).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};

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
        let sizes = super::known_i64s(model, inputs[1], "CenterCropPad: the sizes")?;
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
        super::wire(model, prefix, Box::new(Resized { target }), &inputs[..1])
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

    // Byte-level, one function for every type (generic code per type would cost the wasm
    // bundle tens of KiB, as BitShift found).
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        ensure!(x.datum_type() != DatumType::String, "CenterCropPad on strings is not supported");
        let shape: TVec<usize> = x.shape().iter().zip(&self.target).map(|(&d, t)| t.unwrap_or(d)).collect();
        let mut out = Tensor::zero_dt(x.datum_type(), &shape)?;
        let width = x.datum_type().size_of();
        let spans: TVec<_> = x.shape().iter().zip(&shape).map(|(&d, &n)| centre(d, n)).collect();
        if spans.iter().all(|s| s.2 > 0) {
            let strides = |dims: &[usize]| -> TVec<usize> {
                let mut s: TVec<usize> = dims
                    .iter()
                    .rev()
                    .scan(width, |acc, &d| {
                        let here = *acc;
                        *acc *= d;
                        Some(here)
                    })
                    .collect();
                s.reverse();
                s
            };
            let (from, to) = (strides(x.shape()), strides(&shape));
            copy_axis(x.as_bytes(), out.as_bytes_mut(), &spans, &from, &to, 0, 0, 0, width);
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

/// Copies the spans' block from `src` to `dst`, axis by axis; the last axis is one byte run.
#[allow(clippy::too_many_arguments)]
fn copy_axis(
    src: &[u8],
    dst: &mut [u8],
    spans: &[(usize, usize, usize)],
    from: &[usize],
    to: &[usize],
    axis: usize,
    s: usize,
    d: usize,
    width: usize,
) {
    if spans.is_empty() {
        dst[d..d + width].copy_from_slice(&src[s..s + width]);
        return;
    }
    let (a, b, len) = spans[axis];
    if axis + 1 == spans.len() {
        let (s, d) = (s + a * from[axis], d + b * to[axis]);
        dst[d..d + len * width].copy_from_slice(&src[s..s + len * width]);
        return;
    }
    for i in 0..len {
        copy_axis(src, dst, spans, from, to, axis + 1, s + (a + i) * from[axis], d + (b + i) * to[axis], width);
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
