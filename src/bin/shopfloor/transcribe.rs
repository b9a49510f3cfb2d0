//! `shopfloor transcribe`: speech to text of a WAV file with Whisper.

use std::path::{Path, PathBuf};
use std::time::Instant;

use shopfloor::speech::whisper::{TranscribeOptions, Transcriber, TranscriberManifest};
use shopfloor::{BackendChoice, Error, LoadOptions, Result};

use crate::speech::{percentile, read_wav};
use crate::vision::read;

/// Where `make models` / the test data step puts Whisper tiny.en.
const DEFAULT_MANIFEST: &str = "models/cache/whisper-tiny-en/manifest.json";

#[derive(clap::Args)]
pub struct TranscribeArgs {
    /// The recording (any rate and channel count).
    #[arg(value_name = "AUDIO.wav")]
    wav: PathBuf,
    /// Text that conditions the first window (names, jargon).
    #[arg(long)]
    prompt: Option<String>,
    /// auto, cpu or webgpu.
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// The transcriber's manifest.
    #[arg(long = "model", value_name = "MANIFEST.json", default_value = DEFAULT_MANIFEST)]
    manifest: PathBuf,
    /// Each window decoded without the previous window's text.
    #[arg(long)]
    no_context: bool,
    /// No second decoding at higher temperatures of a window whose text loops or that the
    /// decoder guessed.
    #[arg(long)]
    no_fallback: bool,
    /// Multilingual models: the language spoken ("de", "fr", …) or "auto" (detected).
    #[arg(long)]
    language: Option<String>,
}

#[derive(clap::Args)]
pub struct BenchArgs {
    /// The dictation test set (transcripts.tsv and its WAV files).
    #[arg(value_name = "DIR", default_value = "models/cache/dictation-test")]
    dir: PathBuf,
    /// Feeds each file as a microphone would (simulated real time) and adds the delay from the
    /// end of speech to its text.
    #[arg(long)]
    live: bool,
    /// Turns the temperature fallback off.
    #[arg(long)]
    no_fallback: bool,
    /// The transcriber's manifest.
    #[arg(long = "model", value_name = "MANIFEST.json", default_value = DEFAULT_MANIFEST)]
    manifest: PathBuf,
    /// Multilingual models: the language spoken, or "auto".
    #[arg(long)]
    language: Option<String>,
}

fn options(prompt: Option<String>, no_context: bool, no_fallback: bool, language: Option<String>) -> TranscribeOptions {
    let temperature_fallback = no_fallback.then_some(false);
    TranscribeOptions { prompt, no_context, temperature_fallback, language, ..Default::default() }
}

/// The manifest at `path` (the default one found from the source tree too) and its files.
fn manifest_files(path: &Path) -> Result<(TranscriberManifest, Vec<Vec<u8>>)> {
    let mut manifest = path.to_path_buf();
    if !manifest.exists() && manifest == Path::new(DEFAULT_MANIFEST) {
        manifest = Path::new(env!("CARGO_MANIFEST_DIR")).join(DEFAULT_MANIFEST);
    }
    let text = String::from_utf8(read(&manifest)?)
        .map_err(|_| Error::InvalidArgument(format!("{} is not UTF-8", manifest.display())))?;
    let m = TranscriberManifest::parse(&text)?;
    let dir = manifest.parent().unwrap_or(Path::new("."));
    let files = m.files().iter().map(|f| read(&dir.join(&f.file))).collect::<Result<Vec<_>>>()?;
    Ok((m, files))
}

