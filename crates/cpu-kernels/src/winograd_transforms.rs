//! The transforms of Winograd's minimal filtering (Lavin & Gray, "Fast Algorithms for
//! Convolutional Neural Networks", 2016) for `WinogradConv`: F(2, 3) and F(4, 3) along one axis,
//! F(2×2, 3×3) on planes. A tile's α inputs become α values `Bᵀd` (per point, summed over
//! channels against the filters' `Gg` by the products), and α products become its outputs `Aᵀm`.
//!
//! Every transform runs over a run of consecutive tiles, four at a time (`V4`, wasm SIMD), and
//! may read and write up to 3 values past the run, which the caller's buffers leave room for.
//! `transformed_filters` packs a layer's filter transforms once, at load.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;

use super::lanes::V4;
use super::offset_tile::MR;

/// Slack the callers leave after each run's buffers (a step's last lanes).
pub const SLACK: usize = 4;

/// Which transform: outputs per tile along its axes, and its points.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub enum Tile {
    /// F(2, 3): 2 outputs of a line from 4 inputs.
    F2,
    /// F(4, 3): 4 outputs from 6.
    F4,
    /// F(2×2, 3×3): a 2×2 block from a 4×4 patch.
    F2x2,
}

/// G for F(2, 3) and F(4, 3) (α × 3).
const G2: [[f64; 3]; 4] = [[1.0, 0.0, 0.0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0.0, 0.0, 1.0]];
const G4: [[f64; 3]; 6] = [
    [1.0 / 4.0, 0.0, 0.0],
    [-1.0 / 6.0, -1.0 / 6.0, -1.0 / 6.0],
    [-1.0 / 6.0, 1.0 / 6.0, -1.0 / 6.0],
    [1.0 / 24.0, 1.0 / 12.0, 1.0 / 6.0],
    [1.0 / 24.0, -1.0 / 12.0, 1.0 / 6.0],
    [0.0, 0.0, 1.0],
];

impl Tile {
    /// Outputs per tile along each of its axes (r).
    pub fn outputs(self) -> usize {
        match self {
            Tile::F2 | Tile::F2x2 => 2,
            Tile::F4 => 4,
        }
    }

    /// Inputs per tile along each axis (r + 2).
    pub fn span(self) -> usize {
        self.outputs() + 2
    }

    /// α: points per tile (products per tile and channel pair).
    pub fn points(self) -> usize {
        match self {
            Tile::F2x2 => 16,
            t => t.span(),
        }
    }

    /// `Gg` (and `G g Gᵀ` for F(2×2, 3×3)) of one filter's 3 or 9 taps (row-major), in f64,
    /// into `u`'s first α values.
    pub fn filter(self, g: &[f32], u: &mut [f32]) {
        // Without allocating: a model's load transforms every filter (ResNet-50: 1.3 million).
        fn line<const A: usize>(m: &[[f64; 3]; A], g: [f64; 3]) -> [f64; A] {
            m.map(|row| row[0] * g[0] + row[1] * g[1] + row[2] * g[2])
        }
        let at = |i: usize| g[i] as f64;
        match self {
            Tile::F2 => line(&G2, [at(0), at(1), at(2)]).iter().zip(u).for_each(|(v, u)| *u = *v as f32),
            Tile::F4 => line(&G4, [at(0), at(1), at(2)]).iter().zip(u).for_each(|(v, u)| *u = *v as f32),
            Tile::F2x2 => {
                // Rows first (Gg per row of taps), then columns: point (i, k) = 4i + k.
                let rows = [0, 1, 2].map(|r| line(&G2, [at(3 * r), at(3 * r + 1), at(3 * r + 2)]));
                for k in 0..4 {
                    for (i, v) in line(&G2, [rows[0][k], rows[1][k], rows[2][k]]).into_iter().enumerate() {
                        u[4 * i + k] = v as f32;
                    }
                }
            }
        }
    }

