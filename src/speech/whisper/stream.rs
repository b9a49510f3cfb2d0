//! Live dictation: microphone chunks at any rate → 16 kHz → Silero VAD cuts utterances → each
//! utterance is transcribed as soon as it ends (one longer than `MAX_UTTERANCE` is cut there
//! and goes on in the next piece). Events leave in stream time (seconds since the stream began).
//!
//! The text is ready sooner than the end is certain: once speech has been quiet for
//! `TAIL_SECONDS`, the utterance so far (tail included) is transcribed early; if the quiet lasts to
//! `END_SILENCE_SECONDS`, that is the utterance and its text is out at once, else it is dropped
//! (or shown as a partial). Either way the final text is that of the same audio.

use serde::Serialize;

use super::transcript::{Segment, Transcript};
use crate::audio::{To16k, SAMPLE_RATE};
use crate::speech::{Vad, VadEvent};
use crate::Result;

/// Audio kept before the VAD's start, so a soft first phoneme (which the VAD scores low) is not
/// clipped; faster-whisper pads by 0.4 s too.
const LEAD_SECONDS: f64 = 0.4;
/// Audio kept after the VAD's end. Short, as the early transcription waits for it: the VAD's end
/// is its first quiet window, already after the last phoneme (Silero pads by 0.03 s).
const TAIL_SECONDS: f64 = 0.25;
/// Silence that ends an utterance. Shorter cuts sentences at the pauses inside them (and the
/// decoder loses their context); longer delays the text.
pub const END_SILENCE_SECONDS: f64 = 0.5;
/// Audio kept while nobody speaks: the VAD announces speech `min_speech` after it began, and the
/// margin goes back further still; chunk sizes must not change what an utterance holds.
const IDLE_KEEP_SECONDS: f64 = 2.0;
/// Tokens of the text so far given to the next utterance as its prompt (after the caller's own):
/// it keeps names and spellings consistent; each token costs one decoder step before the answer.
const LIVE_CONTEXT_TOKENS: usize = 48;
/// Partial results: the first after this much speech, the next when as much again has come and
/// at least twice the last one's transcription time has passed (so the stream never falls behind).
const PARTIAL_EVERY_SECONDS: f64 = 1.0;
/// An utterance is cut here: the encoder sees at most 30 s, and text should not wait that long.
const MAX_UTTERANCE_SECONDS: f64 = 20.0;

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(untagged)]
pub enum DictationEvent {
    /// `speechStart` / `speechEnd`, as the VAD reports them.
    Vad(VadEvent),
    Segment(SegmentEvent),
    Partial(PartialEvent),
}

/// The text of an utterance still going on (live dictation with `partials`): replaced by later
/// partials and finally by the utterance's segments.
#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PartialEvent {
    /// Always "partial".
    #[serde(rename = "type")]
    pub kind: &'static str,
    pub text: String,
    /// Stream seconds the utterance began, and how far it was heard.
    pub start: f64,
    pub end: f64,
    pub decode_ms: f64,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SegmentEvent {
    /// Always "segment".
    #[serde(rename = "type")]
    pub kind: &'static str,
    #[serde(flatten)]
    pub segment: Segment,
    /// Milliseconds the transcription of its utterance took.
    pub decode_ms: f64,
}

/// What live dictation needs of a transcriber (`Transcriber` is the one).
#[allow(async_fn_in_trait)] // crate-internal: never boxed, never sent across threads
pub trait Utterances {
    /// The caller's prompt as tokens.
    fn prompt_tokens(&self) -> Vec<u32>;
    /// Whether each utterance is prompted with the text before it.
    fn keeps_context(&self) -> bool;
    /// 16-kHz audio, already checked; `context` (tokens of the text before it) gets the
    /// transcript's tokens appended.
    async fn transcribe_16k(&mut self, audio: &[f32], context: &mut Vec<u32>) -> Result<Transcript>;
}

/// An utterance transcribed before its end was certain, kept until the VAD decides.
struct Early {
    /// The span it covers: from the utterance's start to `quiet + TAIL_SECONDS`.
    from: f64,
    quiet: f64,
    spoken: Spoken,
}

/// An utterance's transcription, not yet part of the stream's text.
struct Spoken {
    events: Vec<DictationEvent>,
    /// Its tokens, for the next utterance's context.
    tokens: Vec<u32>,
    text: String,
    decode_ms: f64,
}

pub struct Listening {
    vad: Vad,
    to16k: To16k,
    /// 16-kHz audio from sample `base` of the stream on.
    audio: Vec<f32>,
    base: u64,
    /// Stream time the current utterance started (its margin included), while speech goes on.
    open: Option<f64>,
    /// The latest text (tokens), the next utterance's prompt after the caller's.
    said: Vec<u32>,
    /// Partial results on (`TranscribeOptions::partials`), and the stream time of the next one.
    partials: bool,
    next_partial: f64,
    early: Option<Early>,
}

fn seconds(samples: u64) -> f64 {
    samples as f64 / SAMPLE_RATE as f64
}

impl Listening {
    pub fn new(vad: Vad, partials: bool) -> Self {
        Listening {
            vad,
            to16k: To16k::new(),
            audio: vec![],
            base: 0,
            open: None,
            said: vec![],
            partials,
            next_partial: 0.0,
            early: None,
        }
    }

    pub fn vad(&self) -> &Vad {
        &self.vad
    }

    fn now(&self) -> f64 {
        seconds(self.base + self.audio.len() as u64)
    }

    pub fn reset(&mut self) {
        self.vad.reset();
        self.to16k.reset();
        self.audio.clear();
        self.base = 0;
        self.open = None;
        self.said.clear();
        self.early = None;
    }

