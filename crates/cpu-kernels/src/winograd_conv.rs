//! Stride-1 convolutions with 3-tap kernels by Winograd's minimal filtering
//! (`winograd_transforms`): 3×1 and 1×3 layers (19 of the openWakeWord embedding's 20) by F(4, 3),
//! or F(2, 3) on lines of two outputs, and 3×3 layers (over half of PP-OCRv4 det's and a third of
//! ResNet-50's multiply-adds) by F(2×2, 3×3). A tile's α transform points become α independent
//! matrix products, `[outputs × channels] · [channels × tiles]`, run with the 4×8 micro-kernel
//! of `offset_tile`: F(4, 3) does half a direct convolution's multiply-adds, F(2×2, 3×3) 4/9,
//! for the price of transforming the input and the output once, a few adds per value.
//!
//! The input is copied once into a zero-bordered scratch laid out so that consecutive tiles read
//! consecutive floats: lines `[c][a][b]` with the taps' axis `a` slow (a 1×3 layer's planes
//! transposed on the way), planes `[c][y][even x | odd x]`. Tiles are numbered row by row (`major`
//! rows of `minor` tiles) and go in chunks whose transformed input and products stay in cache.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::epilogue::Epilogue;
use super::offset_tile::{gather, padded_bias, tile, MR, NR};
use super::winograd_transforms::{transformed_filters, Tile, SLACK};

/// One point's transformed filters, at most (ResNet-50's 512-channel layers, 1 MiB, measured
/// faster than tract's im2col; larger ones were not measured).
const MAX_POINT_FILTER_BYTES: usize = 1 << 20;
/// Fewer input channels than this leave too few multiply-adds per transformed value to pay for
/// the products' round trip through memory (openWakeWord's first layer, one channel, ran slower).
const MIN_CHANNELS: usize = 8;
/// A chunk's transformed input and products together (kept well inside a core's L2).
const CHUNK_BYTES: usize = 256 << 10;
/// Past this, one point's filters no longer stay in cache beside a chunk: chunks then hold at
/// least `MIN_CHUNK_TILES` tiles (or all), so the filters are read once per that many tiles.
const SMALL_POINT_FILTER_BYTES: usize = 64 << 10;
const MIN_CHUNK_TILES: usize = 64;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct WinogradConv {
    /// The replaced convolution's: padding, layout (NCHW or CHW), kernel size.
    pool_spec: PoolSpec,
    /// Output channels.
    m: usize,
    tile: Tile,
    /// Lines only: the three taps run along the width (1×3) rather than the height (3×1).
    along_width: bool,
    /// Transformed filters, per point packed as `offset_tile::pack`: `[α][m / MR rounded up][c][MR]`.
    packed: Arc<Tensor>,
    /// One bias per output channel, zero past the last (`m` rounded up to `MR`).
    bias: Arc<Tensor>,
    /// The element-wise nodes after it, folded in (`with_epilogue`).
    epilogue: Epilogue,
}

/// One image's extents and its tiles.
#[derive(Clone, Copy, Debug)]
struct Geometry {
    c: usize,
    h: usize,
    w: usize,
    oh: usize,
    ow: usize,
    pad_top: usize,
    pad_left: usize,
    /// Tiles: `major` rows of `minor` (lines: along the taps × across; planes: rows × columns).
    major: usize,
    minor: usize,
    /// Scratch rows per channel and their length (planes: even columns, then odd from `half`).
    rows: usize,
    row_len: usize,
    half: usize,
}

/// The tile for `outputs` along a line or, for planes, `outputs × across`, if it does at most 3/4
/// of a direct convolution's multiply-adds (a line of one output gains nothing).
fn choose(square: bool, outputs: usize, across: usize) -> Option<Tile> {
    let direct = if square { 9 * outputs * across } else { 3 * outputs };
    let cost = |t: Tile| {
        let r = t.outputs();
        t.points() * outputs.div_ceil(r) * if square { across.div_ceil(r) } else { 1 }
    };
    let best = match square {
        true => Tile::F2x2,
        false if cost(Tile::F4) <= cost(Tile::F2) => Tile::F4,
        false => Tile::F2,
    };
    (outputs > 0 && across > 0 && 4 * cost(best) <= 3 * direct).then_some(best)
}

