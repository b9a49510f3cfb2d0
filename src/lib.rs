//! shopfloor: image and speech models inside the browser.
//!
//! Data flows one way: bytes → model → plan → backend → tensors → post-processing → typed results.
//! This file only wires the modules together and re-exports the public surface.

pub mod audio;
pub mod backend;
pub mod error;
pub mod frame;
pub mod heap;
pub mod js;
pub mod json;
pub mod model;
pub mod speech;
pub mod tensor;
pub mod vision;

pub use backend::{BackendKind, Backends, CpuInfo, GpuAdapterInfo, GpuStatus};
pub use error::{Error, ErrorCode, Result};
pub use model::{BackendChoice, IoInfo, LoadOptions, Model, ModelInfo};
pub use tensor::{DType, HostTensor, TensorData};
/// tract's ndarray, for callers that build tensors from arrays.
pub use tract_onnx::prelude::tract_ndarray;

/// The crate version, as the npm package reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
