//! `commands`, `vad`, `enrol`, `bench-commands`, `features`: the browser's speech pipeline over WAV files,
//! fed in chunks as a microphone would feed it.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde_json::json;
use shopfloor::audio::{FeatureExtractor, FeatureOptions, Resampler};
use shopfloor::speech::{
    load, Detection, EnrolledCommand, PauseOptions, SpeechEvent, SpeechManifest, VadEvent, VoiceCommands, VoiceOptions,
};
use shopfloor::{BackendChoice, Error, LoadOptions, Result};

use crate::parse::{positive, positive_f64};
use crate::vision::read;

#[derive(clap::Args)]
pub struct SpeechArgs {
    /// commands, vad, features: AUDIO.wav (any rate and channel count); enrol: NAME TAKE1.wav
    /// TAKE2.wav TAKE3.wav [...]; bench-commands: [DIR] (default models/cache/speech-test).
    #[arg(value_name = "ARGS")]
    positional: Vec<String>,
    /// The voice-command manifest (default models/speech/manifest.json).
    #[arg(long = "model", value_name = "MANIFEST.json")]
    manifest: Option<PathBuf>,
    /// cpu or webgpu.
    #[arg(long, default_value = "cpu")]
    backend: BackendChoice,
    /// commands: a custom command saved by enrol (repeatable).
    #[arg(long, value_name = "FILE.json")]
    enrolled: Vec<PathBuf>,
    /// enrol: where the command goes (FILE.json); features: frames x bins as FILE.npy.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
    /// Samples per chunk fed to the pipeline, as a microphone would.
    #[arg(long, default_value_t = 4096, value_parser = positive)]
    chunk: usize,
    /// Detection threshold (default: the manifest's).
    #[arg(long, value_name = "T", value_parser = positive_f64)]
    threshold: Option<f64>,
    /// A command stands when said on its own: the speech-free seconds needed before it and the
    /// longest wait for the speech to stop after it (0,0 turns the check off).
    #[arg(long, value_name = "BEFORE,AFTER", default_value = "0.5,0.5", value_parser = pause)]
    pause: PauseOptions,
    /// features: librosa's parameters as JSON, as the JS AudioFeatures takes them, e.g.
    /// '{"kind":"mfcc","nFft":512,"hopLength":160,"nMels":40,"nMfcc":13}'.
    #[arg(long, value_name = "JSON")]
    options: Option<String>,
}

/// `--pause BEFORE,AFTER`: every part must parse ("0.5,x,0.3" is an error, not 0.5,0.3).
fn pause(v: &str) -> std::result::Result<PauseOptions, String> {
    let secs: Vec<f64> =
        v.split(',').map(|x| x.trim().parse()).collect::<std::result::Result<_, _>>().unwrap_or_default();
    let [before, after] = secs[..] else {
        return Err(format!("--pause takes BEFORE,AFTER in seconds (e.g. 0.5,0.5; 0,0 turns it off), not {v}"));
    };
    let p = PauseOptions { before, after };
    p.validate().map_err(|e| match e {
        Error::InvalidArgument(m) => m,
        e => e.to_string(),
    })?;
    Ok(p)
}

fn manifest_path(a: &SpeechArgs) -> PathBuf {
    if let Some(m) = &a.manifest {
        return m.clone();
    }
    let rel = Path::new("models/speech/manifest.json");
    if rel.exists() {
        rel.to_path_buf()
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR")).join(rel)
    }
}

/// Mono samples in [-1, 1] and the rate, from any PCM or float WAV (channels averaged).
pub fn read_wav(path: &Path) -> Result<(Vec<f32>, u32)> {
    let bad = |e: hound::Error| Error::InvalidArgument(format!("reading {} as WAV: {e}", path.display()));
    let mut r = hound::WavReader::open(path).map_err(bad)?;
    let spec = r.spec();
    let ch = spec.channels.max(1) as usize;
    let interleaved: Vec<f32> = match spec.sample_format {
        hound::SampleFormat::Float => r.samples::<f32>().collect::<std::result::Result<_, _>>().map_err(bad)?,
        hound::SampleFormat::Int => {
            let scale = 1.0 / (1u64 << (spec.bits_per_sample - 1)) as f32;
            r.samples::<i32>()
                .map(|s| s.map(|v| v as f32 * scale))
                .collect::<std::result::Result<_, _>>()
                .map_err(bad)?
        }
    };
    let mono = interleaved.chunks(ch).map(|c| c.iter().sum::<f32>() / ch as f32).collect();
    Ok((mono, spec.sample_rate))
}

