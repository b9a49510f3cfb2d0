//! Depthwise convolution of f32 NCHW planes (one filter per channel, any kernel size and
//! padding): the 3×3 and 5×5 depthwise layers of EfficientNet-Lite0 and BlazeFace. tract walks
//! such a layer zone by zone, its wasm SIMD loop only for stride 1 and a scalar one for the
//! padded edges and every stride-2 layer (a fifth of BlazeFace's time). Here each plane is copied
//! once into a zero-bordered scratch plane, so every output row is one branch-free loop: 16 then 4
//! outputs at a time in wasm SIMD, stride 2 de-interleaved with one shuffle.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct DepthwiseConv {
    /// The replaced convolution's: padding, strides, layout (NCHW or CHW).
    pool_spec: PoolSpec,
}

/// Where one plane's taps land: the scratch plane's geometry and the output's.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    pad_top: usize,
    pad_left: usize,
    oh: usize,
    ow: usize,
    /// Scratch plane width and height: the padded input, plus room for the last vector's reads.
    wp: usize,
    hp: usize,
}

impl DepthwiseConv {
    /// The kernel for `node` if it is an f32 2-D depthwise convolution (one input channel per
    /// group, one output per group) over NCHW or CHW with an OIHW kernel and no dilation.
    pub fn replacing(model: &TypedModel, node: &TypedNode) -> TractResult<Option<DepthwiseConv>> {
        let Some(conv) = node.op_as::<Conv>() else { return Ok(None) };
        let spec = &conv.pool_spec;
        let input = model.outlet_fact(node.inputs[0])?;
        let kernel = model.outlet_fact(node.inputs[1])?;
        let bias = model.outlet_fact(node.inputs[2])?;
        let fits = conv.q_params.is_none()
            && node.inputs.len() == 3
            && matches!(spec.data_format, DataFormat::NCHW | DataFormat::CHW)
            && conv.kernel_fmt == KernelFormat::OIHW
            && spec.kernel_shape.len() == 2
            && conv.group > 1
            && conv.group == conv.input_channels()
            && conv.group == conv.output_channels()
            && spec.dilations().iter().all(|&d| d == 1)
            && input.datum_type == f32::datum_type()
            && kernel.datum_type == f32::datum_type()
            && bias.datum_type == f32::datum_type()
            && input.shape.as_concrete().is_some()
            && kernel.shape.as_concrete() == Some(&[conv.group, 1, spec.kernel_shape[0], spec.kernel_shape[1]][..])
            && bias.shape.as_concrete().is_some_and(|s| s.iter().product::<usize>() == 1 || s == [conv.group]);
        Ok(fits.then(|| DepthwiseConv { pool_spec: spec.clone() }))
    }

    fn geometry(&self, input: &[usize]) -> TractResult<Geometry> {
        let shape = self.pool_spec.data_format.shape(input)?;
        let (h, w) = (shape.hw_dims()[0], shape.hw_dims()[1]);
        let [kh, kw] = [self.pool_spec.kernel_shape[0], self.pool_spec.kernel_shape[1]];
        let strides = self.pool_spec.strides();
        let (sh, sw) = (strides[0], strides[1]);
        let pads = self.pool_spec.computed_padding(&[h, w]);
        let (oh, ow) = (pads[0].convoluted, pads[1].convoluted);
        // Every tap of every output inside the plane, and 8 spare columns: a stride-2 vector of
        // four outputs loads eight inputs.
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
        Ok(vec![format!("{}×{}, strides {:?}, {:?}", k[0], k[1], self.pool_spec.strides(), self.pool_spec.padding)])
    }

    op_as_typed_op!();
}

impl EvalOp for DepthwiseConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (input, kernel, bias) = args_3!(inputs);
        let g = self.geometry(input.shape())?;
        let shape = self.pool_spec.data_format.shape(input.shape())?;
        let (n, c) = (*shape.n().unwrap_or(&1), *shape.c());
        let out_shape = self.pool_spec.data_format.from_n_c_hw(n, c, [g.oh, g.ow])?;
        let mut output = unsafe { Tensor::uninitialized::<f32>(&out_shape.shape)? };
        let (src, taps, bias) = (input.try_as_plain_ram()?, kernel.try_as_plain_ram()?, bias.try_as_plain_ram()?);
        let (src, taps, bias) = (src.as_slice::<f32>()?, taps.as_slice::<f32>()?, bias.as_slice::<f32>()?);
        let (plane_in, plane_out, k) = (g.h * g.w, g.oh * g.ow, g.kh * g.kw);
        if plane_out == 0 {
            return Ok(tvec!(output.into_tvalue()));
        }
        let mut dst = output.try_as_plain_ram_mut()?;
        let dst = dst.as_slice_mut::<f32>()?;
        let work = n * c * plane_out * k;
        tract_linalg::multithread::par_chunks_mut(dst, plane_out, work, |first, chunk| {
            // Zeroed once: each plane rewrites only its interior, the border stays zero.
            let mut scratch = vec![0f32; g.wp * g.hp];
            for (i, out) in chunk.chunks_mut(plane_out).enumerate() {
                let plane = first + i;
                let ch = plane % c;
                let b = if bias.len() == 1 { bias[0] } else { bias[ch] };
                fill(&mut scratch, &src[plane * plane_in..][..plane_in], &g);
                convolve(&scratch, out, &taps[ch * k..][..k], b, &g);
            }
            Ok(())
        })?;
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for DepthwiseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.pool_spec.output_facts(inputs)
    }

    as_op!();
}

