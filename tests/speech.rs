//! Speech: HMM numerics against brute force and hmmlearn, the resampler's filter, the grammar
//! decoder on constructed posteriors, and the whole pipeline on espeak-ng speech from voices the
//! command head never heard (detection rate, false alarms, latency, chunking, bad input).

mod common;

use std::path::{Path, PathBuf};

use common::cached;
use shopfloor::audio::{FeatureExtractor, FeatureKind, FeatureOptions, Features, Resampler};
use shopfloor::speech::grammar::{Evidence, GrammarDecoder};
use shopfloor::speech::hmm::{left_to_right, log_sum_exp, DiagGaussian, GaussianHmm};
use shopfloor::speech::{
    load, EnrolledCommand, PauseOptions, SpeechEvent, SpeechManifest, VadEvent, VoiceCommands, VoiceOptions,
};
use shopfloor::{BackendChoice, ErrorCode, LoadOptions};

fn g1(mean: f64, var: f64) -> DiagGaussian {
    DiagGaussian { mean: vec![mean], var: vec![var] }
}

fn small_hmm() -> GaussianHmm {
    GaussianHmm {
        start: vec![0.6, 0.4],
        trans: vec![vec![0.7, 0.3], vec![0.2, 0.8]],
        states: vec![g1(0.0, 1.0), g1(2.0, 0.5)],
    }
}

/// Every state path, by enumeration: the definition the dynamic programmes must agree with.
fn brute_force(h: &GaussianHmm, xs: &[Vec<f32>]) -> (f64, Vec<usize>, f64) {
    let n = h.n_states();
    let (mut total, mut best, mut best_p) = (0.0f64, vec![], f64::NEG_INFINITY);
    for code in 0..n.pow(xs.len() as u32) {
        let path: Vec<usize> = (0..xs.len()).map(|t| code / n.pow(t as u32) % n).collect();
        let mut lp = h.start[path[0]].ln() + h.states[path[0]].log_pdf(&xs[0]);
        for t in 1..xs.len() {
            lp += h.trans[path[t - 1]][path[t]].ln() + h.states[path[t]].log_pdf(&xs[t]);
        }
        total += lp.exp();
        if lp > best_p {
            best_p = lp;
            best = path;
        }
    }
    (total.ln(), best, best_p)
}

#[test]
fn forward_and_viterbi_equal_enumeration_of_every_path() {
    let h = small_hmm();
    let xs: Vec<Vec<f32>> = [0.1f32, 1.9, 2.2, -0.3, 1.0].iter().map(|&v| vec![v]).collect();
    let (ll, path, score) = brute_force(&h, &xs);
    assert!((h.log_likelihood(&xs) - ll).abs() < 1e-10, "{} vs {ll}", h.log_likelihood(&xs));
    let (vpath, vscore) = h.viterbi(&xs);
    assert_eq!(vpath, path);
    assert!((vscore - score).abs() < 1e-10);
    // By hand for one frame: log(0.6 N(0.1; 0, 1) + 0.4 N(0.1; 2, 0.5)).
    let n = |x: f64, m: f64, v: f64| (-(x - m).powi(2) / (2.0 * v)).exp() / (2.0 * std::f64::consts::PI * v).sqrt();
    let x0 = 0.1f32 as f64;
    let one = (0.6 * n(x0, 0.0, 1.0) + 0.4 * n(x0, 2.0, 0.5)).ln();
    assert!((h.log_likelihood(&xs[..1]) - one).abs() < 1e-12);
}

#[test]
fn log_space_stays_finite_over_long_inputs() {
    // 50,000 frames: a probability-space forward pass would underflow after a few hundred.
    let h = small_hmm();
    let xs: Vec<Vec<f32>> = (0..50_000).map(|i| vec![((i * 7919) % 1000) as f32 / 400.0]).collect();
    let ll = h.log_likelihood(&xs);
    assert!(ll.is_finite() && ll < -10_000.0, "{ll}");
    let (path, score) = h.viterbi(&xs);
    assert_eq!(path.len(), xs.len());
    assert!(score.is_finite() && score <= ll);
    assert_eq!(log_sum_exp([-1e5, -1e5]), -1e5 + 2f64.ln());
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct Params {
    start: Vec<f64>,
    trans: Vec<Vec<f64>>,
    means: Vec<Vec<f64>>,
    vars: Vec<Vec<f64>>,
}

#[derive(serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct HmmReference {
    sequences: Vec<Vec<Vec<f32>>>,
    init: Params,
    initial_log_likelihood: f64,
    viterbi_paths: Vec<Vec<usize>>,
    viterbi_scores: Vec<f64>,
    iterations: usize,
    fitted: Params,
    log_likelihoods: Vec<f64>,
    final_log_likelihood: f64,
}

