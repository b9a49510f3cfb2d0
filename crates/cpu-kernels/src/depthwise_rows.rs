//! `DepthwiseConv`'s loops, one per layout. Channels first (BlazeFace's planes): each plane is
//! copied once into a zero-bordered scratch plane, so every output row is one branch-free loop,
//! 16 outputs at a time in wasm SIMD and the row's rest in one block, stride 2 de-interleaved
//! with one shuffle. Channels last (the layout tract moves EfficientNet-Lite0's and PP-OCR's
//! graphs to in wasm, for its own depthwise kernel): four neighbouring outputs at a time, four
//! channels a vector, so one tap's weights and each input column serve several outputs (tract's
//! kernel loads both for every product); outputs whose taps reach into the padding take a
//! per-output loop that skips them. Taps are summed in row-major order after the bias in every
//! path.

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
use std::arch::wasm32::*;

use super::lanes::V4;

/// Where one image's taps land: the input's and the output's sides, and (channels first) the
/// scratch plane's.
#[derive(Clone, Copy, Debug)]
pub struct Geometry {
    pub h: usize,
    pub w: usize,
    pub kh: usize,
    pub kw: usize,
    pub sh: usize,
    pub sw: usize,
    pub pad_top: usize,
    pub pad_left: usize,
    pub oh: usize,
    pub ow: usize,
    /// Scratch plane width and height: the padded input, plus room for the last vector's reads.
    pub wp: usize,
    pub hp: usize,
}

impl Geometry {
    /// The taps of output row `oy` that land inside the input: `ky` in the range returned.
    fn tap_rows(&self, oy: usize) -> std::ops::Range<usize> {
        let top = oy * self.sh;
        let lo = self.pad_top.saturating_sub(top);
        let hi = self.kh.min((self.h + self.pad_top).saturating_sub(top));
        lo..hi.max(lo)
    }
}

/// Copies one input plane into the scratch plane's interior.
pub fn fill(scratch: &mut [f32], plane: &[f32], g: &Geometry) {
    for (y, row) in plane.chunks_exact(g.w).enumerate() {
        let at = (g.pad_top + y) * g.wp + g.pad_left;
        scratch[at..at + g.w].copy_from_slice(row);
    }
}

/// One output plane from a scratch plane: `out[y][x] = bias + Σ taps[ky][kx] ·
/// scratch[y·sh + ky][x·sw + kx]`.
pub fn convolve(scratch: &[f32], out: &mut [f32], taps: &[f32], bias: f32, g: &Geometry) {
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

/// The outputs of a row with wasm SIMD for strides 1 and 2; returns how many it wrote (all, or
/// none at other strides, which are scalar).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn simd_row(top: &[f32], row: &mut [f32], taps: &[f32], bias: f32, g: &Geometry) -> usize {
    if !(1..=2).contains(&g.sw) {
        return 0;
    }
    // Every load stays inside `top`: the kh rows it reads are within the scratch plane (`hp`
    // covers the last output row's taps), and a vector whose first output is at most the row's
    // last, `ow − 1`, reads columns up to (ow − 1)·sw + kw − 1 + 4·sw − 1 < wp (a stride-2 vector
    // loads eight inputs; `wp` has 8 spare columns past the last tap).
    assert!(top.len() >= g.kh * g.wp && (row.len().max(1) - 1) * g.sw + g.kw + 4 * g.sw <= g.wp);
    assert_eq!(taps.len(), g.kh * g.kw);
    if g.sw == 1 {
        strided::<1>(top, row, taps, bias, g)
    } else {
        strided::<2>(top, row, taps, bias, g)
    }
}

/// A row at stride `S`: 16 outputs at a time (four independent sums in flight: one sum's 9 or 25
/// dependent adds would leave the adder waiting on its latency), then the rest, up to 15, in one
/// block through a scratch row. Rows of 7 and 14 outputs (ShuffleNet's, MobileNet's) used to leave
/// 3 and 2 outputs of every row to the scalar loop.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn strided<const S: usize>(top: &[f32], row: &mut [f32], taps: &[f32], bias: f32, g: &Geometry) -> usize {
    let mut x = 0;
    // SAFETY: `x + 16 <= row.len()` for each full block; the reads are as `simd_row` checks.
    unsafe {
        while x + 16 <= row.len() {
            block::<4, S>(top, row.as_mut_ptr().add(x), taps, bias, g, x);
            x += 16;
        }
    }
    let rest = row.len() - x;
    if rest > 0 {
        let mut scratch = [0f32; 16];
        // SAFETY: `scratch` holds the block's 4·V outputs; its first vector starts at output x and
        // its last at x + 4·(V − 1) < row.len(), whose reads `simd_row` checks.
        unsafe {
            let out = scratch.as_mut_ptr();
            match rest.div_ceil(4) {
                1 => block::<1, S>(top, out, taps, bias, g, x),
                2 => block::<2, S>(top, out, taps, bias, g, x),
                3 => block::<3, S>(top, out, taps, bias, g, x),
                _ => block::<4, S>(top, out, taps, bias, g, x),
            }
        }
        row[x..].copy_from_slice(&scratch[..rest]);
    }
    row.len()
}

