//! The speech pipelines for JS: `VoiceCommands`, `KeywordSpotter`, `Vad`. Samples arrive as
//! `Float32Array`s at any rate (pkg/src/speech/microphone.ts captures the microphone in an AudioWorklet);
//! events leave as plain objects.
// As in vision.rs: the pipeline's borrow is held across the await on purpose (BUSY on overlap).
#![allow(clippy::await_holding_refcell_ref)]

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Array, Float32Array, Reflect};
use serde::Serialize;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::future_to_promise;

use super::model::{busy, load_options};
use super::panic::unwinds;
use super::{to_js, to_js_error};
use crate::error::Error;
use crate::speech::{
    load, EnrolledCommand, KeywordSpotter, SpeechManifest, Vad, VadOptions, VoiceCommands, VoiceOptions,
};

fn js_err(e: Error) -> JsValue {
    to_js_error(&e)
}

fn bad(m: &str) -> JsValue {
    js_err(Error::InvalidArgument(m.into()))
}

fn manifest(json: &str) -> Result<SpeechManifest, JsValue> {
    SpeechManifest::parse(json).map_err(js_err)
}

fn options<T: serde::de::DeserializeOwned + Default>(v: &JsValue, what: &str) -> Result<T, JsValue> {
    if v.is_undefined() || v.is_null() {
        return Ok(T::default());
    }
    serde_wasm_bindgen::from_value(v.clone()).map_err(|e| bad(&format!("{what}: {e}")))
}

pub(super) fn rate(sample_rate: f64) -> Result<u32, JsValue> {
    if sample_rate.fract() != 0.0 || !(1.0..=1e6).contains(&sample_rate) {
        return Err(bad(&format!("sampleRate must be a whole number of Hz (e.g. 48000), not {sample_rate}")));
    }
    Ok(sample_rate as u32)
}

macro_rules! with_inner {
    ($inner:expr, |$p:ident| $body:expr) => {{
        let inner = $inner.clone();
        future_to_promise(super::panic::catching("processing audio", async move {
            let mut $p = inner.try_borrow_mut().map_err(|_| busy())?;
            $body
        }))
    }};
}

#[wasm_bindgen(js_name = WasmVoiceCommands)]
pub struct WasmVoiceCommands {
    inner: Rc<RefCell<VoiceCommands>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct VoiceInfo {
    commands: Vec<String>,
    words: Vec<String>,
    threshold: f64,
    models: Vec<crate::ModelInfo>,
}

#[wasm_bindgen(js_class = WasmVoiceCommands)]
impl WasmVoiceCommands {
    /// `files`: mel spectrogram, embedding, command head, VAD bytes (the manifest's order).
    pub async fn create(
        manifest_json: String,
        files: Vec<js_sys::Uint8Array>,
        options: JsValue,
        voice: JsValue,
    ) -> Result<WasmVoiceCommands, JsValue> {
        let m = manifest(&manifest_json)?;
        let opts = load_options(options).map_err(js_err)?;
        let vo: VoiceOptions = self::options(&voice, "voice options")?;
        let files: Vec<Vec<u8>> = files.iter().map(|f| f.to_vec()).collect();
        let vc = unwinds(load::voice_commands(m, &files, &opts, vo)).await.map_err(js_err)?;
        Ok(WasmVoiceCommands { inner: Rc::new(RefCell::new(vc)) })
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        let v = self.inner.try_borrow().map_err(|_| busy())?;
        to_js(&VoiceInfo {
            commands: v.commands(),
            words: v.manifest().words.clone(),
            threshold: v.manifest().threshold,
            models: v.models_info(),
        })
    }

    #[wasm_bindgen(js_name = vadProbability)]
    pub fn vad_probability(&self) -> Result<f32, JsValue> {
        Ok(self.inner.try_borrow().map_err(|_| busy())?.vad_probability())
    }

    /// Events settled by this chunk: `[{ type: "command" | "speechStart" | "speechEnd", ... }]`.
    pub fn feed(&self, samples: Float32Array, sample_rate: f64) -> Result<js_sys::Promise, JsValue> {
        let (s, r) = (samples.to_vec(), rate(sample_rate)?);
        Ok(with_inner!(self.inner, |v| to_js(&v.feed(&s, r).await.map_err(js_err)?)))
    }

