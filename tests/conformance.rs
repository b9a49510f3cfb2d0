//! The ONNX backend test suite (from the onnx PyPI package, written by
//! tests/conformance/gen_onnx_suite.py) on the CPU backend: the single-op node cases and the
//! `light_*` CNNs with the outputs the package ships. Cases tract cannot run are listed, with
//! the reason, in tests/conformance/cpu-ignore.txt; a listed case that starts passing fails the
//! test too, so the list stays true. The same suite runs through the WebGPU backend (lavapipe in
//! CI): every case whose whole graph the GPU claims must pass there too, or be listed in
//! tests/conformance/gpu-ignore.txt.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use common::*;
use shopfloor::{BackendChoice, ErrorCode, LoadOptions, Model};

enum Outcome {
    Pass,
    /// The GPU does not claim the graph (an op without a kernel, non-f32 tensors): it runs on the CPU.
    NotOnGpu,
    /// Uses element types the SDK has no public form for (f16, strings...).
    NotApplicable,
    Fail(String),
}

fn run_case(dir: &Path, rtol: f64, atol: f64, scale_relative: bool, backend: BackendChoice) -> Outcome {
    let case = read_case(dir, dir);
    let mut feeds = HashMap::new();
    for (name, file) in &case.inputs {
        match try_read_npy(file) {
            Some(t) => feeds.insert(name.clone(), t),
            None => return Outcome::NotApplicable,
        };
    }
    let mut expected = vec![];
    for (name, file) in &case.outputs {
        match try_read_npy(file) {
            Some(t) => expected.push((name.clone(), t)),
            None => return Outcome::NotApplicable,
        }
    }
    let bytes = std::fs::read(&case.model).unwrap();
    let input_shapes =
        feeds.iter().map(|(n, t): (&String, &shopfloor::HostTensor)| (n.clone(), t.dims.clone())).collect();
    let opts = match backend {
        // The node tests feed NaN and infinities on purpose (IsNaN, IsInf, Max…).
        BackendChoice::Webgpu => LoadOptions { backend, input_shapes, allow_non_finite: true, ..Default::default() },
        _ => LoadOptions { backend, allow_non_finite: true, ..Default::default() },
    };
    let mut model = match Model::load(&bytes, &opts) {
        Ok(m) => m,
        Err(e) if backend == BackendChoice::Webgpu && e.code() == ErrorCode::BackendUnavailable => {
            let msg = e.to_string();
            // No kernel for an op, non-f32 tensors, or a tensor over this adapter's binding limit.
            if msg.contains("no GPU kernel") || msg.contains("the GPU path") || msg.contains("binding limit") {
                return Outcome::NotOnGpu;
            }
            return Outcome::Fail(format!("load: {} {e}", e.code()));
        }
        Err(e) => return Outcome::Fail(format!("load: {} {e}", e.code())),
    };
    let outputs = match model.run(feeds) {
        Ok(o) => o,
        Err(e) => return Outcome::Fail(format!("run: {} {e}", e.code())),
    };
    for ((name, want), (got_name, got)) in expected.iter().zip(&outputs) {
        if name != got_name {
            return Outcome::Fail(format!("output order: {got_name}, expected {name}"));
        }
        let check = if scale_relative {
            let err = relative_error(got, want);
            if err <= rtol {
                Ok(())
            } else {
                Err(format!("relative error {err:.2e}"))
            }
        } else {
            allclose(got, want, rtol, atol)
        };
        if let Err(e) = check {
            return Outcome::Fail(format!("output \"{name}\": {e}"));
        }
    }
    Outcome::Pass
}

fn ignore_list(text: &str) -> BTreeMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, why)) => (name.to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

const CPU_IGNORE: &str = include_str!("conformance/cpu-ignore.txt");
const GPU_IGNORE: &str = include_str!("conformance/gpu-ignore.txt");

fn run_suite(part: &str, rtol: f64, atol: f64, scale_relative: bool, backend: BackendChoice) {
    let Some(root) = cached(&format!("onnx-suite/{part}")) else { return };
    let cpu_ignore = ignore_list(CPU_IGNORE);
    let on_gpu = backend == BackendChoice::Webgpu;
    let ignore = if on_gpu { ignore_list(GPU_IGNORE) } else { cpu_ignore.clone() };
    let mut dirs: Vec<_> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let (mut passed, mut not_applicable, mut ignored, mut not_on_gpu) = (0, 0, 0, 0);
    let mut unexpected = vec![];
    let mut now_passing = vec![];
    let mut reasons = vec![];
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        if on_gpu && cpu_ignore.contains_key(&name) {
            continue; // tract cannot run it: nothing for the GPU to translate
        }
        let outcome = run_case(dir, rtol, atol, scale_relative, backend);
        match (outcome, ignore.contains_key(&name)) {
            (Outcome::NotOnGpu, _) => not_on_gpu += 1,
            (Outcome::Pass, false) => passed += 1,
            (Outcome::Pass, true) => now_passing.push(name),
            (Outcome::NotApplicable, _) => not_applicable += 1,
            (Outcome::Fail(why), true) => {
                ignored += 1;
                reasons.push(format!("{name}  {}", why.chars().take(160).collect::<String>()));
            }
            (Outcome::Fail(why), false) => unexpected.push(format!("{name}: {why}")),
        }
    }
    let list = if on_gpu { "gpu-ignore.txt" } else { "cpu-ignore.txt" };
    // Regenerating the list: SHOPFLOOR_CONFORMANCE_REASONS=DIR writes each listed case's current
    // reason to DIR/<list>.
    if let Some(dir) = std::env::var_os("SHOPFLOOR_CONFORMANCE_REASONS") {
        std::fs::write(Path::new(&dir).join(list), reasons.join("\n") + "\n").unwrap();
    }
    println!(
        "ONNX {part} suite on {}: {passed} passed, {} failed, {ignored} ignored (tracked in {list}), \
         {not_applicable} not applicable (f16/string types), {not_on_gpu} not claimed by the GPU (run on the CPU)",
        if on_gpu { "webgpu" } else { "cpu" },
        unexpected.len()
    );
    assert!(unexpected.is_empty(), "{} unexpected failures:\n{}", unexpected.len(), unexpected.join("\n"));
    assert!(now_passing.is_empty(), "now passing, remove from {list}: {now_passing:?}");
    assert!(passed > 0);
}

#[test]
fn onnx_node_suite_on_cpu() {
    // The suite's own tolerances for node tests.
    run_suite("node", 1e-3, 1e-7, false, BackendChoice::Cpu);
}

#[test]
fn onnx_light_models_match_the_shipped_outputs() {
    run_suite("light", 1e-4, 0.0, true, BackendChoice::Cpu);
}

fn gpu_here() -> bool {
    gpu_expected() || pollster::block_on(shopfloor::backend::probe()).webgpu.available
}

#[test]
fn onnx_node_suite_on_webgpu() {
    if gpu_here() {
        run_suite("node", 1e-3, 1e-5, false, BackendChoice::Webgpu);
    }
}

#[test]
fn onnx_light_models_on_webgpu() {
    if gpu_here() {
        run_suite("light", 1e-4, 0.0, true, BackendChoice::Webgpu);
    }
}
