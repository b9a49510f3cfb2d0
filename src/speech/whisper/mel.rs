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
        let bands =
            bank(16_000.0).into_iter().map(|f| (f.start, f.weights.iter().map(|&w| w as f32).collect())).collect();
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

/// The bank Whisper was trained with: librosa's `filters.mel(sr, n_fft=400, n_mels=80)` (Slaney
/// scale and area normalisation), from the classic-features module; `[N_MELS][BINS]` dense.
pub fn slaney_filters(rate: f64) -> Vec<f32> {
    let mut out = vec![0f32; N_MELS * BINS];
    for (m, f) in bank(rate).iter().enumerate() {
        for (i, w) in f.weights.iter().enumerate() {
            out[m * BINS + f.start + i] = *w as f32;
        }
    }
    out
}

fn bank(rate: f64) -> Vec<crate::audio::features::Filter> {
    let o = crate::audio::FeatureOptions {
        sample_rate: rate as u32,
        n_fft: N_FFT,
        n_mels: N_MELS,
        fmin: 0.0,
        htk: false,
        norm: crate::audio::MelNorm::Slaney,
        ..Default::default()
    };
    crate::audio::features::mel_filters(&o, rate / 2.0)
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
        let row = &slaney_filters(16_000.0)[band * BINS..(band + 1) * BINS];
        let peak = (0..BINS).max_by(|&a, &b| row[a].total_cmp(&row[b])).unwrap();
        assert!((peak as f64 * 40.0 - 1000.0).abs() < 80.0, "band {band} peaks at bin {peak}");
    }
}