    pub fn finish(&self) -> js_sys::Promise {
        with_inner!(self.inner, |v| to_js(&v.finish().await.map_err(js_err)?))
    }

    pub fn reset(&self) -> Result<(), JsValue> {
        self.inner.try_borrow_mut().map_err(|_| busy())?.reset();
        Ok(())
    }

    /// `recordings`: `[{ samples: Float32Array, sampleRate }]`; resolves to the command's JSON.
    pub fn enrol(&self, name: String, recordings: Array) -> Result<js_sys::Promise, JsValue> {
        let mut takes = vec![];
        for r in recordings.iter() {
            let samples = Reflect::get(&r, &"samples".into())?
                .dyn_into::<Float32Array>()
                .map_err(|_| bad("each recording is { samples: Float32Array, sampleRate: number }"))?;
            let sr = Reflect::get(&r, &"sampleRate".into())?
                .as_f64()
                .ok_or_else(|| bad("each recording needs a numeric sampleRate"))?;
            takes.push((samples.to_vec(), rate(sr)?));
        }
        Ok(with_inner!(self.inner, |v| Ok(JsValue::from_str(&v.enrol(&name, &takes).await.map_err(js_err)?.to_json()))))
    }

    #[wasm_bindgen(js_name = addEnrolled)]
    pub fn add_enrolled(&self, json: String) -> Result<String, JsValue> {
        let cmd = EnrolledCommand::from_json(&json).map_err(js_err)?;
        let name = cmd.name.clone();
        self.inner.try_borrow_mut().map_err(|_| busy())?.add_enrolled(cmd).map_err(js_err)?;
        Ok(name)
    }

    #[wasm_bindgen(js_name = removeEnrolled)]
    pub fn remove_enrolled(&self, name: String) -> Result<bool, JsValue> {
        Ok(self.inner.try_borrow_mut().map_err(|_| busy())?.remove_enrolled(&name))
    }

    /// The enrolled commands as JSON strings (for saving).
    pub fn enrolled(&self) -> Result<Vec<String>, JsValue> {
        Ok(self.inner.try_borrow().map_err(|_| busy())?.enrolled().iter().map(EnrolledCommand::to_json).collect())
    }
}

#[wasm_bindgen(js_name = WasmKeywordSpotter)]
pub struct WasmKeywordSpotter {
    inner: Rc<RefCell<KeywordSpotter>>,
}

#[wasm_bindgen(js_class = WasmKeywordSpotter)]
impl WasmKeywordSpotter {
    /// `files`: mel spectrogram, embedding, command head bytes.
    pub async fn create(
        manifest_json: String,
        files: Vec<js_sys::Uint8Array>,
        options: JsValue,
    ) -> Result<WasmKeywordSpotter, JsValue> {
        let m = manifest(&manifest_json)?;
        let opts = load_options(options).map_err(js_err)?;
        let files: Vec<Vec<u8>> = files.iter().map(|f| f.to_vec()).collect();
        let k = unwinds(load::keyword_spotter(&m, &files, &opts)).await.map_err(js_err)?;
        Ok(WasmKeywordSpotter { inner: Rc::new(RefCell::new(k)) })
    }

    /// Frames: `[{ index, time, posteriors }]` (posteriors: the manifest's words, then filler).
    pub fn feed(&self, samples: Float32Array, sample_rate: f64) -> Result<js_sys::Promise, JsValue> {
        let (s, r) = (samples.to_vec(), rate(sample_rate)?);
        Ok(with_inner!(self.inner, |k| to_js(&k.feed(&s, r).await.map_err(js_err)?)))
    }

    pub fn reset(&self) -> Result<(), JsValue> {
        self.inner.try_borrow_mut().map_err(|_| busy())?.reset();
        Ok(())
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.try_borrow().map_err(|_| busy())?.models().iter().map(|m| m.info()).collect::<Vec<_>>())
    }
}

#[wasm_bindgen(js_name = WasmVad)]
pub struct WasmVad {
    inner: Rc<RefCell<(Vad, crate::audio::To16k)>>,
}

#[derive(Serialize)]
struct VadOut {
    probabilities: Vec<(f64, f32)>,
    events: Vec<crate::speech::VadEvent>,
}

