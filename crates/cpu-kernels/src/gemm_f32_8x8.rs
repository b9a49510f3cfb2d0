//! An f32 matrix-product kernel for wasm SIMD: 8×8 tiles, each computed as two 4×8 halves with
//! 8 accumulators.
//!
//! tract-linalg's wasm GEMM kernel is 8×8 in one pass: 16 `f32x4` accumulators plus the two A and
//! two B vectors and the broadcasts of each step, more than the 16 SIMD registers V8 allocates on
//! x86-64, so every step spills. A 4×8 pass (XNNPACK's shape for wasm SIMD) keeps all of it in
//! registers. The tile tract's driver hands over stays 8×8, though: the driver's work per tile
//! (resolving each fused op's pointers, a border tile's copy) was 11-16 % of a model's time with
//! 4×8 tiles, twice as many calls. So each tile runs its top half, then its bottom half over the
//! same B steps, in blocks of `K_BLOCK` steps so B is still in L1 for the second half.
//! Registered with tract-linalg's kernel inventory and preferred by a dispatch tier above tract's
//! own for f32 GEMM (matrix-vector products keep tract's 32×1 kernels). The fused epilogue arms
//! follow tract's `wasm_f32_8x8` (tract-linalg 0.23.9, MIT/Apache-2.0) row for row.

use std::arch::wasm32::*;
use std::sync::LazyLock;

use tract_linalg::isa::{Arch, IsaSet};
use tract_linalg::mmm::{DynKernel, FusedKerSpec, MatMatMul, Query, Suitable};
use tract_linalg::mmm_routines::MmmRoutine;
use tract_linalg::mmm_tiers::MmmTier;
use tract_linalg::pack::Packing;
use tract_linalg::Scaler;
use tract_onnx::prelude::DatumType;

const NAME: &str = "shopfloor_wasm_f32_8x8_halves";
/// Rows of a tile: two 4-row passes.
const ROWS: usize = 8;
/// k steps per pass of each half: A's and B's 8 KiB each stay in L1 for the second half.
const K_BLOCK: usize = 256;

static KERNEL: LazyLock<DynKernel<8, 8, f32>> = LazyLock::new(|| {
    let mut k = DynKernel::<8, 8, f32>::new(NAME, run, f32::packing(8).align(16), f32::packing(8).align(16));
    k.arch = Some(Arch::Wasm32Simd128);
    k
});

inventory::submit! {
    MmmRoutine { make: || -> Box<dyn MatMatMul> { KERNEL.mmm() } }
}

inventory::submit! {
    MmmTier {
        arch: Some(Arch::Wasm32Simd128),
        // Above tract's wasm tier (1): asked first, and only for what it claims.
        precedence: 2,
        name: "shopfloor-wasm-gemm",
        applies: |_| true,
        preferred,
    }
}

/// f32 products with more than one column; everything else goes to the tiers below.
fn preferred(_: &IsaSet, dt: DatumType, query: &Query, _: &[Suitable]) -> Option<&'static str> {
    (dt == DatumType::F32 && query.n != Some(1)).then_some(NAME)
}

/// Same-op-on-every-accumulator arms, as tract's `fuse.rs` macros write them.
macro_rules! each {
    ($acc:ident, $f:expr) => {{
        let f = $f;
        $acc.iter_mut().for_each(|a| *a = f(*a));
    }};
}

