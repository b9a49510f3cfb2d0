//! Speech to text with Whisper: audio at any rate → 16 kHz → 30-s windows → log-mel → encoder →
//! greedy decoding with timestamps → segments. Long audio moves window by window to the end of
//! the last complete segment (OpenAI's `transcribe`), each window prompted with the text before it.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::decoder::{Decoder, Search};
use super::fallback::{self, Attempt, TEMPERATURES};
use super::language::{Language, Languages};
use super::manifest::{ModelConfig, TranscriberManifest};
use super::mel::{LogMel, FRAMES, N_MELS, WINDOW_SAMPLES};
use super::rules::Rules;
use super::stream::{DictationEvent, Listening, Utterances};
use super::tokenizer::Tokenizer;
use super::transcript::{Segment, TokenProb, Transcript};
use crate::audio::{check_samples, Resampler, SAMPLE_RATE};
use crate::speech::manifest::FileRef;
use crate::speech::VadOptions;
use crate::tensor::{HostTensor, TensorData};
use crate::{Error, LoadOptions, Model, Result};

/// Below this peak a window is silence and is not decoded (−60 dBFS).
const SILENCE_PEAK: f32 = 1e-3;
/// Seeds the fallback's sampling (one stream per temperature, the same for every window).
const SAMPLING_SEED: u64 = 0x5EED_5B0F;
/// Seconds per timestamp step and per encoder frame pair.
const SECONDS_PER_SAMPLE: f64 = 1.0 / SAMPLE_RATE as f64;

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct TranscribeOptions {
    /// Words and spellings to expect (part numbers, station names): given to the decoder as the
    /// text that came before, which biases it towards them.
    pub prompt: Option<String>,
    /// Decode each window without the previous window's text as its prompt (that context helps
    /// continuity, and can repeat a mistake).
    pub no_context: bool,
    /// Live dictation: also report the text of an utterance while it goes on (`partial` events,
    /// about once a second of speech; each costs a transcription of the utterance so far).
    pub partials: bool,
    /// Beam search with this many beams (1 to 8; default 1, greedy). Each beam costs a decoder
    /// step per token.
    pub beam_size: Option<usize>,
    /// Decode again by sampling at rising temperatures when a window's text loops or the decoder
    /// was guessing (`fallback.rs`; default true). Costs time only on such windows.
    pub temperature_fallback: Option<bool>,
    /// Multilingual models: the language to transcribe in ("de", "fr", …), or "auto" (the
    /// default unless the manifest names one) to detect it per recording or utterance.
    /// English-only models take only "en".
    pub language: Option<String>,
}

pub struct Transcriber {
    encoder: Model,
    decoder: Decoder,
    tok: Tokenizer,
    rules: Rules,
    mel: LogMel,
    /// What follows `<|startoftranscript|>`: nothing, or a language and the task.
    language: Language,
    languages: Languages,
    opts: TranscribeOptions,
    /// Live dictation's state (present when the manifest names a VAD, and out while a chunk is
    /// being processed).
    listening: Option<Listening>,
    has_vad: bool,
    name: String,
}

impl Utterances for Transcriber {
    /// The prompt's tokens (what decoding starts from as "previous text").
    fn prompt_tokens(&self) -> Vec<u32> {
        match &self.opts.prompt {
            Some(p) if !p.trim().is_empty() => self.tok.encode(&format!(" {}", p.trim())),
            _ => vec![],
        }
    }

    fn keeps_context(&self) -> bool {
        !self.opts.no_context
    }