async fn pipeline(a: &SpeechArgs) -> Result<VoiceCommands> {
    let path = manifest_path(a);
    let text = String::from_utf8(read(&path)?)
        .map_err(|_| Error::InvalidArgument(format!("{} is not UTF-8", path.display())))?;
    let m = SpeechManifest::parse(&text)?;
    let dir = path.parent().unwrap_or(Path::new("."));
    let files = load::files(&m).iter().map(|f| read(&dir.join(&f.file))).collect::<Result<Vec<_>>>()?;
    let opts = LoadOptions { backend: a.backend, ..Default::default() };
    let vo = VoiceOptions { threshold: a.threshold, pause: a.pause, ..Default::default() };
    let mut vc = load::voice_commands(m, &files, &opts, vo).await?;
    for e in &a.enrolled {
        let cmd = EnrolledCommand::from_json(&String::from_utf8_lossy(&read(e)?))?;
        vc.add_enrolled(cmd)?;
    }
    Ok(vc)
}

/// Runs a file through the pipeline in `chunk`-sample pieces; returns the events and seconds taken.
async fn stream(vc: &mut VoiceCommands, samples: &[f32], rate: u32, chunk: usize) -> Result<(Vec<SpeechEvent>, f64)> {
    let t0 = Instant::now();
    let mut events = vec![];
    for c in samples.chunks(chunk) {
        events.extend(vc.feed(c, rate).await?);
    }
    events.extend(vc.finish().await?);
    Ok((events, t0.elapsed().as_secs_f64()))
}

fn wav_arg(a: &SpeechArgs) -> Result<PathBuf> {
    match a.positional.as_slice() {
        [one] => Ok(one.into()),
        [] => Err(Error::InvalidArgument("no audio file given".into())),
        _ => Err(Error::InvalidArgument("give one audio file".into())),
    }
}

pub fn commands(a: &SpeechArgs) -> Result<()> {
    pollster::block_on(async {
        let (samples, rate) = read_wav(&wav_arg(a)?)?;
        let mut vc = pipeline(a).await?;
        let (events, secs) = stream(&mut vc, &samples, rate, a.chunk).await?;
        for e in events {
            if let SpeechEvent::Command { detection: d, .. } = e {
                println!(
                    "{}",
                    json!({"command": d.command, "confidence": round(d.confidence as f64, 3), "start": round(d.start, 2), "end": round(d.end, 2)})
                );
            }
        }
        eprintln!(
            "real-time factor {:.4} ({:.2} s for {:.1} s of audio)",
            secs / audio_secs(&samples, rate),
            secs,
            audio_secs(&samples, rate)
        );
        Ok(())
    })
}

pub fn vad(a: &SpeechArgs) -> Result<()> {
    pollster::block_on(async {
        let (samples, rate) = read_wav(&wav_arg(a)?)?;
        let mut vc = pipeline(a).await?;
        let (events, _) = stream(&mut vc, &samples, rate, a.chunk).await?;
        for e in events {
            if let SpeechEvent::Vad(VadEvent::SpeechEnd { start, end }) = e {
                println!("{}", json!({"start": round(start, 3), "end": round(end, 3)}));
            }
        }
        Ok(())
    })
}

pub fn enrol(a: &SpeechArgs) -> Result<()> {
    pollster::block_on(async {
        let [name, wavs @ ..] = a.positional.as_slice() else {
            return Err(Error::InvalidArgument(
                "usage: enrol NAME TAKE1.wav TAKE2.wav TAKE3.wav [...] --out FILE.json".into(),
            ));
        };
        let takes = wavs.iter().map(|w| read_wav(Path::new(w))).collect::<Result<Vec<_>>>()?;
        let mut vc = pipeline(a).await?;
        let cmd = vc.enrol(name, &takes).await?;
        let text = cmd.to_json();
        match &a.out {
            Some(p) => {
                std::fs::write(p, text).map_err(|e| Error::InvalidArgument(format!("writing {}: {e}", p.display())))?
            }
            None => println!("{text}"),
        }
        eprintln!("enrolled \"{name}\": {} states, threshold {:.1}", cmd.hmm.n_states(), cmd.threshold);
        Ok(())
    })
}

