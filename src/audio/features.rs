//! Classic speech features for models that expect them: mel power spectrograms, log-mel (dB) and
//! MFCCs, defined exactly as librosa defines them (`librosa.feature.melspectrogram`,
//! `power_to_db`, `librosa.feature.mfcc`; same parameter names and defaults), so a model trained
//! on librosa features sees the same numbers here. Spectra are computed in f64 with `realfft`.
//! Frames come out time-major (`frames × bins`), the transpose of librosa's `(bins, frames)`.

use std::sync::Arc;

use realfft::{RealFftPlanner, RealToComplex};
use serde::{Deserialize, Serialize};

use crate::{Error, Result};

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FeatureKind {
    /// `melspectrogram`: mel-filtered |STFT|^power.
    Mel,
    /// `power_to_db(melspectrogram)`.
    #[default]
    Logmel,
    /// `mfcc`: DCT-II (orthonormal) of the log-mel, optionally liftered.
    Mfcc,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum MelNorm {
    /// Each triangle scaled to unit area (librosa's `norm="slaney"`, the default).
    #[default]
    Slaney,
    /// Triangles peak at 1 (`norm=None`).
    None,
}

/// librosa's parameters, by its names in camelCase; every default is librosa's.
#[derive(Clone, Debug, PartialEq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct FeatureOptions {
    pub kind: FeatureKind,
    /// Required: the rate of the samples given (`sr`).
    pub sample_rate: u32,
    pub n_fft: usize,
    /// Defaults to `n_fft / 4`.
    pub hop_length: Option<usize>,
    /// Hann window length, centred in the FFT frame; defaults to `n_fft`.
    pub win_length: Option<usize>,
    /// Frames centred on `t × hop` with zero padding (librosa's `pad_mode="constant"`).
    pub center: bool,
    pub power: f64,
    pub n_mels: usize,
    pub fmin: f64,
    /// Defaults to `sample_rate / 2`.
    pub fmax: Option<f64>,
    pub htk: bool,
    pub norm: MelNorm,
    /// `power_to_db`'s `amin`, `ref` (a number) and `top_db` (null: no clipping).
    pub amin: f64,
    #[serde(rename = "ref")]
    pub reference: f64,
    pub top_db: Option<f64>,
    pub n_mfcc: usize,
    pub lifter: f64,
}

impl Default for FeatureOptions {
    fn default() -> Self {
        FeatureOptions {
            kind: FeatureKind::Logmel,
            sample_rate: 0,
            n_fft: 2048,
            hop_length: None,
            win_length: None,
            center: true,
            power: 2.0,
            n_mels: 128,
            fmin: 0.0,
            fmax: None,
            htk: false,
            norm: MelNorm::Slaney,
            amin: 1e-10,
            reference: 1.0,
            top_db: Some(80.0),
            n_mfcc: 20,
            lifter: 0.0,
        }
    }
}

/// A block of feature frames, time-major.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Features {
    pub frames: usize,
    pub bins: usize,
    pub data: Vec<f32>,
}

/// One mel filter: its non-zero weights, starting at FFT bin `start`.
pub(crate) struct Filter {
    pub(crate) start: usize,
    pub(crate) weights: Vec<f64>,
}

const MAX_FFT: usize = 1 << 16;

fn bad(m: String) -> Error {
    Error::InvalidArgument(m)
}

fn hz_to_mel(f: f64, htk: bool) -> f64 {
    if htk {
        return 2595.0 * (1.0 + f / 700.0).log10();
    }
    // Slaney: linear below 1 kHz, logarithmic above.
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if f >= 1000.0 {
        min_log_mel + (f / 1000.0).ln() / logstep
    } else {
        f / f_sp
    }
}

fn mel_to_hz(m: f64, htk: bool) -> f64 {
    if htk {
        return 700.0 * (10f64.powf(m / 2595.0) - 1.0);
    }
    let f_sp = 200.0 / 3.0;
    let min_log_mel = 1000.0 / f_sp;
    let logstep = 6.4f64.ln() / 27.0;
    if m >= min_log_mel {
        1000.0 * (logstep * (m - min_log_mel)).exp()
    } else {
        f_sp * m
    }
}

