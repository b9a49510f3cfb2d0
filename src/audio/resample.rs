//! Streaming sample-rate conversion to 16 kHz: windowed-sinc interpolation (Kaiser window,
//! cut-off just below the lower Nyquist frequency), so downsampling from 44.1/48/96 kHz does not
//! fold high frequencies into the speech band. Chunk boundaries do not change the output.

use crate::{Error, Result};

/// Zero crossings of the sinc kept on each side, at the lower of the two rates.
const ZEROS: usize = 16;
const PHASES: usize = 512;
const KAISER_BETA: f64 = 8.6;
/// Cut-off as a fraction of the lower Nyquist frequency: flat to ~7.2 kHz at 16 kHz out.
const ROLLOFF: f64 = 0.9;
pub const MIN_RATE: u32 = 8_000;
pub const MAX_RATE: u32 = 384_000;

pub struct Resampler {
    in_rate: u32,
    out_rate: u32,
    /// Half the kernel length, in input samples.
    half: usize,
    table: Vec<f32>,
    /// Input samples not yet fully used; `buf[0]` is input sample `base` (negative: zero padding).
    buf: Vec<f32>,
    base: i64,
    /// Outputs produced so far.
    produced: u64,
}

fn bessel_i0(x: f64) -> f64 {
    let (mut sum, mut term, mut k) = (1.0, 1.0, 1.0);
    while term > 1e-12 * sum {
        term *= (x / (2.0 * k)).powi(2);
        sum += term;
        k += 1.0;
    }
    sum
}

pub fn check_rate(rate: u32) -> Result<()> {
    if (MIN_RATE..=MAX_RATE).contains(&rate) {
        Ok(())
    } else {
        Err(Error::InvalidArgument(format!(
            "sample rate {rate} Hz is outside {MIN_RATE}..{MAX_RATE} Hz: pass the rate the audio was recorded at"
        )))
    }
}

impl Resampler {
    pub fn new(in_rate: u32, out_rate: u32) -> Result<Self> {
        check_rate(in_rate)?;
        check_rate(out_rate)?;
        let ratio = (out_rate as f64 / in_rate as f64).min(1.0);
        let fc = 0.5 * ratio * ROLLOFF; // cycles per input sample
        let half = (ZEROS as f64 / ratio).ceil() as usize;
        let n = 2 * half * PHASES + 1;
        let table = (0..n)
            .map(|m| {
                let x = m as f64 / PHASES as f64 - half as f64;
                let s = if x == 0.0 {
                    1.0
                } else {
                    (2.0 * std::f64::consts::PI * fc * x).sin() / (2.0 * std::f64::consts::PI * fc * x)
                };
                let r = x / half as f64;
                let w = bessel_i0(KAISER_BETA * (1.0 - r * r).max(0.0).sqrt()) / bessel_i0(KAISER_BETA);
                (2.0 * fc * s * w) as f32
            })
            .collect();
        Ok(Resampler { in_rate, out_rate, half, table, buf: vec![0.0; half], base: -(half as i64), produced: 0 })
    }

    pub fn in_rate(&self) -> u32 {
        self.in_rate
    }

    fn kernel(&self, x: f64) -> f32 {
        let pos = (x + self.half as f64) * PHASES as f64;
        let i = pos.floor() as usize;
        let f = (pos - i as f64) as f32;
        match (self.table.get(i), self.table.get(i + 1)) {
            (Some(&a), Some(&b)) => a + (b - a) * f,
            (Some(&a), None) => a,
            _ => 0.0,
        }
    }

    /// Converts the next chunk; output appended to `out`.
    pub fn push(&mut self, input: &[f32], out: &mut Vec<f32>) {
        if self.in_rate == self.out_rate {
            out.extend_from_slice(input);
            return;
        }
        self.buf.extend_from_slice(input);
        let end = self.base + self.buf.len() as i64; // one past the last input sample we have
        loop {
            // Exact rational position of the next output, in input samples.
            let num = self.produced as u128 * self.in_rate as u128;
            let centre = (num / self.out_rate as u128) as i64;
            let frac = (num % self.out_rate as u128) as f64 / self.out_rate as f64;
            let hi = centre + self.half as i64;
            if hi >= end {
                break;
            }
            let lo = centre - self.half as i64 + 1;
            let mut acc = 0.0f32;
            for k in lo..=hi {
                acc += self.buf[(k - self.base) as usize] * self.kernel((k - centre) as f64 - frac);
            }
            out.push(acc);
            self.produced += 1;
        }
        // Keep what the next output still needs.
        let num = self.produced as u128 * self.in_rate as u128;
        let next_lo = (num / self.out_rate as u128) as i64 - self.half as i64 + 1;
        let drop = (next_lo - self.base).clamp(0, self.buf.len() as i64) as usize;
        self.buf.drain(..drop);
        self.base += drop as i64;
    }
}
