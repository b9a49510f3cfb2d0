//! The wasm build in headless Chromium (launched with a SwiftShader WebGPU adapter).
#![cfg(target_arch = "wasm32")]

use shopfloor::js;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn get(v: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(v.clone(), |v, k| js_sys::Reflect::get(&v, &(*k).into()).unwrap())
}

#[wasm_bindgen_test]
async fn chromium_offers_cpu_and_a_webgpu_adapter() {
    let b = js::backends().await.unwrap();
    assert_eq!(get(&b, &["cpu", "available"]), JsValue::TRUE);
    let gpu = get(&b, &["webgpu"]);
    assert_eq!(get(&gpu, &["available"]), JsValue::TRUE, "webgpu: {:?}", get(&gpu, &["reason"]).as_string());
    assert_eq!(get(&gpu, &["adapter", "api"]).as_string().as_deref(), Some("webgpu"));
    // SwiftShader reports itself as a fallback (CPU) adapter.
    assert_eq!(get(&gpu, &["adapter", "isFallbackAdapter"]), JsValue::TRUE);
    assert!(get(&gpu, &["adapter", "maxBufferSize"]).as_f64().unwrap() >= 256.0 * 1024.0 * 1024.0);
}

// --- the CPU path in the browser agrees with onnxruntime (as the native path does) -------------

mod parity {
    use std::collections::HashMap;

    use shopfloor::{BackendChoice, BackendKind, HostTensor, LoadOptions, Model, TensorData};
    use wasm_bindgen_test::*;

    /// Reads the little-endian f32/i64 C-order `.npy` files that make_refs.py writes. Hand-written
    /// so that the wasm test build needs no dependency the package build lacks (same feature set,
    /// so `cargo test --release` reuses the package's compiled dependencies).
    fn npy(bytes: &[u8]) -> HostTensor {
        assert_eq!(&bytes[..6], b"\x93NUMPY", "not an .npy file");
        let (len, start) = if bytes[6] == 1 {
            (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10)
        } else {
            (u32::from_le_bytes(bytes[8..12].try_into().unwrap()) as usize, 12)
        };
        let header = std::str::from_utf8(&bytes[start..start + len]).unwrap();
        assert!(header.contains("'fortran_order': False"), "C order expected: {header}");
        let shape_at = header.find("'shape': (").unwrap() + 10;
        let shape_text = &header[shape_at..shape_at + header[shape_at..].find(')').unwrap()];
        let dims: Vec<usize> =
            shape_text.split(',').filter(|s| !s.trim().is_empty()).map(|s| s.trim().parse().unwrap()).collect();
        let body = &bytes[start + len..];
        if header.contains("'descr': '<f4'") {
            let v = body.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect();
            HostTensor::new(dims, TensorData::F32(v)).unwrap()
        } else if header.contains("'descr': '<i8'") {
            let v = body.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect();
            HostTensor::new(dims, TensorData::I64(v)).unwrap()
        } else {
            panic!("unsupported dtype in {header}")
        }
    }

    fn rel_err(got: &HostTensor, want: &HostTensor) -> f64 {
        let (TensorData::F32(a), TensorData::F32(b)) = (&got.data, &want.data) else { panic!("f32 outputs") };
        assert_eq!(got.dims, want.dims);
        let scale = b.iter().fold(0f64, |m, x| m.max(x.abs() as f64)).max(1e-12);
        a.iter().zip(b).fold(0f64, |m, (x, y)| m.max((x - y).abs() as f64)) / scale
    }

    fn check(model: &[u8], inputs: &[(&str, &[u8])], outputs: &[&[u8]]) {
        let mut m = Model::load(model, &LoadOptions::default()).unwrap();
        let feeds: HashMap<_, _> = inputs.iter().map(|(n, b)| (n.to_string(), npy(b))).collect();
        let got = m.run(feeds).unwrap();
        for ((name, g), want) in got.iter().zip(outputs) {
            let e = rel_err(g, &npy(want));
            assert!(e <= 1e-4, "{name}: relative error {e:.2e}");
        }
    }

    macro_rules! cache {
        ($p:literal) => {
            include_bytes!(concat!(env!("CARGO_MANIFEST_DIR"), "/models/cache/", $p)).as_slice()
        };
    }

    #[wasm_bindgen_test]
    fn blazeface_matches_onnxruntime_in_the_browser() {
        check(
            cache!("blazeface/face_detection_front_128.onnx"),
            &[("input:0", cache!("refs/blazeface_128/input_input_0.npy"))],
            &[
                cache!("refs/blazeface_128/output_Identity_0.npy"),
                cache!("refs/blazeface_128/output_Identity_1_0.npy"),
                cache!("refs/blazeface_128/output_Identity_2_0.npy"),
                cache!("refs/blazeface_128/output_Identity_3_0.npy"),
            ],
        );
    }

