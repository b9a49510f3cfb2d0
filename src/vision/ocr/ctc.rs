//! CTC greedy decoding: the best class per time step, repeats merged, blanks dropped.

use serde::Serialize;

#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct CharScore {
    #[serde(rename = "char")]
    pub ch: String,
    pub confidence: f32,
}

/// `probs` is `[T, classes]` (softmaxed); class 0 is the blank. Each character's confidence is
/// its best step's probability.
pub fn ctc_greedy(probs: &[f32], classes: usize, charset: &[String]) -> (String, Vec<CharScore>) {
    let mut text = String::new();
    let mut chars: Vec<CharScore> = Vec::new();
    let mut prev = 0usize;
    for step in probs.chunks_exact(classes) {
        let (best, p) = step.iter().enumerate().fold((0, f32::MIN), |b, (i, &v)| if v > b.1 { (i, v) } else { b });
        if best != 0 && best != prev {
            let ch = charset.get(best).cloned().unwrap_or_default();
            text.push_str(&ch);
            chars.push(CharScore { ch, confidence: p });
        } else if best != 0 && best == prev {
            if let Some(last) = chars.last_mut() {
                last.confidence = last.confidence.max(p);
            }
        }
        prev = best;
    }
    (text, chars)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_repeats_and_drops_blanks() {
        let cs: Vec<String> = ["", "a", "b"].iter().map(|s| s.to_string()).collect();
        // steps: a a blank a b b → "aab"
        let best = [1, 1, 0, 1, 2, 2];
        let probs: Vec<f32> = best.iter().flat_map(|&b| (0..3).map(move |i| if i == b { 0.8 } else { 0.1 })).collect();
        let (text, chars) = ctc_greedy(&probs, 3, &cs);
        assert_eq!(text, "aab");
        assert_eq!(chars.len(), 3);
        assert!(chars.iter().all(|c| (c.confidence - 0.8).abs() < 1e-6));
    }
}