/// Outputs `x .. x + 4·V` of a row at stride `S`, into `out`.
///
/// # Safety
/// `out` holds 4·V floats; output `x + 4·(V − 1)` is inside the row, so the reads `simd_row`
/// checks stay inside `top`.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
unsafe fn block<const V: usize, const S: usize>(
    top: &[f32],
    out: *mut f32,
    taps: &[f32],
    bias: f32,
    g: &Geometry,
    x: usize,
) {
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
            v128_store(out.add(v * 4) as *mut v128, *a);
        }
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn simd_row(_: &[f32], _: &mut [f32], _: &[f32], _: f32, _: &Geometry) -> usize {
    0
}

/// Channels-last input rows, copied into a ring of `kh` zero-bordered rows (each input row once
/// per chunk of output rows), so that every output's taps read inside a row and every vector of
/// four channels is whole (`cp`, channels rounded up to 4, zero past the last).
pub struct Ring {
    rows: Vec<f32>,
    /// Which input row (image, row) each slot holds.
    held: Vec<Option<(usize, usize)>>,
    /// Floats per slot: `wpad · cp`.
    len: usize,
    cp: usize,
}

impl Ring {
    pub fn new(c: usize, g: &Geometry) -> Ring {
        let cp = c.next_multiple_of(4);
        let wpad = (g.pad_left + g.w).max(g.ow.saturating_sub(1) * g.sw + g.kw);
        let len = wpad * cp;
        Ring { rows: vec![0.0; g.kh * len], held: vec![None; g.kh], len, cp }
    }

    /// Input row `iy` of image `at` (`image`, `[h][w][c]`), in its slot.
    fn row(&mut self, image: &[f32], at: usize, iy: usize, c: usize, g: &Geometry) -> *const f32 {
        let slot = iy % g.kh;
        let row = &mut self.rows[slot * self.len..][..self.len];
        if self.held[slot] != Some((at, iy)) {
            let src = &image[iy * g.w * c..][..g.w * c];
            if c == self.cp {
                row[g.pad_left * c..][..g.w * c].copy_from_slice(src);
            } else {
                for (x, pixel) in src.chunks_exact(c).enumerate() {
                    row[(g.pad_left + x) * self.cp..][..c].copy_from_slice(pixel);
                }
            }
            self.held[slot] = Some((at, iy));
        }
        row.as_ptr()
    }
}

