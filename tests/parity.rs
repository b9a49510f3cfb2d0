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

/// Silero VAD's standard file: an `If` on the `sr` input picks the 16 kHz or the 8 kHz network,
/// and inside each, `If`s on shapes whose untaken branch cannot type-check. Streamed as
/// silero-vad's wrapper streams it, the state carried, against onnxruntime frame by frame
/// (tests/parity/make_stream_refs.py); one model answers both rates, alternately.
#[test]
fn silero_vad_standard_streams_at_16k_and_8k() {
    use shopfloor::{HostTensor, TensorData};
    let Some(path) = cached("silero/silero_vad.onnx") else { return };
    let mut model = Model::load(&std::fs::read(path).unwrap(), &LoadOptions::default()).unwrap();
    let mut streams = vec![];
    for rate in [16000i64, 8000] {
        let Some(dir) = cached(&format!("refs/silero_stream_{rate}")) else { return };
        let frames = read_npy(&dir.join("frames.npy"));
        let probs = as_f64(&read_npy(&dir.join("probs.npy")));
        let state = read_npy(&dir.join("state.npy"));
        streams.push((rate, frames, probs, state, HostTensor::f32(vec![2, 1, 128], vec![0.0; 256]).unwrap()));
    }
    let n = streams[0].2.len();
    for i in 0..n {
        for (rate, frames, probs, _, state) in streams.iter_mut() {
            let len = frames.dims[1];
            let TensorData::F32(all) = &frames.data else { panic!("frames are f32") };
            let x = HostTensor::f32(vec![1, len], all[i * len..(i + 1) * len].to_vec()).unwrap();
            let sr = HostTensor::new(vec![], TensorData::I64(vec![*rate])).unwrap();
            let feeds =
                HashMap::from([("input".to_string(), x), ("state".to_string(), state.clone()), ("sr".to_string(), sr)]);
            let out = model.run(feeds).unwrap_or_else(|e| panic!("{rate} Hz frame {i}: {} {e}", e.code()));
            let p = as_f64(&out[0].1)[0];
            assert!((p - probs[i]).abs() < 1e-4, "{rate} Hz frame {i}: {p} vs onnxruntime {}", probs[i]);
            *state = out[1].1.clone();
        }
    }
    for (rate, _, probs, want, state) in &streams {
        let err = relative_error(state, want);
        assert!(err < 1e-4, "{rate} Hz final state: relative error {err:.2e}");
        assert!(probs.iter().any(|&p| p > 0.9) && probs.iter().any(|&p| p < 0.1), "{rate} Hz: {probs:?}");
    }
}
