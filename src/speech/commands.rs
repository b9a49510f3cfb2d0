//! `VoiceCommands`: the whole speech pipeline on one stream. Audio is converted to 16 kHz once,
//! then goes to Silero VAD and to the keyword spotter; the grammar decoder and the enrolled
//! commands read the spotter's frames, gated by recent voice activity, and what they detect stands
//! when the VAD shows it was said on its own (`utterance`).

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::enrol::{EnrolledCommand, EnrolledDetector};
use super::grammar::{Detection, GrammarDecoder};
use super::manifest::{CommandSpec, SpeechManifest};
use super::spotter::KeywordSpotter;
use super::utterance::{PauseOptions, UtteranceGate};
use super::vad::{Vad, VadEvent, VadOptions};
use crate::audio::frontend::Frontend;
use crate::audio::{To16k, SAMPLE_RATE};
use crate::{Error, Model, Result};

/// Frames are decoded only when the VAD heard speech within this many seconds before them (the
/// embedding looks 0.76 s back, the head's stack 0.56 s more).
const GATE_SECONDS: f64 = 1.4;
/// The gate opens when a VAD window in that span reaches this probability: far below Silero's
/// segment threshold (0.5), because in loud noise (0 dB SNR) Silero rarely passes 0.35 on
/// speech. Measured on the dev speech: 0.35 → 0.1 raised 0 dB detection from 28 % to 34 % and
/// 10 dB from 87 % to 90 % without one more false alarm; the head's filler does the rest.
const VAD_GATE: f32 = 0.1;
/// Silence appended by `finish`, so a command said at the very end is still decoded.
const FLUSH_SECONDS: f64 = 1.2;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VoiceOptions {
    /// Names from the manifest's grammar or sequences of its words; empty: all its commands.
    pub commands: Vec<String>,
    /// Overrides the manifest's detection threshold (higher: fewer false alarms, more misses).
    pub threshold: Option<f64>,
    pub vad: VadOptions,
    /// The pauses a command needs before and after it.
    pub pause: PauseOptions,
}

#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(tag = "type", rename_all = "camelCase")]
pub enum SpeechEvent {
    Command {
        #[serde(flatten)]
        detection: Detection,
        /// Stream time at which the event was decided (its latency is `decidedAt - end`).
        #[serde(rename = "decidedAt")]
        decided_at: f64,
    },
    Vad(VadEvent),
}

pub struct VoiceCommands {
    manifest: SpeechManifest,
    commands: Vec<CommandSpec>,
    to16k: To16k,
    spotter: KeywordSpotter,
    vad: Vad,
    decoder: GrammarDecoder,
    enrolled: Vec<EnrolledDetector>,
    utterance: UtteranceGate,
    /// (window end, probability) of recent VAD windows.
    recent: VecDeque<(f64, f32)>,
    samples: u64,
}

impl VoiceCommands {
    pub fn new(
        manifest: SpeechManifest,
        frontend: Frontend,
        head: Model,
        vad: Vad,
        opts: VoiceOptions,
    ) -> Result<Self> {
        let commands = manifest.select(&opts.commands)?;
        let resolved = manifest.resolve(&commands)?;
        let threshold = opts.threshold.unwrap_or(manifest.threshold);
        let decoder = GrammarDecoder::new(&resolved, manifest.words.len(), manifest.durations(), threshold)?
            .with_evidence(manifest.decoder)?;
        let spotter = KeywordSpotter::new(frontend, head, manifest.head.stack, manifest.words.len() + 1)?;
        let vo = vad.options();
        let utterance = UtteranceGate::new(opts.pause, vo.threshold, vo.neg_threshold)?;
        Ok(VoiceCommands {
            commands,
            to16k: To16k::new(),
            spotter,
            vad,
            decoder,
            enrolled: vec![],
            utterance,
            recent: VecDeque::new(),
            samples: 0,
            manifest,
        })
    }