#[wasm_bindgen(js_class = WasmVad)]
impl WasmVad {
    /// `sha256`: the pinned hash of the Silero VAD file (or undefined).
    pub async fn create(
        model: Vec<u8>,
        sha256: Option<String>,
        options: JsValue,
        vad: JsValue,
    ) -> Result<WasmVad, JsValue> {
        let opts = load_options(options).map_err(js_err)?;
        let vo: VadOptions = self::options(&vad, "VAD options")?;
        let f = crate::speech::manifest::FileRef { file: String::new(), sha256 };
        let v = unwinds(load::vad(&f, &model, vo, &opts)).await.map_err(js_err)?;
        Ok(WasmVad { inner: Rc::new(RefCell::new((v, crate::audio::To16k::new()))) })
    }

    /// `{ probabilities: [[time, p]...] per 32 ms window, events: [...] }`.
    pub fn feed(&self, samples: Float32Array, sample_rate: f64) -> Result<js_sys::Promise, JsValue> {
        let (s, r) = (samples.to_vec(), rate(sample_rate)?);
        Ok(with_inner!(self.inner, |v| {
            let (vad, conv) = &mut *v;
            let s16 = conv.push(&s, r).map_err(js_err)?;
            let (probabilities, events) = vad.push(&s16).await.map_err(js_err)?;
            to_js(&VadOut { probabilities, events })
        }))
    }

    pub fn reset(&self) -> Result<(), JsValue> {
        let mut v = self.inner.try_borrow_mut().map_err(|_| busy())?;
        v.0.reset();
        v.1.reset();
        Ok(())
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        to_js(&self.inner.try_borrow().map_err(|_| busy())?.0.model().info())
    }
}

/// Classic features (log-mel, mel, MFCC; librosa's definitions) of samples at the configured rate.
#[wasm_bindgen(js_name = WasmAudioFeatures)]
pub struct WasmAudioFeatures {
    inner: crate::audio::FeatureExtractor,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FeatureInfo {
    #[serde(flatten)]
    options: crate::audio::FeatureOptions,
    hop_length: usize,
    win_length: usize,
    fmax: f64,
    bins: usize,
}

fn features_js(f: crate::audio::Features) -> Result<JsValue, JsValue> {
    let out = js_sys::Object::new();
    Reflect::set(&out, &"frames".into(), &(f.frames as f64).into())?;
    Reflect::set(&out, &"bins".into(), &(f.bins as f64).into())?;
    Reflect::set(&out, &"data".into(), &Float32Array::from(&f.data[..]))?;
    Ok(out.into())
}

#[wasm_bindgen(js_class = WasmAudioFeatures)]
impl WasmAudioFeatures {
    #[wasm_bindgen(constructor)]
    pub fn new(opts: JsValue) -> Result<WasmAudioFeatures, JsValue> {
        let opts: crate::audio::FeatureOptions = options(&opts, "AudioFeatures options")?;
        Ok(WasmAudioFeatures { inner: crate::audio::FeatureExtractor::new(opts).map_err(js_err)? })
    }

    pub fn info(&self) -> Result<JsValue, JsValue> {
        let o = self.inner.options();
        to_js(&FeatureInfo {
            options: o.clone(),
            hop_length: self.inner.hop_length(),
            win_length: o.win_length.unwrap_or(o.n_fft),
            fmax: o.fmax.unwrap_or(o.sample_rate as f64 / 2.0),
            bins: self.inner.bins(),
        })
    }

    pub fn compute(&self, samples: Float32Array) -> Result<JsValue, JsValue> {
        features_js(self.inner.compute(&samples.to_vec()).map_err(js_err)?)
    }

    pub fn push(&mut self, samples: Float32Array) -> Result<JsValue, JsValue> {
        features_js(self.inner.push(&samples.to_vec()).map_err(js_err)?)
    }

    pub fn finish(&mut self) -> Result<JsValue, JsValue> {
        features_js(self.inner.finish().map_err(js_err)?)
    }

    pub fn reset(&mut self) {
        self.inner.reset();
    }
}

super::panic::handles_stay_usable!(WasmVoiceCommands, WasmKeywordSpotter, WasmVad, WasmAudioFeatures);
