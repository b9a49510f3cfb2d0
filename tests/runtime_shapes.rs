//! Models whose shapes come from graph inputs at run time (tests/parity/make_runtime_shape_refs.py):
//! each runs at several input values on one loaded model and matches onnxruntime; absurd values
//! are refused with a typed error before anything is built, and the model keeps answering.

mod common;

use std::collections::HashMap;

use common::*;
use shopfloor::{ErrorCode, HostTensor, LoadOptions, Model, TensorData};

fn load(name: &str) -> Option<Model> {
    let path = cached(&format!("runtime-shapes/{name}.onnx"))?;
    Some(Model::load(&std::fs::read(path).unwrap(), &LoadOptions::default()).unwrap_or_else(|e| panic!("{name}: {e}")))
}

fn i64s(dims: &[usize], v: &[i64]) -> HostTensor {
    HostTensor::new(dims.to_vec(), TensorData::I64(v.to_vec())).unwrap()
}

fn feeds(list: Vec<(&str, HostTensor)>) -> HashMap<String, HostTensor> {
    list.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
}

#[test]
fn every_model_matches_onnxruntime_at_every_value() {
    let Some(dir) = cached("runtime-shapes") else { return };
    let index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("cases.json")).unwrap()).unwrap();
    let models = index.as_object().unwrap();
    assert!(models.len() >= 12, "{} models", models.len());
    for (name, cases) in models {
        let mut model = load(name).unwrap();
        assert_eq!(model.info().plan, "per-value", "{name}");
        for (k, case) in cases.as_array().unwrap().iter().enumerate() {
            let inputs: HashMap<String, HostTensor> = case["inputs"]
                .as_object()
                .unwrap()
                .iter()
                .map(|(n, f)| (n.clone(), read_npy(&dir.join(f.as_str().unwrap()))))
                .collect();
            let outs = model.run(inputs).unwrap_or_else(|e| panic!("{name} case {k}: {} {e}", e.code()));
            for (j, file) in case["outputs"].as_array().unwrap().iter().enumerate() {
                let want = read_npy(&dir.join(file.as_str().unwrap()));
                assert_eq!(outs[j].1.dims, want.dims, "{name} case {k} output {j}");
                allclose(&outs[j].1, &want, 1e-6, 1e-6).unwrap_or_else(|e| panic!("{name} case {k} output {j}: {e}"));
            }
        }
    }
}

#[test]
fn a_shape_over_the_tensor_budget_is_resource_limit_and_the_model_still_answers() {
    let Some(mut m) = load("constant_of_shape") else { return };
    for bad in [vec![1_000_000, 1_000_000], vec![i64::MAX, 2], vec![-1, i64::MIN]] {
        let e = m.run(feeds(vec![("s", i64s(&[2], &bad))])).unwrap_err();
        assert_eq!(e.code(), ErrorCode::ResourceLimit, "{bad:?}: {e}");
        assert!(e.to_string().contains("\"s\""), "{e}");
    }
    let out = m.run(feeds(vec![("s", i64s(&[2], &[2, 2]))])).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![2.5; 4]));
}

#[test]
fn modest_repeats_of_a_large_input_are_held_to_the_budget() {
    let Some(path) = cached("runtime-shapes/tile.onnx") else { return };
    // 64 KiB budget: 2×3 floats tiled 100×100 is 240 KB.
    let opts = LoadOptions { max_tensor_bytes: 64 << 10, ..Default::default() };
    let mut m = Model::load(&std::fs::read(path).unwrap(), &opts).unwrap();
    let x = || HostTensor::f32(vec![2, 3], vec![1.0; 6]).unwrap();
    let e = m.run(feeds(vec![("x", x()), ("r", i64s(&[2], &[100, 100]))])).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceLimit, "{e}");
    assert!(e.to_string().contains("budget"), "{e}");
    let out = m.run(feeds(vec![("x", x()), ("r", i64s(&[2], &[2, 2]))])).unwrap();
    assert_eq!(out[0].1.dims, vec![4, 6]);
}

#[test]
fn a_shape_that_does_not_fit_the_data_is_input_mismatch_naming_the_value() {
    let Some(mut m) = load("reshape") else { return };
    let x = || HostTensor::f32(vec![2, 6], vec![0.0; 12]).unwrap();
    let e = m.run(feeds(vec![("x", x()), ("s", i64s(&[3], &[5, 5, 5]))])).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InputMismatch, "{e}");
    assert!(e.to_string().contains("\"s\" = [5, 5, 5]"), "{e}");
    let out = m.run(feeds(vec![("x", x()), ("s", i64s(&[3], &[1, 12, 1]))])).unwrap();
    assert_eq!(out[0].1.dims, vec![1, 12, 1]);
}

#[test]
fn plans_per_value_are_cached_and_bounded() {
    let Some(path) = cached("runtime-shapes/one_hot.onnx") else { return };
    let opts = LoadOptions { plan_cache_size: 2, ..Default::default() };
    let mut m = Model::load(&std::fs::read(path).unwrap(), &opts).unwrap();
    for depth in [4, 5, 6, 4, 4] {
        let out = m.run(feeds(vec![("i", i64s(&[3], &[0, 1, 2])), ("d", i64s(&[1], &[depth]))])).unwrap();
        assert_eq!(out[0].1.dims, vec![3, depth as usize]);
        assert!(m.info().cached_plans <= 2);
    }
    assert_eq!(m.info().cached_plans, 2);
}