    pub fn commands(&self) -> Vec<String> {
        self.commands
            .iter()
            .map(|c| c.name.clone())
            .chain(self.enrolled.iter().map(|e| e.command.name.clone()))
            .collect()
    }

    /// What each model is and where it runs: mel spectrogram, embedding, head, VAD.
    pub fn models_info(&self) -> Vec<crate::ModelInfo> {
        let [m, e, h] = self.spotter.models();
        [m, e, h, self.vad.model()].iter().map(|m| m.info()).collect()
    }

    pub fn enrolled(&self) -> Vec<EnrolledCommand> {
        self.enrolled.iter().map(|e| e.command.clone()).collect()
    }

    pub fn manifest(&self) -> &SpeechManifest {
        &self.manifest
    }

    pub fn vad_probability(&self) -> f32 {
        self.vad.probability()
    }

    /// Seconds of audio processed.
    pub fn time(&self) -> f64 {
        self.samples as f64 / SAMPLE_RATE as f64
    }

    /// Feeds a chunk of mono samples in [-1, 1] at `rate` Hz; returns the events it settled (the
    /// chunk's VAD events first, then its commands: each kind in time order, whatever the chunking).
    pub async fn feed(&mut self, samples: &[f32], rate: u32) -> Result<Vec<SpeechEvent>> {
        let s16 = self.to16k.push(samples, rate)?;
        self.feed_16k(&s16).await
    }

    async fn feed_16k(&mut self, s16: &[f32]) -> Result<Vec<SpeechEvent>> {
        let mut events = vec![];
        let (probs, vad_events) = self.vad.push(s16).await?;
        events.extend(vad_events.into_iter().map(SpeechEvent::Vad));
        self.utterance.push_vad(&probs);
        self.recent.extend(probs);
        let frames = self.spotter.feed_16k(s16).await?;
        self.samples += s16.len() as u64;
        let speech_level = VAD_GATE;
        for f in frames {
            while self.recent.front().is_some_and(|(t, _)| *t < f.time - GATE_SECONDS) {
                self.recent.pop_front();
            }
            let speech = self.recent.iter().any(|(t, p)| *t <= f.time + 1e-9 && *p >= speech_level);
            if let Some(d) = self.decoder.push(&f.posteriors, speech) {
                self.utterance.offer(d, f.time);
            }
            for e in &mut self.enrolled {
                if let Some(d) = e.push(&f.embedding, f.index) {
                    self.utterance.offer(d, f.time);
                }
            }
        }
        let settled = self.utterance.settle(self.time());
        events
            .extend(settled.into_iter().map(|(detection, decided_at)| SpeechEvent::Command { detection, decided_at }));
        Ok(events)
    }

    /// Ends the stream: decodes what the last audio still holds and closes an open speech segment.
    pub async fn finish(&mut self) -> Result<Vec<SpeechEvent>> {
        let silence = vec![0.0; (FLUSH_SECONDS * SAMPLE_RATE as f64) as usize];
        let mut events = self.feed_16k(&silence).await?;
        let now = self.time();
        events.extend(self.vad.finish(now).into_iter().map(SpeechEvent::Vad));
        Ok(events)
    }

    /// Back to the state of a new stream (enrolled commands stay).
    pub fn reset(&mut self) {
        self.to16k.reset();
        self.spotter.reset();
        self.vad.reset();
        self.recent.clear();
        self.utterance.reset();
        self.samples = 0;
        let resolved = self.manifest.resolve(&self.commands).expect("resolved at creation");
        self.decoder = GrammarDecoder::new(
            &resolved,
            self.manifest.words.len(),
            self.manifest.durations(),
            self.decoder.threshold(),
        )
        .and_then(|d| d.with_evidence(self.manifest.decoder))
        .expect("valid at creation");
        let enrolled: Vec<EnrolledCommand> = self.enrolled.drain(..).map(|e| e.command).collect();
        self.enrolled = enrolled.into_iter().map(EnrolledDetector::new).collect();
    }

