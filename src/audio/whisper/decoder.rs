//! Greedy decoding of one 30-s window: the decoder model runs one token per step, its
//! self-attention keys and values kept in a cache this side writes, the encoder's cross-attention
//! keys and values shared with every step.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::rules::{greedy, Rules};
use super::tokenizer::Tokenizer;
use crate::tensor::{HostTensor, TensorData};
use crate::{Error, Model, Result};

/// The decoder's cache and cross-attention shapes, read from its signature.
pub struct Decoder {
    model: Model,
    /// [layers, heads, context, head dims]
    cache: [usize; 4],
    /// Encoder frames the cross-attention sees.
    pub frames: usize,
    pub vocab: usize,
}

/// What one window decoded to.
pub struct Window {
    /// Sampled tokens (not the prefix, not end-of-text) and each one's probability.
    pub tokens: Vec<(u32, f32)>,
    /// Probability of "no speech" at the start-of-transcript position.
    pub no_speech: f32,
    /// Whether decoding stopped at end-of-text (not at the token limit).
    pub finished: bool,
}

impl Window {
    pub fn avg_logprob(&self) -> f32 {
        let n = self.tokens.len().max(1) as f32;
        self.tokens.iter().map(|(_, p)| p.max(1e-30).ln()).sum::<f32>() / n
    }
}

fn fixed(model: &Model, input: &str) -> Result<Vec<usize>> {
    model
        .inputs()
        .iter()
        .find(|i| i.name == input)
        .and_then(|i| i.shape.as_ref()?.iter().map(|d| d.fixed()).collect())
        .ok_or_else(|| Error::ModelInvalid(format!("the Whisper decoder needs a fixed-shape input \"{input}\"")))
}

const INPUTS: [&str; 6] = ["token", "position", "self_k", "self_v", "cross_k", "cross_v"];

impl Decoder {
    pub fn new(model: Model) -> Result<Decoder> {
        let names: Vec<&str> = model.inputs().iter().map(|i| i.name.as_str()).collect();
        if names != INPUTS {
            return Err(Error::ModelInvalid(format!(
                "the Whisper decoder's inputs are {names:?}, expected {INPUTS:?} (convert it with scripts/export/whisper.py)"
            )));
        }
        let cache = fixed(&model, "self_k")?;
        let cross = fixed(&model, "cross_k")?;
        let vocab = model
            .outputs()
            .first()
            .and_then(|o| o.shape.as_ref()?.last()?.fixed())
            .ok_or_else(|| Error::ModelInvalid("the Whisper decoder's logits need a fixed width".into()))?;
        let [l, h, n, d] = cache[..] else {
            return Err(Error::ModelInvalid(format!("self_k should be [layers, heads, context, dims], is {cache:?}")));
        };
        if cross.len() != 4 || cross[0] != l || cross[1] != h || cross[3] != d {
            return Err(Error::ModelInvalid(format!("cross_k {cross:?} does not match self_k {cache:?}")));
        }
        Ok(Decoder { model, cache: [l, h, n, d], frames: cross[2], vocab })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    /// Positions the cache holds: prefix and sampled tokens together.
    pub fn context(&self) -> usize {
        self.cache[2]
    }

    /// Decodes after `prefix` (ending with the start-of-transcript sequence), at most
    /// `max_tokens` sampled tokens.
    pub async fn window(
        &mut self,
        cross: [Arc<Tensor>; 2],
        prefix: &[u32],
        tok: &Tokenizer,
        rules: &Rules,
        max_tokens: usize,
    ) -> Result<Window> {
        let [l, h, n, d] = self.cache;
        if prefix.is_empty() || prefix.len() >= n {
            return Err(Error::Internal(format!("a decoding prefix of {} tokens", prefix.len())));
        }
        let zeros = || Arc::new(Tensor::zero::<f32>(&[l, h, n, d]).expect("small shape"));
        let (mut self_k, mut self_v) = (zeros(), zeros());
        let sot_at = prefix.iter().position(|&t| t == tok.specials.sot).unwrap_or(0);
        let mut out = Window { tokens: vec![], no_speech: 0.0, finished: false };
        let mut next = prefix[0];
        for pos in 0..n {
            let token = Arc::new(tensor2(&[[next as i64]]));
            let position = Arc::new(tensor1(&[pos as i64]));
            let inputs = vec![token, position, self_k.clone(), self_v.clone(), cross[0].clone(), cross[1].clone()];
            let outs = self.model.run_shared(inputs).await?;
            let [logits, new_k, new_v] = &outs[..] else {
                return Err(Error::ModelInvalid("the Whisper decoder should have 3 outputs".into()));
            };
            let (logits, new_k, new_v) = (f32s(logits)?, f32s(new_k)?, f32s(new_v)?);
            if new_k.len() != l * h * d || new_v.len() != l * h * d || logits.len() != self.vocab {
                return Err(Error::ModelInvalid("the Whisper decoder's outputs do not match its cache".into()));
            }
            write_row(&mut self_k, pos, new_k, self.cache);
            write_row(&mut self_v, pos, new_v, self.cache);
            let mut logits = logits.to_vec();
            if pos == sot_at {
                let lse = super::rules::log_sum_exp(&logits);
                out.no_speech = logits.get(tok.specials.no_speech as usize).map_or(0.0, |x| (x - lse).exp());
            }
            if pos + 1 < prefix.len() {
                next = prefix[pos + 1];
                continue;
            }
            let sampled: Vec<u32> = out.tokens.iter().map(|(t, _)| *t).collect();
            rules.apply(tok, &sampled, &mut logits);
            let (best, p) = greedy(&logits);
            if best == tok.specials.eot {
                out.finished = true;
                break;
            }
            out.tokens.push((best, p));
            if out.tokens.len() >= max_tokens {
                break;
            }
            next = best;
        }
        Ok(out)
    }
}

fn f32s(t: &HostTensor) -> Result<&[f32]> {
    match &t.data {
        TensorData::F32(v) => Ok(v),
        _ => Err(Error::ModelInvalid("the Whisper decoder's outputs should be f32".into())),
    }
}

/// Writes one position's keys (or values), `[layers, heads, 1, dims]`, into the cache.
fn write_row(cache: &mut Arc<Tensor>, pos: usize, row: &[f32], [l, h, n, d]: [usize; 4]) {
    // The plan let go of its reference when the run ended, so this does not copy.
    let t = Arc::make_mut(cache);
    let mut view = t.try_as_plain_ram_mut().expect("a host tensor");
    let data = view.as_slice_mut::<f32>().expect("an f32 cache");
    for lh in 0..l * h {
        data[(lh * n + pos) * d..(lh * n + pos + 1) * d].copy_from_slice(&row[lh * d..(lh + 1) * d]);
    }
}
