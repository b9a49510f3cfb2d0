//! 2-D f32 max pooling. Windows that tile the image (stride = kernel, no padding: BlazeFace's and
//! openWakeWord's 2×2/2 and 1×2/2) fold whole input rows, two taps per wasm SIMD shuffle; any other
//! window (overlapping, padded, ceil mode: SqueezeNet's and ResNet's 3×3/2, GoogLeNet's 3×3/1)
//! folds each input row across the window columns once (three columns at stride 1 or 2 in one
//! pass, four outputs a vector; other windows tap by tap over spans of columns), keeps it for the
//! next output row that shares it, and folds an output row's window rows, where tract's generic
//! kernel steps one value at a time (11.6 % of SqueezeNet 1.0 in wasm). An output takes its
//! window's first tap, then folds the others in tract's order (`acc < v ? v : acc`), so NaNs and
//! ties resolve as tract's generic pool does; a window of -inf is -inf (tract's answers f32::MIN,
//! ONNX -inf).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{OptMaxPool, PaddingSpec, PoolSpec};

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct WindowMaxPool {
    /// The replaced op's: its layout, padding and the output facts.
    pool_spec: PoolSpec,
    /// Window height and width.
    kernel: [usize; 2],
    strides: [usize; 2],
}

impl WindowMaxPool {
    /// The kernel for `node` if it is an f32 2-D max pool without dilation or index output.
    pub fn replacing(model: &TypedModel, node: &TypedNode) -> TractResult<Option<WindowMaxPool>> {
        let Some(op) = node.op_as::<OptMaxPool>() else { return Ok(None) };
        let spec = &op.pool_spec;
        let fits = op.with_index_outputs.is_none()
            && spec.kernel_shape.len() == 2
            && spec.dilations().iter().all(|&d| d == 1)
            && model.outlet_fact(node.inputs[0])?.datum_type == f32::datum_type();
        let strides = spec.strides();
        Ok(fits.then(|| WindowMaxPool {
            pool_spec: spec.clone(),
            kernel: [spec.kernel_shape[0], spec.kernel_shape[1]],
            strides: [strides[0], strides[1]],
        }))
    }

    /// Whether the windows tile the image: no padding, stride = kernel.
    fn tiles(&self) -> bool {
        let zeros = |v: &[usize]| v.iter().all(|&p| p == 0);
        let unpadded = match &self.pool_spec.padding {
            PaddingSpec::Valid => true,
            PaddingSpec::Explicit(before, after) => zeros(before) && zeros(after),
            // ceil_mode adds a partial window where a side is not a multiple of the kernel.
            PaddingSpec::ExplicitOnnxPool(before, after, ceil) => zeros(before) && zeros(after) && !ceil,
            PaddingSpec::SameUpper | PaddingSpec::SameLower => false,
        };
        unpadded && self.strides == self.kernel
    }
}

impl WindowMaxPool {
    /// Any window: each output row folds, for each tap of each window row in the image, the span
    /// of outputs whose windows reach a valid input column (as tract's `try_row_spans` does).
    fn eval_general(&self, input: &Tensor) -> TractResult<TVec<TValue>> {
        let format = self.pool_spec.data_format;
        let shape = format.shape(input.shape())?;
        let (h, w) = (shape.hw_dims()[0], shape.hw_dims()[1]);
        let (n, c) = (*shape.n().unwrap_or(&1), *shape.c());
        let padding = self.pool_spec.computed_padding(&[h, w]);
        let (oh, ow) = (padding[0].convoluted, padding[1].convoluted);
        let out_shape = format.from_n_c_hw(n, c, [oh, ow])?;
        let mut output = unsafe { Tensor::uninitialized::<f32>(&out_shape.shape)? };
        // Values a pixel (channels last) and the planes of h×w pixels.
        let (px, planes) = if format.c_is_last() { (c, n) } else { (1, n * c) };
        if output.len() == 0 || planes * h * w * px == 0 {
            output.try_as_plain_ram_mut()?.as_slice_mut::<f32>()?.fill(f32::MIN);
            return Ok(tvec!(output.into_tvalue()));
        }
        let rows = Rows {
            h,
            pad_top: padding[0].pad_before,
            kernel: self.kernel,
            strides: self.strides,
            px,
            spans: spans(w, ow, padding[1].pad_before, self.kernel[1], self.strides[1]),
        };
        let src_view = input.try_as_plain_ram()?;
        let src = src_view.as_slice::<f32>()?;
        let mut dst_view = output.try_as_plain_ram_mut()?;
        let dst = dst_view.as_slice_mut::<f32>()?;
        let (row, image) = (ow * px, h * w * px);
        let work = dst.len() * self.kernel[0] * self.kernel[1];
        tract_linalg::multithread::par_chunks_mut(dst, row, work, |first, chunk| {
            let mut folded = Folded::default();
            for (i, out) in chunk.chunks_exact_mut(row).enumerate() {
                let (plane, oy) = ((first + i) / oh, (first + i) % oh);
                rows.pool(out, &src[plane * image..][..image], plane, oy, &mut folded);
            }
            Ok(())
        })?;
        Ok(tvec!(output.into_tvalue()))
    }
}

