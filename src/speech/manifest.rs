//! The voice-command manifest (`models/speech/manifest.json`): which models make the pipeline,
//! the head's vocabulary, the command grammar, and the background statistics enrolment uses.

use serde::{Deserialize, Serialize};

use super::hmm::DiagGaussian;
use crate::{Error, Result};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct FileRef {
    pub file: String,
    #[serde(default)]
    pub sha256: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Frontend {
    pub melspectrogram: FileRef,
    pub embedding: FileRef,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Head {
    #[serde(flatten)]
    pub file: FileRef,
    /// Embeddings the head sees at once.
    pub stack: usize,
}

#[derive(Clone, Debug, Serialize, Deserialize, PartialEq)]
pub struct CommandSpec {
    pub name: String,
    pub words: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Background {
    pub mean: Vec<f64>,
    pub var: Vec<f64>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SpeechManifest {
    pub task: String,
    pub name: String,
    #[serde(default)]
    pub licence: String,
    #[serde(default)]
    pub source: String,
    pub frontend: Frontend,
    pub vad: FileRef,
    pub head: Head,
    pub words: Vec<String>,
    #[serde(default)]
    pub word_durations: std::collections::BTreeMap<String, f64>,
    pub commands: Vec<CommandSpec>,
    /// Path score a command must reach (sum over its frames of log posterior ratios).
    #[serde(default = "default_threshold")]
    pub threshold: f64,
    /// The decoder's per-frame cap and per-word evidence, calibrated with this head.
    #[serde(default)]
    pub decoder: super::grammar::Evidence,
    pub background: Background,
}

fn default_threshold() -> f64 {
    9.0
}

impl SpeechManifest {
    pub fn parse(json: &str) -> Result<Self> {
        let m: SpeechManifest = crate::json::from_str(json)
            .map_err(|e| Error::InvalidArgument(format!("the voice-command manifest is not valid: {e}")))?;
        m.validate()?;
        Ok(m)
    }

    fn validate(&self) -> Result<()> {
        self.decoder.validate()?;
        let bad = |m: String| Err(Error::InvalidArgument(format!("voice-command manifest: {m}")));
        if self.task != "voice-commands" {
            return bad(format!("task is \"{}\", expected \"voice-commands\"", self.task));
        }
        if self.words.is_empty() || self.head.stack == 0 {
            return bad("needs a vocabulary and a head stack of at least 1".into());
        }
        if self.background.mean.len() != crate::audio::frontend::EMBEDDING_DIMS
            || self.background.var.len() != crate::audio::frontend::EMBEDDING_DIMS
            || self.background.var.iter().any(|v| v.is_nan() || *v <= 0.0)
        {
            return bad("background needs 96 means and 96 positive variances".into());
        }
        Ok(())
    }

    pub fn background(&self) -> DiagGaussian {
        DiagGaussian { mean: self.background.mean.clone(), var: self.background.var.clone() }
    }

    /// Word indices for each command, checked against the vocabulary.
    pub fn resolve(&self, commands: &[CommandSpec]) -> Result<Vec<(String, Vec<usize>)>> {
        commands
            .iter()
            .map(|c| {
                let idx = c
                    .words
                    .iter()
                    .map(|w| {
                        self.words.iter().position(|v| v == w).ok_or_else(|| {
                            Error::InvalidArgument(format!(
                                "command \"{}\": \"{w}\" is not in the vocabulary ({}); enrol phrases with other words instead",
                                c.name,
                                self.words.join(", ")
                            ))
                        })
                    })
                    .collect::<Result<Vec<_>>>()?;
                if idx.is_empty() {
                    return Err(Error::InvalidArgument(format!("command \"{}\" has no words", c.name)));
                }
                Ok((c.name.clone(), idx))
            })
            .collect()
    }

    /// Named commands of the manifest's grammar (all when `names` is empty); a name that is not
    /// there is read as a sequence of vocabulary words ("stop line two").
    pub fn select(&self, names: &[String]) -> Result<Vec<CommandSpec>> {
        if names.is_empty() {
            return Ok(self.commands.clone());
        }
        Ok(names
            .iter()
            .map(|n| {
                self.commands.iter().find(|c| &c.name == n).cloned().unwrap_or_else(|| CommandSpec {
                    name: n.clone(),
                    words: n.split_whitespace().map(str::to_string).collect(),
                })
            })
            .collect())
    }

    pub fn durations(&self) -> Vec<f64> {
        self.words.iter().map(|w| self.word_durations.get(w).copied().unwrap_or(0.4)).collect()
    }
}
