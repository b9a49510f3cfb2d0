//! shopfloor: image and speech models inside the browser.
//!
//! Data flows one way: bytes → model → plan → backend → tensors → post-processing → typed results.
//! This file only wires the modules together and re-exports the public surface.

pub mod backend;
pub mod error;
pub mod js;

pub use backend::{BackendKind, Backends, CpuInfo, GpuAdapterInfo, GpuStatus};
pub use error::{Error, ErrorCode, Result};

/// The crate version, as the npm package reports it.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