fn to_hmm(p: &Params) -> GaussianHmm {
    GaussianHmm {
        start: p.start.clone(),
        trans: p.trans.clone(),
        states: p.means.iter().zip(&p.vars).map(|(m, v)| DiagGaussian { mean: m.clone(), var: v.clone() }).collect(),
    }
}

#[test]
fn baum_welch_and_viterbi_match_hmmlearn() {
    let r: HmmReference = serde_json::from_str(include_str!("fixtures/hmm_reference.json")).unwrap();
    let mut h = to_hmm(&r.init);
    let ll0: f64 = r.sequences.iter().map(|s| h.log_likelihood(s)).sum();
    assert!((ll0 - r.initial_log_likelihood).abs() < 1e-8, "{ll0} vs {}", r.initial_log_likelihood);
    for (i, s) in r.sequences.iter().enumerate() {
        let (path, score) = h.viterbi(s);
        assert_eq!(path, r.viterbi_paths[i]);
        assert!((score - r.viterbi_scores[i]).abs() < 1e-8);
    }
    let report = h.fit(&r.sequences, r.iterations, 0.0).unwrap();
    for (a, b) in report.log_likelihoods.iter().zip(&r.log_likelihoods) {
        assert!((a - b).abs() < 1e-7 * b.abs(), "{a} vs {b}");
    }
    // EM never lowers the likelihood.
    assert!(report.log_likelihoods.windows(2).all(|w| w[1] >= w[0] - 1e-9));
    let want = to_hmm(&r.fitted);
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() < 1e-6);
    assert!(close(&h.start, &want.start));
    for k in 0..3 {
        assert!(close(&h.trans[k], &want.trans[k]), "{:?} vs {:?}", h.trans[k], want.trans[k]);
        assert!(close(&h.states[k].mean, &want.states[k].mean));
        assert!(close(&h.states[k].var, &want.states[k].var), "{:?} vs {:?}", h.states[k].var, want.states[k].var);
    }
    let ll: f64 = r.sequences.iter().map(|s| h.log_likelihood(s)).sum();
    assert!((ll - r.final_log_likelihood).abs() < 1e-6);
    // Left-to-right zeros stay zero.
    assert_eq!(h.trans[1][0], 0.0);
    assert_eq!(h.trans[2][1], 0.0);
}

#[test]
fn baum_welch_refuses_bad_sequences() {
    let mut h = left_to_right(vec![g1(0.0, 1.0), g1(1.0, 1.0), g1(2.0, 1.0)], 0.5);
    let e = h.fit(&[vec![vec![0.0], vec![f32::NAN]]], 3, 1e-3).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    let e = h.fit(&[vec![]], 3, 1e-3).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    let e = h.fit(&[vec![vec![0.0, 1.0]]], 3, 1e-3).unwrap_err();
    assert!(e.to_string().contains("1 finite values"), "{e}");
    let mut bad = small_hmm();
    bad.trans[0] = vec![0.9, 0.3];
    assert_eq!(bad.validate().unwrap_err().code(), ErrorCode::InvalidArgument);
}

fn sine(rate: u32, freq: f64, secs: f64) -> Vec<f32> {
    (0..(rate as f64 * secs) as usize)
        .map(|i| (2.0 * std::f64::consts::PI * freq * i as f64 / rate as f64).sin() as f32 * 0.5)
        .collect()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| (*v as f64).powi(2)).sum::<f64>() / x.len() as f64).sqrt()
}

#[test]
fn resampler_keeps_speech_band_and_blocks_aliases() {
    for rate in [44_100, 48_000, 96_000] {
        let mut r = Resampler::new(rate, 16_000).unwrap();
        let mut out = vec![];
        r.push(&sine(rate, 1000.0, 1.0), &mut out);
        let expect = 16_000.0 * (1.0 - 16.0 / 16_000.0 * rate as f64 / 16_000.0 * 0.0);
        assert!((out.len() as f64 - expect).abs() < 64.0, "{rate}: {} samples", out.len());
        let passband = rms(&out[2000..14000]) / (0.5 / 2f64.sqrt());
        assert!((passband - 1.0).abs() < 0.01, "{rate} Hz: 1 kHz gain {passband}");
        // 11 kHz would fold onto 5 kHz without the low-pass filter.
        let mut out = vec![];
        Resampler::new(rate, 16_000).unwrap().push(&sine(rate, 11_000.0, 1.0), &mut out);
        let alias_db = 20.0 * (rms(&out[2000..14000]) / (0.5 / 2f64.sqrt())).log10();
        assert!(alias_db < -60.0, "{rate} Hz: 11 kHz leaks at {alias_db:.1} dB");
    }
    // 8 kHz up to 16 kHz keeps a 1 kHz tone.
    let mut out = vec![];
    Resampler::new(8_000, 16_000).unwrap().push(&sine(8_000, 1000.0, 1.0), &mut out);
    assert!((rms(&out[2000..14000]) / (0.5 / 2f64.sqrt()) - 1.0).abs() < 0.01);
}

