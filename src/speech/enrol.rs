//! Custom commands from a few recordings: a left-to-right HMM with diagonal-Gaussian emissions
//! over the speech embeddings, trained by Baum-Welch, detected by streaming Viterbi as a
//! log-likelihood ratio against a background Gaussian (speech and noise in general). The
//! threshold comes from leave-one-out scores of the recordings themselves.

use serde::{Deserialize, Serialize};

use super::grammar::Detection;
use super::hmm::{left_to_right, DiagGaussian, GaussianHmm, LOG_ZERO};
use crate::audio::FRAME_SECONDS;
use crate::{Error, Result};

pub const MIN_RECORDINGS: usize = 3;
pub const MAX_RECORDINGS: usize = 10;
const ITERATIONS: usize = 15;
/// Background variance mixed into each state's, in frames' worth: a few recordings cannot
/// estimate 96 variances per state on their own.
const VAR_PRIOR_FRAMES: f64 = 8.0;
/// Fraction of the weakest leave-one-out score a detection must reach.
const THRESHOLD_FRACTION: f64 = 0.5;

/// A trained custom command; `toJSON`/`fromJSON` round-trip it.
#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct EnrolledCommand {
    pub name: String,
    pub hmm: GaussianHmm,
    pub background: DiagGaussian,
    /// Path score (sum of per-frame log-likelihood ratios) to fire at.
    pub threshold: f64,
    pub recordings: usize,
}

fn background_ll(bg: &DiagGaussian, x: &[f32]) -> f64 {
    bg.log_pdf(x)
}

/// Splits `frames` into `n` equal runs: Baum-Welch's starting point for a left-to-right model.
fn flat_start(seqs: &[Vec<Vec<f32>>], n: usize, bg: &DiagGaussian) -> GaussianHmm {
    let d = bg.mean.len();
    let mut sums = vec![(vec![0.0f64; d], vec![0.0f64; d], 0.0f64); n];
    for s in seqs {
        for (t, x) in s.iter().enumerate() {
            let k = t * n / s.len();
            for (j, &v) in x.iter().enumerate().take(d) {
                sums[k].0[j] += v as f64;
                sums[k].1[j] += (v as f64).powi(2);
            }
            sums[k].2 += 1.0;
        }
    }
    let states = sums
        .into_iter()
        .map(|(s, ss, c)| {
            let mean: Vec<f64> = s.iter().map(|v| v / c.max(1.0)).collect();
            let var =
                (0..d).map(|j| smooth_var((ss[j] / c.max(1.0) - mean[j].powi(2)).max(0.0), c, bg.var[j])).collect();
            DiagGaussian { mean, var }
        })
        .collect();
    left_to_right(states, 0.6)
}

fn smooth_var(ml: f64, frames: f64, bg: f64) -> f64 {
    (frames * ml + VAR_PRIOR_FRAMES * bg) / (frames + VAR_PRIOR_FRAMES)
}

fn train(seqs: &[Vec<Vec<f32>>], bg: &DiagGaussian) -> Result<GaussianHmm> {
    let shortest = seqs.iter().map(Vec::len).min().unwrap_or(0);
    let n = (shortest / 2).clamp(2, 8);
    let mut hmm = flat_start(seqs, n, bg);
    hmm.fit(seqs, ITERATIONS, 1e-3)?;
    // Expected frames per state under the fit, to weigh the background variance in.
    let occupancy: Vec<f64> = {
        let total: usize = seqs.iter().map(Vec::len).sum();
        vec![total as f64 / n as f64; n]
    };
    for (s, &c) in hmm.states.iter_mut().zip(&occupancy) {
        for (v, &b) in s.var.iter_mut().zip(&bg.var) {
            *v = smooth_var(*v, c, b);
        }
    }
    Ok(hmm)
}

/// Best score of any path through the whole model over `frames` (entering at any frame).
fn best_score(hmm: &GaussianHmm, bg: &DiagGaussian, frames: &[Vec<f32>]) -> f64 {
    let mut det = Spotter::new(hmm, bg);
    frames.iter().map(|x| det.step(x).0).fold(LOG_ZERO, f64::max)
}

impl EnrolledCommand {
    /// `recordings`: the embedding frames of each utterance of the phrase (speech only, as the
    /// VAD cut them).
    pub fn train(name: &str, recordings: &[Vec<Vec<f32>>], background: &DiagGaussian) -> Result<Self> {
        if name.trim().is_empty() {
            return Err(Error::InvalidArgument("give the custom command a name".into()));
        }
        if !(MIN_RECORDINGS..=MAX_RECORDINGS).contains(&recordings.len()) {
            return Err(Error::InvalidArgument(format!(
                "enrol \"{name}\" with {MIN_RECORDINGS} to {MAX_RECORDINGS} recordings of the phrase, not {}",
                recordings.len()
            )));
        }
        for (i, r) in recordings.iter().enumerate() {
            if r.len() < 4 {
                return Err(Error::InvalidArgument(format!(
                    "recording {} of \"{name}\" has no speech long enough (at least 0.3 s): record it again, closer to the microphone",
                    i + 1
                )));
            }
        }
        // Leave-one-out: how well a model of the others scores each recording.
        let mut loo = vec![];
        for i in 0..recordings.len() {
            let others: Vec<Vec<Vec<f32>>> =
                recordings.iter().enumerate().filter(|(j, _)| *j != i).map(|(_, r)| r.clone()).collect();
            let hmm = train(&others, background)?;
            loo.push(best_score(&hmm, background, &recordings[i]));
        }
        let weakest = loo.iter().copied().fold(f64::INFINITY, f64::min);
        if weakest.is_nan() || weakest <= 0.0 {
            return Err(Error::InvalidArgument(format!(
                "the recordings of \"{name}\" do not sound like one phrase (a recording scores {weakest:.1} against the others): record the same phrase again"
            )));
        }
        let hmm = train(recordings, background)?;
        Ok(EnrolledCommand {
            name: name.into(),
            hmm,
            background: background.clone(),
            threshold: THRESHOLD_FRACTION * weakest,
            recordings: recordings.len(),
        })
    }