    /// `Bᵀd` of `run` consecutive tiles into `v[p · stride + at ..]`, point by point. Lines: `rows`
    /// holds the span's input lines, each from the run's first tile. F(2×2, 3×3): the four input
    /// rows, each split into its even columns, then from `odd` on its odd columns (tile x reads
    /// columns 2x .. 2x + 3: even x and x + 1, odd x and x + 1).
    pub fn input(self, rows: &[&[f32]], odd: usize, v: &mut [f32], stride: usize, at: usize, run: usize) {
        for x in (0..run).step_by(4) {
            let d = |j: usize| V4::at(rows[j], x);
            let mut put = |p: usize, value: V4| value.put(v, p * stride + at + x);
            match self {
                Tile::F2 => {
                    let (d0, d1, d2, d3) = (d(0), d(1), d(2), d(3));
                    put(0, d0 - d2);
                    put(1, d1 + d2);
                    put(2, d2 - d1);
                    put(3, d1 - d3);
                }
                Tile::F4 => {
                    let (d0, d1, d2, d3, d4, d5) = (d(0), d(1), d(2), d(3), d(4), d(5));
                    put(0, 4.0 * d0 - 5.0 * d2 + d4);
                    put(1, d3 + d4 - 4.0 * (d1 + d2));
                    put(2, 4.0 * (d1 - d2) + d4 - d3);
                    put(3, 2.0 * (d3 - d1) + d4 - d2);
                    put(4, 2.0 * (d1 - d3) + d4 - d2);
                    put(5, 4.0 * d1 - 5.0 * d3 + d5);
                }
                Tile::F2x2 => {
                    // Along each row (Bᵀ on the columns), then down the columns.
                    let u: [[V4; 4]; 4] = std::array::from_fn(|j| {
                        let r = rows[j];
                        let (d0, d1, d2, d3) =
                            (V4::at(r, x), V4::at(r, odd + x), V4::at(r, x + 1), V4::at(r, odd + x + 1));
                        [d0 - d2, d1 + d2, d2 - d1, d1 - d3]
                    });
                    let [u0, u1, u2, u3] = u;
                    for (k, (((u0, u1), u2), u3)) in u0.into_iter().zip(u1).zip(u2).zip(u3).enumerate() {
                        put(k, u0 - u2);
                        put(4 + k, u1 + u2);
                        put(8 + k, u2 - u1);
                        put(12 + k, u1 - u3);
                    }
                }
            }
        }
    }

    /// `bias + Aᵀm` of `run` consecutive tiles from the products `m[p · stride + at ..]` into
    /// four lines of `lines`: line i holds output i of each tile (F(2×2, 3×3): output (a, b) of
    /// each tile in line 2a + b).
    pub fn output(self, m: &[f32], stride: usize, at: usize, run: usize, bias: f32, lines: &mut [f32]) {
        let (b, len) = (V4::splat(bias), lines.len() / 4);
        for x in (0..run).step_by(4) {
            let m = |p: usize| V4::at(m, p * stride + at + x);
            let mut put = |i: usize, value: V4| value.put(lines, i * len + x);
            match self {
                Tile::F2 => {
                    let (m0, m1, m2, m3) = (m(0), m(1), m(2), m(3));
                    put(0, b + (m0 + m1 + m2));
                    put(1, b + (m1 - m2 - m3));
                }
                Tile::F4 => {
                    let (m0, m1, m2, m3, m4, m5) = (m(0), m(1), m(2), m(3), m(4), m(5));
                    let (s12, d12, s34, d34) = (m1 + m2, m1 - m2, m3 + m4, m3 - m4);
                    put(0, b + (m0 + s12 + s34));
                    put(1, b + (d12 + 2.0 * d34));
                    put(2, b + (s12 + 4.0 * s34));
                    put(3, b + (d12 + 8.0 * d34 + m5));
                }
                Tile::F2x2 => {
                    // Along each row of points (Aᵀ on k), then down (on i).
                    let t: [[V4; 2]; 4] = std::array::from_fn(|i| {
                        let (m0, m1, m2, m3) = (m(4 * i), m(4 * i + 1), m(4 * i + 2), m(4 * i + 3));
                        [m0 + m1 + m2, m1 - m2 - m3]
                    });
                    let [t0, t1, t2, t3] = t;
                    for (k, (((t0, t1), t2), t3)) in t0.into_iter().zip(t1).zip(t2).zip(t3).enumerate() {
                        put(k, b + (t0 + t1 + t2));
                        put(2 + k, b + (t1 - t2 - t3));
                    }
                }
            }
        }
    }
}

