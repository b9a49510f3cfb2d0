pub mod by_scalar;
pub mod erf;
pub mod exp;
pub mod gelu;
pub mod hardswish;
pub mod leaky_relu;
pub mod ln;
pub mod lut;
pub mod mmm;
pub mod reduce;
pub mod rms_norm;
pub mod rounding;
pub mod sigmoid;
pub mod silu;
pub mod tanh;
pub mod unicast;

pub use self::rounding::{ScaleShiftAndRound, Scaler};

/// `p(x) / q(x) (+ offset)` over `x` clamped to `clamp`, four lanes at a time: the f32
/// sigmoid's and tanh's rational fits ([`sigmoid::ssigmoid`], [`tanh::stanh`]) with the same
/// operations in the same order, so the same bits. At opt-level 3 LLVM vectorises their scalar
/// loops itself; shopfloor builds this crate for size, where it does not (PATCHED.md).
/// `x.len()` is a multiple of 4.
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
#[inline(always)]
pub(crate) fn rational_f32x4(
    x: &mut [f32],
    clamp: (f32, f32),
    alpha: [f32; 7],
    beta: [f32; 4],
    offset: Option<f32>,
) {
    use std::arch::wasm32::*;
    debug_assert!(x.len() % 4 == 0);
    let (lo, hi) = (f32x4_splat(clamp.0), f32x4_splat(clamp.1));
    let a = alpha.map(|c| f32x4_splat(c));
    let b = beta.map(|c| f32x4_splat(c));
    for chunk in x.chunks_exact_mut(4) {
        let ptr = chunk.as_mut_ptr() as *mut v128;
        // SAFETY: a chunk is 16 bytes; wasm's v128 loads and stores take any alignment.
        let v = unsafe { v128_load(ptr) };
        // `f32::clamp`: pmax/pmin keep a NaN as it is, as the scalar comparisons do.
        let x = f32x4_pmin(f32x4_pmax(v, lo), hi);
        let x2 = f32x4_mul(x, x);
        // Written out: a build for size does not unroll loops.
        let p = f32x4_add(f32x4_mul(x2, a[0]), a[1]);
        let p = f32x4_add(f32x4_mul(x2, p), a[2]);
        let p = f32x4_add(f32x4_mul(x2, p), a[3]);
        let p = f32x4_add(f32x4_mul(x2, p), a[4]);
        let p = f32x4_add(f32x4_mul(x2, p), a[5]);
        let p = f32x4_add(f32x4_mul(x2, p), a[6]);
        let p = f32x4_mul(p, x);
        let q = f32x4_add(f32x4_mul(x2, b[0]), b[1]);
        let q = f32x4_add(f32x4_mul(x2, q), b[2]);
        let q = f32x4_add(f32x4_mul(x2, q), b[3]);
        let mut r = f32x4_div(p, q);
        if let Some(offset) = offset {
            r = f32x4_add(r, f32x4_splat(offset));
        }
        // SAFETY: as the load.
        unsafe { v128_store(ptr, r) };
    }
}
