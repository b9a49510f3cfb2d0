//! The WebGPU backend: tract's decluttered graph translated into WGSL dispatches run by wgpu,
//! in the browser (WebGPU) and natively (Vulkan, Metal, DX12).
//!
//! Layers, each importing only the ones above it: `kernels` (WGSL families) and `layout` (shape
//! arithmetic) → `program` (the dispatch list, each step's typed parameters) → `ops/` (one file
//! per op family: its parameter struct, mirrored by a WGSL struct, and its translation) →
//! `translate` (the driver: tract → program) → `epilogue` (element-wise tails folded into
//! conv/matmul) → `memory` (liveness planner) → `session` (buffers, pipelines, bind groups; one
//! submit and one readback per run; `frame` adds the camera-frame pass) → `profile` (GPU time per
//! dispatch). `context` owns the device; `poll` holds the wasm/native difference; `tune` (which
//! matmul kernel wins on this device) and `bench` (the CLI's kernel figures) sit above `session`
//! and build plans. Failures are `error::GpuError`.

pub mod bench;
pub mod context;
pub mod epilogue;
pub mod error;
pub mod frame;
pub mod kernels;
pub mod layout;
pub mod memory;
#[cfg(test)]
mod mirror;
pub mod ops;
pub mod poll;
pub mod profile;
pub mod program;
pub mod session;
pub mod translate;
pub mod tune;
