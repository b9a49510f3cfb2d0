//! The micro-kernel of the convolutions that read their B side from the input itself
//! (`DirectConv`, `PointwiseConv`): B's k-th row for a column tile is `NR` floats at
//! `b[offsets[k]..]` (a tap of a zero-bordered plane, or an input plane itself). `gather` copies
//! a tile's rows into one `[k][NR]` panel and `tile` multiplies it by `MR` filters packed `[k][MR]`.
//! The copy pays for itself: in Chromium the tile over a gathered panel ran 6-21 % faster, the copy
//! included, than the same tile reading the rows in place (openWakeWord's 24- and 72-channel
//! layers; one sequential stream, no loads split across cache lines). 4×8 keeps its 8
//! accumulators, the two B vectors and a broadcast in registers under V8's 16 on x86-64 (6×8 and
//! 8×8 spill and measured slower).

use std::sync::Arc;

use tract_onnx::prelude::*;

/// Output rows (channels) and columns of one tile.
pub const MR: usize = 4;
pub const NR: usize = 8;

/// Filters `[m][k…]` (OIHW, or OI) → `[m / MR rounded up][k][MR]`, zero past the last output.
pub fn pack(kernel: &Tensor) -> TractResult<Arc<Tensor>> {
    pack_as(kernel, kernel.shape()[0], kernel.shape()[1..].iter().product::<usize>())
}

/// `pack` for a tensor whose data, whatever its shape, is `m` rows of `k` floats: no reshaped copy.
pub fn pack_as(kernel: &Tensor, m: usize, k: usize) -> TractResult<Arc<Tensor>> {
    let src = kernel.try_as_plain_ram()?;
    let packed = pack_rows(src.as_slice::<f32>()?, m, k);
    Ok(Arc::new(tract_ndarray::Array1::from_vec(packed).into_tensor()))
}

/// `pack` for `m` rows of `k` floats.
pub fn pack_rows(src: &[f32], m: usize, k: usize) -> Vec<f32> {
    let mut packed = vec![0f32; m.div_ceil(MR) * k * MR];
    for (o, row) in src.chunks_exact(k).take(m).enumerate() {
        for (i, &v) in row.iter().enumerate() {
            packed[((o / MR) * k + i) * MR + o % MR] = v;
        }
    }
    packed
}

/// One bias per output (`bias` holds one or `m`), zero past the last (`m` rounded up to `MR`).
pub fn padded_bias(bias: &Tensor, m: usize) -> TractResult<Arc<Tensor>> {
    let b = bias.try_as_plain_ram()?;
    let b = b.as_slice::<f32>()?;
    let v: Vec<f32> = (0..m.div_ceil(MR) * MR)
        .map(|o| {
            if o >= m {
                0.0
            } else if b.len() == 1 {
                b[0]
            } else {
                b[o]
            }
        })
        .collect();
    Ok(Arc::new(tract_ndarray::Array1::from_vec(v).into_tensor()))
}

/// `panel[i][..NR] = b[offsets[i]..][..NR]`: one column tile's B rows, one after another.
/// Never inlined, as `tile`.
#[inline(never)]
pub fn gather(b: &[f32], offsets: &[usize], panel: &mut [f32]) {
    for (row, &off) in panel.chunks_exact_mut(NR).zip(offsets) {
        row.copy_from_slice(&b[off..off + NR]);
    }
}

