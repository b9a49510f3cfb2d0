//! What every vision manifest shares: the ONNX files it names and where the model comes from.

use serde::{Deserialize, Serialize};

use super::preprocess::InputSpec;

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