impl WinogradConv {
    /// The kernel for `node` if it is an f32 2-D convolution of one group at stride 1 without
    /// dilation, over NCHW or CHW, with constant 3×1, 1×3 or 3×3 OIHW filters over at least
    /// `MIN_CHANNELS` inputs whose transform per point is at most `MAX_POINT_FILTER_BYTES`, no
    /// padding across a line's taps, and enough outputs to gain (`choose`).
    pub fn replacing(model: &TypedModel, node: &TypedNode) -> TractResult<Option<WinogradConv>> {
        let Some(conv) = node.op_as::<Conv>() else { return Ok(None) };
        let spec = &conv.pool_spec;
        let input = model.outlet_fact(node.inputs[0])?;
        let (Some(kernel), Some(bias)) = (
            model.outlet_fact(node.inputs[1])?.konst.clone(),
            node.inputs.get(2).map(|&b| model.outlet_fact(b)).transpose()?.and_then(|f| f.konst.clone()),
        ) else {
            return Ok(None);
        };
        let (m, c) = (conv.output_channels(), conv.input_channels());
        let k = spec.kernel_shape.as_slice();
        let (square, along_width) = (k == [3, 3], k == [1, 3]);
        let fits = conv.q_params.is_none()
            && node.inputs.len() == 3
            && matches!(spec.data_format, DataFormat::NCHW | DataFormat::CHW)
            && conv.kernel_fmt == KernelFormat::OIHW
            && (square || along_width || k == [3, 1])
            && conv.group == 1
            && spec.dilations().iter().all(|&d| d == 1)
            && spec.strides().iter().all(|&s| s == 1)
            && input.datum_type == f32::datum_type()
            && kernel.datum_type() == f32::datum_type()
            && bias.datum_type() == f32::datum_type()
            && kernel.shape() == [m, c, k[0], k[1]].as_slice()
            && (bias.len() == 1 || bias.len() == m)
            && c >= MIN_CHANNELS
            && m * c * 4 <= MAX_POINT_FILTER_BYTES;
        let Some(shape) = input.shape.as_concrete().filter(|_| fits) else { return Ok(None) };
        let image = spec.data_format.shape(shape)?;
        let (h, w) = (image.hw_dims()[0], image.hw_dims()[1]);
        if *image.c() != c {
            return Ok(None);
        }
        let pads = spec.computed_padding(&[h, w]);
        let (oh, ow) = (pads[0].convoluted, pads[1].convoluted);
        let tile = if square {
            choose(true, oh, ow)
        } else {
            // A one-tap axis with padding would add bias-only borders: tract's.
            let (a, b) = if along_width { (1, 0) } else { (0, 1) };
            let unpadded = pads[b].pad_before == 0 && pads[b].pad_after == 0;
            choose(false, pads[a].convoluted, pads[b].convoluted).filter(|_| unpadded)
        };
        let Some(tile) = tile else { return Ok(None) };
        Ok(Some(WinogradConv {
            pool_spec: spec.clone(),
            m,
            tile,
            along_width,
            packed: transformed_filters(&kernel, tile)?,
            bias: padded_bias(&bias, m)?,
            epilogue: Epilogue::default(),
        }))
    }

    /// The same convolution with `epilogue` applied to its output (its nodes then go).
    pub fn with_epilogue(self, epilogue: Epilogue) -> WinogradConv {
        WinogradConv { epilogue, ..self }
    }