unsafe fn run(spec: &[FusedKerSpec<f32>]) -> isize {
    // SAFETY (whole body): tract hands the kernel pointers to tiles, rows and columns of at
    // least its MR×NR (8×8) f32 values, and packed panels of k steps of 8 (A) and 8 (B) values.
    unsafe {
        // acc[2r] holds row r's columns 0-3, acc[2r + 1] its columns 4-7.
        let mut acc = [f32x4_splat(0.0); 16];
        for op in spec {
            match *op {
                FusedKerSpec::Done => break,
                FusedKerSpec::Clear => acc = [f32x4_splat(0.0); 16],
                FusedKerSpec::LoadTile(_cols, rows) => {
                    let p = rows as *const v128;
                    for (i, a) in acc.iter_mut().enumerate() {
                        *a = v128_load(p.add(i));
                    }
                }
                FusedKerSpec::ScalarMin(s) => each!(acc, |a| f32x4_min(f32x4_splat(s), a)),
                FusedKerSpec::ScalarMax(s) => each!(acc, |a| f32x4_max(f32x4_splat(s), a)),
                FusedKerSpec::ScalarAdd(s) => each!(acc, |a| f32x4_add(f32x4_splat(s), a)),
                FusedKerSpec::ScalarMul(s) => each!(acc, |a| f32x4_mul(f32x4_splat(s), a)),
                FusedKerSpec::ScalarSub(s) => each!(acc, |a| f32x4_sub(f32x4_splat(s), a)),
                FusedKerSpec::ScalarSubF(s) => each!(acc, |a| f32x4_sub(a, f32x4_splat(s))),
                FusedKerSpec::LeakyRelu(s) => {
                    each!(acc, |a| v128_bitselect(a, f32x4_mul(f32x4_splat(s), a), f32x4_gt(a, f32x4_splat(0.0))))
                }
                FusedKerSpec::PerRowMin(row) => per_row(&mut acc, row, |v, a| f32x4_min(v, a)),
                FusedKerSpec::PerRowMax(row) => per_row(&mut acc, row, |v, a| f32x4_max(v, a)),
                FusedKerSpec::PerRowAdd(row) => per_row(&mut acc, row, |v, a| f32x4_add(v, a)),
                FusedKerSpec::PerRowMul(row) => per_row(&mut acc, row, |v, a| f32x4_mul(v, a)),
                FusedKerSpec::PerRowSub(row) => per_row(&mut acc, row, |v, a| f32x4_sub(v, a)),
                FusedKerSpec::PerRowSubF(row) => per_row(&mut acc, row, |v, a| f32x4_sub(a, v)),
                FusedKerSpec::PerColMin(cols) => per_col(&mut acc, cols, |v, a| f32x4_min(v, a)),
                FusedKerSpec::PerColMax(cols) => per_col(&mut acc, cols, |v, a| f32x4_max(v, a)),
                FusedKerSpec::PerColAdd(cols) => per_col(&mut acc, cols, |v, a| f32x4_add(v, a)),
                FusedKerSpec::PerColMul(cols) => per_col(&mut acc, cols, |v, a| f32x4_mul(v, a)),
                FusedKerSpec::PerColSub(cols) => per_col(&mut acc, cols, |v, a| f32x4_sub(v, a)),
                FusedKerSpec::PerColSubF(cols) => per_col(&mut acc, cols, |v, a| f32x4_sub(a, v)),
                FusedKerSpec::QScale(shift, rp, mult) => {
                    let s = Scaler::from_fuse_params(shift, rp, mult).scale;
                    each!(acc, |a| f32x4_mul(f32x4_splat(s), a))
                }
                FusedKerSpec::RoundingShiftRight(shift, _) => {
                    each!(acc, |a| f32x4_mul(f32x4_splat(2f32.powi(-(shift as i32))), a))
                }
                FusedKerSpec::ShiftLeft(shift) => each!(acc, |a| f32x4_mul(f32x4_splat(2f32.powi(shift as i32)), a)),
                FusedKerSpec::AddUnicast(tile) => {
                    let mut ptr: *const u8 = tile.ptr;
                    let cs = tile.col_byte_stride;
                    for r in 0..ROWS {
                        let (lo, hi) = if cs == 4 {
                            (v128_load(ptr as *const v128), v128_load(ptr.add(16) as *const v128))
                        } else {
                            let at = |c: isize| *(ptr.offset(cs * c) as *const f32);
                            (f32x4(at(0), at(1), at(2), at(3)), f32x4(at(4), at(5), at(6), at(7)))
                        };
                        acc[2 * r] = f32x4_add(acc[2 * r], lo);
                        acc[2 * r + 1] = f32x4_add(acc[2 * r + 1], hi);
                        ptr = ptr.offset(tile.row_byte_stride);
                    }
                }
                FusedKerSpec::AddRowColProducts(rows, cols) => {
                    let p = cols as *const v128;
                    let (lo, hi) = (v128_load(p), v128_load(p.add(1)));
                    for r in 0..ROWS {
                        let s = f32x4_splat(*rows.add(r));
                        acc[2 * r] = f32x4_add(acc[2 * r], f32x4_mul(s, lo));
                        acc[2 * r + 1] = f32x4_add(acc[2 * r + 1], f32x4_mul(s, hi));
                    }
                }
                FusedKerSpec::Store(tile) => store(&acc, tile.ptr, tile.row_byte_stride, tile.col_byte_stride),
                FusedKerSpec::AddMatMul { k, pa, pb, packing: _ } => {
                    // A: k steps of 8 row values (two v128: top half, bottom half); B: k steps
                    // of 8 column values (two v128).
                    let (a, b) = (pa as *const v128, pb as *const v128);
                    let mut done = 0;
                    while done < k {
                        let steps = (k - done).min(K_BLOCK);
                        let (a, b) = (a.add(2 * done), b.add(2 * done));
                        let (top, bottom) = acc.split_at_mut(8);
                        mac_4x8(top.try_into().unwrap(), a, b, steps);
                        mac_4x8(bottom.try_into().unwrap(), a.add(1), b, steps);
                        done += steps;
                    }
                }
            }
        }
        0
    }
}

