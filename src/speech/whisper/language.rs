//! Which language a window is decoded in: English-only models have none to choose; multilingual
//! ones decode in the caller's language, the manifest's, or the one the decoder hears first
//! (Whisper's language detection: the likeliest language token after `<|startoftranscript|>`).

use super::manifest::ModelConfig;
use super::tokenizer::Tokenizer;
use crate::{Error, Result};

/// Logit widths of English-only Whisper models are 51864; multilingual ones have more (OpenAI's
/// own test, `n_vocab >= 51865`).
const MULTILINGUAL_VOCAB: usize = 51865;

#[derive(Clone, Debug)]
pub enum Language {
    /// An English-only model: the prefix is `<|startoftranscript|>` alone.
    EnglishOnly,
    /// A multilingual model decoding in this language token.
    Fixed { code: String, id: u32, transcribe: u32 },
    /// A multilingual model detecting the language of each recording (or utterance).
    Detect { transcribe: u32 },
}

/// A multilingual model's language tokens: `(code, id)` in the model's order.
pub struct Languages {
    pub all: Vec<(String, u32)>,
}

impl Languages {
    /// `requested`: the caller's `language` option, else the manifest's; `"auto"` or absent
    /// detects.
    pub fn choose(
        tok: &Tokenizer,
        cfg: &ModelConfig,
        vocab: usize,
        requested: Option<&str>,
        model: &str,
    ) -> Result<(Languages, Language)> {
        // Codes match whatever their case.
        let requested = requested.map(|l| l.trim().to_ascii_lowercase()).filter(|l| !l.is_empty());
        if vocab < MULTILINGUAL_VOCAB || cfg.lang_ids.is_empty() {
            return match requested.as_deref() {
                None | Some("en") | Some("auto") => Ok((Languages { all: vec![] }, Language::EnglishOnly)),
                Some(other) => Err(Error::InvalidArgument(format!(
                    "{model} transcribes English only, not \"{other}\": use a multilingual model (e.g. Whisper base) or leave `language` out"
                ))),
            };
        }
        let all: Vec<(String, u32)> = cfg
            .lang_ids
            .iter()
            .filter_map(|&id| {
                let piece = tok.piece(id)?;
                let code = piece.strip_prefix("<|")?.strip_suffix("|>")?;
                Some((code.to_string(), id))
            })
            .collect();
        let transcribe = tok
            .special("<|transcribe|>")
            .ok_or_else(|| Error::ModelInvalid("the multilingual tokenizer has no <|transcribe|> token".into()))?;
        if all.len() != cfg.lang_ids.len() {
            return Err(Error::ModelInvalid(
                "config.json's lang_ids are not all language tokens of this tokenizer".into(),
            ));
        }
        let langs = Languages { all };
        let choice = match requested {
            None => Language::Detect { transcribe },
            Some(code) if code == "auto" => Language::Detect { transcribe },
            Some(code) => {
                let id = langs.id(&code).ok_or_else(|| {
                    let known: Vec<&str> = langs.all.iter().take(12).map(|(c, _)| c.as_str()).collect();
                    Error::InvalidArgument(format!(
                        "language \"{code}\" is not one {model} knows: use \"auto\" or a code such as {} ({} in all)",
                        known.join(", "),
                        langs.all.len()
                    ))
                })?;
                Language::Fixed { code, id, transcribe }
            }
        };
        Ok((langs, choice))
    }

    pub fn id(&self, code: &str) -> Option<u32> {
        self.all.iter().find(|(c, _)| c == code).map(|&(_, id)| id)
    }

    pub fn code(&self, id: u32) -> Option<&str> {
        self.all.iter().find(|&&(_, i)| i == id).map(|(c, _)| c.as_str())
    }

    /// The likeliest language token in the logits after `<|startoftranscript|>`, and its
    /// probability among the languages.
    pub fn likeliest(&self, logits: &[f32]) -> Option<(u32, f32)> {
        let scores: Vec<(u32, f32)> =
            self.all.iter().filter_map(|&(_, id)| Some((id, *logits.get(id as usize)?))).collect();
        let &(id, best) = scores.iter().max_by(|a, b| a.1.total_cmp(&b.1))?;
        let total: f32 = scores.iter().map(|(_, l)| (l - best).exp()).sum();
        Some((id, 1.0 / total))
    }
}