#[test]
fn resampler_output_does_not_depend_on_chunking() {
    let x = sine(48_000, 440.0, 0.5);
    let mut whole = vec![];
    Resampler::new(48_000, 16_000).unwrap().push(&x, &mut whole);
    let mut parts = vec![];
    let mut r = Resampler::new(48_000, 16_000).unwrap();
    for c in x.chunks(777) {
        r.push(c, &mut parts);
    }
    assert_eq!(whole, parts);
    assert!(Resampler::new(4_000, 16_000).is_err());
    assert!(Resampler::new(1_000_000, 16_000).is_err());
}

const WORDS: usize = 4; // a, b, c, d; filler last

/// Posteriors with `word` at `p` (filler the rest).
fn frame(word: Option<usize>, p: f32) -> Vec<f32> {
    let mut v = vec![0.002; WORDS + 1];
    match word {
        Some(w) => {
            v[w] = p;
            v[WORDS] = 1.0 - p - 0.002 * (WORDS - 1) as f32;
        }
        None => v[WORDS] = 1.0 - 0.002 * WORDS as f32,
    }
    v
}

fn decode(d: &mut GrammarDecoder, frames: &[Vec<f32>], speech: bool) -> Vec<(String, u64)> {
    frames.iter().enumerate().filter_map(|(i, f)| d.push(f, speech).map(|x| (x.command, i as u64))).collect()
}

fn grammar() -> GrammarDecoder {
    let cmds = vec![("stop".to_string(), vec![1]), ("a stop".to_string(), vec![0, 1]), ("c d".to_string(), vec![2, 3])];
    GrammarDecoder::new(&cmds, WORDS, vec![0.4; WORDS], 8.0).unwrap()
}

#[test]
fn grammar_prefers_the_longer_command_and_needs_every_word() {
    let mut seq = vec![frame(None, 0.0); 5];
    seq.extend(vec![frame(Some(0), 0.95); 4]); // "a"
    seq.extend(vec![frame(None, 0.0); 2]); // a short pause
    seq.extend(vec![frame(Some(1), 0.95); 4]); // "stop"
    seq.extend(vec![frame(None, 0.0); 10]);
    let got = decode(&mut grammar(), &seq, true);
    assert_eq!(got.iter().map(|g| g.0.as_str()).collect::<Vec<_>>(), ["a stop"], "{got:?}");
    // "d" alone is half of "c d": nothing.
    let mut seq = vec![frame(None, 0.0); 5];
    seq.extend(vec![frame(Some(3), 0.95); 4]);
    seq.extend(vec![frame(None, 0.0); 10]);
    assert!(decode(&mut grammar(), &seq, true).is_empty());
    // "stop" alone fires once, within two frames of the threshold crossing.
    let mut seq = vec![frame(None, 0.0); 5];
    seq.extend(vec![frame(Some(1), 0.95); 4]);
    seq.extend(vec![frame(None, 0.0); 10]);
    let got = decode(&mut grammar(), &seq, true);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].0, "stop");
    assert!(got[0].1 <= 5 + 4 + 1, "{got:?}");
    // Without voice activity nothing fires, however confident the head.
    assert!(decode(&mut grammar(), &seq, false).is_empty());
    // Weak evidence stays below the threshold.
    let mut seq = vec![frame(None, 0.0); 5];
    seq.extend(vec![frame(Some(1), 0.3); 2]);
    seq.extend(vec![frame(None, 0.0); 10]);
    assert!(decode(&mut grammar(), &seq, true).is_empty());
    assert!(GrammarDecoder::new(&[("x".into(), vec![9])], WORDS, vec![], 8.0).is_err());
    assert!(GrammarDecoder::new(&[("x".into(), vec![0])], WORDS, vec![], f64::NAN).is_err());
    // The evidence calibration: a higher per-frame cap lets the same 0.99-posterior "stop" fire a
    // frame earlier; nonsense values are refused.
    let mut seq = vec![frame(None, 0.0); 5];
    seq.extend(vec![frame(Some(1), 0.99); 4]);
    seq.extend(vec![frame(None, 0.0); 10]);
    let default_frame = decode(&mut grammar(), &seq, true)[0].1;
    let eager = Evidence { max_log_odds: 4.5, min_word_score: 4.0 };
    let eager_frame = decode(&mut grammar().with_evidence(eager).unwrap(), &seq, true)[0].1;
    assert!(eager_frame < default_frame, "{eager_frame} vs {default_frame}");
    for bad in [(0.0, 4.0), (3.0, f64::NAN), (-1.0, 4.0), (3.0, 100.0)] {
        let e = grammar().with_evidence(Evidence { max_log_odds: bad.0, min_word_score: bad.1 }).err().unwrap();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
    }
}

