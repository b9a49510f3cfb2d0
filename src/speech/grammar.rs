//! The command grammar: each command is a sequence of vocabulary words ("line" + "two"), each
//! word a two-state left-to-right HMM, optional short pauses between words. Decoded frame by frame
//! with Viterbi against a filler model: a word state emits the log-odds of its word's posterior
//! (the hybrid NN/HMM scaled likelihood against every other label), the filler path scores 0, a
//! path may enter a command at any frame, and a command fires when its best path's score reaches
//! the threshold and each of its words has evidence of its own. The log-odds are capped (by default
//! +3 for a confident frame, −12 for an absent word), so a long, clear first word cannot carry a second
//! word that was never said. Competing commands (stop / emergency stop) are settled
//! by score on the frame the first one fires: the longer one, when said, scores higher.

use serde::Serialize;

use crate::audio::FRAME_SECONDS;
use crate::{Error, Result};

/// A detected command, with its time span in seconds since the stream began.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Detection {
    pub command: String,
    /// Mean posterior of the command's words over the frames Viterbi assigned to them, in [0, 1].
    pub confidence: f32,
    pub start: f64,
    pub end: f64,
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum State {
    Word(usize),
    Gap,
}

#[derive(Clone, Copy, Debug)]
struct Token {
    score: f64,
    /// Frame the path entered the command, and the last word.
    entered: u64,
    last_word_entered: u64,
    post_sum: f64,
    word_frames: u32,
    /// Evidence of the current word, and the weakest of the words before it.
    word_score: f64,
    weakest_word: f64,
}

const DEAD: Token = Token {
    score: f64::NEG_INFINITY,
    entered: 0,
    last_word_entered: 0,
    post_sum: 0.0,
    word_frames: 0,
    word_score: 0.0,
    weakest_word: f64::INFINITY,
};
const LN_HALF: f64 = -std::f64::consts::LN_2;
/// Pauses between words cost this much per frame, so they stay short.
const GAP_STAY: f64 = -1.2;
const MIN_LOG_ODDS: f64 = -12.0;

/// How much one frame can count and how much each word must gather: calibrated with the head
/// that makes the posteriors (its manifest's `decoder`).
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Evidence {
    /// Cap on a frame's log-odds: a long, clear word cannot outweigh a missing one.
    pub max_log_odds: f64,
    /// Evidence every word of a command must gather on its own.
    pub min_word_score: f64,
}

impl Default for Evidence {
    fn default() -> Self {
        Evidence { max_log_odds: 3.0, min_word_score: 4.0 }
    }
}

impl Evidence {
    pub fn validate(&self) -> Result<()> {
        let ok = |v: f64| v.is_finite() && v > 0.0 && v <= 20.0;
        if ok(self.max_log_odds) && ok(self.min_word_score) {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!("decoder evidence {self:?}: both must be in (0, 20]")))
        }
    }
}

struct Command {
    name: String,
    first_word: usize,
    states: Vec<State>,
    /// States where a word begins.
    word_starts: Vec<bool>,
    /// For each state: the states it can come from, with the log transition probability.
    preds: Vec<Vec<(usize, f64)>>,
    last_word_start: usize,
    tokens: Vec<Token>,
}

impl Command {
    fn new(name: &str, words: &[usize]) -> Command {
        let mut states = vec![];
        let mut preds: Vec<Vec<(usize, f64)>> = vec![];
        let mut last_word_start = 0;
        for (i, &w) in words.iter().enumerate() {
            let a = states.len();
            if i > 0 {
                // Gap after the previous word, entered from its last state; the word is entered from
                // the previous word's last state (no pause) or from the gap.
                states.push(State::Gap);
                preds.push(vec![(a - 1, LN_HALF), (a, GAP_STAY)]);
                let gap = a;
                states.push(State::Word(w));
                preds.push(vec![(gap - 1, LN_HALF), (gap, 0.0), (gap + 1, LN_HALF)]);
                last_word_start = gap + 1;
            } else {
                states.push(State::Word(w));
                preds.push(vec![(a, LN_HALF)]);
            }
            let first = states.len() - 1;
            states.push(State::Word(w));
            preds.push(vec![(first, LN_HALF), (first + 1, LN_HALF)]);
        }
        let n = states.len();
        let mut word_starts = vec![false; n];
        for (s, st) in states.iter().enumerate() {
            word_starts[s] = matches!(st, State::Word(_)) && (s == 0 || matches!(states[s - 1], State::Gap));
        }
        Command {
            name: name.into(),
            first_word: words[0],
            states,
            word_starts,
            preds,
            last_word_start,
            tokens: vec![DEAD; n],
        }
    }