    #[wasm_bindgen_test]
    fn openwakeword_front_end_matches_onnxruntime_in_the_browser() {
        check(
            cache!("openwakeword/melspectrogram.onnx"),
            &[("input", cache!("refs/oww_melspectrogram/input_input.npy"))],
            &[cache!("refs/oww_melspectrogram/output_output.npy")],
        );
        check(
            cache!("openwakeword/embedding_model.onnx"),
            &[("input_1", cache!("refs/oww_embedding/input_input_1.npy"))],
            &[cache!("refs/oww_embedding/output_conv2d_19.npy")],
        );
    }

    #[wasm_bindgen_test]
    fn silero_vad_matches_onnxruntime_in_the_browser() {
        check(
            cache!("silero/silero_vad_op18_ifless.onnx"),
            &[
                ("input", cache!("refs/silero_vad/input_input.npy")),
                ("sr", cache!("refs/silero_vad/input_sr.npy")),
                ("state", cache!("refs/silero_vad/input_state.npy")),
            ],
            &[cache!("refs/silero_vad/output_output.npy"), cache!("refs/silero_vad/output_stateN.npy")],
        );
    }

    #[wasm_bindgen_test]
    fn ppocr_cls_matches_onnxruntime_in_the_browser() {
        check(
            cache!("ppocr/ppocr_cls.onnx"),
            &[("x", cache!("refs/ppocr_cls_48x192/input_x.npy"))],
            &[cache!("refs/ppocr_cls_48x192/output_save_infer_model_scale_0.tmp_1.npy")],
        );
    }

    // --- the WebGPU backend in Chromium (SwiftShader): the same answers as onnxruntime ---------

    async fn check_gpu(model: &[u8], inputs: &[(&str, &[u8])], outputs: &[&[u8]]) -> Model {
        let feeds: HashMap<_, _> = inputs.iter().map(|(n, b)| (n.to_string(), npy(b))).collect();
        let input_shapes = feeds.iter().map(|(n, t)| (n.clone(), t.dims.clone())).collect();
        let opts = LoadOptions { backend: BackendChoice::Webgpu, input_shapes, ..Default::default() };
        let mut m = Model::load_async(model, &opts).await.unwrap();
        assert_eq!(m.info().backend, BackendKind::Webgpu);
        let got = m.run_async(feeds).await.unwrap();
        assert_eq!(m.info().backend, BackendKind::Webgpu, "{}", m.info().backend_reason);
        for ((name, g), want) in got.iter().zip(outputs) {
            let e = rel_err(g, &npy(want));
            assert!(e <= 1e-3, "{name}: relative error {e:.2e}");
        }
        m
    }

    #[wasm_bindgen_test]
    async fn blazeface_on_webgpu_matches_onnxruntime() {
        check_gpu(
            cache!("blazeface/face_detection_front_128.onnx"),
            &[("input:0", cache!("refs/blazeface_128/input_input_0.npy"))],
            &[
                cache!("refs/blazeface_128/output_Identity_0.npy"),
                cache!("refs/blazeface_128/output_Identity_1_0.npy"),
                cache!("refs/blazeface_128/output_Identity_2_0.npy"),
                cache!("refs/blazeface_128/output_Identity_3_0.npy"),
            ],
        )
        .await;
    }

    #[wasm_bindgen_test]
    async fn ppocr_cls_and_openwakeword_on_webgpu_match_onnxruntime() {
        check_gpu(
            cache!("ppocr/ppocr_cls.onnx"),
            &[("x", cache!("refs/ppocr_cls_48x192/input_x.npy"))],
            &[cache!("refs/ppocr_cls_48x192/output_save_infer_model_scale_0.tmp_1.npy")],
        )
        .await;
        check_gpu(
            cache!("openwakeword/melspectrogram.onnx"),
            &[("input", cache!("refs/oww_melspectrogram/input_input.npy"))],
            &[cache!("refs/oww_melspectrogram/output_output.npy")],
        )
        .await;
        check_gpu(
            cache!("openwakeword/embedding_model.onnx"),
            &[("input_1", cache!("refs/oww_embedding/input_input_1.npy"))],
            &[cache!("refs/oww_embedding/output_conv2d_19.npy")],
        )
        .await;
    }

    #[wasm_bindgen_test]
    async fn a_lost_device_moves_the_model_to_the_cpu_and_the_run_still_answers() {
        let input = cache!("refs/blazeface_128/input_input_0.npy");
        let want = cache!("refs/blazeface_128/output_Identity_0.npy");
        let mut m = check_gpu(cache!("blazeface/face_detection_front_128.onnx"), &[("input:0", input)], &[want]).await;
        shopfloor::backend::gpu::context::shared().await.unwrap().device.destroy();
        let got = m.run_async(HashMap::from([("input:0".to_string(), npy(input))])).await.unwrap();
        let info = m.info();
        assert_eq!(info.backend, BackendKind::Cpu);
        assert!(info.backend_reason.contains("WebGPU failure"), "{}", info.backend_reason);
        assert!(rel_err(&got[0].1, &npy(want)) <= 1e-4);
        // A model loaded afterwards gets a fresh device.
        check_gpu(cache!("blazeface/face_detection_front_128.onnx"), &[("input:0", input)], &[want]).await;
    }
}
