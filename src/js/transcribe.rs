//! Speech to text for JS: `WasmTranscriber` (pkg/src/transcribe/transcriber.ts wraps it as `Transcriber`).
// As in speech.rs: the borrow is held across the await on purpose (BUSY on overlap).
#![allow(clippy::await_holding_refcell_ref)]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::Float32Array;
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::model::{busy, load_options};
use super::panic::unwinds;
use super::speech::rate;
use super::{to_js, to_js_error};
use crate::error::Error;
use crate::speech::whisper::{TranscribeOptions, Transcriber, TranscriberManifest};

fn js_err(e: Error) -> JsValue {
    to_js_error(&e)
}

#[wasm_bindgen(js_name = WasmTranscriber)]
pub struct WasmTranscriber {
    inner: Rc<RefCell<Transcriber>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TranscriberInfo {
    name: String,
    live: bool,
    models: Vec<crate::ModelInfo>,
}

macro_rules! with_inner {
    ($inner:expr, $what:expr, |$t:ident| $body:expr) => {{
        let inner = $inner.clone();
        future_to_promise(super::panic::catching($what, async move {
            let mut $t = inner.try_borrow_mut().map_err(|_| busy())?;
            $body
        }))
    }};
}

#[wasm_bindgen(js_class = WasmTranscriber)]
impl WasmTranscriber {
    /// `files`: the manifest's files in `TranscriberManifest::files` order; `transcribe`:
    /// `{ prompt?, noContext? }`.
    pub async fn create(
        manifest_json: String,
        files: Vec<js_sys::Uint8Array>,
        options: JsValue,
        transcribe: JsValue,
    ) -> Result<WasmTranscriber, JsValue> {
        let m = TranscriberManifest::parse(&manifest_json).map_err(js_err)?;
        let opts = load_options(options).map_err(js_err)?;
        let to: TranscribeOptions = if transcribe.is_undefined() || transcribe.is_null() {
            TranscribeOptions::default()
        } else {
            serde_wasm_bindgen::from_value(transcribe)
                .map_err(|e| js_err(Error::InvalidArgument(format!("transcribe options: {e}"))))?
        };
        let files: Vec<Vec<u8>> = files.iter().map(|f| f.to_vec()).collect();
        let t = unwinds(Transcriber::load(&m, files, &opts, to)).await.map_err(js_err)?;
        Ok(WasmTranscriber { inner: Rc::new(RefCell::new(t)) })
    }

    /// `{ text, segments, duration }` of a whole recording.
    pub fn transcribe(&self, samples: Float32Array, sample_rate: f64) -> Result<js_sys::Promise, JsValue> {
        let (s, r) = (samples.to_vec(), rate(sample_rate)?);
        Ok(with_inner!(self.inner, "transcribing", |t| to_js(&t.transcribe(&s, r).await.map_err(js_err)?)))
    }

    /// Live dictation: the events this chunk settled (`speechStart`, `speechEnd`, `segment`).
    pub fn feed(&self, samples: Float32Array, sample_rate: f64) -> Result<js_sys::Promise, JsValue> {
        let (s, r) = (samples.to_vec(), rate(sample_rate)?);
        Ok(with_inner!(self.inner, "transcribing a stream", |t| to_js(&t.feed(&s, r).await.map_err(js_err)?)))
    }

    pub fn finish(&self) -> js_sys::Promise {
        with_inner!(self.inner, "ending a stream", |t| to_js(&t.finish().await.map_err(js_err)?))
    }

    pub fn reset(&self) -> Result<(), JsValue> {
        self.inner.try_borrow_mut().map_err(|_| busy())?.reset();
        Ok(())
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        let t = self.inner.try_borrow().map_err(|_| busy())?;
        to_js(&TranscriberInfo {
            name: t.name().to_string(),
            live: t.can_listen(),
            models: t.models().iter().map(|m| m.info()).collect(),
        })
    }
}

super::panic::handles_stay_usable!(WasmTranscriber);
