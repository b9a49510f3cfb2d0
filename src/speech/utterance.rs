//! "A command is an utterance of its own": a detection stands only when the VAD heard no speech
//! for a while before the command began and hears the speech stop soon after it ended. The false
//! alarms that remain after the head and the grammar are sound-alike stretches of connected speech
//! ("on sentence top" → stop, "lion three day" → line three): said inside a sentence, speech runs
//! on before or after them. A command said to a machine has a pause on both sides.

use std::collections::VecDeque;

use serde::{Deserialize, Serialize};

use super::grammar::Detection;
use crate::{Error, Result};

/// A command's start is estimated from its first word's typical length; slow speech begins up to
/// this much earlier, so the quiet span asked for ends this long before the estimate.
const START_MARGIN: f64 = 0.3;
/// Consecutive VAD windows (32 ms each) below the end threshold that mean the speech stopped.
const QUIET_WINDOWS: usize = 2;
/// VAD history kept: longer than any command with the pause before it.
const HISTORY_SECONDS: f64 = 6.0;

/// The pauses a command needs around it (seconds); 0 turns a side's check off.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default, deny_unknown_fields)]
pub struct PauseOptions {
    /// Speech-free seconds before the command.
    pub before: f64,
    /// Longest wait after the command's end for the speech to stop; the event comes when it does.
    pub after: f64,
}

impl Default for PauseOptions {
    fn default() -> Self {
        PauseOptions { before: 0.5, after: 0.5 }
    }
}

impl PauseOptions {
    pub fn validate(&self) -> Result<()> {
        let ok = |v: f64| v.is_finite() && (0.0..=3.0).contains(&v);
        if ok(self.before) && ok(self.after) {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "pause options {{ before: {}, after: {} }}: each must be seconds in [0, 3] (0 turns that check off)",
                self.before, self.after
            )))
        }
    }
}

/// Holds each detection until the VAD shows whether it was said on its own.
pub struct UtteranceGate {
    opts: PauseOptions,
    /// VAD probability at or above this is speech (the VAD's start threshold)…
    speech: f32,
    /// …and below this, the speech has stopped (its end threshold).
    quiet: f32,
    /// (window end, probability), oldest first.
    history: VecDeque<(f64, f32)>,
    /// Detections waiting for the pause after them, with the time each was decided.
    pending: VecDeque<(Detection, f64)>,
}

enum After {
    Stopped(f64),
    RanOn,
    Unknown,
}

impl UtteranceGate {
    pub fn new(opts: PauseOptions, speech: f32, quiet: f32) -> Result<Self> {
        opts.validate()?;
        Ok(UtteranceGate { opts, speech, quiet, history: VecDeque::new(), pending: VecDeque::new() })
    }

    /// The VAD's windows as they come, in time order.
    pub fn push_vad(&mut self, windows: &[(f64, f32)]) {
        self.history.extend(windows.iter().copied());
    }

    /// A detection decided at stream time `at`: dropped at once when speech ran up to its start.
    pub fn offer(&mut self, d: Detection, at: f64) {
        if self.opts.before > 0.0 {
            let to = d.start - START_MARGIN;
            let from = to - self.opts.before;
            let first = self.history.partition_point(|&(t, _)| t <= from);
            let spoke = self.history.range(first..).take_while(|&&(t, _)| t <= to).any(|&(_, p)| p >= self.speech);
            if spoke {
                return;
            }
        }
        self.pending.push_back((d, at));
    }

    /// The detections whose pause after them is settled, in the order they were offered, each with
    /// the time it was decided: when the speech stopped, if that came after the decoder's decision.
    /// `now`: how far the decoder has read; history older than what later offers can need is let go
    /// (not by the VAD's latest window: a long chunk's VAD runs ahead of its frames).
    pub fn settle(&mut self, now: f64) -> Vec<(Detection, f64)> {
        let mut out = vec![];
        while let Some((d, at)) = self.pending.front() {
            match self.after(d.end) {
                After::Stopped(t) => {
                    let at = at.max(t);
                    let (d, _) = self.pending.pop_front().expect("front exists");
                    out.push((d, at));
                }
                After::RanOn => {
                    self.pending.pop_front();
                }
                After::Unknown => break,
            }
        }
        let oldest = self.pending.front().map_or(now, |(d, _)| d.end.min(now));
        let keep = oldest - HISTORY_SECONDS - self.opts.before;
        while self.history.front().is_some_and(|(t, _)| *t < keep) {
            self.history.pop_front();
        }
        out
    }

    fn after(&self, end: f64) -> After {
        if self.opts.after <= 0.0 {
            return After::Stopped(end);
        }
        let deadline = end + self.opts.after;
        let mut run = 0;
        // One long chunk can hold a whole recording's windows: search, do not scan.
        let first = self.history.partition_point(|&(t, _)| t <= end);
        for &(t, p) in self.history.range(first..) {
            if t > deadline {
                return After::RanOn;
            }
            run = if p < self.quiet { run + 1 } else { 0 };
            if run == QUIET_WINDOWS {
                return After::Stopped(t);
            }
        }
        After::Unknown
    }

