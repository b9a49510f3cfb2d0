//! Speech to text (Whisper tiny.en): the front end against whisper/audio.py's algorithm, the
//! converted encoder and decoder against onnxruntime, word error rate on factory sentences
//! said by voices of two synthesisers (clean and at 10 dB SNR), and hostile audio.
#![cfg(not(target_arch = "wasm32"))]

mod common;

use std::collections::HashMap;
use std::path::Path;

use shopfloor::speech::whisper::mel::{slaney_filters, LogMel};
use shopfloor::speech::whisper::wer::word_errors;
use shopfloor::speech::whisper::{TranscribeOptions, Transcriber, TranscriberManifest, Transcript};
use shopfloor::{ErrorCode, HostTensor, LoadOptions, Model, TensorData};

fn npy(rel: &str) -> Option<(Vec<usize>, Vec<f32>)> {
    let t = common::try_read_npy(&common::cached(rel)?)?;
    match t.data {
        TensorData::F32(v) => Some((t.dims, v)),
        _ => panic!("{rel}: expected f32"),
    }
}

fn max_rel(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    let scale = b.iter().fold(0f32, |m, x| m.max(x.abs())).max(1e-12);
    a.iter().zip(b).fold(0f32, |m, (x, y)| m.max((x - y).abs())) / scale
}

