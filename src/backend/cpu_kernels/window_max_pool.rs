//! Max pooling over windows that tile the image (stride = kernel, no padding, no dilation): the
//! 2×2/2 and 1×2/2 pools of BlazeFace and openWakeWord. tract walks such a pool per output value
//! with a bounds check per tap (11 % of BlazeFace's time); here each output row folds whole input
//! rows, with wasm SIMD where the build has it.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{OptMaxPool, PaddingSpec, PoolSpec};

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct WindowMaxPool {
    /// The replaced op's: its layout and the output facts.
    pool_spec: PoolSpec,
    /// Window height and width (= strides).
    kernel: [usize; 2],
}

impl WindowMaxPool {
    /// The kernel for `node` if it is an f32 max pool over tiling 2-D windows.
    pub fn replacing(model: &TypedModel, node: &TypedNode) -> TractResult<Option<WindowMaxPool>> {
        let Some(op) = node.op_as::<OptMaxPool>() else { return Ok(None) };
        let spec = &op.pool_spec;
        let zeros = |v: &[usize]| v.iter().all(|&p| p == 0);
        let unpadded = match &spec.padding {
            PaddingSpec::Valid => true,
            PaddingSpec::Explicit(before, after) => zeros(before) && zeros(after),
            // ceil_mode adds a partial window where a side is not a multiple of the kernel.
            PaddingSpec::ExplicitOnnxPool(before, after, ceil) => zeros(before) && zeros(after) && !ceil,
            PaddingSpec::SameUpper | PaddingSpec::SameLower => false,
        };
        let fits = op.with_index_outputs.is_none()
            && spec.kernel_shape.len() == 2
            && unpadded
            && spec.strides().as_ref() == &spec.kernel_shape[..]
            && spec.dilations().iter().all(|&d| d == 1)
            && model.outlet_fact(node.inputs[0])?.datum_type == f32::datum_type();
        Ok(fits
            .then(|| WindowMaxPool { pool_spec: spec.clone(), kernel: [spec.kernel_shape[0], spec.kernel_shape[1]] }))
    }
}

impl Op for WindowMaxPool {
    fn name(&self) -> StaticName {
        "WindowMaxPool".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{}×{} windows, {:?}", self.kernel[0], self.kernel[1], self.pool_spec.data_format)])
    }

    op_as_typed_op!();
}

impl EvalOp for WindowMaxPool {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let format = self.pool_spec.data_format;
        let shape = format.shape(input.shape())?;
        let [kh, kw] = self.kernel;
        let (h, w) = (shape.hw_dims()[0], shape.hw_dims()[1]);
        let (n, c) = (*shape.n().unwrap_or(&1), *shape.c());
        let (oh, ow) = (h / kh, w / kw);
        let out_shape = format.from_n_c_hw(n, c, [oh, ow])?;
        let mut output = unsafe { Tensor::uninitialized::<f32>(&out_shape.shape)? };
        let src_view = input.try_as_plain_ram()?;
        let src = src_view.as_slice::<f32>()?;
        let mut dst_view = output.try_as_plain_ram_mut()?;
        let dst = dst_view.as_slice_mut::<f32>()?;
        if format.c_is_last() {
            // Pixels of c values: an output pixel folds its window's pixels, tap by tap.
            for b in 0..n {
                for oy in 0..oh {
                    for ox in 0..ow {
                        let out = &mut dst[((b * oh + oy) * ow + ox) * c..][..c];
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let pixel = (b * h + oy * kh + ky) * w + ox * kw + kx;
                                let tap = &src[pixel * c..][..c];
                                if ky == 0 && kx == 0 {
                                    out.copy_from_slice(tap);
                                } else {
                                    fold(out, tap);
                                }
                            }
                        }
                    }
                }
            }
        } else {
            // Planes of h×w: an output row folds kh input rows, kw neighbours at a time.
            for plane in 0..n * c {
                for oy in 0..oh {
                    let out = &mut dst[(plane * oh + oy) * ow..][..ow];
                    for ky in 0..kh {
                        let row = &src[(plane * h + oy * kh + ky) * w..][..w];
                        fold_row(out, row, kw, ky == 0);
                    }
                }
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for WindowMaxPool {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.pool_spec.output_facts(inputs)
    }

    as_op!();
}

/// tract's comparison (`acc < v ? v : acc`, taps in row-major order), so NaNs and ties resolve
/// as its generic pool does; wasm's `f32x4.pmax` is the same select.
#[inline(always)]
fn pmax(acc: f32, v: f32) -> f32 {
    if acc < v {
        v
    } else {
        acc
    }
}

/// `out[i] = pmax(out[i], tap[i])`.
fn fold(out: &mut [f32], tap: &[f32]) {
    #[allow(unused_mut)] // advanced by the SIMD loop only
    let mut i = 0;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use core::arch::wasm32::*;
        while i + 4 <= out.len() {
            // SAFETY: i + 4 <= len of both slices (tap is as long as out).
            unsafe {
                let o = out.as_mut_ptr().add(i) as *mut v128;
                v128_store(o, f32x4_pmax(v128_load(o), v128_load(tap.as_ptr().add(i) as *const v128)));
            }
            i += 4;
        }
    }
    for (o, &t) in out[i..].iter_mut().zip(&tap[i..]) {
        *o = pmax(*o, t);
    }
}

/// Folds one input row into an output row: output x takes row[x·kw .. x·kw + kw], starting the
/// fold afresh when `first`.
fn fold_row(out: &mut [f32], row: &[f32], kw: usize, first: bool) {
    let ow = out.len();
    #[allow(unused_mut)] // advanced by the SIMD loop only
    let mut x = 0;
    if kw == 1 {
        if first {
            out.copy_from_slice(&row[..ow]);
        } else {
            fold(out, &row[..ow]);
        }
        return;
    }
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    if kw == 2 {
        use core::arch::wasm32::*;
        while x + 4 <= ow {
            // SAFETY: 2·(x + 4) <= 2·ow <= row.len(), and x + 4 <= out.len().
            unsafe {
                let pair = row.as_ptr().add(2 * x) as *const v128;
                let (lo, hi) = (v128_load(pair), v128_load(pair.add(1)));
                let even = i32x4_shuffle::<0, 2, 4, 6>(lo, hi);
                let odd = i32x4_shuffle::<1, 3, 5, 7>(lo, hi);
                let o = out.as_mut_ptr().add(x) as *mut v128;
                let acc = if first { even } else { f32x4_pmax(v128_load(o), even) };
                v128_store(o, f32x4_pmax(acc, odd));
            }
            x += 4;
        }
    }
    for (ox, o) in out.iter_mut().enumerate().skip(x) {
        let window = &row[ox * kw..][..kw];
        let start = if first { window[0] } else { pmax(*o, window[0]) };
        *o = window[1..].iter().fold(start, |acc, &v| pmax(acc, v));
    }
}