    pub fn reset(&mut self) {
        self.history.clear();
        self.pending.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(start: f64, end: f64) -> Detection {
        Detection { command: "stop".into(), confidence: 0.9, start, end }
    }

    /// VAD windows every 32 ms over [0, until), speech (0.9) inside the given spans, else 0.05.
    fn vad(until: f64, speech: &[(f64, f64)]) -> Vec<(f64, f32)> {
        let n = (until / 0.032) as usize;
        (1..=n)
            .map(|k| {
                let t = k as f64 * 0.032;
                let p = if speech.iter().any(|&(a, b)| t > a && t <= b) { 0.9 } else { 0.05 };
                (t, p)
            })
            .collect()
    }

    fn gate() -> UtteranceGate {
        UtteranceGate::new(PauseOptions::default(), 0.5, 0.35).unwrap()
    }

    #[test]
    fn a_command_said_alone_stands_and_is_decided_when_the_speech_stops() {
        let mut g = gate();
        let windows = vad(2.0, &[(1.0, 1.4)]);
        // Up to 1.408 s: one quiet window after the end, not yet two.
        g.push_vad(&windows[..44]);
        g.offer(det(1.0, 1.4), 1.42);
        assert!(g.settle(9.0).is_empty(), "the VAD has not yet shown the pause after it");
        g.push_vad(&windows[44..]);
        let out = g.settle(9.0);
        assert_eq!(out.len(), 1);
        // The second quiet window after 1.4 s ends at 1.44 s: later than the decoder's 1.42 s.
        assert!((out[0].1 - 1.44).abs() < 1e-9, "{}", out[0].1);
    }

    #[test]
    fn speech_running_up_to_the_start_drops_it() {
        let mut g = gate();
        g.push_vad(&vad(3.0, &[(0.2, 1.4)]));
        g.offer(det(1.0, 1.4), 1.5);
        assert!(g.settle(9.0).is_empty());
        assert!(g.pending.is_empty());
    }

    #[test]
    fn speech_running_on_after_the_end_drops_it() {
        let mut g = gate();
        g.push_vad(&vad(3.0, &[(1.0, 2.5)]));
        g.offer(det(1.0, 1.4), 1.5);
        assert!(g.settle(9.0).is_empty());
        assert!(g.pending.is_empty(), "settled as ran on, not left waiting");
    }

    #[test]
    fn a_slow_start_within_the_margin_is_not_held_against_it() {
        // Said 0.25 s earlier than the estimate: the quiet span ends 0.3 s before the estimate.
        let mut g = gate();
        g.push_vad(&vad(3.0, &[(0.75, 1.4)]));
        g.offer(det(1.0, 1.4), 1.5);
        assert_eq!(g.settle(9.0).len(), 1);
    }

    #[test]
    fn at_the_stream_start_there_is_nothing_before_it() {
        let mut g = gate();
        g.push_vad(&vad(2.0, &[(0.0, 0.4)]));
        g.offer(det(0.0, 0.4), 0.5);
        assert_eq!(g.settle(9.0).len(), 1);
    }

    #[test]
    fn zero_turns_each_check_off() {
        let mut g = UtteranceGate::new(PauseOptions { before: 0.0, after: 0.0 }, 0.5, 0.35).unwrap();
        g.push_vad(&vad(3.0, &[(0.0, 3.0)]));
        g.offer(det(1.0, 1.4), 1.5);
        assert_eq!(g.settle(9.0), vec![(det(1.0, 1.4), 1.5)]);
    }

    #[test]
    fn chunking_the_vad_changes_nothing() {
        let windows = vad(6.0, &[(1.0, 1.5), (2.0, 3.1), (4.0, 4.4)]);
        let offers = [(det(1.0, 1.5), 1.6), (det(2.4, 2.8), 2.9), (det(4.0, 4.4), 4.5)];
        let run = |chunk: usize| {
            let mut g = gate();
            let mut out = vec![];
            let mut next = 0;
            for c in windows.chunks(chunk) {
                g.push_vad(c);
                let now = c.last().unwrap().0;
                while next < offers.len() && offers[next].1 <= now {
                    g.offer(offers[next].0.clone(), offers[next].1);
                    next += 1;
                }
                out.extend(g.settle(now));
            }
            out
        };
        let one = run(windows.len());
        assert_eq!(one.len(), 2, "the one inside running speech is dropped");
        for chunk in [1, 3, 7, 25] {
            assert_eq!(run(chunk), one, "chunk {chunk}");
        }
    }

    #[test]
    fn bad_options_are_typed_errors() {
        for (before, after) in [(-0.1, 0.5), (0.5, f64::NAN), (4.0, 0.5), (0.5, f64::INFINITY)] {
            let e = UtteranceGate::new(PauseOptions { before, after }, 0.5, 0.35).err().unwrap();
            assert!(matches!(e, Error::InvalidArgument(ref m) if m.contains("[0, 3]")), "{e}");
        }
    }
}
