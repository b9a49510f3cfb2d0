//! A second pass over the name order: after each function, the most alike function not yet
//! placed, wherever the names put it, when it is alike enough; else the name order goes on.
//!
//! Names gather one generic function's instances, but alike bodies also hide under different
//! names (the same loop in two crates, a closure and the method it was inlined from). Comparing
//! every pair of ~27,000 bodies is too slow, so each body gets a MinHash signature of its 4-byte
//! substrings, and only bodies that share one band of it (locality-sensitive hashing) are
//! weighed. Measured on the single-thread module: 0.6 % less gzipped (2,008,182 → 1,995,605 bytes)
//! (docs/performance-log.md, "tract-linalg for size").

use std::collections::HashMap;

/// Signature length: the share of equal entries estimates two bodies' Jaccard likeness.
const HASHES: usize = 32;
/// Bands of the signature; two bodies meet when one band is equal in both.
const BANDS: usize = 8;
const ROWS: usize = HASHES / BANDS;
/// Equal entries (of `HASHES`) that make a hop worth leaving the name order: half.
const ALIKE: usize = HASHES / 2;
/// Entries of one band's bucket weighed per step, so that a bucket shared by thousands of tiny
/// bodies cannot make the pass quadratic.
const SCAN: usize = 256;

/// `order` (indices into the bodies `bytes` gives) rearranged as the module's doc says; a
/// permutation of it, deterministic.
pub(crate) fn hop_alike<'a>(order: &[usize], bytes: impl Fn(usize) -> &'a [u8]) -> Vec<usize> {
    let n = order.len();
    let sigs: Vec<Option<[u32; HASHES]>> = order.iter().map(|&f| signature(bytes(f))).collect();
    // Each band's buckets hold positions in `order`, ascending.
    let mut buckets: HashMap<(usize, [u32; ROWS]), Vec<usize>> = HashMap::new();
    for (pos, sig) in sigs.iter().enumerate() {
        if let Some(sig) = sig {
            for band in 0..BANDS {
                buckets.entry((band, band_of(sig, band))).or_default().push(pos);
            }
        }
    }
    if n == 0 {
        return Vec::new();
    }
    let mut placed = vec![false; n];
    let mut out = Vec::with_capacity(n);
    let mut next_in_order = 0;
    let mut cur = 0;
    loop {
        placed[cur] = true;
        out.push(order[cur]);
        let mut best: Option<(usize, usize)> = None;
        if let Some(sig) = &sigs[cur] {
            for band in 0..BANDS {
                let Some(bucket) = buckets.get(&(band, band_of(sig, band))) else { continue };
                for &pos in bucket.iter().filter(|&&p| !placed[p]).take(SCAN) {
                    let other = sigs[pos].as_ref().expect("only signed bodies are in buckets");
                    let equal = sig.iter().zip(other).filter(|(a, b)| a == b).count();
                    // The most alike; between equals, the one the name order puts first.
                    if best.is_none_or(|(e, p)| equal > e || (equal == e && pos < p)) {
                        best = Some((equal, pos));
                    }
                }
            }
        }
        cur = match best {
            Some((equal, pos)) if equal >= ALIKE => pos,
            _ => {
                while next_in_order < n && placed[next_in_order] {
                    next_in_order += 1;
                }
                if next_in_order == n {
                    break;
                }
                next_in_order
            }
        };
    }
    out
}

fn band_of(sig: &[u32; HASHES], band: usize) -> [u32; ROWS] {
    sig[band * ROWS..(band + 1) * ROWS].try_into().expect("ROWS entries")
}

/// The MinHash signature of a body's 4-byte substrings, `None` for a body shorter than 4 bytes.
/// Hash `k` is `(a_k x + c_k) mod (2^31 - 1)` with fixed odd `a_k`, so the order is the same on
/// every machine.
fn signature(body: &[u8]) -> Option<[u32; HASHES]> {
    const P: u64 = (1 << 31) - 1;
    if body.len() < 4 {
        return None;
    }
    let grams = super::substrings(body);
    let mut sig = [u32::MAX; HASHES];
    for (k, s) in sig.iter_mut().enumerate() {
        // Coefficients from a fixed LCG: odd, below P.
        let a = (0x9E37_79B9u64.wrapping_mul(2 * k as u64 + 1) % P) | 1;
        let c = 0x7F4A_7C15u64.wrapping_mul(k as u64 + 3) % P;
        *s = grams.iter().map(|&x| ((a * x as u64 + c) % P) as u32).min().expect("at least one substring");
    }
    Some(sig)
}
