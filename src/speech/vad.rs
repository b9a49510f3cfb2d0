//! Silero VAD, streaming: 32 ms windows at 16 kHz with the model's recurrent state carried from
//! window to window, and Silero's own hysteresis turning probabilities into speech segments.

use std::collections::HashMap;

use serde::Serialize;

use crate::audio::SAMPLE_RATE;
use crate::{Error, HostTensor, Model, Result, TensorData};

/// Samples per VAD window at 16 kHz, and the samples of the previous window prepended to it.
pub const WINDOW: usize = 512;
const CONTEXT: usize = 64;
const STATE: usize = 2 * 128;

/// Silero's defaults (`get_speech_timestamps`).
#[derive(Clone, Debug, Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VadOptions {
    pub threshold: f32,
    /// Falls below this (threshold − 0.15) to end a segment.
    pub neg_threshold: f32,
    pub min_speech_seconds: f64,
    pub min_silence_seconds: f64,
}

impl Default for VadOptions {
    fn default() -> Self {
        VadOptions { threshold: 0.5, neg_threshold: 0.35, min_speech_seconds: 0.25, min_silence_seconds: 0.1 }
    }
}

impl VadOptions {
    pub fn validate(&self) -> Result<()> {
        let ok = (0.0..=1.0).contains(&self.threshold)
            && (0.0..=1.0).contains(&self.neg_threshold)
            && self.neg_threshold <= self.threshold
            && self.min_speech_seconds >= 0.0
            && self.min_silence_seconds >= 0.0;
        if ok {
            Ok(())
        } else {
            Err(Error::InvalidArgument(
                "VAD options: thresholds in [0, 1] with negThreshold ≤ threshold, durations ≥ 0".into(),
            ))
        }
    }
}

/// What the VAD reports as audio goes by.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum VadEvent {
    /// Speech began at `time` (seconds since the stream began).
    SpeechStart { time: f64 },
    /// A segment ended; `start`..`end` is the speech.
    SpeechEnd { start: f64, end: f64 },
}

pub struct Vad {
    model: Model,
    s: Stream,
    opts: VadOptions,
}

/// Everything that belongs to one stream.
#[derive(Clone)]
pub struct Stream {
    state: Vec<f32>,
    context: Vec<f32>,
    pending: Vec<f32>,
    windows: u64,
    /// Probability of the latest window.
    last_prob: f32,
    // Segmenter
    triggered: bool,
    speech_start: f64,
    silence_since: Option<f64>,
    announced: bool,
}

impl Stream {
    fn new() -> Self {
        Stream {
            state: vec![0.0; STATE],
            context: vec![0.0; CONTEXT],
            pending: vec![],
            windows: 0,
            last_prob: 0.0,
            triggered: false,
            speech_start: 0.0,
            silence_since: None,
            announced: false,
        }
    }
}

impl Vad {
    pub fn new(model: Model, opts: VadOptions) -> Result<Self> {
        opts.validate()?;
        for want in ["input", "state", "sr"] {
            if !model.inputs().iter().any(|i| i.name == want) {
                return Err(Error::ModelInvalid(format!("this is not a Silero VAD model: it has no input \"{want}\"")));
            }
        }
        Ok(Vad { model, s: Stream::new(), opts })
    }

    pub fn reset(&mut self) {
        self.s = Stream::new();
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn save(&self) -> Stream {
        self.s.clone()
    }

    pub fn restore(&mut self, s: Stream) {
        self.s = s;
    }

    pub fn options(&self) -> &VadOptions {
        &self.opts
    }

    pub fn probability(&self) -> f32 {
        self.s.last_prob
    }

    pub fn in_speech(&self) -> bool {
        self.s.triggered
    }

    /// While announced speech has gone quiet but not yet for `min_silence`: when the quiet began
    /// (the end its `SpeechEnd` will give if the quiet lasts).
    pub fn quiet_since(&self) -> Option<f64> {
        if self.s.triggered && self.s.announced {
            self.s.silence_since
        } else {
            None
        }
    }

    /// Feeds 16 kHz mono samples; returns (window end time, probability) per completed window and
    /// the segment events they caused.
    pub async fn push(&mut self, samples: &[f32]) -> Result<(Vec<(f64, f32)>, Vec<VadEvent>)> {
        self.s.pending.extend_from_slice(samples);
        let (mut probs, mut events) = (vec![], vec![]);
        let mut used = 0;
        while self.s.pending.len() - used >= WINDOW {
            let mut input = self.s.context.clone();
            input.extend_from_slice(&self.s.pending[used..used + WINDOW]);
            used += WINDOW;
            self.s.context.copy_from_slice(&input[input.len() - CONTEXT..]);
            let given = HashMap::from([
                ("input".to_string(), HostTensor::f32(vec![1, CONTEXT + WINDOW], input)?),
                ("state".to_string(), HostTensor::f32(vec![2, 1, 128], self.s.state.clone())?),
                ("sr".to_string(), HostTensor::new(vec![], TensorData::I64(vec![SAMPLE_RATE as i64]))?),
            ]);
            let outs = self.model.run_async(given).await?;
            let mut prob = None;
            for (name, t) in outs {
                match (name.as_str(), t.data) {
                    ("output", TensorData::F32(v)) => prob = v.first().copied(),
                    ("stateN", TensorData::F32(v)) if v.len() == STATE => self.s.state = v,
                    _ => {}
                }
            }
            let p = prob.ok_or_else(|| Error::ModelInvalid("the VAD model gave no \"output\" probability".into()))?;
            self.s.windows += 1;
            self.s.last_prob = p;
            let t = self.s.windows as f64 * WINDOW as f64 / SAMPLE_RATE as f64;
            probs.push((t, p));
            self.segment(t, p, &mut events);
        }
        self.s.pending.drain(..used);
        Ok((probs, events))
    }

    /// Silero's hysteresis: start above `threshold`, end after `min_silence` below
    /// `neg_threshold`; segments shorter than `min_speech` are dropped.
    fn segment(&mut self, t: f64, p: f32, events: &mut Vec<VadEvent>) {
        let win = WINDOW as f64 / SAMPLE_RATE as f64;
        if p >= self.opts.threshold {
            self.s.silence_since = None;
            if !self.s.triggered {
                self.s.triggered = true;
                self.s.announced = false;
                self.s.speech_start = t - win;
            }
        }
        if self.s.triggered && !self.s.announced && t - self.s.speech_start >= self.opts.min_speech_seconds {
            self.s.announced = true;
            events.push(VadEvent::SpeechStart { time: self.s.speech_start });
        }
        if self.s.triggered && p < self.opts.neg_threshold {
            let since = *self.s.silence_since.get_or_insert(t - win);
            if t - since >= self.opts.min_silence_seconds {
                self.s.triggered = false;
                self.s.silence_since = None;
                if self.s.announced {
                    events.push(VadEvent::SpeechEnd { start: self.s.speech_start, end: since });
                }
            }
        }
    }

    /// Ends the stream: an open segment is closed at `now`.
    pub fn finish(&mut self, now: f64) -> Vec<VadEvent> {
        let mut events = vec![];
        if self.s.triggered && self.s.announced {
            events.push(VadEvent::SpeechEnd { start: self.s.speech_start, end: self.s.silence_since.unwrap_or(now) });
        }
        self.s.triggered = false;
        self.s.silence_since = None;
        events
    }
}
