//! The vision pipelines for JS. Frames arrive as RGBA bytes (pkg/src/vision/frames.ts turns videos, images,
//! canvases, bitmaps and `VideoFrame`s into `ImageData`); results leave as plain objects.
// Each pipeline's borrow is held across its model's await on purpose, as in model.rs: a second
// call meanwhile gets BUSY, never interleaved state (the page is single-threaded).
#![allow(clippy::await_holding_refcell_ref)]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Float32Array, Object, Reflect, Uint8ClampedArray};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::model::{busy, load_options};
use super::panic::unwinds;
use super::{to_js, to_js_error};
use crate::error::Error;
use crate::vision::manifest::Manifest;
use crate::vision::svm::{LinearSvm, SvmOptions};
use crate::vision::{load, FaceDetector, ImageClassifier, ObjectDetector, RgbaImage, TextReader};

fn js_err(e: Error) -> JsValue {
    to_js_error(&e)
}

fn frame(width: u32, height: u32, rgba: Vec<u8>) -> Result<RgbaImage, JsValue> {
    RgbaImage::new(width as usize, height as usize, rgba).map_err(js_err)
}

/// `fixedSide` as given: a whole number (its range is `round_side`'s to check).
fn whole_pixels(v: &JsValue) -> Result<usize, Error> {
    match v.as_f64() {
        Some(x) if x.fract() == 0.0 && (0.0..=u32::MAX as f64).contains(&x) => Ok(x as usize),
        _ => Err(Error::InvalidArgument(format!(
            "fixedSide must be a whole number of pixels (32..4096), got {}",
            v.as_f64().map_or_else(|| format!("{v:?}"), |x| x.to_string())
        ))),
    }
}

fn manifest(json: &str, task: &str) -> Result<Manifest, JsValue> {
    let m = Manifest::parse(json).map_err(js_err)?;
    m.expect_task(task).map_err(js_err)?;
    Ok(m)
}

/// Runs `f` on the pipeline inside a promise; a second call while one is pending gets BUSY.
macro_rules! with_pipeline {
    ($inner:expr, |$p:ident| $body:expr) => {{
        let inner = $inner.clone();
        future_to_promise(super::panic::catching("running the vision pipeline", async move {
            let mut $p = inner.try_borrow_mut().map_err(|_| busy())?;
            $body
        }))
    }};
}

#[wasm_bindgen(js_name = WasmImageClassifier)]
pub struct WasmImageClassifier {
    inner: Rc<RefCell<ImageClassifier>>,
}

#[wasm_bindgen(js_class = WasmImageClassifier)]
impl WasmImageClassifier {
    pub async fn create(
        manifest_json: String,
        model: Vec<u8>,
        options: JsValue,
    ) -> Result<WasmImageClassifier, JsValue> {
        let Manifest::Classification(m) = manifest(&manifest_json, "classification")? else { unreachable!() };
        let opts = load_options(options).map_err(js_err)?;
        let c = unwinds(load::classifier(m, &model, &opts)).await.map_err(js_err)?;
        Ok(WasmImageClassifier { inner: Rc::new(RefCell::new(c)) })
    }

    pub fn labels(&self) -> Result<JsValue, JsValue> {
        to_js(self.inner.try_borrow().map_err(|_| busy())?.labels())
    }

