//! The manifest of any vision model, tagged by task. A manifest says what a pipeline needs to
//! know beyond the ONNX file (task, input pre-processing, output names, labels, decoder settings,
//! provenance): JSON, written by the setup for every model it fetches
//! (`models/cache/*/manifest.json`), file paths relative to it. Each task owns its manifest type
//! and decoder settings; this file only tells them apart.

use serde::{Deserialize, Serialize};

pub use super::classify::{CamSpec, ClassifierManifest, ClassifierOutputs};
pub use super::detect::DetectorManifest;
pub use super::faces::FaceManifest;
pub use super::model_ref::{ModelRef, Provenance};
pub use super::ocr::{TextManifest, TextModels};
use crate::{Error, Result};

/// Every manifest, tagged by `task`. Parsed once per pipeline, so the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(tag = "task", rename_all = "kebab-case")]
pub enum Manifest {
    Classification(ClassifierManifest),
    FaceDetection(FaceManifest),
    ObjectDetection(DetectorManifest),
    TextReading(TextManifest),
}

impl Manifest {
    pub fn parse(json: &str) -> Result<Manifest> {
        crate::json::from_str(json).map_err(|e| Error::InvalidArgument(format!("the model manifest is not valid: {e}")))
    }

    pub fn task(&self) -> &'static str {
        match self {
            Manifest::Classification(_) => "classification",
            Manifest::FaceDetection(_) => "face-detection",
            Manifest::ObjectDetection(_) => "object-detection",
            Manifest::TextReading(_) => "text-reading",
        }
    }

    /// The ONNX files the manifest names, in the order pipelines take them.
    pub fn models(&self) -> Vec<&ModelRef> {
        match self {
            Manifest::Classification(m) => vec![&m.model],
            Manifest::FaceDetection(m) => vec![&m.model],
            Manifest::ObjectDetection(m) => vec![&m.model],
            Manifest::TextReading(m) => {
                let mut v = vec![&m.models.detector, &m.models.recognizer];
                v.extend(m.models.orientation.as_ref());
                v
            }
        }
    }

    /// A typed error when the manifest is for another task than the pipeline asked for.
    pub fn expect_task(&self, want: &str) -> Result<()> {
        if self.task() == want {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "this manifest is for task \"{}\", not \"{want}\": pass the manifest of a {want} model",
                self.task()
            )))
        }
    }
}
