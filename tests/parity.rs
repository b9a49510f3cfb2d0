//! Real models nobody here trained, against onnxruntime's outputs on the same fixed-seed inputs
//! (tests/parity/make_refs.py): within 1e-4 of each output's scale.

mod common;

use std::collections::HashMap;

use common::*;
use shopfloor::{LoadOptions, Model};

const TOLERANCE: f64 = 1e-4;

fn check(case_name: &str) {
    let Some(dir) = cached(&format!("refs/{case_name}")) else { return };
    let case = read_case(&dir, &cache());
    let bytes = std::fs::read(&case.model).unwrap();
    let mut model =
        Model::load(&bytes, &LoadOptions::default()).unwrap_or_else(|e| panic!("{case_name}: {} {e}", e.code()));
    let feeds: HashMap<_, _> = case.inputs.iter().map(|(n, f)| (n.clone(), read_npy(f))).collect();
    let outputs = model.run(feeds).unwrap_or_else(|e| panic!("{case_name}: {} {e}", e.code()));
    assert_eq!(outputs.len(), case.outputs.len());
    for ((want_name, file), (name, got)) in case.outputs.iter().zip(&outputs) {
        assert_eq!(want_name, name);
        let err = relative_error(got, &read_npy(file));
        println!("{case_name} {name}: relative error {err:.2e}");
        assert!(err <= TOLERANCE, "{case_name} output {name}: relative error {err:.2e} > {TOLERANCE:.0e}");
    }
}

#[test]
fn blazeface_front_128() {
    check("blazeface_128");
}

#[test]
fn ppocr_v4_det_640() {
    check("ppocr_det_640");
}

#[test]
fn ppocr_v4_det_other_shape_compiles_its_own_plan() {
    check("ppocr_det_320x480");
}

#[test]
fn ppocr_v4_rec_48x320() {
    check("ppocr_rec_48x320");
}

#[test]
fn ppocr_cls_48x192() {
    check("ppocr_cls_48x192");
}

#[test]
fn openwakeword_melspectrogram() {
    check("oww_melspectrogram");
}

#[test]
fn openwakeword_embedding() {
    check("oww_embedding");
}

#[test]
fn silero_vad_op18_ifless() {
    check("silero_vad");
}

#[test]
fn one_model_runs_at_several_shapes_with_a_bounded_cache() {
    let Some(path) = cached("ppocr/ppocrv4_det.onnx") else { return };
    let opts = LoadOptions { plan_cache_size: 2, ..Default::default() };
    let mut model = Model::load(&std::fs::read(path).unwrap(), &opts).unwrap();
    assert_eq!(model.info().plan, "per-shape");
    for (h, w) in [(64, 64), (64, 96), (96, 64), (64, 64)] {
        let x = shopfloor::HostTensor::f32(vec![1, 3, h, w], vec![0.5; 3 * h * w]).unwrap();
        let out = model.run(HashMap::from([("x".to_string(), x)])).unwrap();
        assert_eq!(out[0].1.dims, vec![1, 1, h, w]);
        assert!(model.info().cached_plans <= 2);
    }
    assert_eq!(model.info().cached_plans, 2);
}
