//! Convolution of f32 NCHW planes without im2col, for what `WinogradConv` (tried first) leaves:
//! other kernel sizes (5×5, 2×4, …), 3-tap ones over fewer than 8 channels or too few outputs
//! (openWakeWord's first layer, one channel), and strided ones (a network's first layer, 3 → 24
//! channels at stride 2 in BlazeFace). tract lowers a convolution to a matrix product whose B
//! side its `Patcher` writes element by element into packed panels (a quarter of the openWakeWord
//! embedding's time). B's row for input channel c and tap (ky, kx) is the input plane itself,
//! shifted: with each plane copied once into a zero-bordered scratch, output (y, x) reads padded
//! row `sy·y + ky`, column `sx·x + kx`. The scratch splits each padded plane by the remainders of
//! row and column by the strides into `sy·sx` sub-planes of width `wq` (one, the plane itself, at
//! stride 1), so that tap (ky, kx) reads sub-plane `(ky % sy, kx % sx)` at `(y + ky / sy,
//! x + kx / sx)`: eight consecutive outputs of a "wide" row (x up to `wq`, the columns past the
//! output's width computed and dropped) are eight consecutive floats. Each column tile gathers
//! them through a table of one offset per (c, ky, kx) into a small panel for the 4×8
//! micro-kernel (`offset_tile`); the filters are packed once, when the op is built. The element-wise steps after the layer (`epilogue`) run on
//! each output row as it is written.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::PoolSpec;

use super::conv_filters::{constant_filters, ConstantFilters};
use super::epilogue::Epilogue;
use super::offset_tile::{gather, pack, padded_bias, tile, MR, NR};
/// Every tile reads all the filters: past this (half a typical L2), tract's own lowering, which
/// keeps one block's filters in cache while the im2col panels stream, measured faster (ResNet-50's
/// 3×3 layers, 147 KiB and up; openWakeWord's, at most 108 KiB, gain).
const MAX_FILTER_BYTES: usize = 128 << 10;
/// A tile reads its taps from every channel's plane, one cache line per row of the product: past
/// this, those reads leave the cache and tract's sequential im2col panels measured faster
/// (PP-OCRv4 det's 3×3 layers over 96 planes of 40² and up, 677 KiB and up; openWakeWord's, at
/// most 236 KiB, gain).
const MAX_SCRATCH_BYTES: usize = 256 << 10;
/// A tile that reads at most this many rows of the product (a first layer's 3 channels × 3×3
/// taps) streams through a larger scratch, the next tile reading the same cache lines, up to
/// `FEW_ROWS_MAX_SCRATCH_BYTES` (EfficientNet-Lite0's 224² input, 607 KiB): the wide rows of the
/// product, as large as the output, are held whole, and a larger first layer's (PP-OCRv4 det's at
/// 640², 13 MB) would raise a page's wasm memory for good, for no measured gain.
const FEW_ROWS: usize = 32;
const FEW_ROWS_MAX_SCRATCH_BYTES: usize = 1 << 20;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct DirectConv {
    /// The replaced convolution's: padding, layout (NCHW or CHW), kernel size.
    pool_spec: PoolSpec,
    /// Output channels.
    m: usize,
    /// Filters packed per block of `MR` output channels: `[m / MR rounded up][c·kh·kw][MR]`, zero
    /// past the last channel.
    packed: Arc<Tensor>,
    /// One bias per output channel, zero past the last (`m` rounded up to `MR`).
    bias: Arc<Tensor>,
    /// The element-wise nodes after it, folded in (`with_epilogue`).
    epilogue: Epilogue,
}

/// Where one image's planes and taps land.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    c: usize,
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    pad_top: usize,
    pad_left: usize,
    oh: usize,
    ow: usize,
    sy: usize,
    sx: usize,
    /// One sub-plane's height and width: the padded input's, divided by the strides, rounded up.
    hq: usize,
    wq: usize,
    /// Wide output columns computed per output channel: `oh · wq` rounded up to `NR`.
    n: usize,
}

impl Geometry {
    /// Where padded row `py`, column `px` of channel `c` lands in the scratch.
    fn at(&self, c: usize, py: usize, px: usize) -> usize {
        (((c * self.sy + py % self.sy) * self.sx + px % self.sx) * self.hq + py / self.sy) * self.wq + px / self.sx
    }

    fn scratch_len(&self) -> usize {
        self.c * self.sy * self.sx * self.hq * self.wq
    }
}