// ---- The pipeline on test speech -------------------------------------------------------------

fn speech_manifest() -> Option<(SpeechManifest, Vec<Vec<u8>>)> {
    cached("openwakeword/embedding_model.onnx")?;
    cached("silero/silero_vad_op18_ifless.onnx")?;
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("models/speech");
    let m = SpeechManifest::parse(&std::fs::read_to_string(dir.join("manifest.json")).unwrap()).unwrap();
    let files = load::files(&m).iter().map(|f| std::fs::read(dir.join(&f.file)).unwrap()).collect();
    Some((m, files))
}

fn pipeline(opts: VoiceOptions) -> Option<VoiceCommands> {
    let (m, files) = speech_manifest()?;
    let lo = LoadOptions { backend: BackendChoice::Cpu, ..Default::default() };
    Some(pollster::block_on(load::voice_commands(m, &files, &lo, opts)).unwrap())
}

fn wav(rel: &str) -> Option<(Vec<f32>, u32)> {
    let p: PathBuf = cached(rel)?;
    let mut r = hound::WavReader::open(p).unwrap();
    let spec = r.spec();
    let ch = spec.channels as usize;
    let scale = 1.0 / (1u32 << (spec.bits_per_sample - 1)) as f32;
    let x: Vec<f32> = r.samples::<i32>().map(|s| s.unwrap() as f32 * scale).collect();
    Some((x.chunks(ch).map(|c| c.iter().sum::<f32>() / ch as f32).collect(), spec.sample_rate))
}

fn run(vc: &mut VoiceCommands, x: &[f32], rate: u32, chunk: usize) -> Vec<SpeechEvent> {
    vc.reset();
    pollster::block_on(async {
        let mut ev = vec![];
        for c in x.chunks(chunk) {
            ev.extend(vc.feed(c, rate).await.unwrap());
        }
        ev.extend(vc.finish().await.unwrap());
        ev
    })
}

fn commands(ev: &[SpeechEvent]) -> Vec<(String, f64, f64, f64)> {
    ev.iter()
        .filter_map(|e| match e {
            SpeechEvent::Command { detection: d, decided_at } => Some((d.command.clone(), d.start, d.end, *decided_at)),
            _ => None,
        })
        .collect()
}

#[test]
fn line_two_at_every_sample_rate_and_any_chunking() {
    let Some(mut vc) = pipeline(VoiceOptions::default()) else { return };
    let Some((x, rate)) = wav("speech-test/line_two.wav") else { return };
    let one_shot = run(&mut vc, &x, rate, x.len());
    let got = commands(&one_shot);
    assert_eq!(got.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["line two"], "{got:?}");
    // Chunking changes nothing but how a chunk's VAD and command events interleave.
    let vad = |ev: &[SpeechEvent]| ev.iter().filter(|e| matches!(e, SpeechEvent::Vad(_))).cloned().collect::<Vec<_>>();
    for chunk in [160, 1000, 4096] {
        let ev = run(&mut vc, &x, rate, chunk);
        assert_eq!(commands(&ev), got, "chunks of {chunk}");
        assert_eq!(vad(&ev), vad(&one_shot), "chunks of {chunk}");
    }
    for file in ["line_two_8k.wav", "line_two_44k_stereo.wav", "line_two_96k.wav"] {
        let (y, r) = wav(&format!("speech-test/{file}")).unwrap();
        let got = commands(&run(&mut vc, &y, r, 4096));
        assert_eq!(got.iter().map(|c| c.0.as_str()).collect::<Vec<_>>(), ["line two"], "{file}: {got:?}");
    }
}

