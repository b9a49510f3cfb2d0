//! The native CLI: info, run (outputs as .npy, random inputs written too), bench, and error
//! codes with a non-zero exit status.

mod common;

use std::process::Command;

use common::*;

fn shopfloor(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_shopfloor")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into(),
        String::from_utf8_lossy(&out.stderr).into(),
    )
}

#[test]
fn info_lists_io_ops_and_backends() {
    let Some(m) = cached("blazeface/face_detection_front_128.onnx") else { return };
    let (code, out, err) = shopfloor(&["info", m.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("input:0") && out.contains("[1, 128, 128, 3]"), "{out}");
    assert!(out.contains("Identity_3:0"), "{out}");
    assert!(out.lines().any(|l| l.trim_start().starts_with("Conv") && l.trim_end().ends_with("cpu")), "{out}");
    assert!(out.contains("loader fix: ConstantOfShape"), "{out}");
}

#[test]
fn run_writes_outputs_and_generated_inputs_that_reproduce() {
    let Some(m) = cached("ppocr/ppocr_cls.onnx") else { return };
    let dir = std::env::temp_dir().join(format!("shopfloor-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let m = m.to_str().unwrap();
    let (code, _, err) = shopfloor(&["run", m, "--shape", "x=1x3x48x192", "--out", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    let out = dir.join("save_infer_model_scale_0.tmp_1.npy");
    let first = read_npy(&out);
    assert_eq!(first.dims, vec![1, 2]);
    // Feeding the written input back gives the same output.
    let input = dir.join("input_x.npy");
    let again = dir.join("again");
    let (code, _, err) =
        shopfloor(&["run", m, "--input", &format!("x={}", input.display()), "--out", again.to_str().unwrap()]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(read_npy(&again.join("save_infer_model_scale_0.tmp_1.npy")), first);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn bench_prints_latency() {
    let Some(m) = cached("blazeface/face_detection_front_128.onnx") else { return };
    let (code, out, err) = shopfloor(&["bench", m.to_str().unwrap(), "--runs", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("min") && out.contains("median") && out.contains("max"), "{out}");
    // The line `make bench` reads.
    let (code, out, err) = shopfloor(&["bench", m.to_str().unwrap(), "--runs", "4", "--warmup", "0", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["runs"], 4);
    assert_eq!(v["backend"], "cpu");
    let (min, median, p90) = (v["min"].as_f64().unwrap(), v["median"].as_f64().unwrap(), v["p90"].as_f64().unwrap());
    assert!(0.0 < min && min <= median && median <= p90, "{v}");
    let (code, _, err) = shopfloor(&["bench", m.to_str().unwrap(), "--warmup", "some"]);
    assert_eq!(code, 2);
    assert!(err.contains("--warmup takes a whole number"), "{err}");
}

#[test]
fn profile_splits_a_run_by_op() {
    let Some(m) = cached("blazeface/face_detection_front_128.onnx") else { return };
    let (code, out, err) = shopfloor(&["profile", m.to_str().unwrap(), "--runs", "3", "--json"]);
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    let ops = v["ops"].as_array().unwrap();
    let ms: Vec<f64> = ops.iter().map(|o| o["ms"].as_f64().unwrap()).collect();
    assert!(ms.windows(2).all(|w| w[0] >= w[1]), "largest first: {ms:?}");
    let total = v["totalMs"].as_f64().unwrap();
    assert!((ms.iter().sum::<f64>() - total).abs() < 1e-6 * total.max(1.0));
    // BlazeFace is convolutions: tract runs them as matmuls and depthwise convolutions.
    let names: Vec<&str> = ops.iter().map(|o| o["op"].as_str().unwrap()).collect();
    assert!(names.contains(&"OptMatMul") && names.contains(&"DepthWiseConv"), "{names:?}");
    assert_eq!(v["slowestNodes"].as_array().unwrap().len(), 10);
    let (code, out, err) = shopfloor(&["profile", m.to_str().unwrap(), "--runs", "2"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("ms per run in nodes") && out.contains("slowest nodes:"), "{out}");
}

#[test]
fn profile_on_webgpu_times_each_dispatch_on_the_gpu_clock() {
    let Some(m) = cached("blazeface/face_detection_front_128.onnx") else { return };
    let (code, out, err) = shopfloor(&["profile", m.to_str().unwrap(), "--backend", "webgpu", "--runs", "1", "--json"]);
    if code != 0 && !gpu_expected() && err.starts_with("BACKEND_UNAVAILABLE:") {
        eprintln!("skipped, no GPU: {err}");
        return;
    }
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["backend"], "webgpu");
    let ops = v["ops"].as_array().unwrap();
    let ms: Vec<f64> = ops.iter().map(|o| o["ms"].as_f64().unwrap()).collect();
    assert!(ms.windows(2).all(|w| w[0] >= w[1]) && ms.iter().all(|&t| t > 0.0), "largest first, each timed: {ms:?}");
    let total = v["totalMs"].as_f64().unwrap();
    assert!((ms.iter().sum::<f64>() - total).abs() < 1e-6 * total.max(1.0));
    // Kernel families, one entry per family; every dispatch of the plan counted once.
    let names: Vec<&str> = ops.iter().map(|o| o["op"].as_str().unwrap()).collect();
    assert!(names.contains(&"depthwise") && names.iter().any(|n| n.starts_with("matmul")), "{names:?}");
    let dispatches: u64 = ops.iter().map(|o| o["nodes"].as_u64().unwrap()).sum();
    // 41 since the 22 copies that zero-pad its shortcuts are read in the epilogues instead.
    assert_eq!(dispatches, 41, "BlazeFace's plan is 41 dispatches: {ops:?}");
    let (code, out, err) = shopfloor(&["profile", m.to_str().unwrap(), "--backend", "webgpu", "--runs", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("GPU time in dispatches") && out.contains("WebGPU"), "{out}");
}

#[test]
fn failures_print_the_error_code_and_exit_non_zero() {
    let readme = concat!(env!("CARGO_MANIFEST_DIR"), "/README.md");
    let (code, _, err) = shopfloor(&["info", readme]);
    assert_eq!(code, 1);
    assert!(err.starts_with("MODEL_INVALID:"), "{err}");
    let (code, _, err) = shopfloor(&["run", readme]);
    assert_eq!(code, 2);
    assert!(err.starts_with("INVALID_ARGUMENT:"), "{err}");
    let (code, _, err) = shopfloor(&["frobnicate"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("INVALID_ARGUMENT:"), "{err}");
    if let Some(m) = cached("ppocr/ppocrv4_det.onnx") {
        let (code, _, err) = shopfloor(&["run", m.to_str().unwrap(), "--out", "/tmp/unused"]);
        assert_eq!(code, 2, "symbolic input without --shape");
        assert!(err.contains("--shape x="), "{err}");
        // WebGPU without --shape: a GPU plan per input shape at the first run at each.
        let (code, out, err) = shopfloor(&["info", m.to_str().unwrap(), "--backend", "webgpu"]);
        if common::gpu_expected() {
            assert_eq!(code, 0, "{err}");
            assert!(out.contains("per input shape"), "{out}");
        } else {
            assert!(code == 0 || err.starts_with("BACKEND_UNAVAILABLE:"), "{err}");
        }
    }
}

#[test]
fn vision_commands_print_one_json_document() {
    let (Some(coffee), Some(astro), Some(page)) =
        (cached("images/coffee.png"), cached("images/astronaut.png"), cached("images/page.png"))
    else {
        return;
    };
    if cached("efficientnet/manifest.json").is_none() {
        return;
    }
    let json = |args: &[&str]| -> serde_json::Value {
        let (code, out, err) = shopfloor(args);
        assert_eq!(code, 0, "{args:?}: {err}");
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("{args:?} printed no JSON ({e}): {out}"))
    };
    let c = json(&["classify", coffee.to_str().unwrap(), "--top", "3", "--backend", "cpu"]);
    assert_eq!(c["classes"].as_array().unwrap().len(), 3);
    assert_eq!(c["classes"][0]["label"], "espresso");
    assert_eq!((c["width"].as_u64(), c["height"].as_u64()), (Some(600), Some(400)));
    let f = json(&["faces", astro.to_str().unwrap(), "--backend", "cpu"]);
    assert_eq!(f["faces"].as_array().unwrap().len(), 1);
    assert_eq!(f["faces"][0]["keypoints"].as_array().unwrap().len(), 6);
    let t = json(&["read-text", page.to_str().unwrap(), "--backend", "cpu"]);
    assert_eq!(t["lines"][0]["text"], "Region-based segmentation");
    assert_eq!(t["lines"][0]["box"].as_array().unwrap().len(), 4);

    // Errors: exit status and the code first on stderr.
    let (code, _, err) = shopfloor(&["classify", "/nonexistent.png"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("INVALID_ARGUMENT"), "{err}");
    let manifest = cached("blazeface/manifest.json").unwrap();
    let (code, _, err) = shopfloor(&["classify", coffee.to_str().unwrap(), "--model", manifest.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("face-detection") && err.contains("classification"), "{err}");
    // `--side` reaches the manifest's detector (the library checks the value: tests/vision.rs reads
    // page.png on WebGPU at 384², which takes over a minute on lavapipe and is not repeated here).
    let (code, _, err) = shopfloor(&["read-text", page.to_str().unwrap(), "--side", "10"]);
    assert_eq!(code, 2);
    assert!(err.starts_with("INVALID_ARGUMENT") && err.contains("fixedSide 10"), "{err}");
    // `--backend webgpu` reaches the loader (every vision command shares the options).
    let args = ["classify", coffee.to_str().unwrap(), "--top", "1", "--backend", "webgpu"];
    if common::gpu_expected() {
        let c = json(&args);
        assert_eq!(c["backend"], "webgpu");
        assert_eq!(c["classes"][0]["label"], "espresso");
    } else {
        let (code, _, err) = shopfloor(&args);
        if code != 0 {
            assert!(err.starts_with("BACKEND_UNAVAILABLE"), "{err}");
        }
    }
    let (code, _, err) = shopfloor(&["read-text", page.to_str().unwrap(), "--side", "abc"]);
    assert_eq!(code, 2);
    assert!(err.contains("--side takes"), "{err}");
}

#[test]
fn features_prints_librosa_frames_and_writes_npy() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("features_reference.json")).unwrap()).unwrap();
    let case = &reference["cases"][0]; // speech log-mel, 16 kHz
    let shopfloor::TensorData::F32(x) = try_read_npy(&dir.join("features_speech_16k.npy")).unwrap().data else {
        panic!("f32 input")
    };
    let tmp = std::env::temp_dir().join(format!("shopfloor-features-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let wav = tmp.join("speech.wav");
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: 16000,
        bits_per_sample: 32,
        sample_format: hound::SampleFormat::Float,
    };
    let mut w = hound::WavWriter::create(&wav, spec).unwrap();
    x.iter().for_each(|&s| w.write_sample(s).unwrap());
    w.finalize().unwrap();

    let mut options = case["options"].clone();
    options.as_object_mut().unwrap().remove("sampleRate"); // the file's rate
    let (code, out, err) = shopfloor(&["features", wav.to_str().unwrap(), "--options", &options.to_string()]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!((doc["frames"].as_u64(), doc["bins"].as_u64()), (case["frames"].as_u64(), case["bins"].as_u64()));
    assert_eq!(doc["hopSeconds"].as_f64(), Some(0.01));
    let got: Vec<f64> = doc["data"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|r| r.as_array().unwrap().iter().map(|v| v.as_f64().unwrap()))
        .collect();
    let want: Vec<f64> = case["data"].as_array().unwrap().iter().map(|v| v.as_f64().unwrap()).collect();
    let err = got.iter().zip(&want).map(|(a, b)| (a - b).abs()).fold(0.0, f64::max);
    assert!(err <= 1e-4, "max |cli - librosa| {err}");

    // Resampled to 8 kHz on the way, written as .npy of frames × bins.
    let npy = tmp.join("f.npy");
    let (code, out, err) = shopfloor(&[
        "features",
        wav.to_str().unwrap(),
        "--options",
        r#"{"kind":"mfcc","sampleRate":8000,"nFft":256,"hopLength":80,"nMels":32,"nMfcc":13}"#,
        "--out",
        npy.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("\"sampleRate\":8000"), "{out}");
    let t = try_read_npy(&npy).unwrap();
    assert_eq!(t.dims, vec![x.len() / 2 / 80 + 1, 13]);

    for (opts, needle) in [
        (r#"{"nFFT":512}"#, "unknown field `nFFT`"),
        ("[1]", "JSON object"),
        ("{", "not JSON"),
        (r#"{"fmax":9000}"#, "fmax"),
    ] {
        let (code, _, err) = shopfloor(&["features", wav.to_str().unwrap(), "--options", opts]);
        assert_eq!(code, 2, "{opts}");
        assert!(err.starts_with("INVALID_ARGUMENT") && err.contains(needle), "{opts}: {err}");
    }
    let _ = std::fs::remove_dir_all(&tmp);
}

#[test]
fn commands_prints_json_lines_and_checks_the_pause_option() {
    let Some(wav) = cached("speech-test/line_two.wav") else { return };
    let wav = wav.to_str().unwrap();
    let (code, out, err) = shopfloor(&["commands", wav]);
    assert_eq!(code, 0, "{err}");
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(lines.len(), 1, "{out}");
    assert_eq!(lines[0]["command"], "line two");
    let (code, out, _) = shopfloor(&["commands", wav, "--pause", "0,0"]);
    assert_eq!(code, 0);
    assert_eq!(out.lines().count(), 1, "the check off still finds a command said alone: {out}");
    for bad in ["0.5", "0.5,x", "0.5,x,0.3", "5,0.5", "0.5,-1"] {
        let (code, _, err) = shopfloor(&["commands", wav, "--pause", bad]);
        assert_eq!(code, 2, "--pause {bad}");
        assert!(err.starts_with("INVALID_ARGUMENT:") && err.contains("pause"), "--pause {bad}: {err}");
    }
}
