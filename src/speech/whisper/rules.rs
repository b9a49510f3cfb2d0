//! Which tokens the decoder may pick next (OpenAI's `SuppressBlank`, `SuppressTokens` and
//! `ApplyTimestampRules`): applied to the logits before each greedy choice.

use super::tokenizer::Tokenizer;

/// The timestamp a window's first segment may start at, at most (OpenAI's default: 1 s).
const MAX_INITIAL_TIMESTAMP_TOKENS: u32 = 50;

pub struct Rules {
    /// Never emitted: non-speech symbols (the model's config) and every special token.
    suppress: Vec<u32>,
    /// Not as the first token: a bare space and end-of-text.
    suppress_begin: Vec<u32>,
    pub timestamps: bool,
}

impl Rules {
    pub fn new(tok: &Tokenizer, suppress: &[u32], suppress_begin: &[u32], timestamps: bool) -> Rules {
        let s = tok.specials;
        let mut all: Vec<u32> = suppress.iter().copied().filter(|&i| (i as usize) < tok.vocab_size).collect();
        // Everything between end-of-text and the timestamps: sot, languages, tasks, no-speech, ….
        all.extend(s.eot + 1..s.timestamp_begin);
        if !timestamps {
            all.extend(s.timestamp_begin..tok.vocab_size as u32);
        }
        let begin = suppress_begin.iter().copied().filter(|&i| (i as usize) < tok.vocab_size).collect();
        Rules { suppress: all, suppress_begin: begin, timestamps }
    }

    /// Masks `logits` in place for the next token after `sampled` (this window's output so far).
    pub fn apply(&self, tok: &Tokenizer, sampled: &[u32], logits: &mut [f32]) {
        let ninf = f32::NEG_INFINITY;
        for &i in &self.suppress {
            logits[i as usize] = ninf;
        }
        if sampled.is_empty() {
            for &i in &self.suppress_begin {
                logits[i as usize] = ninf;
            }
        }
        if !self.timestamps {
            return;
        }
        let tb = tok.specials.timestamp_begin as usize;
        let eot = tok.specials.eot as usize;
        let is_ts = |i: usize| sampled.get(i).is_some_and(|&t| tok.is_timestamp(t));
        let n = sampled.len();
        let last_ts = n >= 1 && is_ts(n - 1);
        let penultimate_ts = n < 2 || is_ts(n - 2);
        if last_ts {
            if penultimate_ts {
                // A pair closed a segment: text (or the end) must follow.
                logits[tb..].fill(ninf);
            } else {
                // A segment's text ended with its closing time: a timestamp or the end.
                logits[..eot].fill(ninf);
            }
        }
        // Time never goes back.
        if let Some(&prev) = sampled.iter().rev().find(|&&t| tok.is_timestamp(t)) {
            let floor = if last_ts && !penultimate_ts { prev as usize } else { prev as usize + 1 };
            let floor = floor.min(logits.len());
            logits[tb..floor].fill(ninf);
        }
        if n == 0 {
            logits[..tb].fill(ninf);
            let last_allowed = tb + MAX_INITIAL_TIMESTAMP_TOKENS as usize;
            if last_allowed + 1 < logits.len() {
                logits[last_allowed + 1..].fill(ninf);
            }
        }
        // When the timestamps together are likelier than any single text token, take one. Both
        // sides' log-probabilities share the vocabulary's normaliser, so it cancels: no pass of
        // exponentials over the ~52,000 logits for it.
        let ts_mass = log_sum_exp(&logits[tb..]);
        let best_text = logits[..tb].iter().copied().fold(ninf, f32::max);
        if ts_mass > best_text {
            logits[..tb].fill(ninf);
        }
    }
}

pub fn log_sum_exp(v: &[f32]) -> f32 {
    let m = v.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    if m == f32::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|x| (x - m).exp()).sum::<f32>().ln()
}

/// The best allowed token and its probability under the masked distribution.
pub fn greedy(logits: &[f32]) -> (u32, f32) {
    let (best, &top) = logits.iter().enumerate().max_by(|a, b| a.1.total_cmp(b.1)).expect("non-empty logits");
    (best as u32, (top - log_sum_exp(logits)).exp())
}

/// A token drawn from the masked distribution at `temperature` (> 0), and its probability at
/// temperature 1 (what confidences and the fallback's log-probabilities are made of).
pub fn sample(logits: &[f32], temperature: f32, rng: &mut Rng) -> (u32, f32) {
    let top = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let weights: Vec<f64> = logits.iter().map(|&l| (((l - top) / temperature) as f64).exp()).collect();
    let mut left = rng.next_f64() * weights.iter().sum::<f64>();
    let mut pick = weights.iter().rposition(|&w| w > 0.0).unwrap_or(0);
    for (i, w) in weights.iter().enumerate() {
        if left < *w {
            pick = i;
            break;
        }
        left -= w;
    }
    (pick as u32, (logits[pick] - log_sum_exp(logits)).exp())
}

/// A small seeded generator (SplitMix64) for sampling: deterministic and the same on every
/// target.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Uniform in [0, 1).
    pub fn next_f64(&mut self) -> f64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generator_is_uniform_and_repeatable() {
        let draws: Vec<f64> = {
            let mut r = Rng::new(7);
            (0..10_000).map(|_| r.next_f64()).collect()
        };
        let mut again = Rng::new(7);
        assert!(draws.iter().all(|&x| x == again.next_f64() && (0.0..1.0).contains(&x)));
        let mean = draws.iter().sum::<f64>() / draws.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "{mean}");
    }

    #[test]
    fn sampling_follows_the_tempered_distribution_and_never_draws_a_masked_token() {
        let logits = [0.0, f32::NEG_INFINITY, 3f32.ln()];
        let mut rng = Rng::new(1);
        let draws: Vec<(u32, f32)> = (0..20_000).map(|_| sample(&logits, 1.0, &mut rng)).collect();
        assert!(draws.iter().all(|&(t, _)| t != 1));
        let share = draws.iter().filter(|d| d.0 == 2).count() as f64 / draws.len() as f64;
        assert!((share - 0.75).abs() < 0.02, "{share}");
        let (t, p) = sample(&logits, 0.01, &mut rng);
        assert_eq!(t, 2);
        assert!((p - 0.75).abs() < 1e-6, "the probability is at temperature 1: {p}");
    }
}