/// A command said inside running speech does not count; said on its own it does (the
/// `utterance` check), and over a minute of commands chunking changes nothing with it.
#[test]
fn a_command_counts_only_when_said_on_its_own() {
    let Some(mut vc) = pipeline(VoiceOptions::default()) else { return };
    let Some((x, rate)) = wav("speech-test/line_two.wav") else { return };
    assert_eq!(rate, 16_000);
    // line_two.wav: 0.5 s of silence, "line", "two", 1.5 s of silence.
    let said = &x[8_000..x.len() - 24_000];
    // Speech from the test's other speech: the VAD's first segment of 2 s or more.
    let (other, _) = wav("speech-test/other.wav").unwrap();
    let minute = &other[..60 * 16_000];
    let segment = run(&mut vc, minute, 16_000, 4096)
        .into_iter()
        .find_map(|e| match e {
            SpeechEvent::Vad(VadEvent::SpeechEnd { start, end }) if end - start >= 2.0 => Some((start, end)),
            _ => None,
        })
        .expect("a long sentence in the first minute");
    let speech = &minute[(segment.0 * 16_000.0) as usize + 1_600..(segment.1 * 16_000.0) as usize - 1_600];
    let quiet = vec![0.0f32; 24_000];
    // A breath (0.1 s) between the sentence and the command: not the pause of a command said alone.
    let breath = &quiet[..1_600];
    let cases = [
        ("speech up to it", [speech, breath, said, &quiet].concat()),
        ("speech right after it", [&quiet[..], said, speech, &quiet].concat()),
        ("on its own", [&quiet[..], said, &quiet].concat()),
    ];
    let off = PauseOptions { before: 0.0, after: 0.0 };
    let mut vc_off = pipeline(VoiceOptions { pause: off, ..Default::default() }).unwrap();
    for (what, audio) in &cases {
        let names = |ev: &[SpeechEvent]| commands(ev).into_iter().map(|c| c.0).filter(|c| c == "line two").count();
        assert_eq!(names(&run(&mut vc_off, audio, 16_000, 4096)), 1, "{what}, pause check off");
        let expected = usize::from(*what == "on its own");
        assert_eq!(names(&run(&mut vc, audio, 16_000, 4096)), expected, "{what}, pause check on");
    }
    let Some((clean, rate)) = wav("speech-test/commands_clean.wav") else { return };
    let minute = &clean[..60 * rate as usize];
    let one_shot = commands(&run(&mut vc, minute, rate, minute.len()));
    assert!(one_shot.len() >= 15, "{one_shot:?}");
    for chunk in [512, 4096, 48_000] {
        assert_eq!(commands(&run(&mut vc, minute, rate, chunk)), one_shot, "chunks of {chunk}");
    }
    let bad = VoiceOptions { pause: PauseOptions { before: 0.5, after: -1.0 }, ..Default::default() };
    let (m, files) = speech_manifest().unwrap();
    let e = pollster::block_on(load::voice_commands(m, &files, &LoadOptions::default(), bad)).err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    assert!(e.to_string().contains("each must be seconds in [0, 3]"), "{e}");
}

#[test]
fn silence_clipping_nan_and_empty_chunks() {
    let Some(mut vc) = pipeline(VoiceOptions::default()) else { return };
    assert!(commands(&run(&mut vc, &vec![0.0; 48_000 * 3], 48_000, 4800)).is_empty());
    // Square wave far beyond full scale: clamped like a sound card, no command, no panic.
    let square: Vec<f32> = (0..16_000 * 3).map(|i| if (i / 40) % 2 == 0 { 7.0 } else { -7.0 }).collect();
    assert!(commands(&run(&mut vc, &square, 16_000, 4000)).is_empty());
    pollster::block_on(async {
        assert!(vc.feed(&[], 16_000).await.unwrap().is_empty());
        let e = vc.feed(&[0.0, f32::NAN], 16_000).await.unwrap_err();
        assert_eq!(e.code(), ErrorCode::InvalidArgument);
        assert!(e.to_string().contains("sample 1"), "{e}");
        let e = vc.feed(&[0.0; 10], 2_000).await.unwrap_err();
        assert!(e.to_string().contains("2000 Hz"), "{e}");
    });
    let (m, files) = speech_manifest().unwrap();
    let opts = VoiceOptions { commands: vec!["stop the belt".into()], ..Default::default() };
    let e = pollster::block_on(load::voice_commands(m, &files, &LoadOptions::default(), opts)).err().unwrap();
    assert!(e.to_string().contains("\"the\" is not in the vocabulary"), "{e}");
}

#[derive(serde::Deserialize)]
struct Truth {
    command: String,
    start: f64,
    end: f64,
}

#[derive(serde::Deserialize)]
struct Labels {
    commands: Vec<Truth>,
}

fn labels(rel: &str) -> Vec<Truth> {
    let p = cached(rel).unwrap();
    serde_json::from_str::<Labels>(&std::fs::read_to_string(p).unwrap()).unwrap().commands
}