    #[wasm_bindgen(js_name = embeddingSize)]
    pub fn embedding_size(&self) -> Result<Option<u32>, JsValue> {
        Ok(self.inner.try_borrow().map_err(|_| busy())?.embedding_size().map(|n| n as u32))
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.try_borrow().map_err(|_| busy())?.model().info())
    }

    pub fn classify(&self, width: u32, height: u32, rgba: Vec<u8>, top_k: u32) -> Result<js_sys::Promise, JsValue> {
        let img = frame(width, height, rgba)?;
        Ok(with_pipeline!(self.inner, |c| to_js(&c.classify(&img, top_k as usize).await.map_err(js_err)?)))
    }

    pub fn embed(&self, width: u32, height: u32, rgba: Vec<u8>) -> Result<js_sys::Promise, JsValue> {
        let img = frame(width, height, rgba)?;
        Ok(with_pipeline!(self.inner, |c| {
            let v = c.embed(&img).await.map_err(js_err)?;
            Ok(Float32Array::from(v.as_slice()).into())
        }))
    }

    /// Resolves to `{ label, score, classIndex, width, height, heat: Float32Array, rgba: Uint8ClampedArray }`.
    pub fn explain(
        &self,
        width: u32,
        height: u32,
        rgba: Vec<u8>,
        class_index: Option<u32>,
    ) -> Result<js_sys::Promise, JsValue> {
        let img = frame(width, height, rgba)?;
        Ok(with_pipeline!(self.inner, |c| {
            let (cls, sal) = c.explain(&img, class_index.map(|i| i as usize)).await.map_err(js_err)?;
            let out: Object = to_js(&cls)?.into();
            let _ = Reflect::set(&out, &"width".into(), &(sal.width as u32).into());
            let _ = Reflect::set(&out, &"height".into(), &(sal.height as u32).into());
            let _ = Reflect::set(&out, &"heat".into(), &Float32Array::from(sal.values.as_slice()));
            let _ = Reflect::set(&out, &"rgba".into(), &Uint8ClampedArray::from(sal.to_rgba().as_slice()));
            Ok(out.into())
        }))
    }
}

#[wasm_bindgen(js_name = WasmFaceDetector)]
pub struct WasmFaceDetector {
    inner: Rc<RefCell<FaceDetector>>,
}

#[wasm_bindgen(js_class = WasmFaceDetector)]
impl WasmFaceDetector {
    pub async fn create(manifest_json: String, model: Vec<u8>, options: JsValue) -> Result<WasmFaceDetector, JsValue> {
        let Manifest::FaceDetection(m) = manifest(&manifest_json, "face-detection")? else { unreachable!() };
        let opts = load_options(options).map_err(js_err)?;
        let d = unwinds(load::face_detector(m, &model, &opts)).await.map_err(js_err)?;
        Ok(WasmFaceDetector { inner: Rc::new(RefCell::new(d)) })
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.try_borrow().map_err(|_| busy())?.model().info())
    }

    #[wasm_bindgen(js_name = setThresholds)]
    pub fn set_thresholds(&self, score: Option<f32>, iou: Option<f32>) -> Result<(), JsValue> {
        self.inner.try_borrow_mut().map_err(|_| busy())?.set_thresholds(score, iou).map_err(js_err)
    }

    pub fn detect(&self, width: u32, height: u32, rgba: Vec<u8>) -> Result<js_sys::Promise, JsValue> {
        let img = frame(width, height, rgba)?;
        Ok(with_pipeline!(self.inner, |d| to_js(&d.detect(&img).await.map_err(js_err)?)))
    }
}

#[wasm_bindgen(js_name = WasmObjectDetector)]
pub struct WasmObjectDetector {
    inner: Rc<RefCell<ObjectDetector>>,
}

#[wasm_bindgen(js_class = WasmObjectDetector)]
impl WasmObjectDetector {
    pub async fn create(
        manifest_json: String,
        model: Vec<u8>,
        options: JsValue,
    ) -> Result<WasmObjectDetector, JsValue> {
        let Manifest::ObjectDetection(m) = manifest(&manifest_json, "object-detection")? else { unreachable!() };
        let opts = load_options(options).map_err(js_err)?;
        let d = unwinds(load::object_detector(m, &model, &opts)).await.map_err(js_err)?;
        Ok(WasmObjectDetector { inner: Rc::new(RefCell::new(d)) })
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.try_borrow().map_err(|_| busy())?.model().info())
    }

    pub fn detect(&self, width: u32, height: u32, rgba: Vec<u8>) -> Result<js_sys::Promise, JsValue> {
        let img = frame(width, height, rgba)?;
        Ok(with_pipeline!(self.inner, |d| to_js(&d.detect(&img).await.map_err(js_err)?)))
    }
}

#[wasm_bindgen(js_name = WasmTextReader)]
pub struct WasmTextReader {
    inner: Rc<RefCell<TextReader>>,
}

