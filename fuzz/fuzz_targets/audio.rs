//! The audio entry points with hostile parameters and samples: the resampler at any rate pair and
//! the log-mel / MFCC extractor with any options, fed in chunks.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shopfloor::audio::{FeatureExtractor, FeatureKind, FeatureOptions, MelNorm, Resampler};

fn u16_at(d: &[u8], i: usize) -> u16 {
    u16::from_le_bytes([d.get(i).copied().unwrap_or(0), d.get(i + 1).copied().unwrap_or(0)])
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 24 {
        return;
    }
    let (head, body) = data.split_at(24);
    let samples: Vec<f32> = body.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
    let chunk = 1 + head[0] as usize * 7;

    let rate = u16_at(head, 1) as u32 * 8;
    if let Ok(mut r) = Resampler::new(rate, 16_000) {
        let mut out = vec![];
        let clean: Vec<f32> = samples.iter().map(|s| if s.is_finite() { s.clamp(-1.0, 1.0) } else { 0.0 }).collect();
        for c in clean.chunks(chunk) {
            r.push(c, &mut out);
        }
    }

    let options = FeatureOptions {
        kind: [FeatureKind::Mel, FeatureKind::Logmel, FeatureKind::Mfcc][head[3] as usize % 3],
        sample_rate: u16_at(head, 4) as u32 * 8,
        n_fft: u16_at(head, 6) as usize % 4097,
        hop_length: Some(u16_at(head, 8) as usize % 2049),
        win_length: (head[10] % 2 == 0).then(|| u16_at(head, 11) as usize % 4097),
        center: head[13] % 2 == 0,
        power: [2.0, 1.0, 0.5, -1.0, f64::NAN][head[14] as usize % 5],
        n_mels: head[15] as usize,
        fmin: head[16] as f64 * 10.0,
        fmax: (head[17] % 2 == 0).then(|| u16_at(head, 18) as f64),
        htk: head[20] % 2 == 0,
        norm: if head[21] % 2 == 0 { MelNorm::Slaney } else { MelNorm::None },
        top_db: (head[22] % 2 == 0).then_some(80.0),
        n_mfcc: head[23] as usize % 64,
        ..FeatureOptions::default()
    };
    let Ok(mut fx) = FeatureExtractor::new(options) else { return };
    let _ = fx.compute(&samples);
    for c in samples.chunks(chunk) {
        if fx.push(c).is_err() {
            return;
        }
    }
    let _ = fx.finish();
});
