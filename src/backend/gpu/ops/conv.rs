//! Convolutions (grouped, depthwise, strided, dilated, asymmetric padding, 1-D and 2-D, NCHW or
//! NHWC by strides) and transposed convolutions: conv.wgsl / conv_subgroup.wgsl (a GEMM over
//! output channels × positions), depthwise.wgsl, deconv.wgsl.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, Deconv, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::super::kernels::{Kernel, EPILOGUE_AT, MAX_RANK};
use super::super::program::{f, grid_1d, StepParams, Storage, ValueId};
use super::builder::{concrete, f32_data, m_groups, rank6, why, Builder, R};
use super::epilogue::Epilogue;

/// The spatial geometry of a conv or pool node, 1-D or 2-D, in a canonical (n, c, h, w) view
/// with strides (a 1-D node has height 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    pub n: usize,
    pub c_out: usize,
    pub in_hw: [usize; 2],
    pub in_hw_raw: Vec<usize>,
    pub out_hw: [usize; 2],
    pub k: [usize; 2],
    pub stride: [usize; 2],
    pub dil: [usize; 2],
    pub pad: [usize; 2],
    pub x_strides: [usize; 4],
    pub y_strides: [usize; 4],
}

impl Geometry {
    pub fn new(b: &Builder, node: &TypedNode, spec: &PoolSpec) -> R<Geometry> {
        let in_shape = b.input_shape(node, 0)?;
        let out_shape = concrete(&node.outputs[0].fact)?;
        let view = |shape: &[usize], fmt: DataFormat| -> R<(usize, usize, Vec<usize>, [usize; 4])> {
            let s = fmt.shape(shape.to_vec()).map_err(|e| e.to_string())?;
            let hw = s.hw_dims().to_vec();
            let hs = s.hw_strides().to_vec();
            let st = match hw.len() {
                1 => [s.n_stride().copied().unwrap_or(0), *s.c_stride(), 0, hs[0]],
                2 => [s.n_stride().copied().unwrap_or(0), *s.c_stride(), hs[0], hs[1]],
                r => return Err(why!("{r}-D spatial geometry (the GPU kernels take 1-D and 2-D)")),
            };
            Ok((s.n().copied().unwrap_or(1), *s.c(), hw, st))
        };
        let (n, _, in_hw, x_strides) = view(&in_shape, spec.data_format)?;
        let (_, c_out, out_hw, y_strides) = view(&out_shape, spec.data_format)?;
        let two = |v: &[usize], fill: usize| if v.len() == 1 { [fill, v[0]] } else { [v[0], v[1]] };
        let pad = match &spec.padding {
            PaddingSpec::Valid => vec![0; in_hw.len()],
            _ => spec.computed_padding(&in_hw).iter().map(|d| d.pad_before).collect(),
        };
        Ok(Geometry {
            n,
            c_out,
            in_hw: two(&in_hw, 1),
            in_hw_raw: in_hw.clone(),
            out_hw: two(&out_hw, 1),
            k: two(&spec.kernel_shape, 1),
            stride: two(&spec.strides(), 1),
            dil: two(&spec.dilations(), 1),
            pad: two(&pad, 0),
            x_strides,
            y_strides,
        })
    }

    pub fn out_positions(&self) -> usize {
        self.n * self.out_hw[0] * self.out_hw[1]
    }
}

/// conv.wgsl / depthwise.wgsl / deconv.wgsl's words: [0] output channels per group, [1] output
/// positions (n·h·w), [2] weights per output channel (k), [3] flags (bit 0: bias), [4] input
/// channels per group, [5, 6] kernel h, w, [7, 8] output h, w, [9, 10] input h, w, [11, 12]
/// strides, [13, 14] dilations, [15, 16] pads before, [17..21) input strides (n, c, h, w),
/// [21..25) output strides, [25] lo, [26] hi (the clamp, f32 bits), [27] invocations, [28]
/// output channels in all; the epilogue from `EPILOGUE_AT` (empty for deconv). Mirrored by
/// `struct ConvParams` in kernels/conv_params.wgsl.
#[derive(Debug, Clone, PartialEq)]
pub struct ConvParams {
    pub geo: Geometry,
    pub out_per_group: usize,
    pub k: usize,
    pub in_per_group: usize,
    pub bias: bool,
    pub invocations: usize,
    pub channels: usize,
    /// None for a transposed convolution (deconv.wgsl has no epilogue).
    pub epilogue: Option<Epilogue>,
}

impl StepParams for ConvParams {
    fn words(&self) -> Vec<u32> {
        let g = &self.geo;
        let mut p = vec![self.out_per_group, g.out_positions(), self.k, self.bias as usize, self.in_per_group];
        p.extend([g.k[0], g.k[1], g.out_hw[0], g.out_hw[1], g.in_hw[0], g.in_hw[1]]);
        p.extend([g.stride[0], g.stride[1], g.dil[0], g.dil[1], g.pad[0], g.pad[1]]);
        p.extend(g.x_strides);
        p.extend(g.y_strides);
        let mut w: Vec<u32> = p.iter().map(|&v| v as u32).collect();
        let (lo, hi) = self.epilogue.as_ref().map_or((f32::NEG_INFINITY, f32::INFINITY), |e| (e.lo, e.hi));
        w.extend([f(lo), f(hi), self.invocations as u32, self.channels as u32]);
        // The WGSL struct ends in the epilogue for every kernel of the family (deconv's stays empty).
        w.resize(EPILOGUE_AT, 0);
        match &self.epilogue {
            Some(e) => w.extend(e.words()),
            None => w.extend(Epilogue::new([1; MAX_RANK]).words()),
        }
        w
    }

