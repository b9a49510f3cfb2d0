//! The ONNX backend test suite (from the onnx PyPI package, written by
//! tests/conformance/gen_onnx_suite.py) on the CPU backend: the single-op node cases and the
//! `light_*` CNNs with the outputs the package ships. Cases tract cannot run are listed, with
//! the reason, in tests/conformance/cpu-ignore.txt; a listed case that starts passing fails the
//! test too, so the list stays true.

mod common;

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use common::*;
use shopfloor::{LoadOptions, Model};

enum Outcome {
    Pass,
    /// Uses element types the SDK has no public form for (f16, strings...).
    NotApplicable,
    Fail(String),
}

fn run_case(dir: &Path, rtol: f64, atol: f64, scale_relative: bool) -> Outcome {
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
    let mut model = match Model::load(&bytes, &LoadOptions::default()) {
        Ok(m) => m,
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

fn ignore_list() -> BTreeMap<String, String> {
    let text = include_str!("conformance/cpu-ignore.txt");
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| match l.split_once(char::is_whitespace) {
            Some((name, why)) => (name.to_string(), why.trim().to_string()),
            None => (l.to_string(), String::new()),
        })
        .collect()
}

fn run_suite(part: &str, rtol: f64, atol: f64, scale_relative: bool) {
    let Some(root) = cached(&format!("onnx-suite/{part}")) else { return };
    let ignore = ignore_list();
    let mut dirs: Vec<_> =
        std::fs::read_dir(&root).unwrap().map(|e| e.unwrap().path()).filter(|p| p.is_dir()).collect();
    dirs.sort();
    let (mut passed, mut not_applicable, mut ignored) = (0, 0, 0);
    let mut unexpected = vec![];
    let mut now_passing = vec![];
    for dir in &dirs {
        let name = dir.file_name().unwrap().to_string_lossy().to_string();
        let outcome = run_case(dir, rtol, atol, scale_relative);
        match (outcome, ignore.contains_key(&name)) {
            (Outcome::Pass, false) => passed += 1,
            (Outcome::Pass, true) => now_passing.push(name),
            (Outcome::NotApplicable, _) => not_applicable += 1,
            (Outcome::Fail(_), true) => ignored += 1,
            (Outcome::Fail(why), false) => unexpected.push(format!("{name}: {why}")),
        }
    }
    println!(
        "ONNX {part} suite on cpu: {passed} passed, {} failed, {ignored} ignored (tracked in cpu-ignore.txt), \
         {not_applicable} not applicable (f16/string types)",
        unexpected.len()
    );
    assert!(unexpected.is_empty(), "{} unexpected failures:\n{}", unexpected.len(), unexpected.join("\n"));
    assert!(now_passing.is_empty(), "now passing, remove from cpu-ignore.txt: {now_passing:?}");
    assert!(passed > 0);
}

#[test]
fn onnx_node_suite_on_cpu() {
    // The suite's own tolerances for node tests.
    run_suite("node", 1e-3, 1e-7, false);
}

#[test]
fn onnx_light_models_match_the_shipped_outputs() {
    run_suite("light", 1e-4, 0.0, true);
}