    /// 16-kHz audio, already checked. `context`: the text before it (tokens), which the
    /// transcript's tokens are appended to (unless `no_context`).
    async fn transcribe_16k(&mut self, audio: &[f32], context: &mut Vec<u32>) -> Result<Transcript> {
        let duration = audio.len() as f64 * SECONDS_PER_SAMPLE;
        let mut segments: Vec<Segment> = vec![];
        let prompt = self.prompt_tokens();
        // Detected on the first window that is not silence, then kept (OpenAI's `transcribe`).
        let mut lang = None;
        let mut seek = 0usize;
        // Skip a final sliver too short to hold a word.
        while seek + SAMPLE_RATE as usize / 10 <= audio.len() {
            let window = &audio[seek..(seek + WINDOW_SAMPLES).min(audio.len())];
            let last = seek + window.len() >= audio.len();
            if window.iter().all(|s| s.abs() < SILENCE_PEAK) {
                seek += window.len();
                continue;
            }
            let attempt = self.window(window, context, &mut lang).await?;
            let code = self.code(lang);
            let offset = seek as f64 * SECONDS_PER_SAMPLE;
            let span = window.len() as f64 * SECONDS_PER_SAMPLE;
            let (found, complete_to) = split(&self.tok, &attempt.window.tokens, span, last);
            if !attempt.is_silence() {
                for s in found {
                    context.extend(s.ids.iter().copied());
                    segments.push(self.segment(&s, offset, attempt.temperature, &code));
                }
            }
            if self.opts.no_context || attempt.temperature > fallback::UNTRUSTED_ABOVE {
                context.clone_from(&prompt);
            }
            // Only the latest half-context is ever used.
            let keep = self.decoder.context() / 2;
            if context.len() > keep {
                context.drain(..context.len() - keep);
            }
            // Move to the end of the last complete segment; a window with none moves on whole.
            let advance = complete_to.map_or(window.len(), |t| (t * SAMPLE_RATE as f64) as usize).max(1);
            seek += advance.min(window.len());
        }
        let text = segments.iter().map(|s| s.text.as_str()).collect::<Vec<_>>().join(" ");
        let language = match (&self.language, lang) {
            (Language::Detect { .. }, None) => None,
            (_, lang) => Some(self.code(lang)),
        };
        Ok(Transcript { text, segments, duration, language })
    }
}

fn no_vad(had: bool) -> Error {
    if had {
        // Only an internal error (a caught panic) mid-chunk leaves the stream without its state.
        return Error::Internal(
            "the dictation stream was lost to an earlier internal error: create the Transcriber again".into(),
        );
    }
    Error::InvalidArgument(
        "live dictation needs a VAD: this speech-to-text manifest names none (models.vad); transcribe() works without"
            .into(),
    )
}

fn checked<'a>(bytes: &'a [u8], f: &FileRef) -> Result<&'a [u8]> {
    if let Some(want) = &f.sha256 {
        crate::model::integrity::verify(bytes, want)?;
    }
    Ok(bytes)
}