fn files() -> Option<(TranscriberManifest, Vec<Vec<u8>>)> {
    let path = common::cached("whisper-tiny-en/manifest.json")?;
    let m = TranscriberManifest::parse(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let dir = path.parent().unwrap();
    let files = m.files().iter().map(|f| std::fs::read(dir.join(&f.file)).unwrap()).collect();
    Some((m, files))
}

fn transcriber(opts: TranscribeOptions) -> Option<Transcriber> {
    let (m, files) = files()?;
    let load = LoadOptions { backend: shopfloor::BackendChoice::Cpu, ..Default::default() };
    Some(pollster::block_on(Transcriber::load(&m, files, &load, opts)).unwrap())
}

fn wav(path: &Path) -> (Vec<f32>, u32) {
    let mut r = hound::WavReader::open(path).unwrap();
    let rate = r.spec().sample_rate;
    (r.samples::<i16>().map(|s| s.unwrap() as f32 / 32768.0).collect(), rate)
}

/// transcripts.tsv of the dictation set: (file, voice, condition, text).
fn dictation() -> Option<Vec<[String; 4]>> {
    let index = common::cached("dictation-test/transcripts.tsv")?;
    let rows = std::fs::read_to_string(index).unwrap();
    Some(
        rows.lines()
            .skip(1)
            .map(|l| {
                let f: Vec<&str> = l.split('\t').collect();
                [f[0], f[1], f[2], f[3]].map(str::to_string)
            })
            .collect(),
    )
}

fn go(t: &mut Transcriber, x: &[f32], rate: u32) -> Transcript {
    pollster::block_on(t.transcribe(x, rate)).unwrap()
}

#[test]
fn mel_filters_are_whispers() {
    let Some((dims, want)) = npy("whisper-tiny-en/reference/mel_filters.npy") else { return };
    assert_eq!(dims, [80, 201]);
    let got = slaney_filters(16_000.0);
    assert!(max_rel(&got, &want) < 1e-5, "filter bank differs by {}", max_rel(&got, &want));
}

#[test]
fn log_mel_matches_whispers_front_end() {
    let (Some((_, audio)), Some((dims, want))) =
        (npy("whisper-tiny-en/reference/audio.npy"), npy("whisper-tiny-en/reference/mel.npy"))
    else {
        return;
    };
    assert_eq!(dims, [80, 3000]);
    let got = LogMel::new().compute(&audio);
    let worst = got.iter().zip(&want).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    // f32 FFT against numpy's f64: log10 of the quietest bins moves by a few 1e-4 at most.
    assert!(worst < 2e-3, "log-mel differs by up to {worst}");
}

#[test]
fn encoder_and_decoder_match_onnxruntime() {
    let (Some((_, mel)), Some((kdims, want_k)), Some((_, want_logits)), Some((_, files))) = (
        npy("whisper-tiny-en/reference/mel.npy"),
        npy("whisper-tiny-en/reference/cross_k.npy"),
        npy("whisper-tiny-en/reference/logits_sot.npy"),
        files(),
    ) else {
        return;
    };
    let mut enc = Model::load(&files[0], &LoadOptions::default()).unwrap();
    let outs = enc.run(HashMap::from([("mel".into(), HostTensor::f32(vec![1, 80, 3000], mel).unwrap())])).unwrap();
    let (TensorData::F32(k), TensorData::F32(v)) = (&outs[0].1.data, &outs[1].1.data) else { panic!() };
    assert!(max_rel(k, &want_k) < 1e-4, "cross_k differs by {}", max_rel(k, &want_k));
    let mut dec = Model::load(&files[1], &LoadOptions::default()).unwrap();
    let cache =
        HostTensor::f32(vec![kdims[0], kdims[1], 448, kdims[3]], vec![0.0; kdims[0] * kdims[1] * 448 * kdims[3]])
            .unwrap();
    let feeds = HashMap::from([
        ("token".into(), HostTensor::new(vec![1, 1], TensorData::I64(vec![50257])).unwrap()),
        ("position".into(), HostTensor::new(vec![1], TensorData::I64(vec![0])).unwrap()),
        ("self_k".into(), cache.clone()),
        ("self_v".into(), cache),
        ("cross_k".into(), outs[0].1.clone()),
        ("cross_v".into(), HostTensor::f32(kdims.clone(), v.clone()).unwrap()),
    ]);
    let got = dec.run(feeds).unwrap();
    let TensorData::F32(logits) = &got[0].1.data else { panic!() };
    assert!(max_rel(logits, &want_logits) < 1e-4, "logits differ by {}", max_rel(logits, &want_logits));
}

/// Word error rate over a slice of the dictation set, per voice; returns the pooled rate.
fn wer_of(t: &mut Transcriber, condition: &str, sentences: usize) -> Option<f64> {
    let rows = dictation()?;
    let dir = common::cache().join("dictation-test");
    let mut per_voice: Vec<(String, usize, usize)> = vec![];
    for [file, voice, cond, text] in rows {
        // Names are voice_NN_condition.wav.
        let n: usize = file.rsplit('_').nth(1).unwrap().parse().unwrap();
        if cond != condition || n >= sentences {
            continue;
        }
        let (x, rate) = wav(&dir.join(&file));
        let got = go(t, &x, rate);
        let (e, words) = word_errors(&text, &got.text);
        if e > 0 {
            eprintln!("{voice} {cond}: \"{text}\" → \"{}\"", got.text);
        }
        match per_voice.iter_mut().find(|(v, ..)| *v == voice) {
            Some(v) => {
                v.1 += e;
                v.2 += words;
            }
            None => per_voice.push((voice, e, words)),
        }
    }
    let (e, n) = per_voice.iter().fold((0, 0), |(a, b), (_, e, n)| (a + e, b + n));
    for (v, e, n) in &per_voice {
        eprintln!("WER {condition} {v}: {:.1} % ({e}/{n})", 100.0 * *e as f64 / *n as f64);
    }
    eprintln!("WER {condition} all: {:.1} % ({e}/{n})", 100.0 * e as f64 / n as f64);
    Some(e as f64 / n as f64)
}

#[test]
fn dictation_word_error_rate_clean() {
    let Some(mut t) = transcriber(TranscribeOptions::default()) else { return };
    let Some(wer) = wer_of(&mut t, "clean", 4) else { return };
    // The model's own level: CTranslate2 greedy on these files, 22.5 % (scripts/speech/eval_whisper.py).
    assert!(wer <= 0.27, "clean WER {:.1} %", wer * 100.0);
}

#[test]
fn dictation_word_error_rate_noisy() {
    let Some(mut t) = transcriber(TranscribeOptions::default()) else { return };
    let Some(wer) = wer_of(&mut t, "noise10", 4) else { return };
    // CTranslate2 greedy: 57.1 % (tiny.en is weak in noise; the bound is about us, not the model).
    assert!(wer <= 0.62, "10 dB WER {:.1} %", wer * 100.0);
}

fn sentence(n: usize) -> Option<(Vec<f32>, u32, String)> {
    let rows = dictation()?;
    let [file, _, _, text] =
        rows.into_iter().find(|r| r[1] == "en-us" && r[2] == "clean" && r[0].contains(&format!("_{n:02}_")))?;
    let (x, rate) = wav(&common::cache().join("dictation-test").join(file));
    Some((x, rate, text))
}

#[test]
fn other_rates_give_the_same_words() {
    let (Some(mut t), Some((x, rate, text))) = (transcriber(TranscribeOptions::default()), sentence(3)) else { return };
    let at_16k = go(&mut t, &x, rate).text;
    assert_eq!(word_errors(&text, &at_16k).0, 0, "{at_16k}");
    let resample = |x: &[f32], from: u32, to: u32| {
        let mut r = shopfloor::audio::Resampler::new(from, to).unwrap();
        let mut y = vec![];
        r.push(x, &mut y);
        r.push(&vec![0.0; 4096], &mut y);
        y
    };
    for to in [44_100u32, 96_000] {
        let got = go(&mut t, &resample(&x, rate, to), to);
        assert_eq!(word_errors(&text, &got.text).0, 0, "{to} Hz: \"{}\"", got.text);
    }
    // 8 kHz keeps only the telephone band, which tiny.en often mishears (so does the reference
    // decoder on these files): the check is that 8-kHz input reads as that band at 16 kHz.
    let narrow = resample(&x, rate, 8_000);
    let direct = go(&mut t, &narrow, 8_000).text;
    let upsampled = go(&mut t, &resample(&narrow, 8_000, 16_000), 16_000).text;
    assert!(word_errors(&upsampled, &direct).0 <= 1, "8 kHz: \"{direct}\" vs \"{upsampled}\"");
}

#[test]
fn long_audio_crosses_windows_in_order() {
    let Some(mut t) = transcriber(TranscribeOptions::default()) else { return };
    let mut audio = vec![];
    let mut said = vec![];
    for n in 0..12 {
        let Some((x, _, text)) = sentence(n) else { return };
        audio.extend(x);
        audio.extend(vec![0.0; 8000]);
        said.push(text);
    }
    let secs = audio.len() as f64 / 16e3;
    assert!(secs > 40.0, "the test needs more than one window: {secs} s");
    let got = go(&mut t, &audio, 16_000);
    let (e, n) = word_errors(&said.join(" "), &got.text);
    assert!((e as f64) / (n as f64) < 0.15, "{e}/{n} word errors over {secs:.0} s: {}", got.text);
    let mut prev = 0.0;
    for s in &got.segments {
        assert!(s.start >= prev - 1e-6 && s.end >= s.start && s.end <= secs + 1e-6, "segment {s:?} after {prev}");
        assert!(s.confidence > 0.0 && s.confidence <= 1.0 && !s.tokens.is_empty());
        prev = s.end;
    }
    assert!(got.segments.len() >= 3 && got.segments.last().unwrap().end > 30.0, "{:?}", got.segments);
}

#[test]
fn silence_empty_and_bad_audio() {
    let Some(mut t) = transcriber(TranscribeOptions::default()) else { return };
    for x in [vec![], vec![0.0; 16_000 * 5], vec![0.0; 10]] {
        let got = go(&mut t, &x, 16_000);
        assert_eq!((got.text.as_str(), got.segments.len()), ("", 0));
    }
    let mut nan = vec![0.1f32; 16_000];
    nan[7] = f32::NAN;
    let e = pollster::block_on(t.transcribe(&nan, 16_000)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    let e = pollster::block_on(t.transcribe(&[0.0; 100], 1_000)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
    // Still usable after refusals.
    let Some((x, rate, text)) = sentence(3) else { return };
    assert_eq!(word_errors(&text, &go(&mut t, &x, rate).text).0, 0);
}

#[test]
fn manifest_and_files_are_checked() {
    let Some((m, mut files)) = files() else { return };
    let load = LoadOptions::default();
    let e = pollster::block_on(Transcriber::load(&m, files[..3].to_vec(), &load, Default::default())).err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidArgument);
    files[2][10] ^= 1; // the tokenizer, pinned by the manifest's sha256
    let e = pollster::block_on(Transcriber::load(&m, files.clone(), &load, Default::default())).err().unwrap();
    assert_eq!(e.code(), ErrorCode::IntegrityMismatch, "{e}");
    files.swap(0, 1);
    let e = pollster::block_on(Transcriber::load(&m, files, &load, Default::default())).err().unwrap();
    assert!(matches!(e.code(), ErrorCode::ModelInvalid | ErrorCode::IntegrityMismatch), "{e}");
    assert!(TranscriberManifest::parse(r#"{"task":"classification"}"#).is_err());
}

/// Six en-us sentences with a second of silence between them, and their texts.
fn session() -> Option<(Vec<f32>, Vec<String>)> {
    let mut audio = vec![];
    let mut said = vec![];
    for n in 0..6 {
        let (x, _, text) = sentence(n)?;
        audio.extend(x);
        audio.extend(vec![0.0; 16_000]);
        said.push(text);
    }
    Some((audio, said))
}

fn listen(t: &mut Transcriber, audio: &[f32], chunk: usize) -> Vec<shopfloor::speech::whisper::SegmentEvent> {
    use shopfloor::speech::whisper::DictationEvent;
    let mut events = vec![];
    for c in audio.chunks(chunk) {
        events.extend(pollster::block_on(t.feed(c, 16_000)).unwrap());
    }
    events.extend(pollster::block_on(t.finish()).unwrap());
    events
        .into_iter()
        .filter_map(|e| match e {
            DictationEvent::Segment(s) => Some(s),
            _ => None,
        })
        .collect()
}

#[test]
fn live_dictation_cuts_utterances_and_does_not_depend_on_chunking() {
    let (Some(mut t), Some((audio, said))) = (transcriber(TranscribeOptions::default()), session()) else { return };
    let a = listen(&mut t, &audio, 4096);
    let text: Vec<&str> = a.iter().map(|s| s.segment.text.as_str()).collect();
    let (e, n) = word_errors(&said.join(" "), &text.join(" "));
    eprintln!("live dictation: {e}/{n} word errors: {text:?}");
    // Each utterance on its own is what the per-file WER measures (CTranslate2: 22.5 % on those).
    assert!((e as f64) / (n as f64) <= 0.27, "{e}/{n}: {text:?}");
    assert!(a.len() >= 5, "one segment per utterance or more: {text:?}");
    let mut prev = 0.0;
    for s in &a {
        assert!(s.segment.start >= prev - 0.25 && s.segment.end > s.segment.start, "{s:?}");
        assert!(s.decode_ms > 0.0);
        prev = s.segment.end;
    }
    let b = listen(&mut t, &audio, 1000);
    let texts =
        |v: &[shopfloor::speech::whisper::SegmentEvent]| v.iter().map(|s| s.segment.text.clone()).collect::<Vec<_>>();
    assert_eq!(texts(&a), texts(&b), "chunk size changed the transcript");
    // And a 44.1-kHz stream is the same speech.
    let mut r = shopfloor::audio::Resampler::new(16_000, 44_100).unwrap();
    let mut y = vec![];
    r.push(&audio, &mut y);
    let mut events = vec![];
    for c in y.chunks(4410) {
        events.extend(pollster::block_on(t.feed(c, 44_100)).unwrap());
    }
    events.extend(pollster::block_on(t.finish()).unwrap());
    let n_segments =
        events.iter().filter(|e| matches!(e, shopfloor::speech::whisper::DictationEvent::Segment(_))).count();
    assert!(n_segments >= 5, "{events:?}");
}

/// How many of the plant's terms a transcriber spells as the plant does, over the jargon set.
fn terms_spelled(t: &mut Transcriber) -> Option<(usize, usize)> {
    let index = common::cached("dictation-test/jargon.tsv")?;
    let (mut hit, mut all) = (0, 0);
    for line in std::fs::read_to_string(index).unwrap().lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let (x, rate) = wav(&common::cache().join("dictation-test").join(f[0]));
        let text = go(t, &x, rate).text;
        for term in f[2].split(',') {
            all += 1;
            let found = text.contains(term);
            hit += usize::from(found);
            eprintln!("{term}: {} in \"{text}\"", if found { "spelled" } else { "missed" });
        }
    }
    Some((hit, all))
}

#[test]
fn a_prompt_teaches_the_plants_spellings() {
    const PROMPT: &str = "Festo, Kuka, Bosch Rexroth, Zeiss CMM, part KX-4471, housing H-212";
    let (Some(mut plain), Some(mut prompted)) = (
        transcriber(TranscribeOptions::default()),
        transcriber(TranscribeOptions { prompt: Some(PROMPT.into()), ..Default::default() }),
    ) else {
        return;
    };
    let (Some((without, n)), Some((with, _))) = (terms_spelled(&mut plain), terms_spelled(&mut prompted)) else {
        return;
    };
    eprintln!("terms spelled: {without}/{n} without a prompt, {with}/{n} with");
    assert!(with >= without + n / 2, "the prompt should teach at least half the terms: {without} → {with} of {n}");
}

#[test]
fn partial_results_come_while_speech_goes_on_and_leave_the_final_text_alone() {
    use shopfloor::speech::whisper::DictationEvent;
    let (Some(mut plain), Some(mut live), Some((x, rate, _))) = (
        transcriber(TranscribeOptions::default()),
        transcriber(TranscribeOptions { partials: true, ..Default::default() }),
        sentence(2),
    ) else {
        return;
    };
    let run = |t: &mut Transcriber| {
        let mut events = vec![];
        for c in x.chunks(1600) {
            events.extend(pollster::block_on(t.feed(c, rate)).unwrap());
        }
        events.extend(pollster::block_on(t.feed(&vec![0.0; rate as usize], rate)).unwrap());
        events.extend(pollster::block_on(t.finish()).unwrap());
        events
    };
    let texts = |events: &[DictationEvent]| -> Vec<String> {
        events
            .iter()
            .filter_map(|e| if let DictationEvent::Segment(s) = e { Some(s.segment.text.clone()) } else { None })
            .collect()
    };
    let (a, b) = (run(&mut plain), run(&mut live));
    assert!(!a.iter().any(|e| matches!(e, DictationEvent::Partial(_))), "no partials unless asked");
    let partials: Vec<_> =
        b.iter().filter_map(|e| if let DictationEvent::Partial(p) = e { Some(p) } else { None }).collect();
    assert!(!partials.is_empty(), "a 4-s sentence gives at least one partial: {b:?}");
    let first_segment = b.iter().position(|e| matches!(e, DictationEvent::Segment(_))).unwrap();
    let last_partial = b.iter().rposition(|e| matches!(e, DictationEvent::Partial(_))).unwrap();
    assert!(last_partial < first_segment, "partials come before the utterance's segments");
    assert!(partials.iter().all(|p| !p.text.is_empty() && p.end > p.start && p.decode_ms > 0.0));
    assert_eq!(texts(&a), texts(&b), "partials do not change the final text");
}

#[test]
fn beam_search_is_an_option_and_one_beam_is_greedy() {
    let (Some(mut greedy), Some(mut one), Some(mut five)) = (
        transcriber(TranscribeOptions::default()),
        transcriber(TranscribeOptions { beam_size: Some(1), ..Default::default() }),
        transcriber(TranscribeOptions { beam_size: Some(5), ..Default::default() }),
    ) else {
        return;
    };
    let (mut e_greedy, mut e_beam, mut words) = (0, 0, 0);
    for n in 0..4 {
        let Some((x, rate, text)) = sentence(n) else { return };
        let g = go(&mut greedy, &x, rate).text;
        assert_eq!(go(&mut one, &x, rate).text, g);
        let b = go(&mut five, &x, rate).text;
        eprintln!("greedy \"{g}\" / 5 beams \"{b}\"");
        e_greedy += word_errors(&text, &g).0;
        e_beam += word_errors(&text, &b).0;
        words += word_errors(&text, &b).1;
    }
    eprintln!("word errors: greedy {e_greedy}/{words}, 5 beams {e_beam}/{words}");
    assert!(e_beam <= e_greedy + 2, "beam search should not be much worse than greedy");
    let Some((m, files)) = self::files() else { return };
    let bad = TranscribeOptions { beam_size: Some(9), ..Default::default() };
    let e = pollster::block_on(Transcriber::load(&m, files, &LoadOptions::default(), bad)).err().unwrap();
    assert_eq!(e.code(), ErrorCode::InvalidArgument, "{e}");
}

#[test]
fn a_window_the_decoder_guesses_at_is_decoded_again_the_same_way_every_time() {
    // The first sentence under 10-dB noise, en-us: greedy decoding guesses (mean log-probability
    // under −1), the fallback samples again at 0.2.
    let (Some(path), Some(mut on), Some(mut off)) = (
        common::cached("dictation-test/en-us_00_noise10.wav"),
        transcriber(TranscribeOptions::default()),
        transcriber(TranscribeOptions { temperature_fallback: Some(false), ..Default::default() }),
    ) else {
        return;
    };
    let (x, rate) = wav(&path);
    let (a, b, plain) = (go(&mut on, &x, rate), go(&mut on, &x, rate), go(&mut off, &x, rate));
    eprintln!("fallback: {:?}; without: {:?}", a.text, plain.text);
    assert!(a.segments.iter().any(|s| s.temperature > 0.0), "{a:?}");
    assert!(plain.segments.iter().all(|s| s.temperature == 0.0));
    assert_ne!(a.text, plain.text);
    assert_eq!(a, b, "seeded: the same audio gives the same text");
}