/// `acc += A(4 × steps) · B(steps × 8)`: A's 4 values per step every second v128 from `a` (one
/// half of an 8-row panel), B's 8 values per step two v128 from `b`.
#[inline(always)]
unsafe fn mac_4x8(acc: &mut [v128; 8], a: *const v128, b: *const v128, steps: usize) {
    // SAFETY: the caller's panels hold `steps` steps from these pointers.
    unsafe {
        // Named locals, not the array, so the 8 accumulators stay in registers.
        let [mut c0, mut c1, mut c2, mut c3, mut c4, mut c5, mut c6, mut c7] = *acc;
        for i in 0..steps {
            // Broadcast loads rather than one load and four lane shuffles: 25 % faster in
            // Chromium on x86 (`offset_tile`'s measurement, the same 4×8 step).
            let av = a.add(2 * i) as *const u32;
            let (lo, hi) = (v128_load(b.add(2 * i)), v128_load(b.add(2 * i + 1)));
            let s = v128_load32_splat(av);
            c0 = f32x4_add(c0, f32x4_mul(s, lo));
            c1 = f32x4_add(c1, f32x4_mul(s, hi));
            let s = v128_load32_splat(av.add(1));
            c2 = f32x4_add(c2, f32x4_mul(s, lo));
            c3 = f32x4_add(c3, f32x4_mul(s, hi));
            let s = v128_load32_splat(av.add(2));
            c4 = f32x4_add(c4, f32x4_mul(s, lo));
            c5 = f32x4_add(c5, f32x4_mul(s, hi));
            let s = v128_load32_splat(av.add(3));
            c6 = f32x4_add(c6, f32x4_mul(s, lo));
            c7 = f32x4_add(c7, f32x4_mul(s, hi));
        }
        *acc = [c0, c1, c2, c3, c4, c5, c6, c7];
    }
}

/// Writes the tile at `ptr` with strides in bytes: two vector stores per row where a row's
/// columns are contiguous, four columns of 4 rows per 4×4 transpose where a column's rows are,
/// else value by value.
unsafe fn store(acc: &[v128; 2 * ROWS], ptr: *mut u8, rs: isize, cs: isize) {
    // SAFETY (whole body): tract's tile holds ROWS × 8 f32 values at these strides.
    unsafe {
        if cs == 4 {
            for r in 0..ROWS {
                let p = ptr.offset(rs * r as isize);
                v128_store(p as *mut v128, acc[2 * r]);
                v128_store(p.add(16) as *mut v128, acc[2 * r + 1]);
            }
        } else if rs == 4 {
            // Rows 4h..4h+4, columns 4j..4j+4: acc[8h + 2i + j] for row 4h + i.
            for h in 0..ROWS / 4 {
                for j in 0..2 {
                    let row = |i: usize| acc[8 * h + 2 * i + j];
                    let columns = transpose(row(0), row(1), row(2), row(3));
                    for (c, column) in columns.into_iter().enumerate() {
                        let p = ptr.offset(cs * (4 * j + c) as isize).add(16 * h);
                        v128_store(p as *mut v128, column);
                    }
                }
            }
        } else {
            for r in 0..ROWS {
                let p = ptr.offset(rs * r as isize);
                let (lo, hi) = (acc[2 * r], acc[2 * r + 1]);
                *(p as *mut f32) = f32x4_extract_lane::<0>(lo);
                *(p.offset(cs) as *mut f32) = f32x4_extract_lane::<1>(lo);
                *(p.offset(cs * 2) as *mut f32) = f32x4_extract_lane::<2>(lo);
                *(p.offset(cs * 3) as *mut f32) = f32x4_extract_lane::<3>(lo);
                *(p.offset(cs * 4) as *mut f32) = f32x4_extract_lane::<0>(hi);
                *(p.offset(cs * 5) as *mut f32) = f32x4_extract_lane::<1>(hi);
                *(p.offset(cs * 6) as *mut f32) = f32x4_extract_lane::<2>(hi);
                *(p.offset(cs * 7) as *mut f32) = f32x4_extract_lane::<3>(hi);
            }
        }
    }
}

