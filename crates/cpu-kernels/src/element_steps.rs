//! One element-wise step by a constant over a slice: what `Epilogue` and `ChannelChain` run. Each
//! kind has its own loop (the kind is matched once per slice, not per vector, which the compiler
//! does not do for us at this many kinds), with wasm SIMD where the build has it. Each step
//! computes what tract's scalar kernels compute, NaN included.

/// What a step by a constant computes.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
pub(super) enum Kind {
    Max,
    Min,
    Leaky,
    Add,
    Mul,
    /// `x − s`.
    Sub,
    /// `s − x`.
    SubFrom,
}

/// One value's step, as tract's scalar kernels compute it.
#[inline(always)]
fn one(x: f32, s: f32, kind: Kind) -> f32 {
    match kind {
        Kind::Max => x.max(s),
        Kind::Min => x.min(s),
        Kind::Leaky => {
            if x < 0.0 {
                x * s
            } else {
                x
            }
        }
        Kind::Add => x + s,
        Kind::Mul => x * s,
        Kind::Sub => x - s,
        Kind::SubFrom => s - x,
    }
}

/// `xs[i] = one(xs[i], s, kind)`.
pub(super) fn by_scalar(xs: &mut [f32], s: f32, kind: Kind) {
    dispatch!(kind, scalar_pass(xs, s))
}

/// `xs[i] = one(xs[i], s[i % s.len()], kind)`, the constants as f32 bits; `xs` a multiple of `s`
/// long.
pub(super) fn by_lanes(xs: &mut [f32], s: &[u32], kind: Kind) {
    dispatch!(kind, lanes_pass(xs, s))
}

/// Calls `f::<K>(args…)` with `K` the step type of `kind`.
macro_rules! dispatch {
    ($kind:expr, $f:ident($($arg:expr),*)) => {
        match $kind {
            Kind::Max => $f::<MaxOf>($($arg),*),
            Kind::Min => $f::<MinOf>($($arg),*),
            Kind::Leaky => $f::<LeakyOf>($($arg),*),
            Kind::Add => $f::<AddOf>($($arg),*),
            Kind::Mul => $f::<MulOf>($($arg),*),
            Kind::Sub => $f::<SubOf>($($arg),*),
            Kind::SubFrom => $f::<SubFromOf>($($arg),*),
        }
    };
}
use dispatch;

/// A kind as a type, so that each loop is compiled for one kind.
trait StepOf {
    const KIND: Kind;
    /// Four values' step, each by its own constant (`one`'s answers).
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    fn four(v: std::arch::wasm32::v128, s: std::arch::wasm32::v128) -> std::arch::wasm32::v128;
}

macro_rules! step_types {
    ($($name:ident = $kind:ident: |$v:ident, $s:ident| $four:expr;)*) => {$(
        struct $name;
        impl StepOf for $name {
            const KIND: Kind = Kind::$kind;
            #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
            #[inline(always)]
            fn four($v: std::arch::wasm32::v128, $s: std::arch::wasm32::v128) -> std::arch::wasm32::v128 {
                #[allow(unused_imports)]
                use std::arch::wasm32::*;
                $four
            }
        }
    )*};
}

// pmax(s, x) = s < x ? x : s: a NaN x gives s, as `x.max(s)` does; pmin likewise.
step_types! {
    MaxOf = Max: |v, s| f32x4_pmax(s, v);
    MinOf = Min: |v, s| f32x4_pmin(s, v);
    LeakyOf = Leaky: |v, s| v128_bitselect(f32x4_mul(v, s), v, f32x4_lt(v, f32x4_splat(0.0)));
    AddOf = Add: |v, s| f32x4_add(v, s);
    MulOf = Mul: |v, s| f32x4_mul(v, s);
    SubOf = Sub: |v, s| f32x4_sub(v, s);
    SubFromOf = SubFrom: |v, s| f32x4_sub(s, v);
}

fn scalar_pass<K: StepOf>(xs: &mut [f32], s: f32) {
    #[allow(unused_mut)] // advanced by the SIMD loop only
    let mut rest: &mut [f32] = xs;
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        use std::arch::wasm32::*;
        let sv = f32x4_splat(s);
        let mut chunks = rest.chunks_exact_mut(4);
        for c in &mut chunks {
            let p = c.as_mut_ptr() as *mut v128;
            // SAFETY: `c` holds 4 floats; unaligned v128 access is allowed in wasm.
            unsafe { v128_store(p, K::four(v128_load(p), sv)) }
        }
        rest = chunks.into_remainder();
    }
    for x in rest {
        *x = one(*x, s, K::KIND);
    }
}

fn lanes_pass<K: StepOf>(xs: &mut [f32], s: &[u32]) {
    for row in xs.chunks_exact_mut(s.len()) {
        #[allow(unused_mut)] // advanced by the SIMD loop only
        let mut i = 0;
        #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
        {
            use std::arch::wasm32::*;
            while i + 4 <= row.len() {
                // SAFETY: i + 4 <= len of both; f32 and u32 have the same size and alignment.
                unsafe {
                    let p = row.as_mut_ptr().add(i) as *mut v128;
                    v128_store(p, K::four(v128_load(p), v128_load(s.as_ptr().add(i) as *const v128)));
                }
                i += 4;
            }
        }
        for (x, &c) in row[i..].iter_mut().zip(&s[i..]) {
            *x = one(*x, f32::from_bits(c), K::KIND);
        }
    }
}
