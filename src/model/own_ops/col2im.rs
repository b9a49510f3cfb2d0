//! `Col2Im` (opset 18): sums sliding blocks (N, C × block size, blocks) back into an image
//! (N, C, spatial...), the inverse layout of im2col, in any number of spatial dimensions. The
//! image and block shapes are values the plan is compiled for (`value_inputs`).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};

pub fn parse(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    Ok((
        expand(Col2Im {
            dilations: node.get_attr_opt_vec::<i64>("dilations")?,
            pads: node.get_attr_opt_vec::<i64>("pads")?,
            strides: node.get_attr_opt_vec::<i64>("strides")?,
        }),
        vec![],
    ))
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Col2Im {
    dilations: Option<Vec<i64>>,
    pads: Option<Vec<i64>>,
    strides: Option<Vec<i64>>,
}

impl Expansion for Col2Im {
    fn name(&self) -> StaticName {
        "Col2Im".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 3)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.equals(&inputs[0].rank, 3)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let image = super::known_i64s(model, inputs[1], "Col2Im: image_shape")?;
        let block = super::known_i64s(model, inputs[2], "Col2Im: block_shape")?;
        let n = image.len();
        ensure!(n >= 1 && block.len() == n, "Col2Im: image_shape has {n} values, block_shape {}", block.len());
        let attr = |v: &Option<Vec<i64>>, len: usize, default: i64, what: &str| -> TractResult<Vec<i64>> {
            let v = v.clone().unwrap_or_else(|| vec![default; len]);
            ensure!(v.len() == len, "Col2Im: {what} has {} values, expected {len}", v.len());
            Ok(v)
        };
        let dilations = attr(&self.dilations, n, 1, "dilations")?;
        let strides = attr(&self.strides, n, 1, "strides")?;
        let pads = attr(&self.pads, 2 * n, 0, "pads")?;
        ensure!(
            image.iter().chain(&block).all(|&d| d >= 1),
            "Col2Im: image_shape {image:?} and block_shape {block:?} must be positive"
        );
        ensure!(dilations.iter().chain(&strides).all(|&d| d >= 1), "Col2Im: dilations and strides must be positive");
        ensure!(pads.iter().all(|&p| p >= 0), "Col2Im: pads {pads:?} must not be negative");
        // Blocks along each axis: (image + pads - dilated block) / stride + 1.
        let mut blocks = vec![];
        for i in 0..n {
            let span = image[i] + pads[i] + pads[n + i] - dilations[i] * (block[i] - 1) - 1;
            ensure!(span >= 0, "Col2Im: the block of axis {i} is larger than the padded image");
            blocks.push(span / strides[i] + 1);
        }
        let u = |v: &[i64]| v.iter().map(|&x| x as usize).collect::<TVec<usize>>();
        let op = Image {
            image: u(&image),
            block: u(&block),
            blocks: u(&blocks),
            dilations: u(&dilations),
            strides: u(&strides),
            pads_before: u(&pads[..n]),
        };
        super::wire(model, prefix, Box::new(op), &inputs[..1])
    }
}

/// The typed op, every size known.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Image {
    image: TVec<usize>,
    block: TVec<usize>,
    blocks: TVec<usize>,
    dilations: TVec<usize>,
    strides: TVec<usize>,
    pads_before: TVec<usize>,
}

/// The multi-index of `flat` in `dims` (last fastest).
fn unflatten(mut flat: usize, dims: &[usize], out: &mut [usize]) {
    for (o, &d) in out.iter_mut().zip(dims).rev() {
        *o = flat % d;
        flat /= d;
    }
}

impl Op for Image {
    fn name(&self) -> StaticName {
        "Col2Im".into()
    }

    op_as_typed_op!();
}

impl EvalOp for Image {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let dt = x.datum_type();
        let x = x.cast_to::<f32>()?;
        let xs = x.to_plain_array_view::<f32>()?;
        let (batch, rows, cols) = (xs.shape()[0], xs.shape()[1], xs.shape()[2]);
        let kernel: usize = self.block.iter().product();
        let channels = rows / kernel;
        let pixels: usize = self.image.iter().product();
        let n = self.image.len();
        let mut out = vec![0f32; batch * channels * pixels];
        let (mut k, mut b) = (vec![0usize; n], vec![0usize; n]);
        for bn in 0..batch {
            for row in 0..rows {
                let (c, kf) = (row / kernel, row % kernel);
                unflatten(kf, &self.block, &mut k);
                for col in 0..cols {
                    unflatten(col, &self.blocks, &mut b);
                    let mut at = 0usize;
                    let mut inside = true;
                    for i in 0..n {
                        let pos =
                            (b[i] * self.strides[i] + k[i] * self.dilations[i]) as isize - self.pads_before[i] as isize;
                        if pos < 0 || pos as usize >= self.image[i] {
                            inside = false;
                            break;
                        }
                        at = at * self.image[i] + pos as usize;
                    }
                    if inside {
                        out[(bn * channels + c) * pixels + at] += xs[[bn, row, col]];
                    }
                }
            }
        }
        let mut shape: TVec<usize> = tvec![batch, channels];
        shape.extend(self.image.iter().copied());
        Ok(tvec!(Tensor::from_shape(&shape, &out)?.cast_to_dt(dt)?.into_owned().into_tvalue()))
    }
}

impl TypedOp for Image {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let x = inputs[0];
        ensure!(x.datum_type.is_float(), "Col2Im on {:?}: floats only", x.datum_type);
        ensure!(x.rank() == 3, "Col2Im: the input must be (N, C × block size, blocks), has rank {}", x.rank());
        let kernel: usize = self.block.iter().product();
        let blocks: usize = self.blocks.iter().product();
        let rows = x.shape[1].to_usize().ok();
        if let Some(rows) = rows {
            ensure!(rows % kernel == 0, "Col2Im: {rows} rows do not divide into blocks of {kernel}");
        }
        if let Ok(cols) = x.shape[2].to_usize() {
            ensure!(cols == blocks, "Col2Im: {cols} columns, the shapes make {blocks} blocks");
        }
        let channels = x.shape[1].clone() / kernel;
        let mut shape: TVec<TDim> = tvec![x.shape[0].clone(), channels];
        shape.extend(self.image.iter().map(|d| d.to_dim()));
        Ok(tvec!(x.datum_type.fact(shape)))
    }
}