/// `features AUDIO.wav [--options JSON] [--out FILE.npy]`: log-mel / mel / MFCC frames of the
/// whole file (librosa's definitions), at the file's rate unless `sampleRate` asks for another.
pub fn features(a: &SpeechArgs) -> Result<()> {
    let (samples, rate) = read_wav(&wav_arg(a)?)?;
    let mut options: serde_json::Value = match &a.options {
        Some(text) => serde_json::from_str(text).map_err(|e| {
            Error::InvalidArgument(format!("--options is not JSON ({e}): e.g. '{{\"kind\":\"mfcc\",\"nMfcc\":13}}'"))
        })?,
        None => json!({}),
    };
    let obj =
        options.as_object_mut().ok_or_else(|| Error::InvalidArgument("--options must be a JSON object".into()))?;
    let target = obj.entry("sampleRate").or_insert(json!(rate)).as_u64().unwrap_or(0) as u32;
    let options: FeatureOptions =
        serde_json::from_value(options).map_err(|e| Error::InvalidArgument(format!("--options: {e}")))?;
    let fx = FeatureExtractor::new(options)?;
    let samples = if target == rate {
        samples
    } else {
        // The converter holds back half its kernel (≤ 768 input samples): flush it with zeros.
        let want = (samples.len() as u64 * target as u64).div_ceil(rate as u64) as usize;
        let mut out = Vec::with_capacity(want + 1);
        let mut r = Resampler::new(rate, target)?;
        r.push(&samples, &mut out);
        r.push(&[0.0; 1024], &mut out);
        out.truncate(want);
        out
    };
    let f = fx.compute(&samples)?;
    let hop_seconds = fx.hop_length() as f64 / target as f64;
    match &a.out {
        Some(path) => {
            let t = shopfloor::HostTensor::new(vec![f.frames, f.bins], shopfloor::TensorData::F32(f.data))?;
            crate::model::write_npy(path, &t)?;
            println!(
                "{}",
                json!({"frames": f.frames, "bins": f.bins, "sampleRate": target, "hopSeconds": hop_seconds, "npy": path})
            );
        }
        None => {
            let rows: Vec<&[f32]> = f.data.chunks(f.bins.max(1)).collect();
            println!(
                "{}",
                json!({"frames": f.frames, "bins": f.bins, "sampleRate": target, "hopSeconds": hop_seconds, "data": rows})
            );
        }
    }
    Ok(())
}

fn audio_secs(samples: &[f32], rate: u32) -> f64 {
    samples.len() as f64 / rate as f64
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
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

/// Scores detections against the truth: a detection is a hit when it names a true command whose
/// span it overlaps (each said command counts once); anything else is a false alarm.
fn score(events: &[SpeechEvent], truth: &[Truth]) -> (Vec<bool>, Vec<f64>, usize) {
    let mut hit = vec![false; truth.len()];
    let mut latencies = vec![];
    let mut false_alarms = 0;
    for e in events {
        let SpeechEvent::Command { detection: d, decided_at } = e else { continue };
        let found = truth.iter().enumerate().position(|(i, t)| {
            !hit[i]
                && t.command == d.command
                && d.end >= t.start - 0.3
                && d.start <= t.end + 0.3
                && *decided_at >= t.start
        });
        match found {
            Some(i) => {
                hit[i] = true;
                latencies.push(decided_at - truth[i].end);
            }
            None => false_alarms += 1,
        }
    }
    (hit, latencies, false_alarms)
}

fn labels(path: &Path) -> Result<Vec<Truth>> {
    let l: Labels =
        serde_json::from_slice(&read(path)?).map_err(|e| Error::InvalidArgument(format!("{}: {e}", path.display())))?;
    Ok(l.commands)
}

pub fn percentile(v: &mut [f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * q).round() as usize]
}

