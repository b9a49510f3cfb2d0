//! A stride-1 convolution layer's product, `out[m][n] = Σ_k filters[m][k] · B[k][n]`, where B's
//! row k (input channel c, tap ky, kx) is a shifted zero-bordered input plane (`DirectConv`'s
//! geometry), computed by several tile shapes and ways of reading B. `setup` picks the layer;
//! each variant runs it `iters` times; `macs` is its multiply-adds per run.
#![cfg(all(target_arch = "wasm32", target_feature = "simd128"))]

use std::arch::wasm32::*;
use std::cell::RefCell;

struct Layer {
    m: usize,
    k: usize,
    /// Wide columns per output channel (a multiple of 16).
    n: usize,
    scratch: Vec<f32>,
    /// Filters `[m / 4][k][4]` (also read as `[m / 6][k][6]`: the values do not matter here).
    blocked: Vec<f32>,
    /// Filters `[m][k]`.
    rows: Vec<f32>,
    offsets: Vec<usize>,
    panel: Vec<f32>,
    out: Vec<f32>,
}

thread_local! {
    static LAYER: RefCell<Option<Layer>> = const { RefCell::new(None) };
}

/// `m` outputs from `c` planes of `h` × `w`, kernel `kh` × `kw`, padded to keep the width.
#[no_mangle]
pub extern "C" fn setup(m: usize, c: usize, h: usize, w: usize, kh: usize, kw: usize) {
    let (hp, wp) = (h + kh - 1, w + kw - 1);
    let k = c * kh * kw;
    let n = h * wp / 48 * 48;
    let offsets: Vec<usize> =
        (0..c).flat_map(|c| (0..kh).flat_map(move |ky| (0..kw).map(move |kx| (c * hp + ky) * wp + kx))).collect();
    let value = |i: usize, p: usize| (i * 7919 % p) as f32 / p as f32 - 0.5;
    let layer = Layer {
        m,
        k,
        n,
        scratch: (0..c * hp * wp + wp + 64).map(|i| value(i, 1000)).collect(),
        blocked: (0..m * k + 64).map(|i| value(i, 997)).collect(),
        rows: (0..m * k + 64).map(|i| value(i, 991)).collect(),
        offsets,
        panel: vec![0.0; k * 16],
        out: vec![0.0; m * n + 64],
    };
    LAYER.with(|l| *l.borrow_mut() = Some(layer));
}

#[no_mangle]
pub extern "C" fn macs() -> f64 {
    LAYER.with(|l| l.borrow().as_ref().map_or(0.0, |l| (l.m * l.k * l.n) as f64))
}

fn with_layer(f: impl FnOnce(&mut Layer)) -> f32 {
    LAYER.with(|l| {
        let mut l = l.borrow_mut();
        let l = l.as_mut().expect("setup first");
        f(l);
        l.out[5]
    })
}

/// How a step gets its filter values: one load per value, or one load and lane shuffles.
#[derive(Clone, Copy)]
enum Broadcast {
    Load,
    Shuffle,
}

/// A 4×8 tile: `out[r][..8] = Σ_i a[i][r] · b[off(i)..][..8]`.
#[inline(always)]
unsafe fn tile_4x8(
    a: *const f32,
    b: *const f32,
    k: usize,
    off: impl Fn(usize) -> usize,
    how: Broadcast,
    out: *mut f32,
    n: usize,
) {
    let z = f32x4_splat(0.0);
    let mut c = [z; 8];
    for i in 0..k {
        let p = b.add(off(i));
        let (lo, hi) = (v128_load(p as *const v128), v128_load(p.add(4) as *const v128));
        let s: [v128; 4] = match how {
            Broadcast::Load => {
                let a = a.add(i * 4) as *const u32;
                [
                    v128_load32_splat(a),
                    v128_load32_splat(a.add(1)),
                    v128_load32_splat(a.add(2)),
                    v128_load32_splat(a.add(3)),
                ]
            }
            Broadcast::Shuffle => {
                let v = v128_load(a.add(i * 4) as *const v128);
                [
                    i32x4_shuffle::<0, 0, 0, 0>(v, v),
                    i32x4_shuffle::<1, 1, 1, 1>(v, v),
                    i32x4_shuffle::<2, 2, 2, 2>(v, v),
                    i32x4_shuffle::<3, 3, 3, 3>(v, v),
                ]
            }
        };
        for r in 0..4 {
            c[2 * r] = f32x4_add(c[2 * r], f32x4_mul(s[r], lo));
            c[2 * r + 1] = f32x4_add(c[2 * r + 1], f32x4_mul(s[r], hi));
        }
    }
    for r in 0..4 {
        v128_store(out.add(r * n) as *mut v128, c[2 * r]);
        v128_store(out.add(r * n + 4) as *mut v128, c[2 * r + 1]);
    }
}

/// A 6×8 tile (12 accumulators), filters `[k][6]`.
#[inline(always)]
unsafe fn tile_6x8(a: *const f32, b: *const f32, k: usize, off: impl Fn(usize) -> usize, out: *mut f32, n: usize) {
    let z = f32x4_splat(0.0);
    let mut c = [[z; 2]; 6];
    for i in 0..k {
        let p = b.add(off(i));
        let (lo, hi) = (v128_load(p as *const v128), v128_load(p.add(4) as *const v128));
        let a = a.add(i * 6) as *const u32;
        for (r, c) in c.iter_mut().enumerate() {
            let s = v128_load32_splat(a.add(r));
            c[0] = f32x4_add(c[0], f32x4_mul(s, lo));
            c[1] = f32x4_add(c[1], f32x4_mul(s, hi));
        }
    }
    for (r, c) in c.iter().enumerate() {
        v128_store(out.add(r * n) as *mut v128, c[0]);
        v128_store(out.add(r * n + 4) as *mut v128, c[1]);
    }
}