    fn geometry(&self, input: &[usize]) -> TractResult<Geometry> {
        let shape = self.pool_spec.data_format.shape(input)?;
        let (c, h, w) = (*shape.c(), shape.hw_dims()[0], shape.hw_dims()[1]);
        let pads = self.pool_spec.computed_padding(&[h, w]);
        let (oh, ow) = (pads[0].convoluted, pads[1].convoluted);
        let (pad_top, pad_left) = (pads[0].pad_before, pads[1].pad_before);
        let r = self.tile.outputs();
        let g = Geometry { c, h, w, oh, ow, pad_top, pad_left, major: 0, minor: 0, rows: 0, row_len: 0, half: 0 };
        Ok(match (self.tile, self.along_width) {
            (Tile::F2x2, _) => {
                let (major, minor) = (oh.div_ceil(2), ow.div_ceil(2));
                Geometry { major, minor, rows: 2 * major + 2, row_len: 2 * minor + 2, half: minor + 1, ..g }
            }
            (_, false) => Geometry { major: oh.div_ceil(r), minor: ow, rows: oh.div_ceil(r) * r + 2, row_len: w, ..g },
            (_, true) => Geometry { major: ow.div_ceil(r), minor: oh, rows: ow.div_ceil(r) * r + 2, row_len: h, ..g },
        })
    }

    /// Copies one image's planes into the scratch (borders stay zero).
    fn fill(&self, scratch: &mut [f32], planes: &[f32], g: &Geometry) {
        for (c, plane) in planes.chunks_exact(g.h * g.w).enumerate() {
            let s = &mut scratch[c * g.rows * g.row_len..][..g.rows * g.row_len];
            for (y, row) in plane.chunks_exact(g.w).enumerate() {
                match (self.tile, self.along_width) {
                    (Tile::F2x2, _) => {
                        let line = &mut s[(g.pad_top + y) * g.row_len..][..g.row_len];
                        for (x, &v) in row.iter().enumerate() {
                            let px = g.pad_left + x;
                            line[(px % 2) * g.half + px / 2] = v;
                        }
                    }
                    (_, false) => s[(g.pad_top + y) * g.row_len..][..g.w].copy_from_slice(row),
                    (_, true) => {
                        for (x, &v) in row.iter().enumerate() {
                            s[(g.pad_left + x) * g.row_len + y] = v;
                        }
                    }
                }
            }
        }
    }

    /// Writes output line `i` of tiles `minor0 ..` of tile row `major` (see `Tile::output`) into
    /// one output plane, dropping what falls past its edges.
    fn put_line(&self, plane: &mut [f32], g: &Geometry, i: usize, major: usize, minor0: usize, line: &[f32]) {
        let r = self.tile.outputs();
        match (self.tile, self.along_width) {
            (Tile::F2x2, _) => {
                let (y, b) = (2 * major + i / 2, i % 2);
                if y < g.oh {
                    let row = &mut plane[y * g.ow..][..g.ow];
                    for (x, &v) in line.iter().enumerate() {
                        if let Some(o) = row.get_mut(2 * (minor0 + x) + b) {
                            *o = v;
                        }
                    }
                }
            }
            (_, false) if major * r + i < g.oh => {
                plane[(major * r + i) * g.ow + minor0..][..line.len()].copy_from_slice(line);
            }
            (_, true) if major * r + i < g.ow => {
                for (x, &v) in line.iter().enumerate() {
                    plane[(minor0 + x) * g.ow + major * r + i] = v;
                }
            }
            _ => {}
        }
    }
}

impl Op for WinogradConv {
    fn name(&self) -> StaticName {
        "WinogradConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let k = &self.pool_spec.kernel_shape;
        Ok(vec![format!(
            "{}×{}, {} outputs, {:?}, {:?}, then {:?}",
            k[0], k[1], self.m, self.tile, self.pool_spec.padding, self.epilogue
        )])
    }

    op_as_typed_op!();
}

impl EvalOp for WinogradConv {
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

