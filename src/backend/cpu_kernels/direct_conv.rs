//! Stride-1 convolution of f32 NCHW planes without im2col, for what `WinogradConv` (tried first)
//! leaves: other kernel sizes (5×5, 2×4, …), and 3-tap ones over fewer than 8 channels or too
//! few outputs (openWakeWord's first layer, one channel). tract lowers a convolution to a matrix product whose B
//! side its `Patcher` writes element by element into packed panels (a quarter of the openWakeWord
//! embedding's time). At stride 1, B's row for input channel c and tap (ky, kx) is the input
//! plane itself, shifted: with each plane copied once into a zero-bordered scratch of width
//! `wp`, output (y, x) reads `scratch[c][y + ky][x + kx]`, so eight consecutive outputs of a
//! "wide" row (x up to `wp`, the columns past the output's width computed and dropped) are eight
//! consecutive floats. Each column tile gathers them through a table of one offset per
//! (c, ky, kx) into a small panel for the 4×8 micro-kernel (`offset_tile`); the filters are
//! packed once, when the op is built. The element-wise steps after the layer (`epilogue`) run on
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
    /// Scratch plane width and height (the padded input).
    wp: usize,
    hp: usize,
    /// Wide output columns computed per output channel: `oh · wp` rounded up to `NR`.
    n: usize,
}

impl DirectConv {
    /// The kernel for `node` if it is an f32 2-D convolution of one group at stride 1 without
    /// dilation, over NCHW or CHW, with constant OIHW filters of more than one tap and at most
    /// `MAX_FILTER_BYTES`, an input of at most `MAX_SCRATCH_BYTES` padded, and wide rows that
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
            && spec.strides().iter().all(|&s| s == 1)
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
        let filter_bytes = m * c * spec.kernel_shape.iter().product::<usize>() * 4;
        let scratch_bytes = g.c * g.hp * g.wp * 4;
        let fits = g.oh * g.ow > 0
            && 4 * g.wp <= 5 * g.ow
            && g.c == c
            && filter_bytes <= MAX_FILTER_BYTES
            && scratch_bytes <= MAX_SCRATCH_BYTES;
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
        // At stride 1 the padded plane holds every tap of every output exactly.
        let wp = (pads[1].pad_before + w + pads[1].pad_after).max(ow + kw - 1);
        let hp = (pads[0].pad_before + h + pads[0].pad_after).max(oh + kh - 1);
        let n = (oh * wp).div_ceil(NR) * NR;
        Ok(Geometry { c, h, w, kh, kw, pad_top: pads[0].pad_before, pad_left: pads[1].pad_before, oh, ow, wp, hp, n })
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
        let offsets: Vec<usize> = (0..g.c)
            .flat_map(|c| (0..g.kh).flat_map(move |ky| (0..g.kw).map(move |kx| (c * g.hp + ky) * g.wp + kx)))
            .collect();
        // The last tile of a plane reads up to NR − 1 columns past `oh · wp`, and its last taps
        // up to (kh − 1)·wp + kw − 1 further: zero slack after the last plane covers both.
        let mut scratch = vec![0f32; g.c * g.hp * g.wp + g.wp + NR];
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
                    line.copy_from_slice(&wide[r * g.n + y * g.wp..][..g.ow]);
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

/// Copies one image's planes into the scratch planes' interiors (borders stay zero).
fn fill(scratch: &mut [f32], planes: &[f32], g: &Geometry) {
    for (c, plane) in planes.chunks_exact(g.h * g.w).enumerate() {
        for (y, row) in plane.chunks_exact(g.w).enumerate() {
            let at = (c * g.hp + g.pad_top + y) * g.wp + g.pad_left;
            scratch[at..at + g.w].copy_from_slice(row);
        }
    }
}