impl Transcriber {
    /// `files`: encoder, decoder, tokenizer.json, config.json and, for live dictation, the VAD
    /// (`TranscriberManifest::files`). Each model file is freed once decoded, so a load never
    /// holds both models' bytes beside a model being optimised.
    pub async fn load(
        m: &TranscriberManifest,
        files: Vec<Vec<u8>>,
        load: &LoadOptions,
        opts: TranscribeOptions,
    ) -> Result<Transcriber> {
        let want = m.files().len();
        let given = files.len();
        let mut files = files.into_iter();
        let (enc, dec, tok, cfg) = match (files.next(), files.next(), files.next(), files.next()) {
            (Some(enc), Some(dec), Some(tok), Some(cfg)) if given == want => (enc, dec, tok, cfg),
            _ => {
                return Err(Error::InvalidArgument(format!(
                    "this speech-to-text manifest names {want} files, {given} given"
                )))
            }
        };
        if opts.beam_size.is_some_and(|b| !(1..=8).contains(&b)) {
            return Err(Error::InvalidArgument(format!(
                "beamSize must be 1 to 8 (1: greedy), not {}",
                opts.beam_size.unwrap_or_default()
            )));
        }
        // The small files' pins first: a wrong tokenizer or config fails before the models load.
        let (tok, cfg) = (checked(&tok, &m.models.tokenizer)?, checked(&cfg, &m.models.config)?);
        let with_sha = |f: &FileRef| LoadOptions { sha256: load.sha256.clone().or(f.sha256.clone()), ..load.clone() };
        let encoder = Model::load_async(enc, &with_sha(&m.models.encoder)).await?;
        let check_mel = encoder.inputs().first().and_then(|i| i.shape.clone());
        let want = [1, N_MELS, FRAMES];
        if encoder.inputs().len() != 1
            || check_mel.and_then(|s| s.iter().map(|d| d.fixed()).collect::<Option<Vec<_>>>()).as_deref()
                != Some(&want[..])
        {
            return Err(Error::ModelInvalid(format!("the Whisper encoder should take one mel input of {want:?}")));
        }
        // The decoder runs one token at a time and stays on the CPU (see `Model::run_shared`).
        let dec_opts = LoadOptions { backend: crate::BackendChoice::Cpu, ..with_sha(&m.models.decoder) };
        let decoder = Decoder::new(Model::load_async(dec, &dec_opts).await?)?;
        if decoder.frames * 2 != FRAMES {
            return Err(Error::ModelInvalid(format!(
                "the decoder attends to {} frames, not {}",
                decoder.frames,
                FRAMES / 2
            )));
        }
        let tok = Tokenizer::parse(tok, decoder.vocab)?;
        let cfg = ModelConfig::parse(cfg)?;
        let requested = opts.language.as_deref().or(m.language.as_deref());
        let (languages, language) = Languages::choose(&tok, &cfg, decoder.vocab, requested, &m.name)?;
        let rules = Rules::new(&tok, &cfg.suppress_ids, &cfg.suppress_ids_begin, true);
        let listening = match (&m.models.vad, files.next()) {
            (Some(f), Some(bytes)) => {
                let vo = VadOptions { min_silence_seconds: super::stream::END_SILENCE_SECONDS, ..Default::default() };
                // Silero runs a 32-ms window at a time: GPU dispatches would cost more than they save.
                let cpu = LoadOptions { backend: crate::BackendChoice::Cpu, ..load.clone() };
                Some(Listening::new(crate::speech::load::vad(f, &bytes, vo, &cpu).await?, opts.partials))
            }
            _ => None,
        };
        let has_vad = listening.is_some();
        Ok(Transcriber {
            encoder,
            decoder,
            tok,
            rules,
            mel: LogMel::new(),
            language,
            languages,
            opts,
            listening,
            has_vad,
            name: m.name.clone(),
        })
    }

    /// The manifest's model name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Whether live dictation (`feed`) is possible: the manifest names a VAD.
    pub fn can_listen(&self) -> bool {
        self.has_vad
    }

    pub fn options(&self) -> &TranscribeOptions {
        &self.opts
    }

    /// Transcribes a whole recording (any length; mono samples in [-1, 1] at `rate`).
    pub async fn transcribe(&mut self, samples: &[f32], rate: u32) -> Result<Transcript> {
        check_samples(samples, rate)?;
        let mut context = self.prompt_tokens();
        self.transcribe_16k(&to_16k(samples, rate)?, &mut context).await
    }

    /// The language spoken in the first 30 s (Whisper's detection: the likeliest language token
    /// after `<|startoftranscript|>`) and its probability among the languages; English-only
    /// models answer `("en", 1.0)`. Costs one encoder window and one decoder step.
    pub async fn detect_language(&mut self, samples: &[f32], rate: u32) -> Result<(String, f32)> {
        check_samples(samples, rate)?;
        if matches!(self.language, Language::EnglishOnly) {
            return Ok(("en".into(), 1.0));
        }
        let audio = to_16k(samples, rate)?;
        let cross = self.encode(&audio[..audio.len().min(WINDOW_SAMPLES)]).await?;
        let logits = self.decoder.first_logits(&cross, self.tok.specials.sot).await?;
        let (id, p) = self.languages.likeliest(&logits).ok_or_else(|| Error::Internal("no language token".into()))?;
        Ok((self.code(Some(id)), p))
    }

