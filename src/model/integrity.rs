//! sha256 pinning: the bytes must be the model the caller expects.

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

pub fn sha256_hex(bytes: &[u8]) -> String {
    // Fed in slices, not in one call: V8 starts wasm in its baseline compiler and swaps in the
    // optimised code only between calls (no on-stack replacement), so one call over a whole
    // 18 MB model ran ~10x slower in Chromium (1.2 s of EfficientNet-Lite0's 2 s load).
    #[inline(never)] // each slice must be its own call for that
    fn feed(hasher: &mut Sha256, chunk: &[u8]) {
        hasher.update(chunk);
    }
    let mut hasher = Sha256::new();
    for chunk in bytes.chunks(64 << 10) {
        feed(&mut hasher, chunk);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

/// `expected` is 64 hex digits (any case); a `sha256-<base64>` SRI string is also accepted.
pub fn verify(bytes: &[u8], expected: &str) -> Result<()> {
    verify_hex(&sha256_hex(bytes), expected)
}

/// `verify` for a digest already computed (`actual`: lowercase hex).
pub fn verify_hex(actual: &str, expected: &str) -> Result<()> {
    let expected_hex = normalise(expected)?;
    if actual != expected_hex {
        let actual = actual.to_string();
        return Err(Error::IntegrityMismatch { expected: expected_hex, actual });
    }
    Ok(())
}

fn normalise(expected: &str) -> Result<String> {
    let e = expected.trim();
    if let Some(b64) = e.strip_prefix("sha256-") {
        let raw = base64_decode(b64).filter(|r| r.len() == 32).ok_or_else(|| bad(expected))?;
        return Ok(raw.iter().map(|b| format!("{b:02x}")).collect());
    }
    if e.len() == 64 && e.chars().all(|c| c.is_ascii_hexdigit()) {
        return Ok(e.to_ascii_lowercase());
    }
    Err(bad(expected))
}

fn bad(expected: &str) -> Error {
    Error::InvalidArgument(format!(
        "sha256 \"{expected}\" is neither 64 hex digits nor an SRI string (sha256-<base64>)"
    ))
}

fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            _ => return None,
        } as u32)
    };
    let s = s.trim_end_matches('=').as_bytes();
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let n = chunk.len() * 6 / 8;
        out.extend_from_slice(&acc.to_be_bytes()[1..1 + n]);
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    // sha256("abc")
    const ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";

    #[test]
    fn accepts_hex_in_any_case_and_sri() {
        verify(b"abc", ABC).unwrap();
        verify(b"abc", &ABC.to_uppercase()).unwrap();
        verify(b"abc", "sha256-ungWv48Bz+pBQUDeXa4iI7ADYaOWF3qctBD/YfIAFa0=").unwrap();
    }

    #[test]
    fn sliced_digest_equals_the_one_shot_digest() {
        // 1,000,000 × 'a' (FIPS 180-2's long test vector), fed in 64 KiB slices and a remainder.
        let million_a = vec![b'a'; 1_000_000];
        assert_eq!(sha256_hex(&million_a), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    }

    #[test]
    fn mismatch_reports_both_digests() {
        let e = verify(b"abd", ABC).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::IntegrityMismatch);
        assert!(e.to_string().contains(ABC));
    }

    #[test]
    fn malformed_digest_is_an_argument_error() {
        for bad in ["", "abc", "sha256-!!!", &ABC[..63]] {
            assert_eq!(verify(b"abc", bad).unwrap_err().code(), crate::ErrorCode::InvalidArgument);
        }
    }
}