/// Each filter's transform (`Tile::filter`), packed per point for the micro-kernel: point `p`'s
/// `m × c` values as `pack_rows` lays them out, in one pass, written straight into the tensor.
/// The `MR` filters of one block of outputs and one input channel are transformed together, so
/// that each point's values go out as one run of `MR` (filter by filter, the sixteen points'
/// writes each landed on another cache line, eight times over).
pub fn transformed_filters(kernel: &Tensor, tile: Tile) -> TractResult<Arc<Tensor>> {
    let (m, c, taps) = (kernel.shape()[0], kernel.shape()[1], kernel.shape()[2] * kernel.shape()[3]);
    let g = kernel.try_as_plain_ram()?;
    let g = g.as_slice::<f32>()?;
    ensure!(g.len() >= m * c * taps, "a {m}×{c} filter bank of {taps} taps holds {} values", g.len());
    ensure!(tile != Tile::F2x2 || taps == 9, "F(2×2, 3×3) takes 3×3 filters, not {taps} taps");
    let (alpha, block) = (tile.points(), m.div_ceil(MR) * c * MR);
    // Every value is written below, the padding past `m` as zeros.
    let mut packed = unsafe { Tensor::uninitialized::<f32>(&[alpha * block])? };
    {
        let mut out = packed.try_as_plain_ram_mut()?;
        let out = out.as_slice_mut::<f32>()?;
        let mut u = [[0f32; 16]; MR];
        for first in (0..m).step_by(MR) {
            let rows = MR.min(m - first);
            if tile == Tile::F2x2 {
                for i in 0..c {
                    // Tap-major, filter r in lane r; missing filters (past `m`) stay zero.
                    let mut t = [0f32; 4 * 9];
                    for r in 0..rows {
                        for (k, &v) in g[((first + r) * c + i) * 9..][..9].iter().enumerate() {
                            t[4 * k + r] = v;
                        }
                    }
                    let at = ((first / MR) * c + i) * MR;
                    for (p, v) in filters_f2x2(&t).into_iter().enumerate() {
                        v.put(out, p * block + at);
                    }
                }
                continue;
            }
            for i in 0..c {
                for (r, u) in u[..rows].iter_mut().enumerate() {
                    tile.filter(&g[((first + r) * c + i) * taps..][..taps], u);
                }
                let at = ((first / MR) * c + i) * MR;
                for p in 0..alpha {
                    for (r, v) in out[p * block + at..][..MR].iter_mut().enumerate() {
                        *v = if r < rows { u[r][p] } else { 0.0 };
                    }
                }
            }
        }
    }
    Ok(packed.into_arc_tensor())
}

// One filter per lane of a `V4`.
const _: () = assert!(MR == 4);

