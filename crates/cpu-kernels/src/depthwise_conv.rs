//! Depthwise convolution of f32 images (one filter per channel, any kernel size and padding),
//! channels first or last: the 3×3 and 5×5 depthwise layers of EfficientNet-Lite0, BlazeFace and
//! PP-OCR. tract walks a channels-first layer zone by zone, its wasm SIMD loop only for stride 1
//! and a scalar one for the padded edges and every stride-2 layer (a fifth of BlazeFace's time);
//! its channels-last kernel (where tract moves EfficientNet-Lite0 and PP-OCR in wasm) loads a
//! weight and an input for every product. The loops are in `depthwise_rows`. Taps and bias are
//! packed once, when the op is built, in the order the layout reads them; the element-wise steps
//! after the layer (`epilogue`) run on each output plane or row while it is in cache.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PoolSpec};

use super::depthwise_rows::{channels_last_row, convolve, fill, Geometry, Ring};
use super::epilogue::Epilogue;
use super::offset_tile::padded_bias;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct DepthwiseConv {
    /// The replaced convolution's: padding, strides, layout (NCHW, CHW, NHWC or HWC).
    pool_spec: PoolSpec,
    /// Channels.
    c: usize,
    /// The taps, `[c][kh·kw]` channels first, `[kh·kw][c rounded up to 4]` channels last.
    taps: Arc<Tensor>,
    /// One bias per channel, zeros past the last (`c` rounded up to 4).
    bias: Arc<Tensor>,
    /// The element-wise nodes after it, folded in (`with_epilogue`).
    epilogue: Epilogue,
}

impl DepthwiseConv {
    /// The kernel for `node` if it is an f32 2-D depthwise convolution (one input channel per
    /// group, one output per group) in any layout, with constant OIHW taps and bias, and no
    /// dilation.
    pub fn replacing(model: &TypedModel, node: &TypedNode) -> TractResult<Option<DepthwiseConv>> {
        let Some(conv) = node.op_as::<Conv>() else { return Ok(None) };
        let spec = &conv.pool_spec;
        let input = model.outlet_fact(node.inputs[0])?;
        let (Some(kernel), Some(bias)) = (
            model.outlet_fact(node.inputs[1])?.konst.clone(),
            node.inputs.get(2).map(|&b| model.outlet_fact(b)).transpose()?.and_then(|f| f.konst.clone()),
        ) else {
            return Ok(None);
        };
        let c = conv.group;
        let fits = conv.q_params.is_none()
            && node.inputs.len() == 3
            && conv.kernel_fmt == KernelFormat::OIHW
            && spec.kernel_shape.len() == 2
            && c > 1
            && c == conv.input_channels()
            && c == conv.output_channels()
            && spec.dilations().iter().all(|&d| d == 1)
            && input.datum_type == f32::datum_type()
            && kernel.datum_type() == f32::datum_type()
            && bias.datum_type() == f32::datum_type()
            && input.shape.as_concrete().is_some()
            && kernel.shape() == [c, 1, spec.kernel_shape[0], spec.kernel_shape[1]]
            && (bias.len() == 1 || bias.len() == c);
        if !fits {
            return Ok(None);
        }
        let k = spec.kernel_shape[0] * spec.kernel_shape[1];
        let plain = kernel.try_as_plain_ram()?;
        let per_channel = plain.as_slice::<f32>()?;
        let taps: Vec<f32> = if spec.data_format.c_is_last() {
            // Whole vectors of four channels: zero past the last.
            let cp = c.next_multiple_of(4);
            (0..k * cp).map(|i| if i % cp < c { per_channel[(i % cp) * k + i / cp] } else { 0.0 }).collect()
        } else {
            per_channel.to_vec()
        };
        Ok(Some(DepthwiseConv {
            pool_spec: spec.clone(),
            c,
            taps: Arc::new(tract_ndarray::Array1::from_vec(taps).into_tensor()),
            bias: padded_bias(&bias, c)?,
            epilogue: Epilogue::default(),
        }))
    }

    /// The same convolution with `epilogue` applied to its output (its nodes then go).
    pub fn with_epilogue(self, epilogue: Epilogue) -> DepthwiseConv {
        DepthwiseConv { epilogue, ..self }
    }

