//! Greedy decoding of one 30-s window: the decoder model runs one token per step, its
//! self-attention keys and values kept in a cache this side writes, the encoder's cross-attention
//! keys and values shared with every step.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::rules::{greedy, sample, Rng, Rules};
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

/// How tokens are chosen: a beam search (one beam: greedy) at temperature 0, else one sequence
/// sampled at `temperature` from a generator seeded with `seed`.
#[derive(Clone, Copy, Debug)]
pub struct Search {
    pub beams: usize,
    pub temperature: f32,
    pub seed: u64,
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

    /// One decoder step: `token` at `pos` with this cache; writes the step's keys and values into
    /// the cache and returns the logits.
    async fn step(&mut self, token: u32, pos: usize, cache: &mut Cache, cross: &[Arc<Tensor>; 2]) -> Result<Vec<f32>> {
        let [l, h, _, d] = self.cache;
        let token = Arc::new(tensor2(&[[token as i64]]));
        let position = Arc::new(tensor1(&[pos as i64]));
        let inputs = vec![token, position, cache.k.clone(), cache.v.clone(), cross[0].clone(), cross[1].clone()];
        let outs = self.model.run_shared(inputs).await?;
        let [logits, new_k, new_v] = &outs[..] else {
            return Err(Error::ModelInvalid("the Whisper decoder should have 3 outputs".into()));
        };
        let (logits, new_k, new_v) = (f32s(logits)?, f32s(new_k)?, f32s(new_v)?);
        if new_k.len() != l * h * d || new_v.len() != l * h * d || logits.len() != self.vocab {
            return Err(Error::ModelInvalid("the Whisper decoder's outputs do not match its cache".into()));
        }
        write_row(&mut cache.k, pos, new_k, self.cache);
        write_row(&mut cache.v, pos, new_v, self.cache);
        Ok(logits.to_vec())
    }

    /// The logits after `token` alone at position 0 (language detection after
    /// `<|startoftranscript|>`).
    pub async fn first_logits(&mut self, cross: &[Arc<Tensor>; 2], token: u32) -> Result<Vec<f32>> {
        let mut cache = self.empty_cache();
        self.step(token, 0, &mut cache, cross).await
    }

    fn empty_cache(&self) -> Cache {
        let zeros = || Arc::new(Tensor::zero::<f32>(&self.cache).expect("small shape"));
        Cache { k: zeros(), v: zeros() }
    }

    /// Decodes after `prefix` (ending with the start-of-transcript sequence), at most
    /// `max_tokens` sampled tokens: greedy when `search.beams` is 1, else a beam search keeping
    /// the `beams` likeliest sequences and answering the finished one with the best mean token
    /// log-probability (OpenAI's ranking without a length penalty); sampling above temperature 0.
    pub async fn window(
        &mut self,
        cross: [Arc<Tensor>; 2],
        prefix: &[u32],
        tok: &Tokenizer,
        rules: &Rules,
        max_tokens: usize,
        search: Search,
    ) -> Result<Window> {
        let sampling = search.temperature > 0.0;
        let beams = if sampling { 1 } else { search.beams };
        let mut rng = Rng::new(search.seed);
        let n = self.cache[2];
        if prefix.is_empty() || prefix.len() >= n || beams == 0 {
            return Err(Error::Internal(format!("a decoding prefix of {} tokens, {beams} beams", prefix.len())));
        }
        let mut cache = self.empty_cache();
        let sot_at = prefix.iter().position(|&t| t == tok.specials.sot).unwrap_or(0);
        let mut no_speech = 0.0;
        let mut logits = vec![];
        for (pos, &t) in prefix.iter().enumerate() {
            logits = self.step(t, pos, &mut cache, &cross).await?;
            if pos == sot_at {
                let lse = super::rules::log_sum_exp(&logits);
                no_speech = logits.get(tok.specials.no_speech as usize).map_or(0.0, |x| (x - lse).exp());
            }
        }
        // Each live sequence: its tokens with probabilities, summed log-probability, cache, and
        // the logits for its next token.
        let mut live = vec![(Vec::<(u32, f32)>::new(), 0f32, cache, logits)];
        let mut done: Vec<Finished> = vec![];
        let mut pos = prefix.len();
        while !live.is_empty() && done.len() < beams {
            let mut candidates = vec![];
            for (i, (tokens, logp, _, logits)) in live.iter_mut().enumerate() {
                let sampled: Vec<u32> = tokens.iter().map(|(t, _)| *t).collect();
                rules.apply(tok, &sampled, logits);
                if beams == 1 {
                    let (best, p) =
                        if sampling { sample(logits, search.temperature, &mut rng) } else { greedy(logits) };
                    candidates.push((*logp + p.max(1e-30).ln(), i, best, p));
                    continue;
                }
                let lse = super::rules::log_sum_exp(logits);
                let mut order: Vec<u32> = (0..logits.len() as u32).collect();
                let k = (beams + 1).min(order.len());
                order.select_nth_unstable_by(k - 1, |a, b| logits[*b as usize].total_cmp(&logits[*a as usize]));
                for &t in &order[..k] {
                    let lp = logits[t as usize] - lse;
                    if lp.is_finite() {
                        candidates.push((*logp + lp, i, t, lp.exp()));
                    }
                }
            }
            candidates.sort_by(|a, b| b.0.total_cmp(&a.0));
            let mut next = vec![];
            for (score, i, t, p) in candidates {
                if next.len() >= beams || done.len() >= beams {
                    break;
                }
                let mut tokens = live[i].0.clone();
                if t == tok.specials.eot {
                    done.push((tokens, score, true));
                    continue;
                }
                tokens.push((t, p));
                if tokens.len() >= max_tokens || pos + 1 >= n {
                    done.push((tokens, score, false));
                    continue;
                }
                next.push((tokens, score, i, t));
            }
            let mut stepped = vec![];
            for (tokens, score, i, t) in next {
                // Shared until written: a copy only for beams that branch from one parent.
                let mut cache = Cache { k: live[i].2.k.clone(), v: live[i].2.v.clone() };
                let logits = self.step(t, pos, &mut cache, &cross).await?;
                stepped.push((tokens, score, cache, logits));
            }
            live = stepped;
            pos += 1;
        }
        let mean = |(tokens, score, _): &Finished| score / tokens.len().max(1) as f32;
        let best = done.into_iter().max_by(|a, b| mean(a).total_cmp(&mean(b)));
        let (tokens, _, finished) = best.unwrap_or_default();
        Ok(Window { tokens, no_speech, finished })
    }
}

/// A sequence that ended: its tokens with probabilities, summed log-probability, and whether it
/// ended at end-of-text (not at the token limit).
type Finished = (Vec<(u32, f32)>, f32, bool);

/// A sequence's self-attention keys and values.
struct Cache {
    k: Arc<Tensor>,
    v: Arc<Tensor>,
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
