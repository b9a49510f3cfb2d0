//! The WebGPU backend, run by `wgpu` in the browser and natively (Vulkan, Metal, DX12).

pub mod context;