/// Copies one input plane into the scratch plane's interior.
fn fill(scratch: &mut [f32], plane: &[f32], g: &Geometry) {
    for (y, row) in plane.chunks_exact(g.w).enumerate() {
        let at = (g.pad_top + y) * g.wp + g.pad_left;
        scratch[at..at + g.w].copy_from_slice(row);
    }
}

/// One output plane from a scratch plane: `out[y][x] = bias + Σ taps[ky][kx] ·
/// scratch[y·sh + ky][x·sw + kx]`, taps summed in row-major order.
fn convolve(scratch: &[f32], out: &mut [f32], taps: &[f32], bias: f32, g: &Geometry) {
    for (oy, row) in out.chunks_exact_mut(g.ow).enumerate() {
        let top = &scratch[oy * g.sh * g.wp..];
        let done = simd_row(top, row, taps, bias, g);
        for (x, o) in row.iter_mut().enumerate().skip(done) {
            let mut acc = bias;
            for ky in 0..g.kh {
                let line = &top[ky * g.wp + x * g.sw..];
                for kx in 0..g.kw {
                    acc += taps[ky * g.kw + kx] * line[kx];
                }
            }
            *o = acc;
        }
    }
}

/// The leading outputs of a row, 16 then 4 at a time, with wasm SIMD for strides 1 and 2;
/// returns how many it wrote (the rest are scalar). Sixteen outputs keep four independent sums
/// in flight: one sum's 9 or 25 dependent adds would leave the adder waiting on its latency.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn simd_row(top: &[f32], row: &mut [f32], taps: &[f32], bias: f32, g: &Geometry) -> usize {
    // Every load below stays inside `top`: the kh rows it reads are within the scratch plane
    // (`hp` covers the last output row's taps) and no load reaches past a row's `wp` columns
    // (the last vector's last tap reads to (ow − 1)·sw + kw + 3 < wp).
    assert!(top.len() >= g.kh * g.wp && (row.len().max(1) - 1) * g.sw + g.kw + 4 <= g.wp);
    assert_eq!(taps.len(), g.kh * g.kw);
    let mut x = 0;
    // SAFETY: as above; `x + 4·V <= row.len()` for each block.
    unsafe {
        match g.sw {
            1 => {
                while x + 16 <= row.len() {
                    block::<4, 1>(top, row, taps, bias, g, x);
                    x += 16;
                }
                while x + 4 <= row.len() {
                    block::<1, 1>(top, row, taps, bias, g, x);
                    x += 4;
                }
            }
            2 => {
                while x + 16 <= row.len() {
                    block::<4, 2>(top, row, taps, bias, g, x);
                    x += 16;
                }
                while x + 4 <= row.len() {
                    block::<1, 2>(top, row, taps, bias, g, x);
                    x += 4;
                }
            }
            _ => {}
        }
    }
    x
}

/// Outputs `x .. x + 4·V` of a row at stride `S`, taps summed in row-major order after the bias.
///
/// # Safety
/// `x + 4·V <= row.len()`, and the reads `simd_row` checks stay inside `top`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn block<const V: usize, const S: usize>(
    top: &[f32],
    row: &mut [f32],
    taps: &[f32],
    bias: f32,
    g: &Geometry,
    x: usize,
) {
    use std::arch::wasm32::*;
    unsafe {
        let mut acc = [f32x4_splat(bias); V];
        let mut tap = taps.as_ptr();
        for ky in 0..g.kh {
            let line = top.as_ptr().add(ky * g.wp + x * S);
            for kx in 0..g.kw {
                let w = v128_load32_splat(tap as *const u32);
                tap = tap.add(1);
                for (v, a) in acc.iter_mut().enumerate() {
                    let p = line.add(kx + v * 4 * S);
                    let vals = if S == 1 {
                        v128_load(p as *const v128)
                    } else {
                        let (lo, hi) = (v128_load(p as *const v128), v128_load(p.add(4) as *const v128));
                        i32x4_shuffle::<0, 2, 4, 6>(lo, hi)
                    };
                    *a = f32x4_add(*a, f32x4_mul(vals, w));
                }
            }
        }
        for (v, a) in acc.iter().enumerate() {
            v128_store(row.as_mut_ptr().add(x + v * 4) as *mut v128, *a);
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn simd_row(_: &[f32], _: &mut [f32], _: &[f32], _: f32, _: &Geometry) -> usize {
    0
}