/// For each window column that reaches the image (in order), the outputs `lo..hi` it reaches and
/// the input column it reads for output `lo`. From one column to the next, `lo` and `hi` move
/// left by one output at most, so the spans leave no gap.
fn spans(w: usize, ow: usize, pad_left: usize, kw: usize, sw: usize) -> Vec<(usize, usize, usize)> {
    (0..kw)
        .filter_map(|kx| {
            let offset = kx as isize - pad_left as isize;
            let last = w as isize - 1 - offset;
            if last < 0 {
                return None;
            }
            let lo = if offset >= 0 { 0 } else { (-offset as usize).div_ceil(sw) };
            let hi = (last as usize / sw + 1).min(ow);
            (lo < hi).then(|| (lo, hi, ((lo * sw) as isize + offset) as usize))
        })
        .collect()
}

/// What pooling one output row needs.
struct Rows {
    h: usize,
    pad_top: usize,
    kernel: [usize; 2],
    strides: [usize; 2],
    px: usize,
    spans: Vec<(usize, usize, usize)>,
}

/// The latest input rows folded across their window columns (`Rows::fold_row`), by plane and
/// row: a window taller than its stride shares rows with the next output row (3×3/2: one of
/// three), which is then folded once.
#[derive(Default)]
struct Folded(Vec<(usize, usize, Vec<f32>)>);

impl Rows {
    /// Output row `oy` of one plane: the folds of its window rows, in order. The first valid tap
    /// of a window in row-major order is the first valid tap of its first valid row, and a fold
    /// keeps the earlier of equal values and a NaN only when it comes first, so folding rows and
    /// then columns answers as folding taps one by one in row-major order does.
    fn pool(&self, out: &mut [f32], image: &[f32], plane: usize, oy: usize, folded: &mut Folded) {
        let row = image.len() / self.h;
        let valid = (0..self.kernel[0])
            .filter_map(|ky| (oy * self.strides[0] + ky).checked_sub(self.pad_top))
            .filter(|&iy| iy < self.h);
        let mut first = true;
        for iy in valid {
            let at = match folded.0.iter().position(|&(p, y, _)| (p, y) == (plane, iy)) {
                Some(at) => at,
                None => {
                    // Keep at most a window's rows: reuse the oldest one's buffer.
                    let mut buffer = if folded.0.len() >= self.kernel[0] { folded.0.remove(0).2 } else { Vec::new() };
                    buffer.resize(out.len(), 0.0);
                    self.fold_row(&mut buffer, &image[iy * row..][..row]);
                    folded.0.push((plane, iy, buffer));
                    folded.0.len() - 1
                }
            };
            let taps = &folded.0[at].2;
            if first {
                out.copy_from_slice(taps);
            } else {
                fold(out, taps);
            }
            first = false;
        }
        // Outputs no tap reaches (a window wholly in the padding) are tract's f32::MIN.
        if first {
            out.fill(f32::MIN);
        }
    }

    /// One input row folded across each output's window columns, in order (f32::MIN where no
    /// column is in the image).
    fn fold_row(&self, out: &mut [f32], input: &[f32]) {
        let px = self.px;
        let (Some(&(_, right, _)), Some(left)) = (self.spans.first(), self.spans.iter().map(|s| s.0).min()) else {
            out.fill(f32::MIN);
            return;
        };
        out[..left * px].fill(f32::MIN);
        out[right * px..].fill(f32::MIN);
        if px == 1 && self.spans.len() == 3 && self.kernel[1] == 3 && matches!(self.strides[1], 1 | 2) {
            return self.fold_three(out, input, left, right);
        }
        // An output takes the first tap that reaches it: the spans only move left, so what a
        // span reaches left of all those before it is new.
        let mut covered = right;
        for &(lo, hi, start) in &self.spans {
            let taps = &input[start * px..];
            let split = covered.clamp(lo, hi);
            take(&mut out[lo * px..split * px], taps, self.strides[1], px, true);
            if split < hi {
                let rest = &taps[(split - lo) * self.strides[1] * px..];
                take(&mut out[split * px..hi * px], rest, self.strides[1], px, false);
            }
            covered = covered.min(lo);
        }
    }