/// (hits per true command, latencies of the hits, detections matching nothing said).
fn score(found: &[(String, f64, f64, f64)], truth: &[Truth]) -> (Vec<bool>, Vec<f64>, usize) {
    let mut hit = vec![false; truth.len()];
    let (mut lat, mut wrong) = (vec![], 0);
    for (cmd, start, end, decided) in found {
        match truth
            .iter()
            .enumerate()
            .position(|(i, t)| !hit[i] && &t.command == cmd && *end >= t.start - 0.3 && *start <= t.end + 0.3)
        {
            Some(i) => {
                hit[i] = true;
                lat.push(decided - truth[i].end);
            }
            None => wrong += 1,
        }
    }
    (hit, lat, wrong)
}

/// A test set's clean commands (`DIR/commands_clean.*`, as make_test_audio.py writes them):
/// (share found, latencies of the hits, detections matching nothing said, commands said, real-time
/// factor), or None when the test data is missing.
fn clean_commands(vc: &mut VoiceCommands, dir: &str) -> Option<(f64, Vec<f64>, usize, usize, f64)> {
    let (x, rate) = wav(&format!("{dir}/commands_clean.wav"))?;
    let t0 = std::time::Instant::now();
    let found = commands(&run(vc, &x, rate, 4096));
    let rtf = t0.elapsed().as_secs_f64() / (x.len() as f64 / rate as f64);
    let (hit, lat, wrong) = score(&found, &labels(&format!("{dir}/commands_clean.json")));
    let share = hit.iter().filter(|h| **h).count() as f64 / hit.len() as f64;
    Some((share, lat, wrong, hit.len(), rtf))
}

/// Commands detected in the first 10 minutes of a test set's other speech and noise: false alarms.
fn false_alarms_in_ten_minutes(vc: &mut VoiceCommands, dir: &str) -> Vec<(String, f64, f64, f64)> {
    let (other, rate) = wav(&format!("{dir}/other.wav")).unwrap();
    commands(&run(vc, &other[..(600 * rate) as usize], rate, 4096))
}

/// What `shopfloor bench-commands` measures in full (docs/speech.md), on 160 commands said by
/// 48 espeak-ng voices the head never heard and 10 of the 30 minutes of other speech.
#[test]
fn commands_from_unheard_voices_are_found_without_false_alarms() {
    let Some(mut vc) = pipeline(VoiceOptions::default()) else { return };
    let Some((rate_found, mut lat, wrong, said, rtf)) = clean_commands(&mut vc, "speech-test") else { return };
    lat.sort_by(f64::total_cmp);
    let p50 = lat[lat.len() / 2];
    eprintln!(
        "clean: {:.1} % of {said} commands, {wrong} wrong, latency p50 {:.0} ms, real-time factor {rtf:.3} (test build)",
        rate_found * 100.0,
        p50 * 1e3
    );
    // Measured 95.0 % on these voices (93.1 % on the held-out validation variants): the floor, the
    // issue's 90 %, sits three binomial standard deviations (1.7 % over 160 takes) under it.
    assert!(rate_found >= 0.90, "clean detection {rate_found}");
    assert!(wrong <= 3, "{wrong} detections match nothing said (1 measured)");
    let p95 = lat[((lat.len() - 1) as f64 * 0.95).round() as usize];
    eprintln!("latency p95 {:.0} ms", p95 * 1e3);
    // The issue's target; measured 276 ms (284 ms on validation, where the calibration was chosen).
    assert!(p50 < 0.3 && p95 < 0.3, "latency p50 {p50} s, p95 {p95} s");
    // Latency: from the true end of the command (the last sample espeak-ng wrote) to the frame that
    // decided it; a trailing consonant's release can still be under way at the decision (−0.11 s seen).
    assert!(lat.iter().all(|l| *l > -0.2 && *l < 0.6), "{lat:?}");

    let fa = false_alarms_in_ten_minutes(&mut vc, "speech-test");
    eprintln!("other speech and noise, 10 min: {} false alarms {fa:?}", fa.len());
    // None in the 30 minutes; at the issue's 2 per hour, two in these 10 minutes has a 4 % chance.
    assert!(fa.len() <= 1, "{} false alarms in 10 minutes: {fa:?}", fa.len());
}