/// Output row `oy` of image `at` (`image`), channels last: `out` is `[ow][c]`, `taps`
/// `[kh·kw][cp]`, `bias` at least `cp` long; `wide` holds a row of `[ow][cp]` when `c` is no
/// multiple of 4.
#[allow(clippy::too_many_arguments)]
pub fn channels_last_row(
    ring: &mut Ring,
    image: &[f32],
    at: usize,
    oy: usize,
    out: &mut [f32],
    wide: &mut Vec<f32>,
    taps: &[f32],
    bias: &[f32],
    c: usize,
    g: &Geometry,
) {
    let cp = ring.cp;
    assert!(taps.len() >= g.kh * g.kw * cp && bias.len() >= cp && out.len() == g.ow * c);
    let lines: Vec<(usize, *const f32)> =
        g.tap_rows(oy).map(|ky| (ky, ring.row(image, at, oy * g.sh + ky - g.pad_top, c, g))).collect();
    let dst = if c == cp {
        out.as_mut_ptr()
    } else {
        wide.resize(g.ow * cp, 0.0);
        wide.as_mut_ptr()
    };
    let whole = g.ow / 4 * 4;
    // SAFETY: each line is a ring slot of `wpad · cp` floats, and an output `x` reads columns
    // `x·sw .. x·sw + kw` of it, below `wpad` (`Ring::new`), `cp` floats each; taps and bias are
    // checked above; `dst` holds `ow · cp` floats.
    unsafe {
        let (taps, bias) = (taps.as_ptr(), bias.as_ptr());
        match (g.sw, g.kw) {
            (1, 3) => rest::<1, 3, 6, 3>(&lines, dst, taps, bias, cp, whole, g.ow),
            (1, 5) => rest::<1, 5, 8, 5>(&lines, dst, taps, bias, cp, whole, g.ow),
            (2, 3) => rest::<2, 3, 9, 3>(&lines, dst, taps, bias, cp, whole, g.ow),
            (2, 5) => rest::<2, 5, 11, 5>(&lines, dst, taps, bias, cp, whole, g.ow),
            _ => {
                for x in 0..g.ow {
                    let mut ch = 0;
                    while ch < cp {
                        let mut acc = V4::load(bias.add(ch));
                        for &(ky, line) in &lines {
                            for kx in 0..g.kw {
                                let w = V4::load(taps.add((ky * g.kw + kx) * cp + ch));
                                acc = acc + V4::load(line.add((x * g.sw + kx) * cp + ch)) * w;
                            }
                        }
                        acc.store(dst.add(x * cp + ch));
                        ch += 4;
                    }
                }
            }
        }
    }
    if c != cp {
        for (o, w) in out.chunks_exact_mut(c).zip(wide.chunks_exact(cp)) {
            o.copy_from_slice(&w[..c]);
        }
    }
}

/// Outputs `0..whole` four at a time, then `whole..ow` one at a time, at stride `S` with `KW`
/// taps a row (`SPAN4` and `SPAN1` input columns: what four and one output read).
///
/// # Safety
/// As `channels_last_row` checks.
#[allow(clippy::too_many_arguments)]
#[inline(never)]
unsafe fn rest<const S: usize, const KW: usize, const SPAN4: usize, const SPAN1: usize>(
    lines: &[(usize, *const f32)],
    dst: *mut f32,
    taps: *const f32,
    bias: *const f32,
    cp: usize,
    whole: usize,
    ow: usize,
) {
    unsafe {
        for x in (0..whole).step_by(4) {
            pixels::<S, KW, 4, SPAN4>(lines, dst, taps, bias, cp, x);
        }
        for x in whole..ow {
            pixels::<S, KW, 1, SPAN1>(lines, dst, taps, bias, cp, x);
        }
    }
}

/// Outputs `x .. x + P` of a row: each tap row's `SPAN` input columns loaded once and each tap's
/// weights once, for `P·KW` products.
///
/// # Safety
/// As `channels_last_row` checks.
#[inline(always)]
unsafe fn pixels<const S: usize, const KW: usize, const P: usize, const SPAN: usize>(
    lines: &[(usize, *const f32)],
    dst: *mut f32,
    taps: *const f32,
    bias: *const f32,
    cp: usize,
    x: usize,
) {
    unsafe {
        let mut ch = 0;
        while ch < cp {
            let mut acc = [V4::load(bias.add(ch)); P];
            for &(ky, line) in lines {
                let base = line.add(x * S * cp + ch);
                let cols: [V4; SPAN] = std::array::from_fn(|j| V4::load(base.add(j * cp)));
                for kx in 0..KW {
                    let w = V4::load(taps.add((ky * KW + kx) * cp + ch));
                    for (p, a) in acc.iter_mut().enumerate() {
                        *a = *a + cols[p * S + kx] * w;
                    }
                }
            }
            for (p, a) in acc.iter().enumerate() {
                a.store(dst.add((x + p) * cp + ch));
            }
            ch += 4;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn geometry(h: usize, w: usize, k: usize, s: usize, pad: usize) -> Geometry {
        let (oh, ow) = ((h + 2 * pad - k) / s + 1, (w + 2 * pad - k) / s + 1);
        Geometry { h, w, kh: k, kw: k, sh: s, sw: s, pad_top: pad, pad_left: pad, oh, ow, wp: 0, hp: 0 }
    }

    #[test]
    fn tap_rows_stay_inside_the_input() {
        let g = geometry(7, 9, 3, 2, 1);
        assert_eq!((g.oh, g.ow), (4, 5));
        assert_eq!(g.tap_rows(0), 1..3);
        assert_eq!(g.tap_rows(3), 0..2);
        let narrow = geometry(2, 2, 5, 1, 2);
        assert_eq!(narrow.tap_rows(0), 2..4);
    }
}
