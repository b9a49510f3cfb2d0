//! Whisper's tokenizer: GPT-2's byte-level BPE (`tokenizer.json`: vocabulary, merges, and the
//! special tokens added after them). Decoding maps ids back to bytes; encoding (for prompts)
//! splits text the way GPT-2's pre-tokenizer does and applies the merges by rank.

use std::collections::HashMap;

use serde::Deserialize;

use crate::{Error, Result};

#[derive(Deserialize)]
struct File {
    model: Bpe,
    added_tokens: Vec<Added>,
}

#[derive(Deserialize)]
struct Bpe {
    vocab: HashMap<String, u32>,
    merges: Vec<Merge>,
}

/// Both spellings tokenizers write: `"a b"` and `["a", "b"]`.
#[derive(Deserialize)]
#[serde(untagged)]
enum Merge {
    Joined(String),
    Pair(String, String),
}

#[derive(Deserialize)]
struct Added {
    id: u32,
    content: String,
}

/// Ids of the special tokens decoding needs.
#[derive(Clone, Copy, Debug)]
pub struct Specials {
    pub eot: u32,
    pub sot: u32,
    pub prev: u32,
    pub no_speech: u32,
    pub no_timestamps: u32,
    /// `<|0.00|>`; each later id is 20 ms more.
    pub timestamp_begin: u32,
}

pub struct Tokenizer {
    /// Id → the token's bytes (specials as their text).
    pieces: Vec<Vec<u8>>,
    encoder: HashMap<Vec<u8>, u32>,
    ranks: HashMap<(Vec<u8>, Vec<u8>), usize>,
    pub specials: Specials,
    added: HashMap<String, u32>,
    /// Tokens the model may emit at all: the vocabulary plus the timestamps.
    pub vocab_size: usize,
}

/// GPT-2's byte ↔ printable-character table.
fn byte_chars() -> [char; 256] {
    let mut table = ['\0'; 256];
    let mut extra = 0u32;
    for b in 0..=255u8 {
        let printable = matches!(b, b'!'..=b'~' | 0xA1..=0xAC | 0xAE..=0xFF);
        table[b as usize] = if printable {
            b as char
        } else {
            extra += 1;
            char::from_u32(255 + extra).expect("below the surrogates")
        };
    }
    table
}

impl Tokenizer {
    /// `vocab_size`: the model's logits width (timestamp tokens follow the added tokens).
    pub fn parse(json: &[u8], vocab_size: usize) -> Result<Tokenizer> {
        let bad = |m: String| Error::ModelInvalid(format!("tokenizer.json: {m}"));
        let file: File = crate::json::from_slice(json).map_err(|e| bad(e.to_string()))?;
        let chars = byte_chars();
        let to_byte: HashMap<char, u8> = chars.iter().enumerate().map(|(b, c)| (*c, b as u8)).collect();
        let bytes_of = |s: &str| -> Option<Vec<u8>> { s.chars().map(|c| to_byte.get(&c).copied()).collect() };
        let special = |name: &str| {
            file.added_tokens
                .iter()
                .find(|a| a.content == name)
                .map(|a| a.id)
                .ok_or_else(|| bad(format!("no {name} token: not a Whisper tokenizer")))
        };
        let no_timestamps = special("<|notimestamps|>")?;
        let specials = Specials {
            eot: special("<|endoftext|>")?,
            sot: special("<|startoftranscript|>")?,
            prev: special("<|startofprev|>")?,
            no_speech: special("<|nocaptions|>").or_else(|_| special("<|nospeech|>"))?,
            no_timestamps,
            timestamp_begin: no_timestamps + 1,
        };
        if vocab_size <= specials.timestamp_begin as usize || vocab_size > 1 << 20 {
            return Err(bad(format!("the decoder's {vocab_size} logits do not fit this tokenizer")));
        }
        let mut pieces = vec![Vec::new(); vocab_size];
        let mut encoder = HashMap::with_capacity(file.model.vocab.len());
        for (token, &id) in &file.model.vocab {
            let bytes = bytes_of(token).ok_or_else(|| bad(format!("token {token:?} is not byte-level")))?;
            if let Some(p) = pieces.get_mut(id as usize) {
                p.clone_from(&bytes);
            }
            encoder.insert(bytes, id);
        }
        for a in &file.added_tokens {
            if let Some(p) = pieces.get_mut(a.id as usize) {
                *p = a.content.as_bytes().to_vec();
            }
        }
        for (i, p) in pieces.iter_mut().enumerate().skip(specials.timestamp_begin as usize) {
            *p = format!("<|{:.2}|>", (i - specials.timestamp_begin as usize) as f64 * 0.02).into_bytes();
        }
        let mut ranks = HashMap::with_capacity(file.model.merges.len());
        for (rank, m) in file.model.merges.iter().enumerate() {
            let (a, b) = match m {
                Merge::Joined(s) => s.split_once(' ').ok_or_else(|| bad(format!("merge {s:?}")))?,
                Merge::Pair(a, b) => (a.as_str(), b.as_str()),
            };
            let pair = (bytes_of(a), bytes_of(b));
            if let (Some(a), Some(b)) = pair {
                ranks.insert((a, b), rank);
            }
        }
        let added = file.added_tokens.into_iter().map(|a| (a.content, a.id)).collect();
        Ok(Tokenizer { pieces, encoder, ranks, specials, added, vocab_size })
    }