/// The columns of the 4×4 block whose rows are `r0`..`r3`.
fn transpose(r0: v128, r1: v128, r2: v128, r3: v128) -> [v128; 4] {
    let (t0, t1) = (i32x4_shuffle::<0, 4, 1, 5>(r0, r1), i32x4_shuffle::<2, 6, 3, 7>(r0, r1));
    let (t2, t3) = (i32x4_shuffle::<0, 4, 1, 5>(r2, r3), i32x4_shuffle::<2, 6, 3, 7>(r2, r3));
    [
        i32x4_shuffle::<0, 1, 4, 5>(t0, t2),
        i32x4_shuffle::<2, 3, 6, 7>(t0, t2),
        i32x4_shuffle::<0, 1, 4, 5>(t1, t3),
        i32x4_shuffle::<2, 3, 6, 7>(t1, t3),
    ]
}

/// `acc = f(row value splat, acc)` for each of the ROWS rows.
unsafe fn per_row(acc: &mut [v128; 2 * ROWS], row: *const f32, f: impl Fn(v128, v128) -> v128) {
    for r in 0..ROWS {
        // SAFETY: tract passes MR = ROWS row values.
        let s = f32x4_splat(unsafe { *row.add(r) });
        acc[2 * r] = f(s, acc[2 * r]);
        acc[2 * r + 1] = f(s, acc[2 * r + 1]);
    }
}

/// `acc = f(column values, acc)` for each row, over the 8 columns.
unsafe fn per_col(acc: &mut [v128; 2 * ROWS], cols: *const f32, f: impl Fn(v128, v128) -> v128) {
    // SAFETY: tract passes NR = 8 column values.
    let (lo, hi) = unsafe { (v128_load(cols as *const v128), v128_load((cols as *const v128).add(1))) };
    for r in 0..ROWS {
        acc[2 * r] = f(lo, acc[2 * r]);
        acc[2 * r + 1] = f(hi, acc[2 * r + 1]);
    }
}

/// Runs the kernel on one tile of zeros a fixed number of times, so the browser moves it from
/// its baseline compiler's code to its optimising compiler's (in the background) before a
/// model's first run, instead of during it.
pub fn tier_up() {
    const K: usize = 256;
    const CALLS: usize = 160;
    let panel = vec![f32x4_splat(0.0); 2 * K];
    let mut tile = [0f32; 64];
    let out = tract_linalg::mmm::OutputStoreKer {
        ptr: tile.as_mut_ptr() as *mut u8,
        row_byte_stride: 32,
        col_byte_stride: 4,
        item_size: 4,
    };
    let pa = panel.as_ptr() as *const u8;
    let spec = [
        FusedKerSpec::Clear,
        FusedKerSpec::AddMatMul { k: K, pa, pb: pa, packing: 0 },
        FusedKerSpec::Store(out),
        FusedKerSpec::Done,
    ];
    for _ in 0..CALLS {
        // SAFETY: the panels hold K steps of 8 values each, the tile 8×8 f32 at those strides.
        unsafe { run(std::hint::black_box(&spec)) };
    }
    std::hint::black_box(&tile);
}
