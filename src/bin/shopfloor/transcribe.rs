//! `shopfloor transcribe`: speech to text of a WAV file with Whisper.

use std::path::{Path, PathBuf};
use std::time::Instant;

use shopfloor::audio::whisper::{TranscribeOptions, Transcriber, TranscriberManifest};
use shopfloor::{BackendChoice, Error, LoadOptions, Result};

use crate::speech::read_wav;
use crate::vision::read;

/// Where `make models` / the test data step puts Whisper tiny.en.
const DEFAULT_MANIFEST: &str = "models/cache/whisper-tiny-en/manifest.json";

pub fn run(args: &[String]) -> Result<()> {
    let mut wav: Option<PathBuf> = None;
    let mut manifest = PathBuf::from(DEFAULT_MANIFEST);
    let mut backend = BackendChoice::Auto;
    let mut opts = TranscribeOptions::default();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        let mut value = || it.next().cloned().ok_or_else(|| Error::InvalidArgument(format!("{arg} needs a value")));
        match arg.as_str() {
            "--model" => manifest = value()?.into(),
            "--backend" => backend = value()?.parse()?,
            "--prompt" => opts.prompt = Some(value()?),
            "--no-context" => opts.no_context = true,
            flag if flag.starts_with("--") => {
                return Err(Error::InvalidArgument(format!("transcribe: unknown option {flag}")))
            }
            path if wav.is_none() => wav = Some(path.into()),
            extra => return Err(Error::InvalidArgument(format!("transcribe takes one WAV file; also got {extra}"))),
        }
    }
    let wav =
        wav.ok_or_else(|| Error::InvalidArgument("usage: shopfloor transcribe AUDIO.wav [--prompt TEXT]".into()))?;
    if !manifest.exists() && manifest == Path::new(DEFAULT_MANIFEST) {
        manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MANIFEST);
    }
    let text = String::from_utf8(read(&manifest)?)
        .map_err(|_| Error::InvalidArgument(format!("{} is not UTF-8", manifest.display())))?;
    let m = TranscriberManifest::parse(&text)?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let files = m.files().iter().map(|f| read(&dir.join(&f.file))).collect::<Result<Vec<_>>>()?;
    let (samples, rate) = read_wav(&wav)?;
    let t0 = Instant::now();
    let mut t =
        pollster::block_on(Transcriber::load(&m, &files, &LoadOptions { backend, ..Default::default() }, opts))?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let t1 = Instant::now();
    let transcript = pollster::block_on(t.transcribe(&samples, rate))?;
    let secs = t1.elapsed().as_secs_f64();
    let mut doc = serde_json::to_value(&transcript).map_err(|e| Error::Internal(e.to_string()))?;
    doc["loadMs"] = (load_ms.round()).into();
    doc["transcribeMs"] = ((secs * 1e3).round()).into();
    doc["realTimeFactor"] = (if transcript.duration > 0.0 { secs / transcript.duration } else { 0.0 }).into();
    println!("{}", serde_json::to_string_pretty(&doc).map_err(|e| Error::Internal(e.to_string()))?);
    Ok(())
}

/// `shopfloor bench-transcribe [DIR]`: word error rate per voice and condition over the
/// dictation set (`transcripts.tsv`), and the time per utterance (real-time factor).
pub fn bench(args: &[String]) -> Result<()> {
    let dir = PathBuf::from(args.first().map_or("models/cache/dictation-test", String::as_str));
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MANIFEST);
    let text = String::from_utf8_lossy(&read(&manifest)?).into_owned();
    let m = TranscriberManifest::parse(&text)?;
    let files = m
        .files()
        .iter()
        .map(|f| read(&manifest.parent().unwrap_or(Path::new(".")).join(&f.file)))
        .collect::<Result<Vec<_>>>()?;
    let load = LoadOptions { backend: BackendChoice::Cpu, ..Default::default() };
    let mut t = pollster::block_on(Transcriber::load(&m, &files, &load, TranscribeOptions::default()))?;
    let index = String::from_utf8_lossy(&read(&dir.join("transcripts.tsv"))?).into_owned();
    let mut tally: std::collections::BTreeMap<(String, String), (usize, usize)> = Default::default();
    let (mut audio_s, mut busy_s, mut worst_ms) = (0.0, 0.0, 0f64);
    for line in index.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let [file, voice, cond, said] = f[..] else { continue };
        let (x, rate) = read_wav(&dir.join(file))?;
        let t0 = Instant::now();
        let got = pollster::block_on(t.transcribe(&x, rate))?;
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        audio_s += got.duration;
        busy_s += ms / 1e3;
        worst_ms = worst_ms.max(ms);
        let (e, n) = shopfloor::audio::whisper::wer::word_errors(said, &got.text);
        for key in [(cond.to_string(), voice.to_string()), (cond.to_string(), "all".to_string())] {
            let v = tally.entry(key).or_default();
            v.0 += e;
            v.1 += n;
        }
    }
    for ((cond, voice), (e, n)) in &tally {
        println!("{cond:8} {voice:12} WER {:5.1} % ({e}/{n})", 100.0 * *e as f64 / (*n).max(1) as f64);
    }
    println!(
        "{:.0} s of audio in {:.1} s: real-time factor {:.3}; slowest utterance {:.0} ms",
        audio_s,
        busy_s,
        busy_s / audio_s.max(1e-9),
        worst_ms
    );
    Ok(())
}