    /// Live dictation: feeds a chunk of a stream; returns the VAD's events and the segments of
    /// utterances that ended. Needs the manifest's VAD.
    pub async fn feed(&mut self, samples: &[f32], rate: u32) -> Result<Vec<DictationEvent>> {
        let mut l = self.listening.take().ok_or_else(|| no_vad(self.has_vad))?;
        let r = l.feed(self, samples, rate).await;
        self.listening = Some(l);
        r
    }

    /// Ends the stream: transcribes an utterance still open, and starts a new stream.
    pub async fn finish(&mut self) -> Result<Vec<DictationEvent>> {
        let mut l = self.listening.take().ok_or_else(|| no_vad(self.has_vad))?;
        let r = l.finish(self).await;
        self.listening = Some(l);
        r
    }

    /// Forgets the stream (not the options).
    pub fn reset(&mut self) {
        if let Some(l) = &mut self.listening {
            l.reset();
        }
    }

    /// The models: encoder, decoder and the VAD (if any).
    pub fn models(&self) -> Vec<&Model> {
        [&self.encoder, self.decoder.model()]
            .into_iter()
            .chain(self.listening.as_ref().map(|l| l.vad().model()))
            .collect()
    }

    /// The encoder's cross-attention keys and values for up to 30 s of 16-kHz audio.
    async fn encode(&mut self, audio: &[f32]) -> Result<[Arc<Tensor>; 2]> {
        let mel = self.mel.compute(audio);
        let outs = self
            .encoder
            .run_async(std::collections::HashMap::from([(
                self.encoder.inputs()[0].name.clone(),
                HostTensor::new(vec![1, N_MELS, FRAMES], TensorData::F32(mel))?,
            )]))
            .await?;
        let cross = |i: usize| -> Result<Arc<Tensor>> {
            outs.get(i)
                .ok_or_else(|| Error::ModelInvalid("the Whisper encoder needs 2 outputs".into()))?
                .1
                .to_tract()
                .map(Arc::new)
        };
        Ok([cross(0)?, cross(1)?])
    }

    /// Encodes a window and decodes it, again at rising temperatures while the text is not
    /// plausible (`fallback.rs`). `lang`: the language token this recording is decoded in,
    /// detected here if still unknown.
    async fn window(&mut self, audio: &[f32], context: &[u32], lang: &mut Option<u32>) -> Result<Attempt> {
        let cross = self.encode(audio).await?;
        // Half the context for the prompt, half for the answer (OpenAI's split).
        let half = self.decoder.context() / 2;
        let mut prefix = vec![];
        if !context.is_empty() {
            prefix.push(self.tok.specials.prev);
            prefix.extend_from_slice(&context[context.len().saturating_sub(half - 1)..]);
        }
        prefix.push(self.tok.specials.sot);
        match self.language {
            Language::EnglishOnly => {}
            Language::Fixed { id, transcribe, .. } => prefix.extend([id, transcribe]),
            Language::Detect { transcribe } => {
                if lang.is_none() {
                    let logits = self.decoder.first_logits(&cross, self.tok.specials.sot).await?;
                    *lang = self.languages.likeliest(&logits).map(|(id, _)| id);
                }
                let id = lang.ok_or_else(|| Error::Internal("no language token to decode in".into()))?;
                prefix.extend([id, transcribe]);
            }
        }
        let room = (self.decoder.context() - prefix.len()).min(half);
        let beams = self.opts.beam_size.unwrap_or(1);
        let tries = if self.opts.temperature_fallback.unwrap_or(true) { TEMPERATURES.len() } else { 1 };
        let mut attempts = vec![];
        for (i, &temperature) in TEMPERATURES[..tries].iter().enumerate() {
            let search = Search { beams, temperature: temperature as f32, seed: SAMPLING_SEED + i as u64 };
            let window = self.decoder.window(cross.clone(), &prefix, &self.tok, &self.rules, room, search).await?;
            let text: Vec<u32> = window.tokens.iter().map(|t| t.0).filter(|&t| !self.tok.is_timestamp(t)).collect();
            let attempt = Attempt::new(window, temperature, &self.tok.decode(&text));
            if attempt.good_enough() {
                return Ok(attempt);
            }
            attempts.push(attempt);
        }
        fallback::best(attempts).ok_or_else(|| Error::Internal("no decoding attempt".into()))
    }

