//! Whisper's log-mel spectrogram: 80 Slaney mel bands of a 400-point STFT (periodic Hann, hop
//! 160, reflect-padded at both ends) over one 30-s window at 16 kHz, log10 with a floor of
//! 1e-10, clamped to 8 (log10 units) below the window's peak, then scaled to (x + 4) / 4.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};

pub const N_FFT: usize = 400;
pub const HOP: usize = 160;
pub const N_MELS: usize = 80;
/// One window: 30 s at 16 kHz, and the frames the encoder takes.
pub const WINDOW_SAMPLES: usize = 480_000;
pub const FRAMES: usize = WINDOW_SAMPLES / HOP;
const BINS: usize = N_FFT / 2 + 1;

pub struct LogMel {
    fft: Arc<dyn RealToComplex<f32>>,
    window: Vec<f32>,
    /// Each band's first bin and its non-zero weights (a band covers a few bins of the 201).
    bands: Vec<(usize, Vec<f32>)>,
}

impl Default for LogMel {
    fn default() -> Self {
        Self::new()
    }
}

impl LogMel {
    pub fn new() -> Self {
        let window = (0..N_FFT)
            .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / N_FFT as f64).cos()) as f32)
            .collect();
        let bands = slaney_filters(16_000.0)
            .chunks_exact(BINS)
            .map(|row| {
                let first = row.iter().position(|w| *w != 0.0).unwrap_or(0);
                let last = row.iter().rposition(|w| *w != 0.0).unwrap_or(0);
                (first, row[first..=last.max(first)].to_vec())
            })
            .collect();
        LogMel { fft: RealFftPlanner::new().plan_fft_forward(N_FFT), window, bands }
    }

    /// `[N_MELS, FRAMES]` row-major for up to 30 s of 16-kHz audio (shorter audio is padded with
    /// silence, longer is cut: the caller windows it).
    pub fn compute(&self, audio: &[f32]) -> Vec<f32> {
        let mut x = vec![0f32; WINDOW_SAMPLES + N_FFT];
        let pad = N_FFT / 2;
        let n = audio.len().min(WINDOW_SAMPLES);
        x[pad..pad + n].copy_from_slice(&audio[..n]);
        // Reflect padding (numpy's "reflect": the edge sample is not repeated).
        for i in 0..pad {
            x[pad - 1 - i] = x[pad + 1 + i];
            x[pad + WINDOW_SAMPLES + i] = x[pad + WINDOW_SAMPLES - 2 - i];
        }
        let mut frame = self.fft.make_input_vec();
        let mut spectrum = self.fft.make_output_vec();
        let mut scratch = self.fft.make_scratch_vec();
        let mut power = vec![0f32; BINS];
        let mut mel = vec![0f32; N_MELS * FRAMES];
        for t in 0..FRAMES {
            let start = t * HOP;
            for ((f, s), w) in frame.iter_mut().zip(&x[start..start + N_FFT]).zip(&self.window) {
                *f = s * w;
            }
            self.fft.process_with_scratch(&mut frame, &mut spectrum, &mut scratch).expect("sizes from the plan");
            for (p, c) in power.iter_mut().zip(&spectrum) {
                *p = c.norm_sqr();
            }
            for (m, (first, weights)) in self.bands.iter().enumerate() {
                let e: f32 = weights.iter().zip(&power[*first..]).map(|(a, b)| a * b).sum();
                mel[m * FRAMES + t] = e.max(1e-10).log10();
            }
        }
        let peak = mel.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        for v in &mut mel {
            *v = (v.max(peak - 8.0) + 4.0) / 4.0;
        }
        mel
    }
}

fn hz_to_mel(f: f64) -> f64 {
    // Slaney: linear below 1 kHz, logarithmic above.
    let (f_sp, min_log_hz) = (200.0 / 3.0, 1000.0);
    if f < min_log_hz {
        f / f_sp
    } else {
        min_log_hz / f_sp + (f / min_log_hz).ln() / (6.4f64.ln() / 27.0)
    }
}

fn mel_to_hz(m: f64) -> f64 {
    let (f_sp, min_log_hz) = (200.0 / 3.0, 1000.0);
    let min_log_mel = min_log_hz / f_sp;
    if m < min_log_mel {
        m * f_sp
    } else {
        min_log_hz * ((m - min_log_mel) * (6.4f64.ln() / 27.0)).exp()
    }
}

/// librosa's `filters.mel(sr, n_fft=400, n_mels=80)` (Slaney scale and area normalisation), the
/// bank Whisper was trained with.
pub fn slaney_filters(rate: f64) -> Vec<f32> {
    let top = hz_to_mel(rate / 2.0);
    let points: Vec<f64> = (0..N_MELS + 2).map(|i| mel_to_hz(top * i as f64 / (N_MELS + 1) as f64)).collect();
    let mut out = vec![0f32; N_MELS * BINS];
    for m in 0..N_MELS {
        let (lo, mid, hi) = (points[m], points[m + 1], points[m + 2]);
        let norm = 2.0 / (hi - lo);
        for b in 0..BINS {
            let f = b as f64 * rate / N_FFT as f64;
            let w = ((f - lo) / (mid - lo)).min((hi - f) / (hi - mid)).max(0.0);
            out[m * BINS + b] = (w * norm) as f32;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn silence_is_flat_and_finite() {
        let mel = LogMel::new().compute(&[]);
        assert_eq!(mel.len(), N_MELS * FRAMES);
        assert!(mel.iter().all(|v| (*v - (-10.0 + 4.0) / 4.0).abs() < 1e-6));
    }

    #[test]
    fn a_tone_lands_in_its_band() {
        let tone: Vec<f32> =
            (0..16_000).map(|i| (2.0 * std::f32::consts::PI * 1000.0 * i as f32 / 16e3).sin()).collect();
        let mel = LogMel::new().compute(&tone);
        let frame = 50;
        let band = (0..N_MELS).max_by(|&a, &b| mel[a * FRAMES + frame].total_cmp(&mel[b * FRAMES + frame])).unwrap();
        let centre = mel_to_hz(hz_to_mel(8000.0) * (band + 1) as f64 / (N_MELS + 1) as f64);
        assert!((centre - 1000.0).abs() < 60.0, "band {band} centred at {centre} Hz");
    }
}