    /// `fold_row` for three-column windows at stride 1 or 2 over planes (SqueezeNet's, ResNet's
    /// and GoogLeNet's 3×3 pools): where all three columns are in the image, the three taps of
    /// four outputs at once; at the edges, the taps that are, in order.
    fn fold_three(&self, out: &mut [f32], input: &[f32], left: usize, right: usize) {
        let sw = self.strides[1];
        // Output x reads columns x·sw − pad + 0, 1, 2 (`spans`: start − lo·sw is the same offset).
        let (lo0, _, start0) = self.spans[0];
        let offset = start0 as isize - (lo0 * sw) as isize;
        let inner_lo = self.spans.iter().map(|s| s.0).max().unwrap_or(left);
        let inner_hi = self.spans.iter().map(|s| s.1).min().unwrap_or(right).max(inner_lo);
        let edge = |out: &mut [f32], x: usize| {
            let mut acc = None;
            for &(lo, hi, start) in &self.spans {
                if (lo..hi).contains(&x) {
                    let v = input[start + (x - lo) * sw];
                    acc = Some(acc.map_or(v, |a| pmax(a, v)));
                }
            }
            out[x] = acc.unwrap_or(f32::MIN);
        };
        for x in (left..inner_lo).chain(inner_hi..right) {
            edge(out, x);
        }
        #[allow(unused_mut)] // advanced by the SIMD loop only
        let mut x = inner_lo;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            use core::arch::wasm32::*;
            // Reads up to column base + 9 (stride 2) or base + 5 (stride 1), past the last tap.
            let reach = if sw == 2 { 10 } else { 6 };
            while x + 4 <= inner_hi && (x * sw) as isize + offset + reach <= input.len() as isize {
                let base = ((x * sw) as isize + offset) as usize;
                // SAFETY: base + reach <= input.len() (checked), x + 4 <= out.len().
                unsafe {
                    let p = input.as_ptr().add(base);
                    let (a, b, c) = if sw == 2 {
                        let (v0, v1) = (v128_load(p as *const v128), v128_load(p.add(4) as *const v128));
                        let (u0, u1) = (v128_load(p.add(2) as *const v128), v128_load(p.add(6) as *const v128));
                        (
                            i32x4_shuffle::<0, 2, 4, 6>(v0, v1),
                            i32x4_shuffle::<1, 3, 5, 7>(v0, v1),
                            i32x4_shuffle::<0, 2, 4, 6>(u0, u1),
                        )
                    } else {
                        (
                            v128_load(p as *const v128),
                            v128_load(p.add(1) as *const v128),
                            v128_load(p.add(2) as *const v128),
                        )
                    };
                    v128_store(out.as_mut_ptr().add(x) as *mut v128, f32x4_pmax(f32x4_pmax(a, b), c));
                }
                x += 4;
            }
        }
        for (x, o) in out.iter_mut().enumerate().take(inner_hi).skip(x) {
            let base = ((x * sw) as isize + offset) as usize;
            *o = pmax(pmax(input[base], input[base + 1]), input[base + 2]);
        }
    }
}

/// Output pixel i takes input pixel i·stride of `taps` (`px` values each): as its first tap
/// (`fresh`), or folded in.
fn take(out: &mut [f32], taps: &[f32], stride: usize, px: usize, fresh: bool) {
    if out.is_empty() {
        return;
    }
    if stride == 1 {
        let taps = &taps[..out.len()];
        if fresh {
            out.copy_from_slice(taps);
        } else {
            fold(out, taps);
        }
    } else if px > 1 {
        for (pixel, tap) in out.chunks_exact_mut(px).zip(taps.chunks(stride * px)) {
            if fresh {
                pixel.copy_from_slice(&tap[..px]);
            } else {
                fold(pixel, &tap[..px]);
            }
        }
    } else {
        #[allow(unused_mut)] // advanced by the SIMD loop only
        let mut x = 0;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        if stride == 2 {
            use core::arch::wasm32::*;
            while x + 4 <= out.len() && 2 * x + 8 <= taps.len() {
                // SAFETY: 2·x + 8 <= taps.len(), and x + 4 <= out.len().
                unsafe {
                    let pair = taps.as_ptr().add(2 * x) as *const v128;
                    let even = i32x4_shuffle::<0, 2, 4, 6>(v128_load(pair), v128_load(pair.add(1)));
                    let o = out.as_mut_ptr().add(x) as *mut v128;
                    v128_store(o, if fresh { even } else { f32x4_pmax(v128_load(o), even) });
                }
                x += 4;
            }
        }
        for (o, &t) in out[x..].iter_mut().zip(taps[x * stride..].iter().step_by(stride)) {
            *o = if fresh { t } else { pmax(*o, t) };
        }
    }
}

impl Op for WindowMaxPool {
    fn name(&self) -> StaticName {
        "WindowMaxPool".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let [(kh, kw), (sh, sw)] = [(self.kernel[0], self.kernel[1]), (self.strides[0], self.strides[1])];
        Ok(vec![format!("{kh}×{kw} windows, strides {sh}×{sw}, {:?}", self.pool_spec.data_format)])
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
        if !self.tiles() {
            return self.eval_general(&input);
        }
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
