//! Model manifests: what a pipeline needs to know beyond the ONNX file (task, input
//! pre-processing, output names, labels, decoder settings, provenance). JSON, written by the
//! setup for every model it fetches (`models/cache/*/manifest.json`); file paths are relative to
//! the manifest.

use serde::{Deserialize, Serialize};

use super::preprocess::InputSpec;
use crate::{Error, Result};

/// One ONNX file and how to feed it.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelRef {
    pub file: String,
    #[serde(default)]
    pub sha256: Option<String>,
    pub input: InputSpec,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Provenance {
    pub name: String,
    #[serde(default)]
    pub licence: String,
    #[serde(default)]
    pub source: String,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierOutputs {
    pub logits: String,
    /// Pooled penultimate features (the `Embedder`'s vector).
    #[serde(default)]
    pub embedding: Option<String>,
    /// Last conv features `[1, C, h, w]`, for class activation maps.
    #[serde(default)]
    pub features: Option<String>,
}

/// Class activation maps: the final linear layer's initializers (`[classes, C]`, `[classes]`).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct CamSpec {
    pub weights: String,
    #[serde(default)]
    pub bias: Option<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ClassifierManifest {
    #[serde(flatten)]
    pub about: Provenance,
    pub model: ModelRef,
    pub outputs: ClassifierOutputs,
    /// Whether `logits` still need a softmax.
    #[serde(default = "yes")]
    pub softmax: bool,
    pub labels: Vec<String>,
    #[serde(default)]
    pub cam: Option<CamSpec>,
}

fn yes() -> bool {
    true
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FaceManifest {
    #[serde(flatten)]
    pub about: Provenance,
    pub model: ModelRef,
    pub decoder: super::faces::BlazeFaceDecoder,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DetectorManifest {
    #[serde(flatten)]
    pub about: Provenance,
    pub model: ModelRef,
    pub decoder: super::detect::DetectionDecoder,
    pub labels: Vec<String>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextModels {
    pub detector: ModelRef,
    pub recognizer: ModelRef,
    /// The 0°/180° line classifier; lines are read as they are without it.
    #[serde(default)]
    pub orientation: Option<ModelRef>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TextManifest {
    #[serde(flatten)]
    pub about: Provenance,
    pub models: TextModels,
    #[serde(default)]
    pub detection: super::ocr::DbParams,
    pub recognition: super::ocr::RecParams,
}

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
        serde_json::from_str(json).map_err(|e| Error::InvalidArgument(format!("the model manifest is not valid: {e}")))
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
