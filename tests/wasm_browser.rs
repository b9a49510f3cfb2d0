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
    assert_eq!(
        get(&gpu, &["available"]),
        JsValue::TRUE,
        "webgpu: {:?}",
        get(&gpu, &["reason"]).as_string()
    );
    assert_eq!(get(&gpu, &["adapter", "api"]).as_string().as_deref(), Some("webgpu"));
    // SwiftShader reports itself as a fallback (CPU) adapter.
    assert_eq!(get(&gpu, &["adapter", "isFallbackAdapter"]), JsValue::TRUE);
    assert!(get(&gpu, &["adapter", "maxBufferSize"]).as_f64().unwrap() >= 256.0 * 1024.0 * 1024.0);
}
