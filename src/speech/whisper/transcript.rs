//! What a transcription gives: text, timed segments, per-token probabilities.

use serde::Serialize;

/// One token of a segment and the decoder's probability for it.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TokenProb {
    pub text: String,
    pub probability: f32,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Segment {
    pub text: String,
    /// Seconds from the start of the audio.
    pub start: f64,
    pub end: f64,
    /// Geometric mean of the token probabilities.
    pub confidence: f32,
    /// The sampling temperature its window was decoded at: 0 unless the temperature fallback
    /// had to retry (the text looped or the decoder was guessing).
    pub temperature: f64,
    /// The language it was decoded in ("en", "de", …; always "en" for English-only models).
    pub language: String,
    pub tokens: Vec<TokenProb>,
}

#[derive(Clone, Debug, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Transcript {
    pub text: String,
    pub segments: Vec<Segment>,
    /// Seconds of audio transcribed.
    pub duration: f64,
    /// The language it was decoded in (set or detected); absent when nothing was decoded
    /// (silence).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language: Option<String>,
}