    fn step(&mut self, frame: u64, post: &[f32], log_odds: &[f64], entry_open: bool) {
        let old = std::mem::replace(&mut self.tokens, vec![DEAD; self.states.len()]);
        for s in 0..self.states.len() {
            let mut best = DEAD;
            for &(p, lt) in &self.preds[s] {
                let cand = old[p].score + lt;
                if cand > best.score {
                    best = Token { score: cand, ..old[p] };
                    if self.word_starts[s] && p != s {
                        // A new word: the one before is complete.
                        best.weakest_word = best.weakest_word.min(best.word_score);
                        best.word_score = 0.0;
                        if s == self.last_word_start {
                            best.last_word_entered = frame;
                        }
                    }
                }
            }
            if s == 0 && entry_open && 0.0 > best.score {
                best = Token { score: 0.0, entered: frame, last_word_entered: frame, ..DEAD };
            }
            if best.score == f64::NEG_INFINITY {
                continue;
            }
            match self.states[s] {
                State::Word(w) => {
                    best.score += log_odds[w];
                    best.word_score += log_odds[w];
                    best.post_sum += post[w] as f64;
                    best.word_frames += 1;
                }
                State::Gap => {}
            }
            self.tokens[s] = best;
        }
    }

    fn final_token(&self) -> Token {
        self.tokens[self.states.len() - 1]
    }

    fn reset(&mut self) {
        self.tokens.fill(DEAD);
    }
}

/// The streaming decoder over frame-level word posteriors (`words + 1` per frame, filler last).
pub struct GrammarDecoder {
    commands: Vec<Command>,
    n_words: usize,
    word_durations: Vec<f64>,
    threshold: f64,
    evidence: Evidence,
    frame: u64,
    /// After a detection, nothing new starts until the filler dominates again.
    refractory: bool,
}

impl GrammarDecoder {
    /// `commands`: (name, word indices); `word_durations`: typical seconds per word (for the
    /// span's start); `threshold`: the path score (sum of capped log-odds) to fire at.
    pub fn new(
        commands: &[(String, Vec<usize>)],
        n_words: usize,
        word_durations: Vec<f64>,
        threshold: f64,
    ) -> Result<Self> {
        if commands.is_empty() {
            return Err(Error::InvalidArgument("give at least one command".into()));
        }
        if !(threshold.is_finite() && threshold > 0.0) {
            return Err(Error::InvalidArgument(format!("the threshold must be a positive number, not {threshold}")));
        }
        for (name, words) in commands {
            if words.is_empty() || words.iter().any(|&w| w >= n_words) {
                return Err(Error::InvalidArgument(format!(
                    "command \"{name}\" must be a non-empty sequence of vocabulary words"
                )));
            }
        }
        Ok(GrammarDecoder {
            commands: commands.iter().map(|(n, w)| Command::new(n, w)).collect(),
            n_words,
            word_durations,
            threshold,
            evidence: Evidence::default(),
            frame: 0,
            refractory: false,
        })
    }

    /// Uses `evidence` instead of the defaults.
    pub fn with_evidence(mut self, evidence: Evidence) -> Result<Self> {
        evidence.validate()?;
        self.evidence = evidence;
        Ok(self)
    }

    pub fn evidence(&self) -> Evidence {
        self.evidence
    }

    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// One frame: the head's posteriors (filler last), and whether the VAD heard speech recently
    /// (when not, every word is scored as absent). Returns a detection when one is settled.
    pub fn push(&mut self, posteriors: &[f32], speech: bool) -> Option<Detection> {
        let filler = posteriors[self.n_words] as f64;
        let Evidence { max_log_odds, min_word_score } = self.evidence;
        let log_odds: Vec<f64> = posteriors[..self.n_words]
            .iter()
            .map(|&p| {
                let p = (p as f64).clamp(1e-9, 1.0 - 1e-9);
                if speech {
                    (p / (1.0 - p)).ln().clamp(MIN_LOG_ODDS, max_log_odds)
                } else {
                    MIN_LOG_ODDS
                }
            })
            .collect();
        if self.refractory && (!speech || filler >= 0.5) {
            self.refractory = false;
        }
        let frame = self.frame;
        self.frame += 1;
        for c in &mut self.commands {
            c.step(frame, posteriors, &log_odds, !self.refractory);
        }
        let (i, tok) = self
            .commands
            .iter()
            .enumerate()
            .map(|(i, c)| (i, c.final_token()))
            .filter(|(_, t)| t.score >= self.threshold && t.weakest_word.min(t.word_score) >= min_word_score)
            .max_by(|a, b| a.1.score.total_cmp(&b.1.score))?;
        self.refractory = true;
        self.commands.iter_mut().for_each(Command::reset);
        Some(self.detection(i, tok))
    }

    fn detection(&self, i: usize, tok: Token) -> Detection {
        let c = &self.commands[i];
        // Frame f ends at (f + 1) × 80 ms; the head marks a word within ~40-120 ms after it ends.
        let end_of = |f: u64| (f + 1) as f64 * FRAME_SECONDS - 0.08;
        let dur = self.word_durations.get(c.first_word).copied().unwrap_or(0.4);
        Detection {
            command: c.name.clone(),
            confidence: (tok.post_sum / tok.word_frames.max(1) as f64) as f32,
            start: (end_of(tok.entered) - dur).max(0.0),
            end: end_of(tok.last_word_entered),
        }
    }
}
