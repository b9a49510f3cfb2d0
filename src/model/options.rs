//! What a caller chooses when loading a model.

use crate::error::{Error, Result};

/// Which backend the caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    #[default]
    Auto,
    Cpu,
    Webgpu,
}

impl std::str::FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" => Ok(BackendChoice::Cpu),
            "webgpu" => Ok(BackendChoice::Webgpu),
            other => {
                Err(Error::InvalidArgument(format!("backend \"{other}\" is not one of \"auto\", \"cpu\", \"webgpu\"")))
            }
        }
    }
}

/// Options for `Model::load`.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub backend: BackendChoice,
    /// Refuse the bytes unless their sha256 matches (hex or `sha256-<base64>`).
    pub sha256: Option<String>,
    /// Pins input shapes (symbolic dims become these numbers), by input name.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Largest tensor (weights, inputs) accepted, in bytes.
    pub max_tensor_bytes: u64,
    /// Compiled plans kept for models with symbolic input dims.
    pub plan_cache_size: usize,
    /// Accept NaN and ±Inf in float inputs (refused by default: from a camera or microphone
    /// path they mean a bug upstream, and they poison every output silently).
    pub allow_non_finite: bool,
    /// The bytes' sha256 (64 lowercase hex digits) when the caller computed it already: the JS
    /// layer does, with the browser's native SHA-256, which costs a fraction of hashing in wasm
    /// (40 % of EfficientNet-Lite0's load). Not user input: the SDK's own JS sets it, from the
    /// same bytes.
    pub digest: Option<String>,
}

/// wasm32 has a 4 GiB address space that holds everything: one tensor gets at most 1 GiB.
pub const DEFAULT_MAX_TENSOR_BYTES: u64 = 1 << 30;

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            backend: BackendChoice::Auto,
            sha256: None,
            input_shapes: vec![],
            max_tensor_bytes: DEFAULT_MAX_TENSOR_BYTES,
            plan_cache_size: 8,
            allow_non_finite: false,
            digest: None,
        }
    }
}