    fn epilogue(&self) -> Option<&Epilogue> {
        self.epilogue.as_ref()
    }

    fn epilogue_mut(&mut self) -> Option<&mut Epilogue> {
        self.epilogue.as_mut()
    }
}

pub fn conv(b: &mut Builder, node: &TypedNode, op: &Conv) -> R<()> {
    if op.q_params.is_some() {
        return Err("quantised convolution".into());
    }
    let kernel = b.fact(node.inputs[1]).konst.clone().ok_or("weights computed at run time")?;
    let weights = op.kernel_fmt.kernel_as_group_o_ihw(&kernel, op.group).map_err(|e| e.to_string())?;
    let (g, og, k) = (weights.shape()[0], weights.shape()[1], weights.shape()[2]);
    let ig = op.pool_spec.input_channels / op.group;
    let geo = Geometry::new(b, node, &op.pool_spec)?;
    let mut data = f32_data(&weights)?;
    // The GEMM kernels read each output channel's weights as whole vec4s: rows padded with
    // zeros to a multiple of 4 (conv.wgsl). Depthwise reads them tap by tap, unpadded.
    let row = if ig == 1 { k } else { k.next_multiple_of(4) };
    if row != k {
        data = data.chunks(k).flat_map(|r| r.iter().copied().chain(std::iter::repeat_n(0.0, row - k))).collect();
    }
    let w = b.prog.add(vec![g, og, row], Storage::Const(Arc::new(data)));
    let bias = bias(b, node, 2, g * og)?;
    let x = b.input(node, 0)?;
    let out = b.output(node, Storage::Temp)?;
    // Depthwise: an invocation per 4 consecutive output columns (depthwise.wgsl).
    let invocations =
        if ig == 1 { geo.n * g * og * geo.out_hw[0] * geo.out_hw[1].div_ceil(4) } else { geo.out_positions() * g * og };
    let n_cols = geo.out_positions();
    let params = ConvParams {
        geo,
        out_per_group: og,
        k,
        in_per_group: ig,
        bias: bias.is_some(),
        invocations,
        channels: g * og,
        epilogue: Some(Epilogue::new(rank6(&concrete(&node.outputs[0].fact)?, 1))),
    };
    let inputs = vec![x, w, bias.unwrap_or(w)];
    if ig == 1 {
        b.step(Kernel::Depthwise, out, inputs, params, grid_1d(invocations, 256), node);
    } else {
        let wg = [m_groups(n_cols), m_groups(og), g as u32];
        b.step(Kernel::Conv, out, inputs, params, wg, node);
    }
    Ok(())
}

pub fn deconv(b: &mut Builder, node: &TypedNode, op: &Deconv) -> R<()> {
    let kernel = b.fact(node.inputs[1]).konst.clone().ok_or("weights computed at run time")?;
    let weights = op.kernel_format.kernel_as_group_o_i_hw(&kernel, op.group).map_err(|e| e.to_string())?;
    let (g, og, ig) = (weights.shape()[0], weights.shape()[1], weights.shape()[2]);
    let mut geo = Geometry::new(b, node, &op.pool_spec)?;
    // The padding of a transposed convolution is computed from its input side.
    let hw = geo.in_hw_raw.clone();
    let details = op
        .pool_spec
        .padding
        .compute_for_deconv(
            &hw,
            &op.pool_spec.kernel_shape,
            &op.pool_spec.dilations(),
            &op.pool_spec.strides(),
            &op.adjustments,
        )
        .map_err(|e| e.to_string())?;
    let pads: Vec<usize> = details.iter().map(|d| d.pad_before).collect();
    geo.pad = if pads.len() == 1 { [0, pads[0]] } else { [pads[0], pads[1]] };
    let w = b.prog.add(weights.shape().to_vec(), Storage::Const(Arc::new(f32_data(&weights)?)));
    let bias = bias(b, node, 2, g * og)?;
    let x = b.input(node, 0)?;
    let out = b.output(node, Storage::Temp)?;
    let total = geo.out_positions() * g * og;
    let params = ConvParams {
        geo,
        out_per_group: og,
        k: 0,
        in_per_group: ig,
        bias: bias.is_some(),
        invocations: total,
        channels: g * og,
        epilogue: None,
    };
    b.step(Kernel::Deconv, out, vec![x, w, bias.unwrap_or(w)], params, grid_1d(total, 256), node);
    Ok(())
}

/// A per-output-channel bias from a constant input (scalar or vector); None when all zero.
fn bias(b: &mut Builder, node: &TypedNode, ix: usize, channels: usize) -> R<Option<ValueId>> {
    let Some(t) = node.inputs.get(ix).and_then(|&i| b.fact(i).konst.clone()) else {
        return Err("bias computed at run time".into());
    };
    let mut data = f32_data(&t)?;
    if data.iter().all(|&v| v == 0.0) {
        return Ok(None);
    }
    if data.len() == 1 {
        data = vec![data[0]; channels];
    }
    if data.len() != channels {
        return Err(why!("bias of {} values for {channels} channels", data.len()));
    }
    Ok(Some(b.prog.add(vec![channels], Storage::Const(Arc::new(data)))))
}