    pub fn to_json(&self) -> String {
        crate::json::to_string(self)
    }

    /// Reads and checks a saved command (JSON from untrusted storage).
    pub fn from_json(json: &str) -> Result<Self> {
        let c: EnrolledCommand = crate::json::from_str(json)
            .map_err(|e| Error::InvalidArgument(format!("not a saved enrolled command: {e}")))?;
        c.validate()?;
        Ok(c)
    }

    pub fn validate(&self) -> Result<()> {
        self.hmm.validate()?;
        if self.background.mean.len() != self.hmm.dims() || self.background.var.iter().any(|v| v.is_nan() || *v <= 0.0)
        {
            return Err(Error::InvalidArgument(
                "enrolled command: background must match the HMM's dimensions, variances > 0".into(),
            ));
        }
        if !(self.threshold.is_finite() && self.threshold > 0.0) {
            return Err(Error::InvalidArgument("enrolled command: threshold must be a positive number".into()));
        }
        Ok(())
    }
}

/// Streaming Viterbi with free entry: state scores are log-likelihood ratios against the background.
pub struct Spotter {
    log_trans: Vec<Vec<f64>>,
    states: Vec<DiagGaussian>,
    bg: DiagGaussian,
    score: Vec<f64>,
    entered: Vec<u64>,
    frame: u64,
}

impl Spotter {
    pub fn new(hmm: &GaussianHmm, bg: &DiagGaussian) -> Spotter {
        let n = hmm.n_states();
        Spotter {
            log_trans: hmm
                .trans
                .iter()
                .map(|r| r.iter().map(|&p| if p > 0.0 { p.ln() } else { LOG_ZERO }).collect())
                .collect(),
            states: hmm.states.clone(),
            bg: bg.clone(),
            score: vec![LOG_ZERO; n],
            entered: vec![0; n],
            frame: 0,
        }
    }

    /// One frame; returns the final state's score and the frame its path entered.
    pub fn step(&mut self, x: &[f32]) -> (f64, u64) {
        let n = self.states.len();
        let bg = background_ll(&self.bg, x);
        let mut next = vec![LOG_ZERO; n];
        let mut entered = vec![0; n];
        for j in 0..n {
            let (mut best, mut from) = (LOG_ZERO, 0);
            for i in 0..n {
                let c = self.score[i] + self.log_trans[i][j];
                if c > best {
                    best = c;
                    from = self.entered[i];
                }
            }
            if j == 0 && best < 0.0 {
                best = 0.0;
                from = self.frame;
            }
            if best > LOG_ZERO {
                next[j] = best + self.states[j].log_pdf(x) - bg;
                entered[j] = from;
            }
        }
        self.score = next;
        self.entered = entered;
        self.frame += 1;
        (self.score[n - 1], self.entered[n - 1])
    }

    pub fn reset(&mut self) {
        self.score.fill(LOG_ZERO);
    }
}

/// An enrolled command running on a stream: fires at the peak of a path score above threshold.
pub struct EnrolledDetector {
    pub command: EnrolledCommand,
    spotter: Spotter,
    peak: Option<(f64, u64, u64)>,
}

impl EnrolledDetector {
    pub fn new(command: EnrolledCommand) -> Self {
        let spotter = Spotter::new(&command.hmm, &command.background);
        EnrolledDetector { command, spotter, peak: None }
    }

    /// One embedding frame (index `frame` of the stream).
    pub fn push(&mut self, x: &[f32], frame: u64) -> Option<Detection> {
        let (score, entered) = self.spotter.step(x);
        let t = self.command.threshold;
        match self.peak {
            Some((best, _, _)) if score > best => self.peak = Some((score, entered, frame)),
            None if score >= t => self.peak = Some((score, entered, frame)),
            Some((best, from, at)) => {
                self.peak = None;
                self.spotter.reset();
                let end_of = |f: u64| (f + 1) as f64 * FRAME_SECONDS;
                return Some(Detection {
                    command: self.command.name.clone(),
                    confidence: (1.0 - (-(best - t) / t).exp()).clamp(0.0, 1.0) as f32 * 0.5 + 0.5,
                    start: (end_of(from) - 0.76).max(0.0),
                    end: end_of(at) - 0.2,
                });
            }
            None => {}
        }
        None
    }
}
