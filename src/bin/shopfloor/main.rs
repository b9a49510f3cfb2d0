//! The native command-line tool (feature `cli`, never in the wasm build): the SDK's models and
//! pipelines over files. One file per task; `shopfloor help [COMMAND]` is generated from them.

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use shopfloor::{Error, ErrorCode};

mod model;
mod parse;
mod speech;
mod transcribe;
mod vision;

#[derive(Parser)]
#[command(
    name = "shopfloor",
    version,
    about = "Image and speech models on this machine's CPU or GPU, as the browser SDK runs them"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inputs, outputs, op histogram and the backend each op runs on.
    Info(model::ModelArgs),
    /// Runs once; writes each output to --out DIR as .npy (inputs not given: fixed-seed random,
    /// written too).
    Run(model::ModelArgs),
    /// Min / median / p90 / max latency over --runs after the first run and --warmup runs.
    Bench(model::ModelArgs),
    /// Where a run's time goes, largest first, and the ten slowest nodes: tract ops on the CPU;
    /// with --backend webgpu the GPU's time per kernel family (timestamp queries).
    Profile(model::ModelArgs),
    /// GFLOP/s of the GPU's matmul (1024³, 2048³) and 3x3 conv kernels on this machine's adapter.
    BenchKernels,
    /// ImageNet labels (EfficientNet-Lite0 by default) as JSON: label, score, classIndex.
    Classify(vision::VisionArgs),
    /// Face boxes and 6 landmarks in image pixels (BlazeFace by default).
    Faces(vision::VisionArgs),
    /// Text lines with corner points, text and per-character confidence (PP-OCRv4 by default).
    ReadText(vision::VisionArgs),
    /// Each voice command in a WAV file as a JSON line {command, confidence, start, end},
    /// fed in chunks as a microphone would.
    Commands(speech::SpeechArgs),
    /// Speech segments as JSON lines {start, end} (Silero VAD).
    Vad(speech::SpeechArgs),
    /// Trains a custom command (left-to-right HMM, Baum-Welch) from 3-10 takes: NAME TAKE1.wav ...
    Enrol(speech::SpeechArgs),
    /// Detection rate per command at clean / 10 dB / 0 dB, false alarms per hour, latency and
    /// real-time factor over the test speech [DIR].
    BenchCommands(speech::SpeechArgs),
    /// Log-mel (default), mel or MFCC frames of a WAV file as librosa computes them.
    Features(speech::SpeechArgs),
    /// Speech to text (Whisper tiny.en by default) as one JSON document.
    Transcribe(transcribe::TranscribeArgs),
    /// Word error rate per voice and condition, and the real-time factor, over the dictation set.
    BenchTranscribe(transcribe::BenchArgs),
    /// Which backends this machine offers (JSON).
    Backends,
    /// The SDK's version.
    Version,
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return usage_error(e),
    };
    let result = match cli.command {
        Command::Info(a) => model::info(&a),
        Command::Run(a) => model::run(&a),
        Command::Bench(a) => model::bench(&a),
        Command::Profile(a) => model::profile(&a),
        Command::BenchKernels => model::bench_kernels(),
        Command::Classify(a) => vision::classify(&a),
        Command::Faces(a) => vision::faces(&a),
        Command::ReadText(a) => vision::read_text(&a),
        Command::Commands(a) => speech::commands(&a),
        Command::Vad(a) => speech::vad(&a),
        Command::Enrol(a) => speech::enrol(&a),
        Command::BenchCommands(a) => speech::bench(&a),
        Command::Features(a) => speech::features(&a),
        Command::Transcribe(a) => transcribe::run(&a),
        Command::BenchTranscribe(a) => transcribe::bench(&a),
        Command::Backends => {
            let backends = pollster::block_on(shopfloor::backend::probe());
            println!("{}", serde_json::to_string_pretty(&backends).unwrap_or_default());
            Ok(())
        }
        Command::Version => {
            println!("{}", shopfloor::VERSION);
            Ok(())
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{}: {e}", e.code());
            ExitCode::from(if e.code() == ErrorCode::InvalidArgument { 2 } else { 1 })
        }
    }
}

/// Help and version go to stdout with status 0; a command line clap refuses is
/// `INVALID_ARGUMENT` (status 2), like every other bad argument.
fn usage_error(e: clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
        print!("{e}");
        return ExitCode::SUCCESS;
    }
    if e.kind() == ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand {
        eprintln!("INVALID_ARGUMENT: no command given\n\n{e}");
        return ExitCode::from(2);
    }
    let text = e.render().to_string();
    let text = text.trim_start_matches("error: ").trim_end();
    let err = Error::InvalidArgument(text.to_string());
    eprintln!("{}: {}", err.code(), text);
    ExitCode::from(2)
}