impl DirectConv {
    /// The kernel for `node` if it is an f32 2-D convolution of one group without dilation, over
    /// NCHW or CHW, with constant OIHW filters of more than one tap and at most
    /// `MAX_FILTER_BYTES`, an input of at most `MAX_SCRATCH_BYTES` padded (`FEW_ROWS_MAX_SCRATCH_BYTES`
    /// for at most `FEW_ROWS` rows of the product), and wide rows that
    /// waste at most a quarter more columns than the output has.
    pub fn replacing(model: &TypedModel, node: &TypedNode) -> TractResult<Option<DirectConv>> {
        let Some(ConstantFilters { conv, kernel, bias }) = constant_filters(model, node)? else { return Ok(None) };
        let spec = &conv.pool_spec;
        let input = model.outlet_fact(node.inputs[0])?;
        let (m, c) = (conv.output_channels(), conv.input_channels());
        let fits = spec.kernel_shape.len() == 2
            && spec.kernel_shape.iter().product::<usize>() > 1
            && conv.group == 1
            && spec.dilations().iter().all(|&d| d == 1)
            && kernel.shape() == [m, c, spec.kernel_shape[0], spec.kernel_shape[1]].as_slice()
            && (bias.len() == 1 || bias.len() == m);
        let Some(shape) = input.shape.as_concrete().filter(|_| fits) else { return Ok(None) };
        let op = DirectConv {
            pool_spec: spec.clone(),
            m,
            packed: pack(&kernel)?,
            bias: padded_bias(&bias, m)?,
            epilogue: Epilogue::default(),
        };
        let g = op.geometry(shape)?;
        // Past a quarter of waste (narrow padded rows: 4 wide for 2 outputs), tract's im2col wins;
        // so it does where what every tile reads outgrows the cache.
        // Rows of the product: one per (channel, tap).
        let rows = c * spec.kernel_shape.iter().product::<usize>();
        let scratch_bytes = g.scratch_len() * 4;
        let fits = g.oh * g.ow > 0
            && 4 * g.wq <= 5 * g.ow
            && g.c == c
            && m * rows * 4 <= MAX_FILTER_BYTES
            && (scratch_bytes <= MAX_SCRATCH_BYTES
                || (rows <= FEW_ROWS && scratch_bytes <= FEW_ROWS_MAX_SCRATCH_BYTES));
        Ok(fits.then_some(op))
    }

    /// The same convolution with `epilogue` applied to its output (its nodes then go).
    pub fn with_epilogue(self, epilogue: Epilogue) -> DirectConv {
        DirectConv { epilogue, ..self }
    }

    fn geometry(&self, input: &[usize]) -> TractResult<Geometry> {
        let shape = self.pool_spec.data_format.shape(input)?;
        let (c, h, w) = (*shape.c(), shape.hw_dims()[0], shape.hw_dims()[1]);
        let [kh, kw] = [self.pool_spec.kernel_shape[0], self.pool_spec.kernel_shape[1]];
        let pads = self.pool_spec.computed_padding(&[h, w]);
        let (oh, ow) = (pads[0].convoluted, pads[1].convoluted);
        let strides = self.pool_spec.strides();
        let (sy, sx) = (strides[0], strides[1]);
        // The padded plane holds every tap of every output (a stride's last columns may need
        // fewer than the padding gives, or more where the padding leaves them out).
        let hp = (pads[0].pad_before + h + pads[0].pad_after).max(oh.saturating_sub(1) * sy + kh);
        let wp = (pads[1].pad_before + w + pads[1].pad_after).max(ow.saturating_sub(1) * sx + kw);
        // Then `hq ≥ oh + (kh − 1) / sy` and `wq ≥ ow + (kw − 1) / sx`: every tap of an output
        // inside the output's extent is inside its sub-plane.
        let (hq, wq) = (hp.div_ceil(sy), wp.div_ceil(sx));
        let n = (oh * wq).div_ceil(NR) * NR;
        let (pad_top, pad_left) = (pads[0].pad_before, pads[1].pad_before);
        Ok(Geometry { c, h, w, kh, kw, pad_top, pad_left, oh, ow, sy, sx, hq, wq, n })
    }
}

