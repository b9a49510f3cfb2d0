//! The wasm build under node: the module instantiates, the JS layer answers, errors carry codes.
#![cfg(target_arch = "wasm32")]

use shopfloor::js;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_test::*;

fn get(v: &JsValue, path: &[&str]) -> JsValue {
    path.iter().fold(v.clone(), |v, k| js_sys::Reflect::get(&v, &(*k).into()).unwrap())
}

#[wasm_bindgen_test]
fn version_matches_the_crate() {
    assert_eq!(js::version(), env!("CARGO_PKG_VERSION"));
}

#[wasm_bindgen_test]
async fn node_has_cpu_but_no_webgpu_and_says_why() {
    let b = js::backends().await.unwrap();
    assert_eq!(get(&b, &["cpu", "available"]), JsValue::TRUE);
    assert_eq!(get(&b, &["cpu", "simd"]).as_string().as_deref(), Some("simd128"));
    assert_eq!(get(&b, &["webgpu", "available"]), JsValue::FALSE);
    let reason = get(&b, &["webgpu", "reason"]).as_string().unwrap();
    assert!(reason.contains("navigator"), "reason should name what is missing: {reason}");
}

#[wasm_bindgen_test]
fn errors_reach_js_with_a_code() {
    let e = js::to_js_error(&shopfloor::Error::BackendUnavailable {
        backend: "webgpu".into(),
        reason: "no adapter".into(),
    });
    assert!(e.is_instance_of::<js_sys::Error>());
    assert_eq!(get(&e, &["code"]).as_string().as_deref(), Some("BACKEND_UNAVAILABLE"));
    assert_eq!(get(&e, &["name"]).as_string().as_deref(), Some("ShopfloorError"));
}
