//! `Model` for JS: load from bytes, describe, run. The npm wrapper (pkg/src/model/model-impl.ts) adds URL
//! fetching with progress, async, and the FinalizationRegistry safety net.

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use js_sys::{Object, Reflect};
use serde::Deserialize;
use wasm_bindgen::prelude::*;

use super::{tensor, to_js, to_js_error};
use crate::error::Error;
use crate::model::{BackendChoice, LoadOptions, Model};

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct JsLoadOptions {
    backend: Option<String>,
    sha256: Option<String>,
    input_shapes: Option<HashMap<String, Vec<f64>>>,
    max_tensor_bytes: Option<f64>,
    plan_cache_size: Option<f64>,
    allow_non_finite: Option<bool>,
    /// The bytes' sha256, computed by our JS (`crypto.subtle`); see `LoadOptions::digest`.
    digest: Option<String>,
}

pub(crate) fn load_options(value: JsValue) -> Result<LoadOptions, Error> {
    Ok(parse_load_options(value)?.0)
}

/// Options and the digest our JS computed of the bytes, for the one-model load only: a
/// pipeline's options serve several files, which one digest cannot describe.
fn parse_load_options(value: JsValue) -> Result<(LoadOptions, Option<String>), Error> {
    let o: JsLoadOptions = if value.is_undefined() || value.is_null() {
        JsLoadOptions::default()
    } else {
        serde_wasm_bindgen::from_value(value).map_err(|e| Error::InvalidArgument(format!("load options: {e}")))?
    };
    let mut opts = LoadOptions::default();
    if let Some(b) = o.backend {
        opts.backend = b.parse::<BackendChoice>()?;
    }
    opts.sha256 = o.sha256;
    for (name, dims) in o.input_shapes.unwrap_or_default() {
        let dims = dims
            .iter()
            .map(|&d| {
                (d.fract() == 0.0 && d >= 1.0 && d <= u32::MAX as f64).then_some(d as usize).ok_or_else(|| {
                    Error::InvalidArgument(format!("inputShapes[\"{name}\"] must hold positive integers, found {d}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        opts.input_shapes.push((name, dims));
    }
    if let Some(m) = o.max_tensor_bytes {
        if m.is_nan() || m < 1.0 {
            return Err(Error::InvalidArgument(format!("maxTensorBytes must be positive, got {m}")));
        }
        opts.max_tensor_bytes = m as u64;
    }
    if let Some(n) = o.plan_cache_size {
        if !(1.0..=1024.0).contains(&n) {
            return Err(Error::InvalidArgument(format!("planCacheSize must be 1..1024, got {n}")));
        }
        opts.plan_cache_size = n as usize;
    }
    opts.allow_non_finite = o.allow_non_finite.unwrap_or(false);
    Ok((opts, o.digest))
}

/// Models alive in this wasm instance (loaded and not yet freed), for leak checks.
static LIVE_MODELS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn live_models() -> usize {
    LIVE_MODELS.load(std::sync::atomic::Ordering::Relaxed)
}

/// The wasm side of `Model`; JS users hold the wrapper from pkg/src/model/model-impl.ts. Shared with the
/// promise of a pending run, so `free()` during a run is safe (the run finishes first).
#[wasm_bindgen(js_name = WasmModel)]
pub struct WasmModel {
    inner: Rc<RefCell<Model>>,
}

impl Drop for WasmModel {
    fn drop(&mut self) {
        LIVE_MODELS.fetch_sub(1, std::sync::atomic::Ordering::Relaxed);
    }
}

pub(crate) fn busy() -> JsValue {
    to_js_error(&Error::Busy(
        "a run of this model is still pending: await it before starting the next (or load a second model)".into(),
    ))
}

#[wasm_bindgen(js_class = WasmModel)]
impl WasmModel {
    /// Loads a model from ONNX bytes; resolves once the chosen backend is ready. Options:
    /// `backend`, `sha256`, `inputShapes`, `maxTensorBytes`, `planCacheSize`.
    pub async fn load(bytes: Vec<u8>, options: JsValue) -> Result<WasmModel, JsValue> {
        let (mut opts, digest) = parse_load_options(options).map_err(|e| to_js_error(&e))?;
        opts.digest = digest;
        let inner = super::panic::unwinds(Model::load_async(bytes, &opts)).await.map_err(|e| to_js_error(&e))?;
        LIVE_MODELS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Ok(WasmModel { inner: Rc::new(RefCell::new(inner)) })
    }

    pub fn inputs(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.try_borrow().map_err(|_| busy())?.inputs())
    }

    pub fn outputs(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.try_borrow().map_err(|_| busy())?.outputs())
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.try_borrow().map_err(|_| busy())?.info())
    }

    /// `feeds`: `{ [inputName]: { dims, data, dtype? } }` → a promise of
    /// `{ [outputName]: { dims, data, dtype } }`. Feeds are copied before this returns.
    #[allow(clippy::await_holding_refcell_ref)]
    pub fn run(&self, feeds: &JsValue) -> Result<js_sys::Promise, JsValue> {
        let feeds_obj = feeds.dyn_ref::<Object>().filter(|_| !js_sys::Array::is_array(feeds)).ok_or_else(|| {
            to_js_error(&Error::InvalidArgument("run() takes an object mapping input names to tensors".into()))
        })?;
        let mut given = HashMap::new();
        for key in Object::keys(feeds_obj).iter() {
            let name = key.as_string().unwrap_or_default();
            let value = Reflect::get(feeds_obj, &key).unwrap_or(JsValue::UNDEFINED);
            given.insert(name.clone(), tensor::from_js(&name, &value).map_err(|e| to_js_error(&e))?);
        }
        let inner = self.inner.clone();
        Ok(wasm_bindgen_futures::future_to_promise(super::panic::catching("running the model", async move {
            // Held across the GPU wait on purpose: a second run meanwhile gets BUSY, never
            // interleaved state (the page is single-threaded, so this cannot deadlock).
            let mut model = inner.try_borrow_mut().map_err(|_| busy())?;
            let outputs = model.run_async(given).await.map_err(|e| to_js_error(&e))?;
            let result = Object::new();
            for (name, t) in outputs {
                let _ = Reflect::set(&result, &name.into(), &tensor::to_js(&t));
            }
            Ok(result.into())
        })))
    }
}

super::panic::handles_stay_usable!(WasmModel);