    /// Id of a special token by its text (`<|en|>`).
    pub fn special(&self, name: &str) -> Option<u32> {
        self.added.get(name).copied()
    }

    /// A token's text as the tokenizer holds it (specials as `<|en|>`), if it is UTF-8.
    pub fn piece(&self, id: u32) -> Option<&str> {
        std::str::from_utf8(self.pieces.get(id as usize)?).ok()
    }

    pub fn is_timestamp(&self, id: u32) -> bool {
        id >= self.specials.timestamp_begin
    }

    /// Seconds a timestamp token stands for (from its window's start).
    pub fn time_of(&self, id: u32) -> f64 {
        (id.saturating_sub(self.specials.timestamp_begin)) as f64 * 0.02
    }

    /// Text of ordinary tokens (specials and timestamps are skipped); invalid UTF-8 where a
    /// character was cut between tokens becomes U+FFFD.
    pub fn decode(&self, ids: &[u32]) -> String {
        let bytes: Vec<u8> = ids
            .iter()
            .filter(|&&id| id < self.specials.eot)
            .flat_map(|&id| self.pieces.get(id as usize).into_iter().flatten().copied())
            .collect();
        String::from_utf8_lossy(&bytes).into_owned()
    }

    /// Byte-level BPE of ordinary text (no special tokens).
    pub fn encode(&self, text: &str) -> Vec<u32> {
        pre_tokenize(text).into_iter().flat_map(|word| self.bpe(word.as_bytes())).collect()
    }

    fn bpe(&self, word: &[u8]) -> Vec<u32> {
        let mut parts: Vec<Vec<u8>> = word.iter().map(|b| vec![*b]).collect();
        loop {
            let best = parts
                .windows(2)
                .enumerate()
                .filter_map(|(i, w)| self.ranks.get(&(w[0].clone(), w[1].clone())).map(|r| (*r, i)))
                .min();
            let Some((_, i)) = best else { break };
            let right = parts.remove(i + 1);
            parts[i].extend(right);
        }
        // Every single byte is in the vocabulary, so nothing is lost.
        parts.iter().filter_map(|p| self.encoder.get(p).copied()).collect()
    }
}

/// GPT-2's split: `'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+`.
fn pre_tokenize(text: &str) -> Vec<&str> {
    #[derive(PartialEq, Clone, Copy)]
    enum Class {
        Letter,
        Number,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphabetic() {
            Class::Letter
        } else if c.is_numeric() {
            Class::Number
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    let at = |i: usize| chars.get(i).map_or(text.len(), |(b, _)| *b);
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let rest = &text[at(i)..];
        if let Some(len) =
            ["'s", "'t", "'re", "'ve", "'m", "'ll", "'d"].iter().find(|s| rest.starts_with(**s)).map(|s| s.len())
        {
            out.push(&rest[..len]);
            i += len; // ASCII: one char per byte
            continue;
        }
        let c = chars[i].1;
        let start = i;
        // An optional leading space joins the word, number or symbol run after it.
        let body = if c == ' ' && i + 1 < chars.len() && class(chars[i + 1].1) != Class::Space { i + 1 } else { i };
        let k = class(chars[body].1);
        let mut j = body + 1;
        if k == Class::Space {
            while j < chars.len() && class(chars[j].1) == Class::Space {
                j += 1;
            }
            // `\s+(?!\S)`: leave the last space for the word that follows.
            if j < chars.len() && j - start > 1 {
                j -= 1;
            }
        } else {
            while j < chars.len() && class(chars[j].1) == k {
                j += 1;
            }
        }
        out.push(&text[at(start)..at(j)]);
        i = j;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::pre_tokenize;

    #[test]
    fn splits_like_gpt2() {
        assert_eq!(pre_tokenize("Hello world"), ["Hello", " world"]);
        assert_eq!(pre_tokenize("panel 4B-17, it's"), ["panel", " 4", "B", "-", "17", ",", " it", "'s"]);
        assert_eq!(pre_tokenize("a   b"), ["a", "  ", " b"]);
        assert_eq!(pre_tokenize(" x "), [" x", " "]);
    }
}