    /// The speech embedding frames of one recording of a phrase: the span the VAD calls speech,
    /// plus the frames right after it (each embedding looks 0.76 s back).
    pub async fn phrase_frames(&mut self, samples: &[f32], rate: u32) -> Result<Vec<Vec<f32>>> {
        let mut to16k = To16k::new();
        let mut s16 = to16k.push(samples, rate)?;
        s16.extend(std::iter::repeat_n(0.0, (0.6 * SAMPLE_RATE as f64) as usize));
        // The live stream's state is set aside and restored: enrolment may happen mid-stream.
        let saved = (self.spotter.frontend.save(), self.vad.save());
        self.spotter.frontend.reset();
        self.vad.reset();
        let result = async {
            let (probs, _) = self.vad.push(&s16).await?;
            let frames = self.spotter.frontend.push(&s16).await?;
            Ok::<_, Error>((probs, frames))
        }
        .await;
        self.spotter.frontend.restore(saved.0);
        self.vad.restore(saved.1);
        let (probs, frames) = result?;
        let speech: Vec<f64> = probs.iter().filter(|(_, p)| *p >= 0.5).map(|(t, _)| *t).collect();
        let (Some(&first), Some(&last)) = (speech.first(), speech.last()) else {
            return Err(Error::InvalidArgument(
                "the recording has no speech: say the phrase clearly, close to the microphone".into(),
            ));
        };
        let (from, to) = (first - super::vad::WINDOW as f64 / SAMPLE_RATE as f64 + 0.24, last + 0.32);
        Ok(frames
            .into_iter()
            .enumerate()
            .filter(|(i, _)| {
                let t = crate::audio::frontend::chunk_end(*i as u64);
                t >= from && t <= to
            })
            .map(|(_, f)| f)
            .collect())
    }

    /// Trains a custom command from 3-10 recordings (each `(samples, rate)`) and starts
    /// detecting it. Returns the trained command, for saving.
    pub async fn enrol(&mut self, name: &str, recordings: &[(Vec<f32>, u32)]) -> Result<EnrolledCommand> {
        if self.commands().iter().any(|c| c == name) {
            return Err(Error::InvalidArgument(format!(
                "a command named \"{name}\" already exists: pick another name or remove it first"
            )));
        }
        if !(super::enrol::MIN_RECORDINGS..=super::enrol::MAX_RECORDINGS).contains(&recordings.len()) {
            return Err(Error::InvalidArgument(format!(
                "enrol \"{name}\" with {} to {} recordings of the phrase, not {}",
                super::enrol::MIN_RECORDINGS,
                super::enrol::MAX_RECORDINGS,
                recordings.len()
            )));
        }
        let mut seqs = vec![];
        for (samples, rate) in recordings {
            seqs.push(self.phrase_frames(samples, *rate).await?);
        }
        let cmd = EnrolledCommand::train(name, &seqs, &self.manifest.background())?;
        self.add_enrolled(cmd.clone())?;
        Ok(cmd)
    }

    /// Adds a previously enrolled (saved) command.
    pub fn add_enrolled(&mut self, cmd: EnrolledCommand) -> Result<()> {
        cmd.validate()?;
        if cmd.hmm.dims() != crate::audio::frontend::EMBEDDING_DIMS {
            return Err(Error::InvalidArgument(format!(
                "enrolled command \"{}\" is for {}-d features, this pipeline makes 96",
                cmd.name,
                cmd.hmm.dims()
            )));
        }
        if self.commands().contains(&cmd.name) {
            return Err(Error::InvalidArgument(format!("a command named \"{}\" already exists", cmd.name)));
        }
        self.enrolled.push(EnrolledDetector::new(cmd));
        Ok(())
    }

    /// Removes an enrolled command; false when there is none of that name.
    pub fn remove_enrolled(&mut self, name: &str) -> bool {
        let before = self.enrolled.len();
        self.enrolled.retain(|e| e.command.name != name);
        before != self.enrolled.len()
    }
}