/// An R×16 tile (R·4 accumulators), filter rows `[m][k]`: onnxruntime MLAS's wasm shape at R = 2.
#[inline(always)]
unsafe fn tile_rx16<const R: usize>(
    a: [*const f32; R],
    b: *const f32,
    k: usize,
    off: impl Fn(usize) -> usize,
    out: *mut f32,
    n: usize,
) {
    let z = f32x4_splat(0.0);
    let mut c = [[z; 4]; R];
    for i in 0..k {
        let p = b.add(off(i));
        let v = [0, 4, 8, 12].map(|j| v128_load(p.add(j) as *const v128));
        for r in 0..R {
            let s = v128_load32_splat(a[r].add(i) as *const u32);
            for j in 0..4 {
                c[r][j] = f32x4_add(c[r][j], f32x4_mul(s, v[j]));
            }
        }
    }
    for r in 0..R {
        for j in 0..4 {
            v128_store(out.add(r * n + 4 * j) as *mut v128, c[r][j]);
        }
    }
}

/// Copies column tile `n0`'s rows (`width` floats each) into the panel, one after another.
fn gather(l: &mut Layer, n0: usize, width: usize) {
    for (row, &off) in l.panel.chunks_exact_mut(width).zip(&l.offsets) {
        row.copy_from_slice(&l.scratch[off + n0..][..width]);
    }
}

/// 4×8 tiles, B read in place through the offsets (broadcast loads).
#[no_mangle]
pub extern "C" fn in_place_4x8(iters: u32) -> f32 {
    with_layer(|l| unsafe {
        for _ in 0..iters {
            for n0 in (0..l.n).step_by(8) {
                for blk in 0..l.m / 4 {
                    let (offs, b) = (&l.offsets, l.scratch.as_ptr().add(n0));
                    tile_4x8(
                        l.blocked.as_ptr().add(blk * l.k * 4),
                        b,
                        l.k,
                        |i| *offs.get_unchecked(i),
                        Broadcast::Load,
                        l.out.as_mut_ptr().add(blk * 4 * l.n + n0),
                        l.n,
                    );
                }
            }
        }
    })
}

fn gathered_4x8_with(iters: u32, how: Broadcast) -> f32 {
    with_layer(|l| unsafe {
        for _ in 0..iters {
            for n0 in (0..l.n).step_by(8) {
                gather(l, n0, 8);
                for blk in 0..l.m / 4 {
                    tile_4x8(
                        l.blocked.as_ptr().add(blk * l.k * 4),
                        l.panel.as_ptr(),
                        l.k,
                        |i| i * 8,
                        how,
                        l.out.as_mut_ptr().add(blk * 4 * l.n + n0),
                        l.n,
                    );
                }
            }
        }
    })
}

/// 4×8 tiles over a gathered panel, broadcast loads (what `offset_tile` does).
#[no_mangle]
pub extern "C" fn gathered_4x8(iters: u32) -> f32 {
    gathered_4x8_with(iters, Broadcast::Load)
}

/// The same with one load and four lane shuffles per step.
#[no_mangle]
pub extern "C" fn gathered_4x8_shuffles(iters: u32) -> f32 {
    gathered_4x8_with(iters, Broadcast::Shuffle)
}

/// 6×8 tiles over a gathered panel.
#[no_mangle]
pub extern "C" fn gathered_6x8(iters: u32) -> f32 {
    with_layer(|l| unsafe {
        for _ in 0..iters {
            for n0 in (0..l.n).step_by(8) {
                gather(l, n0, 8);
                for blk in 0..l.m / 6 {
                    tile_6x8(
                        l.blocked.as_ptr().add(blk * l.k * 6),
                        l.panel.as_ptr(),
                        l.k,
                        |i| i * 8,
                        l.out.as_mut_ptr().add(blk * 6 * l.n + n0),
                        l.n,
                    );
                }
            }
        }
    })
}

fn rx16<const R: usize>(iters: u32, gathered: bool) -> f32 {
    with_layer(|l| unsafe {
        for _ in 0..iters {
            for n0 in (0..l.n).step_by(16) {
                if gathered {
                    gather(l, n0, 16);
                }
                for r in (0..l.m / R * R).step_by(R) {
                    let a = std::array::from_fn(|j| l.rows.as_ptr().add((r + j) * l.k));
                    let out = l.out.as_mut_ptr().add(r * l.n + n0);
                    if gathered {
                        tile_rx16::<R>(a, l.panel.as_ptr(), l.k, |i| i * 16, out, l.n);
                    } else {
                        let (offs, b) = (&l.offsets, l.scratch.as_ptr().add(n0));
                        tile_rx16::<R>(a, b, l.k, |i| *offs.get_unchecked(i), out, l.n);
                    }
                }
            }
        }
    })
}

/// 2×16 tiles (MLAS's shape), B in place.
#[no_mangle]
pub extern "C" fn in_place_2x16(iters: u32) -> f32 {
    rx16::<2>(iters, false)
}

/// 2×16 tiles over a gathered 16-wide panel.
#[no_mangle]
pub extern "C" fn gathered_2x16(iters: u32) -> f32 {
    rx16::<2>(iters, true)
}

/// 3×16 tiles (12 accumulators), B in place.
#[no_mangle]
pub extern "C" fn in_place_3x16(iters: u32) -> f32 {
    rx16::<3>(iters, false)
}
