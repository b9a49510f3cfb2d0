use wasm_bindgen::JsValue;

/// A JS `Error` whose `code` property carries the stable `ErrorCode` and whose `name` is
/// `ShopfloorError`, so callers can `switch (e.code)`.
pub fn to_js_error(err: &crate::Error) -> JsValue {
    let js = js_sys::Error::new(&err.to_string());
    js.set_name("ShopfloorError");
    // Reflect::set on a fresh Error object cannot fail.
    let _ = js_sys::Reflect::set(&js, &"code".into(), &err.code().as_str().into());
    js.into()
}