    /// The code of the language decoded in.
    fn code(&self, detected: Option<u32>) -> String {
        match &self.language {
            Language::EnglishOnly => "en".into(),
            Language::Fixed { code, .. } => code.clone(),
            Language::Detect { .. } => detected.and_then(|id| self.languages.code(id)).unwrap_or_default().into(),
        }
    }

    fn segment(&self, s: &Found, offset: f64, temperature: f64, language: &str) -> Segment {
        let tokens: Vec<TokenProb> = s
            .ids
            .iter()
            .zip(&s.probs)
            .map(|(&id, &p)| TokenProb { text: self.tok.decode(&[id]), probability: p })
            .collect();
        let logp: f32 = s.probs.iter().map(|p| p.max(1e-30).ln()).sum::<f32>() / s.probs.len().max(1) as f32;
        Segment {
            text: self.tok.decode(&s.ids).trim().to_string(),
            start: offset + s.start,
            end: offset + s.end,
            confidence: logp.exp(),
            temperature,
            language: language.into(),
            tokens,
        }
    }
}

/// A segment of one window, times from the window's start.
struct Found {
    ids: Vec<u32>,
    probs: Vec<f32>,
    start: f64,
    end: f64,
}

/// Cuts a window's tokens at timestamps. Returns the segments with text and, unless this is the
/// last window or it ended on a segment's closing time, where the next window starts: the end of
/// the last complete segment (text after it is dropped here and decoded again from there).
fn split(tok: &Tokenizer, tokens: &[(u32, f32)], span: f64, last: bool) -> (Vec<Found>, Option<f64>) {
    let empty = |t: f64| Found { ids: vec![], probs: vec![], start: t, end: t };
    let mut out = vec![];
    let mut cur = empty(0.0);
    for &(id, p) in tokens {
        if !tok.is_timestamp(id) {
            cur.ids.push(id);
            cur.probs.push(p);
            continue;
        }
        let t = tok.time_of(id).min(span);
        if cur.ids.is_empty() {
            cur.start = t;
        } else {
            cur.end = t.max(cur.start);
            out.push(std::mem::replace(&mut cur, empty(t)));
        }
    }
    let is_ts = |i: usize| tokens.get(i).is_some_and(|(t, _)| tok.is_timestamp(*t));
    let n = tokens.len();
    let single_ending = n >= 1 && is_ts(n - 1) && (n < 2 || !is_ts(n - 2));
    let resume = out.last().map(|s| s.end).filter(|&t| t > 0.0 && !last && !single_ending);
    if !cur.ids.is_empty() && resume.is_none() {
        cur.end = span;
        out.push(cur);
    }
    (out, resume)
}

/// The whole recording at 16 kHz (the resampler's delay flushed with silence).
fn to_16k(samples: &[f32], rate: u32) -> Result<Vec<f32>> {
    let clamped: Vec<f32> = samples.iter().map(|s| s.clamp(-1.0, 1.0)).collect();
    if rate == SAMPLE_RATE {
        return Ok(clamped);
    }
    let want = (samples.len() as u64 * SAMPLE_RATE as u64 / rate as u64) as usize;
    let mut r = Resampler::new(rate, SAMPLE_RATE)?;
    let mut out = Vec::with_capacity(want + 1);
    r.push(&clamped, &mut out);
    let tail = vec![0f32; rate as usize / 100 + 64];
    while out.len() < want {
        r.push(&tail, &mut out);
    }
    out.truncate(want);
    Ok(out)
}