/// `librosa.filters.mel`, rows kept sparse (also Whisper's bank: `whisper::mel`).
pub(crate) fn mel_filters(o: &FeatureOptions, fmax: f64) -> Vec<Filter> {
    let bins = o.n_fft / 2 + 1;
    let fft_freqs: Vec<f64> = (0..bins).map(|k| k as f64 * o.sample_rate as f64 / o.n_fft as f64).collect();
    let (lo, hi) = (hz_to_mel(o.fmin, o.htk), hz_to_mel(fmax, o.htk));
    let n = o.n_mels + 2;
    let mel_f: Vec<f64> = (0..n).map(|i| mel_to_hz(lo + (hi - lo) * i as f64 / (n - 1) as f64, o.htk)).collect();
    (0..o.n_mels)
        .map(|i| {
            let (d0, d1) = (mel_f[i + 1] - mel_f[i], mel_f[i + 2] - mel_f[i + 1]);
            let scale = match o.norm {
                MelNorm::Slaney => 2.0 / (mel_f[i + 2] - mel_f[i]),
                MelNorm::None => 1.0,
            };
            let row: Vec<f64> = fft_freqs
                .iter()
                .map(|&f| {
                    let (lower, upper) = ((f - mel_f[i]) / d0, (mel_f[i + 2] - f) / d1);
                    lower.min(upper).max(0.0) * scale
                })
                .collect();
            let start = row.iter().position(|&w| w != 0.0).unwrap_or(0);
            let end = row.iter().rposition(|&w| w != 0.0).map_or(start, |e| e + 1);
            Filter { start, weights: row[start..end].to_vec() }
        })
        .collect()
}

/// Computes features from a whole clip (`compute`) or from a stream (`push` … `finish`).
pub struct FeatureExtractor {
    options: FeatureOptions,
    hop: usize,
    window: Vec<f64>,
    filters: Vec<Filter>,
    /// `n_mfcc × n_mels`, orthonormal DCT-II rows with the lifter applied.
    dct: Vec<f64>,
    fft: Arc<dyn RealToComplex<f64>>,
    scratch: (Vec<f64>, Vec<realfft::num_complex::Complex<f64>>, Vec<realfft::num_complex::Complex<f64>>),
    /// Samples not yet consumed by a frame (starting with the centre padding).
    pending: Vec<f64>,
    started: bool,
}