/// F(2×2, 3×3)'s `G g Gᵀ` for four filters at once, in f32: `t[4k + r]` is tap k of filter r,
/// and point (i, k) comes out at index 4i + k with filter r in lane r, which is how
/// `transformed_filters` packs them. G's coefficients (0, ±½, 1) are exact in f32, so this
/// rounds only its sums; a ResNet-50 has 1.3 million filters to transform at each load (the
/// scalar f64 `Tile::filter` took 11 % of light_resnet50's).
fn filters_f2x2(t: &[f32; 36]) -> [V4; 16] {
    let line = |a: V4, b: V4, c: V4| {
        let ac = a + c;
        [a, 0.5 * (ac + b), 0.5 * (ac - b), c]
    };
    let tap = |k: usize| V4::at(t, 4 * k);
    let rows = [0, 1, 2].map(|r| line(tap(3 * r), tap(3 * r + 1), tap(3 * r + 2)));
    let mut u = [V4::splat(0.0); 16];
    for k in 0..4 {
        for (i, v) in line(rows[0][k], rows[1][k], rows[2][k]).into_iter().enumerate() {
            u[4 * i + k] = v;
        }
    }
    u
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: f32) -> Vec<f32> {
        (0..n).map(|i| ((i as f32 + seed) * 0.37).sin()).collect()
    }

    /// The packed F(2×2, 3×3) transforms (four filters a step, f32) against each filter's f64
    /// `Tile::filter`, for banks whose output count is and is not a multiple of four (the
    /// padding filters zero).
    #[test]
    fn packed_square_filters_match_each_filters_transform() {
        for (m, c) in [(4, 3), (5, 2), (7, 5), (1, 1)] {
            let g = noise(m * c * 9, 1.5);
            let kernel = Tensor::from_shape(&[m, c, 3, 3], &g).unwrap();
            let packed = transformed_filters(&kernel, Tile::F2x2).unwrap();
            let packed = packed.try_as_plain_ram().unwrap();
            let packed = packed.as_slice::<f32>().unwrap();
            let block = m.div_ceil(MR) * c * MR;
            assert_eq!(packed.len(), 16 * block);
            for o in 0..m.div_ceil(MR) * MR {
                for i in 0..c {
                    let mut want = [0f32; 16];
                    if o < m {
                        Tile::F2x2.filter(&g[(o * c + i) * 9..][..9], &mut want);
                    }
                    for (p, want) in want.iter().enumerate() {
                        let got = packed[p * block + ((o / MR) * c + i) * MR + o % MR];
                        assert!(
                            (got - want).abs() <= 1e-6,
                            "{m}×{c}, filter {o}, channel {i}, point {p}: {got} against {want}"
                        );
                    }
                }
            }
        }
    }

    /// One tile through filter, input and output transforms against the direct correlation
    /// `y[i] = Σ_k d[i + k]·g[k]` (and its 2-D form), for 1 to 8 tiles in a run.
    #[test]
    fn each_tile_computes_the_correlation_of_its_inputs() {
        for tile in [Tile::F2, Tile::F4, Tile::F2x2] {
            for run in 1..=8 {
                let (r, s, alpha) = (tile.outputs(), tile.span(), tile.points());
                let square = tile == Tile::F2x2;
                let taps = if square { 9 } else { 3 };
                let g = noise(taps, 3.0);
                let mut u = vec![0f32; alpha];
                tile.filter(&g, &mut u);
                // Inputs: `s` lines of run·r + 2 values (+ slack); for planes, `s` rows.
                let width = run * r + 2;
                let lines: Vec<Vec<f32>> = (0..s).map(|j| noise(width + 8, 10.0 * j as f32)).collect();
                let stride = run + SLACK;
                let mut v = vec![0f32; alpha * stride];
                if square {
                    // Rows split into even and odd columns, as `WinogradConv` lays them out.
                    let half = width.div_ceil(2) + SLACK;
                    let split: Vec<Vec<f32>> = lines
                        .iter()
                        .map(|l| {
                            let mut e = vec![0f32; 2 * half];
                            for (x, &val) in l[..width].iter().enumerate() {
                                e[(x % 2) * half + x / 2] = val;
                            }
                            e
                        })
                        .collect();
                    let rows: Vec<&[f32]> = split.iter().map(|l| &l[..]).collect();
                    tile.input(&rows, half, &mut v, stride, 0, run);
                } else {
                    // Line j of the span is tile x's input j at index x (tiles r apart).
                    let spans: Vec<Vec<f32>> = (0..s)
                        .map(|j| (0..run + SLACK).map(|x| lines[0].get(x * r + j).copied().unwrap_or(0.0)).collect())
                        .collect();
                    let rows: Vec<&[f32]> = spans.iter().map(|l| &l[..]).collect();
                    tile.input(&rows, 0, &mut v, stride, 0, run);
                }
                let m: Vec<f32> = (0..alpha * stride).map(|i| v[i] * u[i / stride]).collect();
                let len = run + SLACK;
                let mut out = vec![0f32; 4 * len];
                tile.output(&m, stride, 0, run, 0.5, &mut out);
                for x in 0..run {
                    let outputs = if square { 4 } else { r };
                    for i in 0..outputs {
                        let want = 0.5
                            + if square {
                                let (a, b) = (i / 2, i % 2);
                                (0..9).map(|t| lines[a + t / 3][2 * x + b + t % 3] * g[t]).sum::<f32>()
                            } else {
                                (0..3).map(|k| lines[0][x * r + i + k] * g[k]).sum::<f32>()
                            };
                        let got = out[i * len + x];
                        assert!(
                            (got - want).abs() < 2e-5,
                            "{tile:?} run {run}, tile {x}, output {i}: {got} against {want}"
                        );
                    }
                }
            }
        }
    }
}
