//! The speech-to-text manifest (`task: "transcribe"`): the encoder and decoder (ONNX, from
//! `scripts/export/whisper.py`), the tokenizer, and the model's configuration (suppressed
//! tokens), each file pinned by sha256.

use serde::{Deserialize, Serialize};

use crate::speech::manifest::FileRef;
use crate::{Error, Result};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Files {
    pub encoder: FileRef,
    pub decoder: FileRef,
    /// `tokenizer.json` (byte-level BPE).
    pub tokenizer: FileRef,
    /// CTranslate2's `config.json`: `suppress_ids`, `suppress_ids_begin`.
    pub config: FileRef,
    /// Silero VAD, for live dictation (`feed`): it cuts the stream into utterances.
    #[serde(default)]
    pub vad: Option<FileRef>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TranscriberManifest {
    pub task: String,
    pub name: String,
    #[serde(default)]
    pub licence: String,
    #[serde(default)]
    pub source: String,
    pub models: Files,
    /// Multilingual models only: the language to decode in (e.g. "de"; the caller's `language`
    /// option overrides it); absent: detected per recording or utterance. English-only models
    /// ignore it.
    #[serde(default)]
    pub language: Option<String>,
}

/// The part of `config.json` decoding uses.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ModelConfig {
    #[serde(default)]
    pub suppress_ids: Vec<u32>,
    #[serde(default)]
    pub suppress_ids_begin: Vec<u32>,
    /// The language tokens (`<|en|>`, `<|de|>`, …) in the model's order.
    #[serde(default)]
    pub lang_ids: Vec<u32>,
}

impl TranscriberManifest {
    pub fn parse(json: &str) -> Result<Self> {
        let m: TranscriberManifest = crate::json::from_str(json)
            .map_err(|e| Error::InvalidArgument(format!("the speech-to-text manifest is not valid: {e}")))?;
        if m.task != "transcribe" {
            return Err(Error::InvalidArgument(format!(
                "speech-to-text manifest: task is \"{}\", expected \"transcribe\"",
                m.task
            )));
        }
        Ok(m)
    }

    /// The files `Transcriber::load` takes, in its order (the VAD last, when there is one).
    pub fn files(&self) -> Vec<&FileRef> {
        let m = &self.models;
        [&m.encoder, &m.decoder, &m.tokenizer, &m.config].into_iter().chain(m.vad.as_ref()).collect()
    }
}

impl ModelConfig {
    pub fn parse(bytes: &[u8]) -> Result<Self> {
        crate::json::from_slice(bytes).map_err(|e| Error::ModelInvalid(format!("the Whisper config.json: {e}")))
    }
}