        let total = g.major * g.minor;
        let tc = self.chunk_tiles(&g);
        // Each chunk's outputs, `[m][4 lines][tc]`, staged and then put in place: chunks go to
        // tract's pool (threaded build), and a chunk's outputs are spread over every plane.
        let staged_len = self.m * 4 * tc;
        let mut staged = vec![0f32; total.div_ceil(tc) * staged_len];
        let mut scratch = vec![0f32; g.c * g.rows * g.row_len + 2 * SLACK];
        let plane_out = g.oh * g.ow;
        let outputs = if self.tile == Tile::F2x2 { 4 } else { self.tile.outputs() };
        let macs = total * self.tile.points() * g.c * self.m;
        for (image, out) in dst.chunks_exact_mut(self.m * plane_out).enumerate() {
            self.fill(&mut scratch, &src[image * g.c * g.h * g.w..][..g.c * g.h * g.w], &g);
            tract_linalg::multithread::par_chunks_mut(&mut staged, staged_len, macs, |first, part| {
                let mut buffers = Buffers::new(self, &g, tc);
                for (k, staged) in part.chunks_exact_mut(staged_len).enumerate() {
                    let t0 = (first + k) * tc;
                    self.chunk(&g, &scratch, (packed, bias), t0..total.min(t0 + tc), &mut buffers, staged);
                }
                Ok(())
            })?;
            for (k, staged) in staged.chunks_exact(staged_len).enumerate() {
                let t0 = k * tc;
                for (o, plane) in out.chunks_exact_mut(plane_out).enumerate() {
                    for (major, minor0, at, run) in runs(t0, (total - t0).min(tc), g.minor) {
                        for i in 0..outputs {
                            self.put_line(plane, &g, i, major, minor0, &staged[(o * 4 + i) * tc + at..][..run]);
                        }
                    }
                }
            }
            for plane in out.chunks_exact_mut(plane_out) {
                self.epilogue.apply(plane);
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

/// One chunk's working space (one per pool task).
struct Buffers {
    /// Transformed input `[α][c][tc + SLACK]`, and each point's column panels.
    v: Vec<f32>,
    panels: Vec<f32>,
    /// Products `[α][m rounded up to MR][tc]`.
    products: Vec<f32>,
    /// One run's output lines.
    lines: Vec<f32>,
}

impl Buffers {
    fn new(op: &WinogradConv, g: &Geometry, tc: usize) -> Buffers {
        let (alpha, mp) = (op.tile.points(), op.m.div_ceil(MR) * MR);
        Buffers {
            v: vec![0f32; alpha * g.c * (tc + SLACK)],
            panels: vec![0f32; g.c * tc],
            products: vec![0f32; alpha * mp * tc + SLACK],
            lines: vec![0f32; 4 * (g.minor + SLACK)],
        }
    }
}

impl WinogradConv {
    /// Tiles per chunk: a multiple of `NR` whose transformed input and products fit
    /// `CHUNK_BYTES`, but at least `MIN_CHUNK_TILES` for large filters.
    fn chunk_tiles(&self, g: &Geometry) -> usize {
        let (alpha, mp) = (self.tile.points(), self.m.div_ceil(MR) * MR);
        let fits = CHUNK_BYTES / (alpha * (g.c + mp) * 4) / NR * NR;
        // Large filters: enough tiles to amortise reading every point's filters once per chunk.
        let least = if mp * g.c * 4 > SMALL_POINT_FILTER_BYTES { MIN_CHUNK_TILES } else { NR };
        fits.max(least).min((g.major * g.minor).div_ceil(NR) * NR)
    }

    /// One chunk of tiles: input transform, the α products, output transform into `staged`
    /// (`[m][4 lines][tc]`). Never inlined into `eval`'s loop, which runs once per layer: called
    /// per chunk, the browser optimises it within a cold page's first layer.
    #[inline(never)]
    fn chunk(
        &self,
        g: &Geometry,
        scratch: &[f32],
        (packed, bias): (&[f32], &[f32]),
        tiles: std::ops::Range<usize>,
        b: &mut Buffers,
        staged: &mut [f32],
    ) {
        let (t0, n) = (tiles.start, tiles.len());
        let (mp, c) = (self.m.div_ceil(MR) * MR, g.c);
        let tc = staged.len() / (self.m * 4);
        let tcs = tc + SLACK;
        let step = if self.tile == Tile::F2x2 { 2 } else { self.tile.outputs() };
        let odd = if self.tile == Tile::F2x2 { g.half } else { 0 };
        for ch in 0..c {
            for (major, minor0, at, run) in runs(t0, n, g.minor) {
                let first = ch * g.rows * g.row_len + major * step * g.row_len + minor0;
                // At most 6 input lines (F(4, 3)); no allocation per channel and run.
                let span = self.tile.span();
                let rows: [&[f32]; 6] = std::array::from_fn(|j| &scratch[first + j.min(span - 1) * g.row_len..]);
                self.tile.input(&rows[..span], odd, &mut b.v, c * tcs, ch * tcs + at, run);
            }
        }
        let offsets: Vec<usize> = (0..c).map(|c| c * tcs).collect();
        for (p, (vp, mp_out)) in b.v.chunks_exact(c * tcs).zip(b.products.chunks_exact_mut(mp * tc)).enumerate() {
            for (n0, panel) in (0..n).step_by(NR).zip(b.panels.chunks_exact_mut(c * NR)) {
                gather(&vp[n0..], &offsets, panel);
            }
            // Block by block: one block's filters stay in L1 while the chunk's panels pass.
            let u = &packed[p * mp * c..][..mp * c];
            for (block, wide) in mp_out.chunks_exact_mut(MR * tc).enumerate() {
                for (n0, panel) in (0..n).step_by(NR).zip(b.panels.chunks_exact(c * NR)) {
                    tile(&u[block * c * MR..][..c * MR], panel, &[0.0; MR], wide, tc, n0);
                }
            }
        }
        let len = b.lines.len() / 4;
        for (o, staged) in staged.chunks_exact_mut(4 * tc).enumerate() {
            for (_, _, at, run) in runs(t0, n, g.minor) {
                self.tile.output(&b.products, mp * tc, o * tc + at, run, bias[o], &mut b.lines);
                for (line, dst) in b.lines.chunks_exact(len).zip(staged.chunks_exact_mut(tc)) {
                    dst[at..at + run].copy_from_slice(&line[..run]);
                }
            }
        }
    }
}

impl TypedOp for WinogradConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        self.pool_spec.output_facts(inputs)
    }

    as_op!();
}

/// Tiles `t0 .. t0 + n` as runs along a row of tiles: (major, first minor, offset in the chunk,
/// length).
fn runs(t0: usize, n: usize, minor: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    let mut t = t0;
    std::iter::from_fn(move || {
        (t < t0 + n).then(|| {
            let (major, minor0) = (t / minor, t % minor);
            let run = (minor - minor0).min(t0 + n - t);
            t += run;
            (major, minor0, t - run - t0, run)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::{choose, Tile};

    #[test]
    fn outputs_too_few_to_gain_stay_direct() {
        assert_eq!(choose(false, 1, 9), None);
        assert_eq!(choose(false, 2, 9), Some(Tile::F2));
        assert_eq!(choose(false, 4, 9), Some(Tile::F4));
        assert_eq!(choose(false, 30, 1), Some(Tile::F4));
        assert_eq!(choose(true, 1, 40), None, "a row of 1: 16 points for 2 outputs against 18");
        assert_eq!(choose(true, 2, 2), Some(Tile::F2x2));
        assert_eq!(choose(true, 160, 160), Some(Tile::F2x2));
    }
}