    /// Feeds a chunk; returns the VAD's events and the segments of utterances that ended.
    pub async fn feed(&mut self, t: &mut impl Utterances, samples: &[f32], rate: u32) -> Result<Vec<DictationEvent>> {
        let s16 = self.to16k.push(samples, rate)?;
        self.audio.extend_from_slice(&s16);
        let (_, events) = self.vad.push(&s16).await?;
        let mut out = vec![];
        for e in events {
            match e {
                VadEvent::SpeechStart { time } => {
                    self.open = Some((time - LEAD_SECONDS).max(0.0));
                    self.next_partial = time + PARTIAL_EVERY_SECONDS;
                }
                VadEvent::SpeechEnd { start, end } => {
                    let from = self.open.take().unwrap_or(start - LEAD_SECONDS);
                    out.push(DictationEvent::Vad(e.clone()));
                    let spoken = match self.early.take() {
                        Some(early) if early.from == from && early.quiet == end => early.spoken,
                        _ => self.transcribe(t, from, end + TAIL_SECONDS).await?,
                    };
                    out.extend(self.commit(t, spoken));
                    continue;
                }
            }
            out.push(DictationEvent::Vad(e));
        }
        if let Some(from) = self.open {
            let quiet = self.vad.quiet_since();
            if self.now() - from >= MAX_UTTERANCE_SECONDS {
                let to = self.now();
                let spoken = self.transcribe(t, from, to).await?;
                out.extend(self.commit(t, spoken));
                self.open = Some(to);
            } else if let Some(quiet) = quiet.filter(|&q| self.now() >= q + TAIL_SECONDS) {
                if self.early.as_ref().is_none_or(|e| e.from != from || e.quiet != quiet) {
                    let spoken = self.transcribe(t, from, quiet + TAIL_SECONDS).await?;
                    if self.partials {
                        out.extend(partial_event(&spoken, from, quiet + TAIL_SECONDS));
                    }
                    self.early = Some(Early { from, quiet, spoken });
                }
            } else if self.partials && quiet.is_none() && self.now() >= self.next_partial {
                out.extend(self.partial(t, from).await?);
            }
        }
        // Keep what an utterance may still need: a margin before any speech to come.
        let keep_from = self.open.unwrap_or(self.now() - IDLE_KEEP_SECONDS).max(seconds(self.base));
        let drop = self.at(keep_from);
        self.audio.drain(..drop);
        self.base += drop as u64;
        Ok(out)
    }

    /// Ends the stream: an utterance still open is transcribed now.
    pub async fn finish(&mut self, t: &mut impl Utterances) -> Result<Vec<DictationEvent>> {
        let now = self.now();
        let mut out: Vec<DictationEvent> = self.vad.finish(now).into_iter().map(DictationEvent::Vad).collect();
        if let Some(from) = self.open.take() {
            let spoken = self.transcribe(t, from, now).await?;
            out.extend(self.commit(t, spoken));
        }
        self.reset();
        Ok(out)
    }

    /// The text of the open utterance so far; the text before it stays as it was.
    async fn partial(&mut self, t: &mut impl Utterances, from: f64) -> Result<Option<DictationEvent>> {
        let now = self.now();
        let spoken = self.transcribe(t, from, now).await?;
        self.next_partial = now + PARTIAL_EVERY_SECONDS.max(2.0 * spoken.decode_ms / 1e3);
        Ok(partial_event(&spoken, from, now))
    }

    /// The sample of `audio` at stream time `time` (clamped to what is kept).
    fn at(&self, time: f64) -> usize {
        (((time - seconds(self.base)) * SAMPLE_RATE as f64).max(0.0) as usize).min(self.audio.len())
    }

    /// Transcribes the stream from `from` to `to` (stream seconds) after the text so far.
    async fn transcribe(&mut self, t: &mut impl Utterances, from: f64, to: f64) -> Result<Spoken> {
        let (a, b) = (self.at(from), self.at(to));
        if b <= a {
            return Ok(Spoken { events: vec![], tokens: vec![], text: String::new(), decode_ms: 0.0 });
        }
        let offset = seconds(self.base + a as u64);
        let t0 = crate::backend::clock::now_ms();
        let mut context = t.prompt_tokens();
        context.extend_from_slice(&self.said);
        let before = context.len();
        let transcript = t.transcribe_16k(&self.audio[a..b], &mut context).await?;
        let decode_ms = crate::backend::clock::now_ms() - t0;
        let events = transcript
            .segments
            .into_iter()
            .map(|mut s| {
                s.start += offset;
                s.end += offset;
                DictationEvent::Segment(SegmentEvent { kind: "segment", segment: s, decode_ms })
            })
            .collect();
        let tokens = context.split_off(before.min(context.len()));
        Ok(Spoken { events, tokens, text: transcript.text, decode_ms })
    }

    /// Makes an utterance's text part of the stream's: its segments go out, its tokens become
    /// the next one's context.
    fn commit(&mut self, t: &impl Utterances, spoken: Spoken) -> Vec<DictationEvent> {
        if t.keeps_context() {
            self.said.extend_from_slice(&spoken.tokens);
            self.said.drain(..self.said.len().saturating_sub(LIVE_CONTEXT_TOKENS));
        }
        spoken.events
    }
}

/// A transcription of an utterance still open, as a `partial` event (none for no text).
fn partial_event(spoken: &Spoken, start: f64, end: f64) -> Option<DictationEvent> {
    (!spoken.text.is_empty()).then(|| {
        DictationEvent::Partial(PartialEvent {
            kind: "partial",
            text: spoken.text.clone(),
            start,
            end,
            decode_ms: spoken.decode_ms,
        })
    })
}
