//! rustfft's scalar planner as `vendor/rustfft` ships it (its PATCHED.md: no 17- to 31-point
//! butterflies), which is the one the wasm builds use for tract's FFT ops and our speech features:
//! every length it may be asked for plans and transforms correctly, forward and inverse, in f32 and
//! f64, against a plain DFT.

use rustfft::num_complex::Complex;
use rustfft::{FftDirection, FftPlannerScalar};

/// A signal with no symmetry a planner could get away with: mixed tones and a ramp.
fn signal(n: usize) -> Vec<Complex<f64>> {
    (0..n)
        .map(|i| {
            let x = i as f64;
            Complex::new((0.37 * x).sin() + 0.01 * x - 0.5, (1.3 * x + 0.2).cos() * 0.5)
        })
        .collect()
}

fn dft(x: &[Complex<f64>], direction: FftDirection) -> Vec<Complex<f64>> {
    let n = x.len();
    let sign = if direction == FftDirection::Forward { -1.0 } else { 1.0 };
    // Twiddles by (j * k) mod n: one table, and angles that stay small, so the reference is exact.
    let w: Vec<Complex<f64>> =
        (0..n).map(|m| Complex::from_polar(1.0, sign * 2.0 * std::f64::consts::PI * m as f64 / n as f64)).collect();
    (0..n).map(|k| x.iter().enumerate().map(|(j, v)| v * w[(j * k) % n]).sum()).collect()
}

/// Largest error against the DFT, relative to the DFT's largest magnitude.
fn error(got: impl Iterator<Item = Complex<f64>>, want: &[Complex<f64>]) -> f64 {
    let scale = want.iter().map(|v| v.norm()).fold(1e-12, f64::max);
    got.zip(want).map(|(g, w)| (g - w).norm()).fold(0.0, f64::max) / scale
}

/// Both float types' plans for length `n` against one DFT.
fn check(n: usize, direction: FftDirection, p64: &mut FftPlannerScalar<f64>, p32: &mut FftPlannerScalar<f32>) {
    let x = signal(n);
    let want = dft(&x, direction);
    let mut y = x.clone();
    p64.plan_fft(n, direction).process(&mut y);
    let e = error(y.into_iter(), &want);
    assert!(e < 1e-10, "f64 length {n} {direction:?}: error {e:e}");
    let mut y: Vec<Complex<f32>> = x.iter().map(|v| Complex::new(v.re as f32, v.im as f32)).collect();
    p32.plan_fft(n, direction).process(&mut y);
    let e = error(y.into_iter().map(|v| Complex::new(v.re as f64, v.im as f64)), &want);
    assert!(e < 2e-5, "f32 length {n} {direction:?}: error {e:e}");
}

#[test]
fn every_length_to_1100_both_ways_in_f64_and_f32() {
    let (mut p64, mut p32) = (FftPlannerScalar::new(), FftPlannerScalar::new());
    for n in 1..=1100 {
        for direction in [FftDirection::Forward, FftDirection::Inverse] {
            check(n, direction, &mut p64, &mut p32);
        }
    }
}

/// Lengths built on the butterflies that are gone, on their own and inside larger transforms
/// (the windows of common speech front ends among them), and primes past Rader's limit.
#[test]
fn lengths_made_of_the_dropped_butterflies() {
    let (mut p64, mut p32) = (FftPlannerScalar::new(), FftPlannerScalar::new());
    let lengths = [
        1296, 1377, 1536, 1600, 1682, 1728, 2027, 2048, 2187, 2209, 2401, 2511, 2662, 2883, 3000, 3072, 3496, 3751,
        4096,
    ];
    for n in lengths {
        check(n, FftDirection::Forward, &mut p64, &mut p32);
    }
}
