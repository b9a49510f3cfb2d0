//! `AffineGrid` (opset 20): the sampling grid of `GridSample` from a batch of affine matrices,
//! 2-D (N, 2, 3) → (N, H, W, 2) or 3-D (N, 3, 4) → (N, D, H, W, 3). The size is a value the plan
//! is compiled for (`value_inputs`: it sizes the output).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};

pub fn parse(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let align_corners = node.get_attr_opt::<i64>("align_corners")?.unwrap_or(0) != 0;
    Ok((expand(AffineGrid { align_corners }), vec![]))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AffineGrid {
    align_corners: bool,
}

impl Expansion for AffineGrid {
    fn name(&self) -> StaticName {
        "AffineGrid".into()
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
        s.equals(&inputs[0].rank, 3)?;
        s.equals(&inputs[1].rank, 1)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let size = super::known_i64s(model, inputs[1], "AffineGrid: the size")?;
        ensure!(
            size.len() == 4 || size.len() == 5,
            "AffineGrid: size has {} values, 4 (N, C, H, W) or 5 (N, C, D, H, W)",
            size.len()
        );
        ensure!(size.iter().all(|&d| d >= 1), "AffineGrid: size {size:?} has an empty axis");
        let spatial: TVec<usize> = size[2..].iter().map(|&d| d as usize).collect();
        super::wire(
            model,
            prefix,
            Box::new(Grid { align_corners: self.align_corners, batch: size[0] as usize, spatial }),
            &inputs[..1],
        )
    }
}

/// The typed op: the grid for `spatial` (H, W) or (D, H, W).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Grid {
    align_corners: bool,
    batch: usize,
    spatial: TVec<usize>,
}

impl Grid {
    /// The normalised coordinate of index `i` of `n` in [-1, 1].
    fn coord(&self, i: usize, n: usize) -> f32 {
        if self.align_corners {
            if n == 1 {
                -1.0
            } else {
                -1.0 + 2.0 * i as f32 / (n - 1) as f32
            }
        } else {
            let step = 2.0 / n as f32;
            -1.0 + step / 2.0 + i as f32 * step
        }
    }
}

impl Op for Grid {
    fn name(&self) -> StaticName {
        "AffineGrid".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Grid {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let theta = args_1!(inputs);
        let dt = theta.datum_type();
        let theta = theta.cast_to::<f32>()?;
        let theta = theta.to_plain_array_view::<f32>()?;
        let dims = self.spatial.len();
        let points: usize = self.spatial.iter().product();
        let mut out = Vec::with_capacity(self.batch * points * dims);
        let mut at = vec![0usize; dims];
        for n in 0..self.batch {
            for p in 0..points {
                // Index of point p, last axis fastest; the homogeneous point is (x, y[, z], 1)
                // with x along the last axis.
                let mut rest = p;
                for a in (0..dims).rev() {
                    at[a] = rest % self.spatial[a];
                    rest /= self.spatial[a];
                }
                for row in 0..dims {
                    let mut v = theta[[n, row, dims]];
                    for col in 0..dims {
                        let axis = dims - 1 - col;
                        v += theta[[n, row, col]] * self.coord(at[axis], self.spatial[axis]);
                    }
                    out.push(v);
                }
            }
        }
        let mut shape: TVec<usize> = tvec![self.batch];
        shape.extend(self.spatial.iter().copied());
        shape.push(dims);
        let out = Tensor::from_shape(&shape, &out)?.cast_to_dt(dt)?.into_owned();
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for Grid {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let theta = inputs[0];
        let dims = self.spatial.len();
        ensure!(theta.datum_type.is_float(), "AffineGrid on {:?}: theta must be floats", theta.datum_type);
        ensure!(theta.rank() == 3, "AffineGrid: theta must be (N, {dims}, {}), has rank {}", dims + 1, theta.rank());
        let want = [self.batch, dims, dims + 1];
        for (axis, &w) in want.iter().enumerate() {
            if let Ok(d) = theta.shape[axis].to_usize() {
                ensure!(d == w, "AffineGrid: theta's axis {axis} is {d}, must be {w} for a size of {:?}", self.spatial);
            }
        }
        let mut shape: TVec<TDim> = tvec![self.batch.to_dim()];
        shape.extend(self.spatial.iter().map(|d| d.to_dim()));
        shape.push(dims.to_dim());
        Ok(tvec!(theta.datum_type.fact(shape)))
    }
}