/// The same on another synthesiser's speaker (flite's rms) that training never heard: recorded
/// speech rather than espeak-ng's formants, the closer stand-in for a person on the line.
#[test]
fn commands_from_another_synthesisers_speaker_are_found() {
    let Some(mut vc) = pipeline(VoiceOptions::default()) else { return };
    let Some((rate_found, _, wrong, said, _)) = clean_commands(&mut vc, "speech-engine") else { return };
    let fa = false_alarms_in_ten_minutes(&mut vc, "speech-engine");
    eprintln!(
        "flite rms: {:.1} % of {said} commands, {wrong} wrong; 10 min of its other speech: {} false alarms {fa:?}",
        rate_found * 100.0,
        fa.len()
    );
    // Measured 90.0 % (the head trained on espeak-ng alone: 45.6 %), no wrong command, no false
    // alarm in the 30 minutes; floors three standard deviations (2.4 %) under, and the unheard
    // espeak-ng voices' false-alarm bound.
    assert!(rate_found >= 0.82, "clean detection {rate_found}");
    assert!(wrong <= 3, "{wrong} detections match nothing said");
    assert!(fa.len() <= 1, "{} false alarms in 10 minutes: {fa:?}", fa.len());
}

#[test]
fn an_enrolled_phrase_is_found_in_other_voices_and_round_trips_as_json() {
    let Some(mut vc) = pipeline(VoiceOptions::default()) else { return };
    let Some(_) = wav("speech-test/enrol_0.wav") else { return };
    let takes: Vec<(Vec<f32>, u32)> = (0..4).map(|i| wav(&format!("speech-test/enrol_{i}.wav")).unwrap()).collect();
    let cmd = pollster::block_on(vc.enrol("conveyor jam", &takes)).unwrap();
    assert!(cmd.hmm.n_states() >= 2 && cmd.threshold > 0.0);
    let (x, rate) = wav("speech-test/enrol_test.wav").unwrap();
    let found = commands(&run(&mut vc, &x, rate, 4096));
    let truth = labels("speech-test/enrol_test.json");
    let (hit, _, wrong) = score(&found, &truth);
    let n = hit.iter().filter(|h| **h).count();
    eprintln!("enrolled from one voice: {n} of {} takes by 10 other voices found, {wrong} false alarms on \"conveyor belt\" / \"jam jar\"", truth.len());
    assert!(n >= 4, "{n} found");
    assert_eq!(wrong, 0);
    // Saved and loaded: the same command, the same detections.
    let back = EnrolledCommand::from_json(&cmd.to_json()).unwrap();
    assert_eq!((&back.name, back.recordings, back.hmm.n_states()), (&cmd.name, cmd.recordings, cmd.hmm.n_states()));
    let close = |a: &[f64], b: &[f64]| a.iter().zip(b).all(|(x, y)| (x - y).abs() <= 1e-12 * x.abs().max(1.0));
    assert!(back.hmm.states.iter().zip(&cmd.hmm.states).all(|(a, b)| close(&a.mean, &b.mean) && close(&a.var, &b.var)));
    assert!(close(&[back.threshold], &[cmd.threshold]));
    let mut fresh = pipeline(VoiceOptions::default()).unwrap();
    fresh.add_enrolled(back).unwrap();
    assert_eq!(commands(&run(&mut fresh, &x, rate, 4096)), found);
    // Bad input: too few takes, a duplicate name, silence, corrupt JSON.
    let e = pollster::block_on(vc.enrol("other", &takes[..2])).unwrap_err();
    assert!(e.to_string().contains("3 to 10 recordings"), "{e}");
    let e = pollster::block_on(vc.enrol("conveyor jam", &takes)).unwrap_err();
    assert!(e.to_string().contains("already exists"), "{e}");
    let silent = vec![(vec![0.0f32; 32_000], 16_000); 3];
    let e = pollster::block_on(vc.enrol("quiet", &silent)).unwrap_err();
    assert!(e.to_string().contains("no speech"), "{e}");
    assert_eq!(EnrolledCommand::from_json("{\"name\": 1}").unwrap_err().code(), ErrorCode::InvalidArgument);
    let mut broken = cmd.clone();
    broken.hmm.states[0].var[0] = -1.0;
    assert_eq!(EnrolledCommand::from_json(&broken.to_json()).unwrap_err().code(), ErrorCode::InvalidArgument);
}

// ---- classic features (log-mel, mel, MFCC) against librosa 0.11.0 ----

fn feature_reference() -> (serde_json::Value, Vec<f32>, Vec<f32>) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let json = std::fs::read_to_string(dir.join("features_reference.json")).expect("reference committed");
    let read = |f: &str| -> Vec<f32> {
        match common::try_read_npy(&dir.join(f)).expect("input committed").data {
            shopfloor::TensorData::F32(v) => v,
            other => panic!("{f}: {other:?}"),
        }
    };
    (serde_json::from_str(&json).unwrap(), read("features_speech_16k.npy"), read("features_chord_22k.npy"))
}