    fn geometry(&self, input: &[usize]) -> TractResult<Geometry> {
        let shape = self.pool_spec.data_format.shape(input)?;
        let (h, w) = (shape.hw_dims()[0], shape.hw_dims()[1]);
        let [kh, kw] = [self.pool_spec.kernel_shape[0], self.pool_spec.kernel_shape[1]];
        let strides = self.pool_spec.strides();
        let (sh, sw) = (strides[0], strides[1]);
        let pads = self.pool_spec.computed_padding(&[h, w]);
        let (oh, ow) = (pads[0].convoluted, pads[1].convoluted);
        // Channels first: every tap of every output inside the scratch plane, and 8 spare
        // columns (a stride-2 vector of four outputs loads eight inputs).
        let wp = (pads[1].pad_before + w + pads[1].pad_after).max(ow.saturating_sub(1) * sw + kw) + 8;
        let hp = (pads[0].pad_before + h + pads[0].pad_after).max(oh.saturating_sub(1) * sh + kh);
        Ok(Geometry { h, w, kh, kw, sh, sw, pad_top: pads[0].pad_before, pad_left: pads[1].pad_before, oh, ow, wp, hp })
    }
}

impl Op for DepthwiseConv {
    fn name(&self) -> StaticName {
        "DepthwiseConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let k = &self.pool_spec.kernel_shape;
        Ok(vec![format!(
            "{}×{}, strides {:?}, {:?}, {:?}, then {:?}",
            k[0],
            k[1],
            self.pool_spec.strides(),
            self.pool_spec.padding,
            self.pool_spec.data_format,
            self.epilogue
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for DepthwiseConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let g = self.geometry(input.shape())?;
        let format = self.pool_spec.data_format;
        let shape = format.shape(input.shape())?;
        let (n, c) = (*shape.n().unwrap_or(&1), *shape.c());
        ensure!(c == self.c, "DepthwiseConv built for {} channels got {c}", self.c);
        let out_shape = format.from_n_c_hw(n, c, [g.oh, g.ow])?;
        let mut output = unsafe { Tensor::uninitialized::<f32>(&out_shape.shape)? };
        let (src, taps, bias) =
            (input.try_as_plain_ram()?, self.taps.try_as_plain_ram()?, self.bias.try_as_plain_ram()?);
        let (src, taps, bias) = (src.as_slice::<f32>()?, taps.as_slice::<f32>()?, bias.as_slice::<f32>()?);
        let (plane_in, plane_out, k) = (g.h * g.w, g.oh * g.ow, g.kh * g.kw);
        if plane_out == 0 {
            return Ok(tvec!(output.into_tvalue()));
        }
        let mut dst = output.try_as_plain_ram_mut()?;
        let dst = dst.as_slice_mut::<f32>()?;
        let work = n * c * plane_out * k;
        if format.c_is_last() {
            let (image, row) = (plane_in * c, g.ow * c);
            tract_linalg::multithread::par_chunks_mut(dst, row, work, |first, chunk| {
                let (mut ring, mut wide) = (Ring::new(c, &g), vec![]);
                for (i, out) in chunk.chunks_mut(row).enumerate() {
                    let (at, oy) = ((first + i) / g.oh, (first + i) % g.oh);
                    let image = &src[at * image..][..image];
                    channels_last_row(&mut ring, image, at, oy, out, &mut wide, taps, bias, c, &g);
                    self.epilogue.apply(out);
                }
                Ok(())
            })?;
        } else {
            tract_linalg::multithread::par_chunks_mut(dst, plane_out, work, |first, chunk| {
                // Zeroed once: each plane rewrites only its interior, the border stays zero.
                let mut scratch = vec![0f32; g.wp * g.hp];
                for (i, out) in chunk.chunks_mut(plane_out).enumerate() {
                    let plane = first + i;
                    let ch = plane % c;
                    fill(&mut scratch, &src[plane * plane_in..][..plane_in], &g);
                    convolve(&scratch, out, &taps[ch * k..][..k], bias[ch], &g);
                    self.epilogue.apply(out);
                }
                Ok(())
            })?;
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for DepthwiseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.pool_spec.output_facts(inputs)
    }

    as_op!();
}
