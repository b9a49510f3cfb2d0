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

/// Axes fed at run time (CumSum's, CumProd's): one outside the input is INPUT_MISMATCH quoting
/// it, before anything runs (a fuzz finding: CumProd's was INTERNAL), and the model still answers.
#[test]
fn an_axis_outside_the_input_is_input_mismatch() {
    use common::onnx::{model, node, value_info, F32, I64};
    for op in ["CumSum", "CumProd"] {
        let bytes = model(
            vec![node(op, &["x", "a"], &["y"], vec![])],
            vec![value_info("x", F32, &[2, 3]), value_info("a", I64, &[])],
            vec![value_info("y", F32, &[2, 3])],
            |_| {},
        );
        let mut m = Model::load(&bytes, &LoadOptions::default()).unwrap();
        let x = || HostTensor::f32(vec![2, 3], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0]).unwrap();
        for bad in [2, -3, 4414089485281606400, i64::MIN] {
            let e = m.run(feeds(vec![("x", x()), ("a", i64s(&[], &[bad]))])).unwrap_err();
            assert_eq!(e.code(), ErrorCode::InputMismatch, "{op} axis {bad}: {e}");
            assert!(e.to_string().contains(&format!("\"a\" = {bad}")), "{e}");
        }
        let out = m.run(feeds(vec![("x", x()), ("a", i64s(&[], &[-1]))])).unwrap();
        let want = if op == "CumSum" { [1.0, 3.0, 6.0, 4.0, 9.0, 15.0] } else { [1.0, 2.0, 6.0, 4.0, 20.0, 120.0] };
        assert_eq!(out[0].1.data, TensorData::F32(want.to_vec()), "{op}");
    }
}

/// Negative sizes (a fuzz finding: tract asserted on them while folding the value in) and
/// negative pads are INPUT_MISMATCH, and the model still answers.
#[test]
fn negative_sizes_and_negative_pads_are_input_mismatch() {
    let Some(mut m) = load("constant_of_shape") else { return };
    for bad in [[-176, -1], [2, -3]] {
        let e = m.run(feeds(vec![("s", i64s(&[2], &bad))])).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InputMismatch, "{bad:?}: {e}");
        assert!(e.to_string().contains("negative"), "{e}");
    }
    assert_eq!(m.run(feeds(vec![("s", i64s(&[2], &[1, 1]))])).unwrap()[0].1.dims, vec![1, 1]);
    let Some(mut m) = load("pad") else { return };
    let x = || HostTensor::f32(vec![2, 3], vec![0.0; 6]).unwrap();
    // tract pads in unsigned arithmetic: ONNX's negative pads (cropping) are refused, saying so.
    for bad in [[0, -5, 0, -5], [0, -1, 0, 0]] {
        let e = m.run(feeds(vec![("x", x()), ("p", i64s(&[4], &bad))])).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InputMismatch, "{e}");
        assert!(e.to_string().contains("\"p\"") && e.to_string().contains("negative pad"), "{e}");
    }
    // Pads whose sum overflows (a fuzz finding: tract asserted on the wrapped dim).
    let huge = [3110627246629453824, 3, 8536140394893017088, 118];
    let e = m.run(feeds(vec![("x", x()), ("p", i64s(&[4], &huge))])).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceLimit, "{e}");
    let out = m.run(feeds(vec![("x", x()), ("p", i64s(&[4], &[0, 1, 0, 0]))])).unwrap();
    assert_eq!(out[0].1.dims, vec![2, 4]);
}

/// OneHot at depth 0 fed at run time: every index is outside, and there is no row to give, so
/// the indices are refused (a fuzz finding: tract indexed the empty axis).
#[test]
fn one_hot_at_depth_zero_refuses_the_indices() {
    let Some(mut m) = load("one_hot") else { return };
    let e = m.run(feeds(vec![("i", i64s(&[3], &[0, 0, 0])), ("d", i64s(&[1], &[0]))])).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InputMismatch, "{e}");
    assert!(e.to_string().contains("\"i\""), "{e}");
    let out = m.run(feeds(vec![("i", i64s(&[3], &[0, 1, 2])), ("d", i64s(&[1], &[3]))])).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0]));
}