impl FeatureExtractor {
    pub fn new(options: FeatureOptions) -> Result<Self> {
        let o = &options;
        if !(1_000..=384_000).contains(&o.sample_rate) {
            return Err(bad(format!(
                "sampleRate {} Hz: give the rate of the samples (1000..384000 Hz)",
                o.sample_rate
            )));
        }
        if !(2..=MAX_FFT).contains(&o.n_fft) {
            return Err(bad(format!("nFft {} must be in 2..={MAX_FFT}", o.n_fft)));
        }
        let hop = o.hop_length.unwrap_or(o.n_fft / 4);
        if hop == 0 || hop > MAX_FFT {
            return Err(bad(format!("hopLength {hop} must be in 1..={MAX_FFT}")));
        }
        let win = o.win_length.unwrap_or(o.n_fft);
        if win == 0 || win > o.n_fft {
            return Err(bad(format!("winLength {win} must be in 1..=nFft ({})", o.n_fft)));
        }
        let nyquist = o.sample_rate as f64 / 2.0;
        let fmax = o.fmax.unwrap_or(nyquist);
        if !(o.fmin >= 0.0 && o.fmin < fmax && fmax <= nyquist) {
            return Err(bad(format!(
                "need 0 <= fmin < fmax <= sampleRate / 2 ({nyquist}), got fmin {} and fmax {fmax}",
                o.fmin
            )));
        }
        if !(1..=1024).contains(&o.n_mels) {
            return Err(bad(format!("nMels {} must be in 1..=1024", o.n_mels)));
        }
        if !(o.power.is_finite() && o.power > 0.0) {
            return Err(bad(format!("power {} must be a positive number (2: power, 1: magnitude)", o.power)));
        }
        if !(o.amin.is_finite() && o.amin > 0.0 && o.reference.is_finite() && o.reference > 0.0) {
            return Err(bad(format!("amin ({}) and ref ({}) must be positive numbers", o.amin, o.reference)));
        }
        if o.top_db.is_some_and(|t| !(t.is_finite() && t >= 0.0)) {
            return Err(bad(format!("topDb {:?} must be a non-negative number or null", o.top_db)));
        }
        if o.kind == FeatureKind::Mfcc && !(1..=o.n_mels).contains(&o.n_mfcc) {
            return Err(bad(format!("nMfcc {} must be in 1..=nMels ({})", o.n_mfcc, o.n_mels)));
        }
        if !(o.lifter.is_finite() && o.lifter >= 0.0) {
            return Err(bad(format!("lifter {} must be a non-negative number", o.lifter)));
        }

        // Periodic Hann (scipy's `get_window("hann", win, fftbins=True)`), centred in n_fft.
        let mut window = vec![0.0; o.n_fft];
        let left = (o.n_fft - win) / 2;
        for (i, w) in window[left..left + win].iter_mut().enumerate() {
            *w = 0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / win as f64).cos();
        }
        let filters = mel_filters(o, fmax);
        let dct = if o.kind == FeatureKind::Mfcc {
            let m = o.n_mels as f64;
            (0..o.n_mfcc)
                .flat_map(|k| {
                    let scale = if k == 0 { (1.0 / m).sqrt() } else { (2.0 / m).sqrt() };
                    let lift = if o.lifter > 0.0 {
                        1.0 + (o.lifter / 2.0) * (std::f64::consts::PI * (k + 1) as f64 / o.lifter).sin()
                    } else {
                        1.0
                    };
                    (0..o.n_mels).map(move |n| {
                        scale * lift * (std::f64::consts::PI * k as f64 * (2 * n + 1) as f64 / (2.0 * m)).cos()
                    })
                })
                .collect()
        } else {
            Vec::new()
        };
        let fft = RealFftPlanner::<f64>::new().plan_fft_forward(o.n_fft);
        let scratch = (fft.make_input_vec(), fft.make_output_vec(), fft.make_scratch_vec());
        Ok(FeatureExtractor { options, hop, window, filters, dct, fft, scratch, pending: Vec::new(), started: false })
    }

    pub fn options(&self) -> &FeatureOptions {
        &self.options
    }

    /// Values per frame: `nMels`, or `nMfcc` for MFCCs.
    pub fn bins(&self) -> usize {
        match self.options.kind {
            FeatureKind::Mfcc => self.options.n_mfcc,
            _ => self.options.n_mels,
        }
    }

    pub fn hop_length(&self) -> usize {
        self.hop
    }

    /// The features of a whole clip, as librosa computes them (including `topDb`, which clips
    /// against the loudest value of the clip). Does not touch the stream state.
    pub fn compute(&self, samples: &[f32]) -> Result<Features> {
        check_finite(samples)?;
        let mut one = FeatureExtractor::new(self.options.clone())?;
        let mut mel = one.mel_frames(samples, false);
        mel.extend(one.mel_frames(&[], true));
        Ok(self.finalize(&mel, self.options.top_db))
    }

    /// Streams samples in; returns the frames they complete. Equal, frame for frame, to
    /// `compute` on the concatenated stream, so `topDb` (a whole-clip maximum) must be null.
    pub fn push(&mut self, samples: &[f32]) -> Result<Features> {
        self.check_streamable()?;
        check_finite(samples)?;
        let mel = self.mel_frames(samples, false);
        Ok(self.finalize(&mel, None))
    }

    /// Ends the stream: the frames that the centre padding completes. The next `push` starts a
    /// new stream.
    pub fn finish(&mut self) -> Result<Features> {
        self.check_streamable()?;
        let mel = self.mel_frames(&[], true);
        self.reset();
        Ok(self.finalize(&mel, None))
    }

    pub fn reset(&mut self) {
        self.pending.clear();
        self.started = false;
    }

    fn check_streamable(&self) -> Result<()> {
        if self.options.top_db.is_some() && self.options.kind != FeatureKind::Mel {
            return Err(bad("topDb clips against the loudest value of the whole clip, so it cannot stream: \
                 set topDb to null to stream, or use compute() on the whole clip"
                .into()));
        }
        Ok(())
    }

    /// The mel power rows (`n_mels` each) of the frames these samples complete.
    fn mel_frames(&mut self, samples: &[f32], last: bool) -> Vec<f64> {
        let n_fft = self.options.n_fft;
        let pad = if self.options.center { n_fft / 2 } else { 0 };
        if !self.started {
            self.pending.resize(pad, 0.0);
            self.started = true;
        }
        self.pending.extend(samples.iter().map(|&s| s as f64));
        if last {
            self.pending.extend(std::iter::repeat_n(0.0, pad));
        }
        let mut out = Vec::new();
        let mut at = 0;
        while at + n_fft <= self.pending.len() {
            self.mel_frame(at, &mut out);
            at += self.hop;
        }
        self.pending.drain(..at.min(self.pending.len()));
        out
    }

    fn mel_frame(&mut self, at: usize, out: &mut Vec<f64>) {
        let (input, spectrum, scratch) = &mut self.scratch;
        for ((x, &s), &w) in input.iter_mut().zip(&self.pending[at..]).zip(&self.window) {
            *x = s * w;
        }
        self.fft.process_with_scratch(input, spectrum, scratch).expect("buffers made by this plan");
        let half_power = self.options.power / 2.0;
        let power: Vec<f64> = spectrum
            .iter()
            .map(|c| if half_power == 1.0 { c.norm_sqr() } else { c.norm_sqr().powf(half_power) })
            .collect();
        out.extend(
            self.filters.iter().map(|f| f.weights.iter().zip(&power[f.start..]).map(|(w, p)| w * p).sum::<f64>()),
        );
    }

    /// Mel power rows → the requested kind; `top_db` clips the dB values to `max - top_db`
    /// over the rows given (before the DCT, as librosa's `mfcc` does).
    fn finalize(&self, mel: &[f64], top_db: Option<f64>) -> Features {
        let o = &self.options;
        let bins = self.bins();
        let frames = mel.len() / o.n_mels;
        if o.kind == FeatureKind::Mel {
            return Features { frames, bins, data: mel.iter().map(|&m| m as f32).collect() };
        }
        let offset = 10.0 * o.amin.max(o.reference).log10();
        let mut db: Vec<f64> = mel.iter().map(|&m| 10.0 * m.max(o.amin).log10() - offset).collect();
        if let Some(top) = top_db {
            let floor = db.iter().fold(f64::NEG_INFINITY, |a, &b| a.max(b)) - top;
            db.iter_mut().for_each(|v| *v = v.max(floor));
        }
        let data = if o.kind == FeatureKind::Logmel {
            db.iter().map(|&d| d as f32).collect()
        } else {
            db.chunks(o.n_mels)
                .flat_map(|row| {
                    self.dct.chunks(o.n_mels).map(move |c| c.iter().zip(row).map(|(a, b)| a * b).sum::<f64>() as f32)
                })
                .collect()
        };
        Features { frames, bins, data }
    }
}

fn check_finite(samples: &[f32]) -> Result<()> {
    match samples.iter().position(|s| !s.is_finite()) {
        Some(i) => Err(bad(format!("sample {i} is {}: audio must be finite numbers", samples[i]))),
        None => Ok(()),
    }
}