impl Op for DirectConv {
    fn name(&self) -> StaticName {
        "DirectConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let k = &self.pool_spec.kernel_shape;
        Ok(vec![format!(
            "{}×{}, {} outputs, {:?}, then {:?}",
            k[0], k[1], self.m, self.pool_spec.padding, self.epilogue
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for DirectConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = args_1!(inputs);
        let g = self.geometry(input.shape())?;
        let shape = self.pool_spec.data_format.shape(input.shape())?;
        let images = *shape.n().unwrap_or(&1);
        let out_shape = self.pool_spec.data_format.from_n_c_hw(images, self.m, [g.oh, g.ow])?;
        let mut output = unsafe { Tensor::uninitialized::<f32>(&out_shape.shape)? };
        let src = input.try_as_plain_ram()?;
        let src = src.as_slice::<f32>()?;
        let (packed, bias) = (self.packed.try_as_plain_ram()?, self.bias.try_as_plain_ram()?);
        let (packed, bias) = (packed.as_slice::<f32>()?, bias.as_slice::<f32>()?);
        let mut dst = output.try_as_plain_ram_mut()?;
        let dst = dst.as_slice_mut::<f32>()?;
        let k = g.c * g.kh * g.kw;
        // Every tap's offset in the scratch: B's row for (c, ky, kx).
        let offsets: Vec<usize> =
            (0..g.c).flat_map(|c| (0..g.kh).flat_map(move |ky| (0..g.kw).map(move |kx| g.at(c, ky, kx)))).collect();
        // The last tile of a sub-plane reads up to NR − 1 columns past `oh · wq`, and its last
        // taps up to ((kh − 1) / sy)·wq + (kw − 1) / sx further, which `hq ≥ oh + (kh − 1) / sy`
        // leaves at most (kw − 1) / sx + NR − 1 past the sub-plane's end: into the next one (wide
        // columns that are dropped), or into zero slack after the last.
        let mut scratch = vec![0f32; g.scratch_len() + g.wq + NR];
        let (plane_in, plane_out) = (g.h * g.w, g.oh * g.ow);
        // Blocks `first ..` of MR output channels (fewer in the last), into their rows of the
        // output. Tile by tile, every block: one tile's B columns stay in cache while the blocks'
        // filters stream past.
        let blocks = |first: usize, rows: &mut [f32], scratch: &[f32]| {
            let count = rows.len().div_ceil(MR * plane_out);
            let mut wide = vec![0f32; count * MR * g.n];
            let mut panel = vec![0f32; k * NR];
            for n0 in (0..g.n).step_by(NR) {
                gather(&scratch[n0..], &offsets, &mut panel);
                for (j, wide) in wide.chunks_exact_mut(MR * g.n).enumerate() {
                    let block = first + j;
                    tile(&packed[block * k * MR..][..k * MR], &panel, &bias[block * MR..][..MR], wide, g.n, n0);
                }
            }
            // Each row keeps its first `ow` wide columns, then takes the epilogue while in cache.
            for (r, row) in rows.chunks_mut(plane_out).enumerate() {
                for (y, line) in row.chunks_mut(g.ow).enumerate() {
                    line.copy_from_slice(&wide[r * g.n + y * g.wq..][..g.ow]);
                }
                self.epilogue.apply(row);
            }
        };
        let full = self.m / MR * MR * plane_out;
        for (image, out) in dst.chunks_mut(self.m * plane_out).enumerate() {
            fill(&mut scratch, &src[image * g.c * plane_in..][..g.c * plane_in], &g);
            let (head, tail) = out.split_at_mut(full);
            // Whole blocks split over the pool's threads.
            tract_linalg::multithread::par_chunks_mut(head, MR * plane_out, head.len() * k, |first, chunk| {
                blocks(first, chunk, &scratch);
                Ok(())
            })?;
            if !tail.is_empty() {
                blocks(self.m / MR, tail, &scratch);
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for DirectConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.pool_spec.output_facts(inputs)
    }

    as_op!();
}

/// Copies one image's planes into the scratch's sub-planes (borders stay zero).
fn fill(scratch: &mut [f32], planes: &[f32], g: &Geometry) {
    for (c, plane) in planes.chunks_exact(g.h * g.w).enumerate() {
        for (y, row) in plane.chunks_exact(g.w).enumerate() {
            let py = g.pad_top + y;
            if g.sx == 1 {
                let at = g.at(c, py, g.pad_left);
                scratch[at..at + g.w].copy_from_slice(row);
                continue;
            }
            // Column x goes to the sub-plane of (pad_left + x) % sx: every sx-th value of the
            // row from its first that lands there, side by side.
            for first in 0..g.sx.min(g.w) {
                let at = g.at(c, py, g.pad_left + first);
                for (dst, &v) in scratch[at..].iter_mut().zip(row[first..].iter().step_by(g.sx)) {
                    *dst = v;
                }
            }
        }
    }
}
