//! Temperature fallback (OpenAI's `transcribe`, faster-whisper's defaults): a window whose text
//! repeats itself (zlib compresses it over 2.4×) or that the decoder is unsure of (mean token
//! log-probability under −1) is decoded again by sampling at rising temperatures, unless the
//! window is likely silence; the best attempt by mean log-probability stands (faster-whisper's
//! choice; OpenAI keeps the last). Sampling is seeded per attempt, so the same audio always gives
//! the same text, in one piece or fed live.

use super::decoder::Window;

/// Temperature 0 is the plain (greedy or beam) decoding; the others sample one sequence each.
pub const TEMPERATURES: [f64; 6] = [0.0, 0.2, 0.4, 0.6, 0.8, 1.0];
/// Above this, the text repeats itself (a decoding loop).
const MAX_COMPRESSION_RATIO: f32 = 2.4;
/// Below this mean token log-probability the decoder was guessing.
pub const LOGPROB_THRESHOLD: f32 = -1.0;
/// Above this "no speech" probability a window is silence, whatever its text.
pub const NO_SPEECH_THRESHOLD: f32 = 0.6;
/// Past this temperature the text is not trusted as the next window's prompt (OpenAI's rule).
pub const UNTRUSTED_ABOVE: f64 = 0.5;

/// Text bytes over their zlib-compressed size (0 for no text).
pub fn compression_ratio(text: &str) -> f32 {
    if text.is_empty() {
        return 0.0;
    }
    text.len() as f32 / miniz_oxide::deflate::compress_to_vec_zlib(text.as_bytes(), 6).len() as f32
}

/// One decoding of a window and what it is judged by.
pub struct Attempt {
    pub window: Window,
    pub temperature: f64,
    pub compression_ratio: f32,
}

impl Attempt {
    pub fn new(window: Window, temperature: f64, text: &str) -> Attempt {
        Attempt { window, temperature, compression_ratio: compression_ratio(text) }
    }

    pub fn is_silence(&self) -> bool {
        self.window.no_speech > NO_SPEECH_THRESHOLD && self.window.avg_logprob() < LOGPROB_THRESHOLD
    }

    /// Whether this attempt stands (no further temperature is tried).
    pub fn good_enough(&self) -> bool {
        let plausible =
            self.compression_ratio <= MAX_COMPRESSION_RATIO && self.window.avg_logprob() >= LOGPROB_THRESHOLD;
        plausible || self.window.no_speech > NO_SPEECH_THRESHOLD
    }
}

/// The attempt to keep when none was good enough: the likeliest of those that do not loop, else
/// the likeliest.
pub fn best(attempts: Vec<Attempt>) -> Option<Attempt> {
    let no_loop = attempts.iter().any(|a| a.compression_ratio <= MAX_COMPRESSION_RATIO);
    attempts
        .into_iter()
        .filter(|a| !no_loop || a.compression_ratio <= MAX_COMPRESSION_RATIO)
        .max_by(|a, b| a.window.avg_logprob().total_cmp(&b.window.avg_logprob()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(logprob: f32, no_speech: f32) -> Window {
        Window { tokens: vec![(1, logprob.exp()); 4], no_speech, finished: true }
    }

    #[test]
    fn loops_and_guesses_fall_back_silence_does_not() {
        let text = "the paint finish on panel 4 has small bubbles";
        assert!(compression_ratio(text) < 1.5);
        let looping = "the line stopped. ".repeat(12);
        assert!(compression_ratio(&looping) > MAX_COMPRESSION_RATIO);
        assert!(Attempt::new(window(-0.2, 0.1), 0.0, text).good_enough());
        assert!(!Attempt::new(window(-0.2, 0.1), 0.0, &looping).good_enough());
        assert!(!Attempt::new(window(-1.5, 0.1), 0.0, text).good_enough());
        let silent = Attempt::new(window(-1.5, 0.9), 0.0, text);
        assert!(silent.good_enough() && silent.is_silence());
    }

    #[test]
    fn the_likeliest_attempt_that_does_not_loop_is_kept() {
        let looping = "again ".repeat(30);
        let attempts = vec![
            Attempt::new(window(-0.1, 0.0), 0.0, &looping),
            Attempt::new(window(-1.4, 0.0), 0.2, "a guess"),
            Attempt::new(window(-1.2, 0.0), 0.4, "a better guess"),
        ];
        assert_eq!(best(attempts).unwrap().temperature, 0.4);
        assert!(best(vec![]).is_none());
    }
}