/// Detection rate per command and SNR, false alarms per hour, latency, real-time factor; the
/// test set is `scripts/speech/make_test_audio.py`'s output. Prints a table, then one JSON line.
pub fn bench(a: &SpeechArgs) -> Result<()> {
    pollster::block_on(async {
        let dir = PathBuf::from(a.positional.first().map_or("models/cache/speech-test", |s| s.as_str()));
        let mut vc = pipeline(a).await?;
        let names = vc.commands();
        let mut report = serde_json::Map::new();
        let (mut total_secs, mut total_audio) = (0.0, 0.0);
        let mut clean_lat = vec![];
        let mut fa_in_commands = 0;
        println!("{:<16} {:>8} {:>8} {:>8}", "command", "clean", "10 dB", "0 dB");
        let mut rates = vec![vec![0.0; 3]; names.len()];
        for (k, cond) in ["clean", "snr10", "snr0"].iter().enumerate() {
            let wav = dir.join(format!("commands_{cond}.wav"));
            let truth = labels(&dir.join(format!("commands_{cond}.json")))?;
            let (samples, rate) = read_wav(&wav)?;
            vc.reset();
            let (events, secs) = stream(&mut vc, &samples, rate, a.chunk).await?;
            total_secs += secs;
            total_audio += audio_secs(&samples, rate);
            let (hit, mut lat, fa) = score(&events, &truth);
            fa_in_commands += fa;
            for (i, n) in names.iter().enumerate() {
                let said: Vec<bool> =
                    truth.iter().zip(&hit).filter(|(t, _)| &t.command == n).map(|(_, h)| *h).collect();
                rates[i][k] = said.iter().filter(|h| **h).count() as f64 / said.len().max(1) as f64;
            }
            let overall = hit.iter().filter(|h| **h).count() as f64 / hit.len().max(1) as f64;
            report.insert(format!("detection_{cond}"), json!(round(overall, 4)));
            report.insert(format!("false_alarms_{cond}"), json!(fa));
            if *cond == "clean" {
                report.insert("latency_p50_s".into(), json!(round(percentile(&mut lat.clone(), 0.5), 3)));
                report.insert("latency_p95_s".into(), json!(round(percentile(&mut lat, 0.95), 3)));
                clean_lat = lat;
            }
        }
        for (i, n) in names.iter().enumerate() {
            println!(
                "{:<16} {:>7.1}% {:>7.1}% {:>7.1}%",
                n,
                rates[i][0] * 100.0,
                rates[i][1] * 100.0,
                rates[i][2] * 100.0
            );
        }
        report.insert(
            "per_command".into(),
            json!(names.iter().zip(&rates).map(|(n, r)| (n.clone(), json!(r))).collect::<serde_json::Map<_, _>>()),
        );
        let (samples, rate) = read_wav(&dir.join("other.wav"))?;
        vc.reset();
        let (events, secs) = stream(&mut vc, &samples, rate, a.chunk).await?;
        total_secs += secs;
        let hours = audio_secs(&samples, rate) / 3600.0;
        total_audio += audio_secs(&samples, rate);
        let fas: Vec<&Detection> = events
            .iter()
            .filter_map(|e| match e {
                SpeechEvent::Command { detection, .. } => Some(detection),
                _ => None,
            })
            .collect();
        for d in &fas {
            eprintln!("false alarm: {} at {:.2}-{:.2} s ({:.2})", d.command, d.start, d.end, d.confidence);
        }
        println!(
            "false alarms: {} in {:.1} min of other speech and noise = {:.2} per hour; {} in the command recordings",
            fas.len(),
            hours * 60.0,
            fas.len() as f64 / hours,
            fa_in_commands
        );
        report.insert("false_alarms_per_hour".into(), json!(round(fas.len() as f64 / hours, 2)));
        report.insert("other_minutes".into(), json!(round(hours * 60.0, 1)));
        report.insert("rtf".into(), json!(round(total_secs / total_audio, 4)));
        println!(
            "latency, clean (decision − end of the command): p50 {:.0} ms, p95 {:.0} ms",
            percentile(&mut clean_lat.clone(), 0.5) * 1e3,
            percentile(&mut clean_lat, 0.95) * 1e3
        );
        println!(
            "real-time factor {:.4} on {} ({:.0} s for {:.0} s of audio)",
            total_secs / total_audio,
            a.backend_name(),
            total_secs,
            total_audio
        );
        println!("{}", serde_json::Value::Object(report));
        Ok(())
    })
}

impl SpeechArgs {
    fn backend_name(&self) -> &'static str {
        match self.backend {
            BackendChoice::Cpu => "cpu",
            BackendChoice::Webgpu => "webgpu",
            BackendChoice::Auto => "auto",
        }
    }
}