/// `wide[r][n0 .. n0 + NR] = bias[r] + Σ_k a[k][r] · panel[k][..NR]` for the MR rows of one
/// block, sums in k order. Never inlined: the ops call their loops once per layer, and a call
/// that starts in the browser's baseline code ends there, so inlined into them this ran a cold
/// page's first layers in baseline code; called per tile, it is optimised within a layer's
/// first calls (docs/performance-log.md, "First inference: where it goes").
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(never)]
pub fn tile(a: &[f32], panel: &[f32], bias: &[f32], wide: &mut [f32], n: usize, n0: usize) {
    use std::arch::wasm32::*;
    let k = a.len() / MR;
    assert!(k > 0 && a.len() == k * MR && bias.len() == MR && panel.len() >= k * NR);
    assert!(wide.len() >= (MR - 1) * n + n0 + NR);
    // SAFETY: the asserts above bound every load (a: MR per tap; panel: NR per tap) and every store
    // (MR rows of NR at n0).
    unsafe {
        let (pa, pb) = (a.as_ptr(), panel.as_ptr());
        let [mut c0, mut c1, mut c2, mut c3, mut c4, mut c5, mut c6, mut c7] = [
            f32x4_splat(bias[0]),
            f32x4_splat(bias[0]),
            f32x4_splat(bias[1]),
            f32x4_splat(bias[1]),
            f32x4_splat(bias[2]),
            f32x4_splat(bias[2]),
            f32x4_splat(bias[3]),
            f32x4_splat(bias[3]),
        ];
        for i in 0..k {
            // Broadcast loads: over a gathered panel they measured 25 % faster than one load and
            // four lane shuffles (V8 on x86 with AVX: `vbroadcastss`, a load-port op, against the
            // shuffle port).
            let a = pa.add(i * MR) as *const u32;
            let p = pb.add(i * NR);
            let (lo, hi) = (v128_load(p as *const v128), v128_load(p.add(4) as *const v128));
            let s = v128_load32_splat(a);
            c0 = f32x4_add(c0, f32x4_mul(s, lo));
            c1 = f32x4_add(c1, f32x4_mul(s, hi));
            let s = v128_load32_splat(a.add(1));
            c2 = f32x4_add(c2, f32x4_mul(s, lo));
            c3 = f32x4_add(c3, f32x4_mul(s, hi));
            let s = v128_load32_splat(a.add(2));
            c4 = f32x4_add(c4, f32x4_mul(s, lo));
            c5 = f32x4_add(c5, f32x4_mul(s, hi));
            let s = v128_load32_splat(a.add(3));
            c6 = f32x4_add(c6, f32x4_mul(s, lo));
            c7 = f32x4_add(c7, f32x4_mul(s, hi));
        }
        let out = wide.as_mut_ptr().add(n0);
        for (r, (lo, hi)) in [(c0, c1), (c2, c3), (c4, c5), (c6, c7)].into_iter().enumerate() {
            v128_store(out.add(r * n) as *mut v128, lo);
            v128_store(out.add(r * n + 4) as *mut v128, hi);
        }
    }
}

/// The same tile in plain arithmetic (native builds, where tract's own kernels run instead, and
/// the property tests).
#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
pub fn tile(a: &[f32], panel: &[f32], bias: &[f32], wide: &mut [f32], n: usize, n0: usize) {
    let mut acc = [[0f32; NR]; MR];
    for (r, row) in acc.iter_mut().enumerate() {
        row.fill(bias[r]);
    }
    for (i, col) in panel.chunks_exact(NR).take(a.len() / MR).enumerate() {
        for (r, row) in acc.iter_mut().enumerate() {
            let w = a[i * MR + r];
            for (o, v) in row.iter_mut().zip(col) {
                *o += w * v;
            }
        }
    }
    for (r, row) in acc.iter().enumerate() {
        wide[r * n + n0..][..NR].copy_from_slice(row);
    }
}

/// Runs `gather` and `tile` on zeros a fixed number of times, so the browser optimises them (in
/// the background) before a model's first run instead of during its first layers: see
/// `gemm_f32_8x8::tier_up`, which this follows.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
pub fn tier_up() {
    const K: usize = 256;
    const CALLS: usize = 320;
    let a = vec![0f32; K * MR];
    let b = vec![0f32; K + NR];
    let offsets: Vec<usize> = (0..K).collect();
    let mut panel = vec![0f32; K * NR];
    let mut wide = [0f32; MR * NR];
    for _ in 0..CALLS {
        gather(std::hint::black_box(&b), &offsets, &mut panel);
        tile(std::hint::black_box(&a), &panel, &[0.0; MR], &mut wide, NR, 0);
    }
    std::hint::black_box(&wide);
}