/// |ours - librosa|, relative to the largest librosa value for linear (mel power) features:
/// dB and MFCC values are compared as they are.
fn max_error(case: &serde_json::Value, got: &Features) -> f64 {
    let want: Vec<f64> = case["data"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    assert_eq!(
        (got.frames, got.bins),
        (case["frames"].as_u64().unwrap() as usize, case["bins"].as_u64().unwrap() as usize)
    );
    let scale = if case["options"]["kind"] == "mel" { want.iter().fold(0.0f64, |a, b| a.max(b.abs())) } else { 1.0 };
    got.data.iter().zip(&want).map(|(&g, &w)| (g as f64 - w).abs() / scale).fold(0.0, f64::max)
}

#[test]
fn features_match_librosa_within_1e_4() {
    let (reference, speech, chord) = feature_reference();
    for case in reference["cases"].as_array().unwrap() {
        let options: FeatureOptions = serde_json::from_value(case["options"].clone()).unwrap();
        let x = if case["input"] == "speech" { &speech } else { &chord };
        let fx = FeatureExtractor::new(options).unwrap();
        let err = max_error(case, &fx.compute(x).unwrap());
        println!(
            "{}: max |ours - librosa| {err:.2e} (librosa's own float32 path: {:.2e})",
            case["name"],
            case["float32_max_abs_diff"].as_f64().unwrap()
        );
        assert!(err <= 1e-4, "{}: {err}", case["name"]);
    }
}

#[test]
fn streamed_features_equal_the_whole_clip_for_any_chunking() {
    let (reference, speech, _) = feature_reference();
    let case = &reference["cases"][2]; // MFCC without topDb: streamable
    let options: FeatureOptions = serde_json::from_value(case["options"].clone()).unwrap();
    let whole = FeatureExtractor::new(options.clone()).unwrap().compute(&speech).unwrap();
    let mut fx = FeatureExtractor::new(options).unwrap();
    for chunk in [1, 159, 160, 512, 4000, 16000] {
        let mut data = Vec::new();
        for c in speech.chunks(chunk) {
            data.extend(fx.push(c).unwrap().data);
        }
        data.extend(fx.finish().unwrap().data);
        assert_eq!(data, whole.data, "chunks of {chunk}");
    }
    assert!(fx.push(&[]).unwrap().data.is_empty());
}

#[test]
fn feature_options_and_samples_are_checked() {
    let ok = FeatureOptions { sample_rate: 16000, ..FeatureOptions::default() };
    let bad = [
        FeatureOptions { sample_rate: 0, ..ok.clone() },
        FeatureOptions { n_fft: 1, ..ok.clone() },
        FeatureOptions { hop_length: Some(0), ..ok.clone() },
        FeatureOptions { win_length: Some(4096), ..ok.clone() },
        FeatureOptions { fmin: 9000.0, ..ok.clone() },
        FeatureOptions { fmax: Some(8001.0), ..ok.clone() },
        FeatureOptions { n_mels: 0, ..ok.clone() },
        FeatureOptions { power: f64::NAN, ..ok.clone() },
        FeatureOptions { amin: 0.0, ..ok.clone() },
        FeatureOptions { top_db: Some(-1.0), ..ok.clone() },
        FeatureOptions { kind: FeatureKind::Mfcc, n_mfcc: 200, ..ok.clone() },
        FeatureOptions { lifter: -1.0, ..ok.clone() },
    ];
    for o in bad {
        let e = FeatureExtractor::new(o.clone()).err().unwrap_or_else(|| panic!("accepted {o:?}"));
        assert_eq!(e.code(), ErrorCode::InvalidArgument, "{o:?}");
    }
    let mut fx = FeatureExtractor::new(ok.clone()).unwrap();
    assert_eq!(fx.compute(&[0.0, f32::NAN]).unwrap_err().code(), ErrorCode::InvalidArgument);
    // topDb needs the whole clip.
    let e = fx.push(&[0.0; 100]).unwrap_err();
    assert!(e.to_string().contains("topDb"), "{e}");
    // Silence and a clip shorter than one frame: floor values, no NaN.
    let silent = fx.compute(&vec![0.0; 3000]).unwrap();
    assert!(silent.data.iter().all(|&v| v == -100.0), "10·log10(amin) everywhere");
    let short = fx.compute(&[0.5; 10]).unwrap();
    assert_eq!(short.frames, 1);
    assert!(short.data.iter().all(|v| v.is_finite()));
    let serde = serde_json::from_str::<FeatureOptions>(r#"{"sampleRate":16000,"nFFT":512}"#).unwrap_err();
    assert!(serde.to_string().contains("nFFT"), "unknown options are named: {serde}");
}