pub fn run(a: &TranscribeArgs) -> Result<()> {
    let (wav, backend) = (&a.wav, a.backend);
    let opts = options(a.prompt.clone(), a.no_context, a.no_fallback, a.language.clone());
    let (m, files) = manifest_files(&a.manifest)?;
    let (samples, rate) = read_wav(wav)?;
    let t0 = Instant::now();
    let mut t = pollster::block_on(Transcriber::load(&m, files, &LoadOptions { backend, ..Default::default() }, opts))?;
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

/// `shopfloor bench-transcribe [DIR] [--live] [--no-fallback]`: word error rate per voice and
/// condition over the dictation set (`transcripts.tsv`), and the time per utterance (real-time
/// factor). `--no-fallback` turns the temperature fallback off. `--live`
/// feeds each file as a microphone would (0.1-s chunks in simulated real time, then a second of
/// silence) and reports the delay from the end of speech (the VAD's) to its text. Where the
/// condition column holds language codes (the multilingual set), it also counts the recordings
/// whose detected language is that one.
pub fn bench(a: &BenchArgs) -> Result<()> {
    let (dir, live) = (a.dir.clone(), a.live);
    let opts = options(None, false, a.no_fallback, a.language.clone());
    let (m, files) = manifest_files(&a.manifest)?;
    let load = LoadOptions { backend: BackendChoice::Cpu, ..Default::default() };
    let mut t = pollster::block_on(Transcriber::load(&m, files, &load, opts))?;
    let index = String::from_utf8_lossy(&read(&dir.join("transcripts.tsv"))?).into_owned();
    let mut tally: std::collections::BTreeMap<(String, String), (usize, usize)> = Default::default();
    let (mut audio_s, mut busy_s, mut worst_ms) = (0.0, 0.0, 0f64);
    let (mut segments, mut retried) = (0, 0);
    let (mut delays, mut decodes) = (vec![], vec![]);
    let mut detected: std::collections::BTreeMap<String, (usize, usize)> = Default::default();
    for line in index.lines().skip(1) {
        let f: Vec<&str> = line.split('\t').collect();
        let [file, voice, cond, said] = f[..] else { continue };
        let (x, rate) = read_wav(&dir.join(file))?;
        let t0 = Instant::now();
        let got = if live {
            let (text, delay, decode) = listen(&mut t, &x, rate)?;
            delays.extend(delay);
            decodes.extend(decode);
            text
        } else {
            let got = pollster::block_on(t.transcribe(&x, rate))?;
            segments += got.segments.len();
            retried += got.segments.iter().filter(|s| s.temperature > 0.0).count();
            if cond.len() == 2 {
                let d = detected.entry(cond.to_string()).or_default();
                d.0 += usize::from(got.language.as_deref() == Some(cond));
                d.1 += 1;
            }
            got.text
        };
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        audio_s += x.len() as f64 / rate as f64;
        busy_s += ms / 1e3;
        worst_ms = worst_ms.max(ms);
        let (e, n) = shopfloor::speech::whisper::wer::word_errors(said, &got);
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
    for (lang, (k, n)) in &detected {
        println!("language {lang}: detected in {k} of {n} recordings");
    }
    if !live {
        println!("{retried} of {segments} segments decoded again by the temperature fallback");
    }
    if live {
        let n = delays.len();
        let mut q = |p: f64| percentile(&mut delays, p) * 1e3;
        let (p50, p90, max) = (q(0.5), q(0.9), q(1.0));
        println!(
            "live: text {p50:.0} ms (median), {p90:.0} ms (p90), {max:.0} ms (max) after the end of speech, over {n} \
             utterances; their transcription {:.0} ms (median)",
            percentile(&mut decodes, 0.5)
        );
    }
    Ok(())
}

/// One recording through live dictation in simulated real time: a 0.1-s chunk arrives every
/// 0.1 s and is fed once it has arrived and the feed before it is done. Returns the text and the
/// delay from the VAD's end of speech to the first segment's arrival, and that segment's
/// transcription time (ms).
fn listen(t: &mut Transcriber, x: &[f32], rate: u32) -> Result<(String, Option<f64>, Option<f64>)> {
    use shopfloor::speech::whisper::DictationEvent;
    use shopfloor::speech::VadEvent;
    t.reset();
    let step = (rate / 10).max(1) as usize;
    let mut audio = x.to_vec();
    audio.extend(std::iter::repeat_n(0.0, rate as usize));
    let (mut clock, mut fed) = (0.0, 0usize);
    let (mut words, mut end, mut delay, mut decode) = (vec![], None, None, None);
    let chunks = audio.chunks(step).map(Some).chain([None]);
    for chunk in chunks {
        let t0 = Instant::now();
        let events = match chunk {
            Some(c) => {
                fed += c.len();
                clock = f64::max(clock, fed as f64 / rate as f64);
                pollster::block_on(t.feed(c, rate))?
            }
            None => pollster::block_on(t.finish())?,
        };
        clock += t0.elapsed().as_secs_f64();
        for e in events {
            match e {
                DictationEvent::Vad(VadEvent::SpeechEnd { end: at, .. }) => end = end.or(Some(at)),
                DictationEvent::Segment(s) => {
                    delay = delay.or(end.map(|at| clock - at));
                    decode = decode.or(Some(s.decode_ms));
                    words.push(s.segment.text);
                }
                _ => {}
            }
        }
    }
    Ok((words.join(" "), delay, decode))
}
