//! Word error rate, for measuring transcripts against what was said: both sides lower-cased,
//! punctuation dropped and number words up to twenty written as digits (Whisper writes "panel 4"
//! where a script says "panel four"), then the word-level edit distance over the reference length.

const NUMBERS: [&str; 21] = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
    "twenty",
];

/// The words of `text` as compared: lower case, no punctuation (apostrophes and hyphens inside a
/// word are kept), number words as digits.
pub fn normalise(text: &str) -> Vec<String> {
    text.to_lowercase()
        .split(|c: char| c.is_whitespace() || (c.is_ascii_punctuation() && c != '\'' && c != '-'))
        .map(|w| w.trim_matches(|c: char| c == '\'' || c == '-'))
        .filter(|w| !w.is_empty())
        .map(|w| NUMBERS.iter().position(|n| *n == w).map_or_else(|| w.to_string(), |i| i.to_string()))
        .collect()
}

/// Substitutions, deletions and insertions turning `reference` into `hypothesis`.
pub fn word_errors(reference: &str, hypothesis: &str) -> (usize, usize) {
    let (r, h) = (normalise(reference), normalise(hypothesis));
    let mut prev: Vec<usize> = (0..=h.len()).collect();
    for (i, rw) in r.iter().enumerate() {
        let mut cur = vec![i + 1; h.len() + 1];
        for (j, hw) in h.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(rw != hw)).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    (prev[h.len()], r.len())
}

/// Errors over reference words, for one pair.
pub fn wer(reference: &str, hypothesis: &str) -> f64 {
    let (e, n) = word_errors(reference, hypothesis);
    e as f64 / n.max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_edits_after_normalising() {
        assert_eq!(wer("the paint finish on panel four", "The paint finish on panel 4."), 0.0);
        assert_eq!(word_errors("stop the line", "stop line now"), (2, 3));
        assert_eq!(word_errors("a b c", ""), (3, 3));
        assert_eq!(normalise("It's a well-known part, OK?"), ["it's", "a", "well-known", "part", "ok"]);
    }
}
