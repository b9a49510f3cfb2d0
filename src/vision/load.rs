//! Pipelines from a manifest and the bytes of the files it names: each model is checked against
//! the manifest's sha256 and loaded on the requested backend.

use super::classify::ClassifierManifest;
use super::detect::DetectorManifest;
use super::faces::FaceManifest;
use super::model_ref::ModelRef;
use super::ocr::TextManifest;
use super::ocr::{round_side, Recognizer};
use super::{FaceDetector, ImageClassifier, ObjectDetector, TextReader};
use crate::model::{peek, proto};
use crate::{BackendChoice, Error, LoadOptions, Model, Result};

/// Loads one model of a manifest; a `sha256` in the manifest is enforced unless the caller pins
/// its own.
pub async fn model(bytes: &[u8], m: &ModelRef, opts: &LoadOptions) -> Result<Model> {
    let mut opts = opts.clone();
    if opts.sha256.is_none() {
        opts.sha256.clone_from(&m.sha256);
    }
    Model::load_async(bytes, &opts).await
}

pub async fn classifier(m: ClassifierManifest, bytes: &[u8], opts: &LoadOptions) -> Result<ImageClassifier> {
    let model = model(bytes, &m.model, opts).await?;
    ImageClassifier::new(model, m, bytes)
}

pub async fn face_detector(m: FaceManifest, bytes: &[u8], opts: &LoadOptions) -> Result<FaceDetector> {
    let model = model(bytes, &m.model, opts).await?;
    FaceDetector::new(model, m)
}

pub async fn object_detector(m: DetectorManifest, bytes: &[u8], opts: &LoadOptions) -> Result<ObjectDetector> {
    let model = model(bytes, &m.model, opts).await?;
    ObjectDetector::new(model, m)
}

/// `files`: detector, recogniser and (when the manifest has one) orientation model bytes.
/// PP-OCR's models have symbolic shapes. On the CPU they stay so (a plan per shape, cached). A GPU
/// plan needs one shape: on `"webgpu"` the detector takes every frame letterboxed into
/// `fixedSide`² (default `limitSide`), the orientation model its manifest size, and the
/// recogniser one model per line-width bucket. `"auto"` keeps lines on the CPU (a race per
/// width would cost more than it saves); its detector races the GPU only with a `fixedSide`.
pub async fn text_reader(mut m: TextManifest, files: &[Vec<u8>], opts: &LoadOptions) -> Result<TextReader> {
    let want = 2 + m.models.orientation.is_some() as usize;
    if files.len() != want {
        return Err(Error::InvalidArgument(format!(
            "a text reader takes {want} model files (detector, recogniser{}), {} given",
            if want == 3 { ", orientation" } else { "" },
            files.len()
        )));
    }
    let gpu = opts.backend == BackendChoice::Webgpu;
    let side = match (m.detection.fixed_side, gpu) {
        (Some(side), _) => Some(round_side(side)?),
        (None, true) => Some(round_side(m.detection.limit_side)?),
        (None, false) => None,
    };
    m.detection.fixed_side = side;
    let pinned = |bytes: &[u8], r: &ModelRef, shape: Vec<usize>| -> Result<LoadOptions> {
        let name = match &r.input.name {
            Some(n) => n.clone(),
            None => first_input(bytes)?,
        };
        Ok(LoadOptions { input_shapes: vec![(name, shape)], ..opts.clone() })
    };
    let det_opts = match side {
        Some(s) => pinned(&files[0], &m.models.detector, vec![1, 3, s, s])?,
        None => opts.clone(),
    };
    let det = model(&files[0], &m.models.detector, &det_opts).await?;
    let rec_ref = &m.models.recognizer;
    let rec = if gpu {
        let (h, w) = (rec_ref.input.height, m.recognition.min_width);
        let rec_opts = pinned(&files[1], rec_ref, vec![1, 3, h, w])?;
        let first = model(&files[1], rec_ref, &rec_opts).await?;
        Recognizer::per_width(files[1].clone(), rec_opts, h, w, first)
    } else {
        Recognizer::AnyWidth(Box::new(model(&files[1], rec_ref, opts).await?))
    };
    let cls = match &m.models.orientation {
        Some(r) if gpu => {
            Some(model(&files[2], r, &pinned(&files[2], r, vec![1, 3, r.input.height, r.input.width])?).await?)
        }
        Some(r) => Some(model(&files[2], r, opts).await?),
        None => None,
    };
    TextReader::new(det, rec, cls, m, &files[1])
}

/// The name of a model's first input (not an initializer), to pin its shape before loading.
fn first_input(bytes: &[u8]) -> Result<String> {
    if let Some(name) = peek::first_input(bytes) {
        return Ok(name);
    }
    proto::decode(bytes)?; // a corrupt file: decoding says where
    Err(Error::ModelInvalid("the model has no input".into()))
}
