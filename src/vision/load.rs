//! Pipelines from a manifest and the bytes of the files it names: each model is checked against
//! the manifest's sha256 and loaded on the requested backend.

use super::manifest::{ClassifierManifest, DetectorManifest, FaceManifest, ModelRef, TextManifest};
use super::{FaceDetector, ImageClassifier, ObjectDetector, TextReader};
use crate::{LoadOptions, Model, Result};

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
pub async fn text_reader(m: TextManifest, files: &[Vec<u8>], opts: &LoadOptions) -> Result<TextReader> {
    let want = 2 + m.models.orientation.is_some() as usize;
    if files.len() != want {
        return Err(crate::Error::InvalidArgument(format!(
            "a text reader takes {want} model files (detector, recogniser{}), {} given",
            if want == 3 { ", orientation" } else { "" },
            files.len()
        )));
    }
    // PP-OCR's models have symbolic shapes: the CPU compiles a plan per shape (cached), and
    // `"webgpu"` is refused by the loader with the reason.
    let det = model(&files[0], &m.models.detector, opts).await?;
    let rec = model(&files[1], &m.models.recognizer, opts).await?;
    let cls = match &m.models.orientation {
        Some(r) => Some(model(&files[2], r, opts).await?),
        None => None,
    };
    TextReader::new(det, rec, cls, m, &files[1])
}