#[wasm_bindgen(js_class = WasmTextReader)]
impl WasmTextReader {
    /// `files`: the detector, recogniser and (if the manifest names one) orientation model bytes;
    /// `fixed_side`: the caller's `fixedSide`, overriding the manifest's (undefined: keep it).
    pub async fn create(
        manifest_json: String,
        files: Vec<js_sys::Uint8Array>,
        options: JsValue,
        fixed_side: JsValue,
    ) -> Result<WasmTextReader, JsValue> {
        let Manifest::TextReading(mut m) = manifest(&manifest_json, "text-reading")? else { unreachable!() };
        if !fixed_side.is_undefined() {
            m.detection.fixed_side = Some(whole_pixels(&fixed_side).map_err(js_err)?);
        }
        let opts = load_options(options).map_err(js_err)?;
        let files: Vec<Vec<u8>> = files.iter().map(|f| f.to_vec()).collect();
        let r = unwinds(load::text_reader(m, &files, &opts)).await.map_err(js_err)?;
        Ok(WasmTextReader { inner: Rc::new(RefCell::new(r)) })
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        let r = self.inner.try_borrow().map_err(|_| busy())?;
        to_js(&r.models().iter().map(|m| m.info()).collect::<Vec<_>>())
    }

    pub fn read(&self, width: u32, height: u32, rgba: Vec<u8>) -> Result<js_sys::Promise, JsValue> {
        let img = frame(width, height, rgba)?;
        Ok(with_pipeline!(self.inner, |r| to_js(&r.read(&img).await.map_err(js_err)?)))
    }
}

/// The trainable head; features in, labels out (pkg/src/vision/linear-svm.ts adds frames via an embedder).
#[wasm_bindgen(js_name = WasmLinearSvm)]
pub struct WasmLinearSvm {
    inner: LinearSvm,
}

#[wasm_bindgen(js_class = WasmLinearSvm)]
impl WasmLinearSvm {
    #[wasm_bindgen(constructor)]
    pub fn new(dim: u32, options: JsValue) -> Result<WasmLinearSvm, JsValue> {
        let opts: SvmOptions = if options.is_undefined() || options.is_null() {
            SvmOptions::default()
        } else {
            #[derive(serde::Deserialize, Default)]
            #[serde(rename_all = "camelCase", default, deny_unknown_fields)]
            struct O {
                c: Option<f32>,
                tolerance: Option<f32>,
                max_iterations: Option<usize>,
            }
            let o: O = serde_wasm_bindgen::from_value(options)
                .map_err(|e| js_err(Error::InvalidArgument(format!("LinearSvm options: {e}"))))?;
            let d = SvmOptions::default();
            SvmOptions {
                c: o.c.unwrap_or(d.c),
                tolerance: o.tolerance.unwrap_or(d.tolerance),
                max_iterations: o.max_iterations.unwrap_or(d.max_iterations),
                ..d
            }
        };
        Ok(WasmLinearSvm { inner: LinearSvm::new(dim as usize, opts).map_err(js_err)? })
    }

    #[wasm_bindgen(js_name = addExample)]
    pub fn add_example(&mut self, features: Vec<f32>, label: &str) -> Result<(), JsValue> {
        self.inner.add_example(&features, label).map_err(js_err)
    }

    pub fn train(&mut self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.train().map_err(js_err)?)
    }

    pub fn predict(&self, features: Vec<f32>) -> Result<JsValue, JsValue> {
        to_js(&self.inner.predict(&features).map_err(js_err)?)
    }

    pub fn classes(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.classes)
    }

    /// Examples per class, in `classes()` order.
    pub fn counts(&self) -> Vec<u32> {
        let mut c = vec![0u32; self.inner.classes.len()];
        for (_, k) in &self.inner.examples {
            c[*k] += 1;
        }
        c
    }

    #[wasm_bindgen(js_name = isTrained)]
    pub fn is_trained(&self) -> bool {
        self.inner.is_trained()
    }

    pub fn dim(&self) -> u32 {
        self.inner.dim as u32
    }

    #[wasm_bindgen(js_name = toJson)]
    pub fn to_json(&self) -> String {
        self.inner.to_json()
    }

    #[wasm_bindgen(js_name = fromJson)]
    pub fn from_json(json: &str) -> Result<WasmLinearSvm, JsValue> {
        Ok(WasmLinearSvm { inner: LinearSvm::from_json(json).map_err(js_err)? })
    }
}

super::panic::handles_stay_usable!(
    WasmImageClassifier,
    WasmFaceDetector,
    WasmObjectDetector,
    WasmTextReader,
    WasmLinearSvm
);
