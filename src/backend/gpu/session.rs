//! A translated program on a device: weights uploaded once, pooled activation buffers, one bind
//! group per dispatch and every pipeline compiled at load. A run writes the inputs, records all
//! dispatches and the output copies in one command buffer, submits once and maps one staging
//! buffer.

use std::sync::Arc;

use serde::Serialize;
use wgpu::util::DeviceExt;

use super::context::GpuContext;
use super::error::GpuError;
use super::frame::{FrameBuffers, FrameTransform};
use super::kernels::{Gemm, Kernel, WIDE_BLOCK};
/// GPU buffers alive now (`memoryStats().gpuBuffers`).
pub use super::memory::live_buffers;
use super::memory::{self, count_buffers};
use super::ops::conv::ConvParams;
use super::ops::matmul::{gemm_grid, MatmulParams};
use super::program::{Program, Storage};

/// What `model.info().gpu` reports about the plan.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct GpuPlanInfo {
    pub dispatches: usize,
    /// Dispatches per kernel family.
    pub kernels: std::collections::BTreeMap<String, usize>,
    pub weight_bytes: u64,
    /// Pooled activation memory, and what one buffer per value would have taken.
    pub activation_bytes: u64,
    pub unpooled_activation_bytes: u64,
    pub adapter: String,
}

pub(super) struct Prepared {
    pipeline: wgpu::ComputePipeline,
    bind_group: wgpu::BindGroup,
    workgroups: [u32; 3],
    /// For profiles: the kernel family and the tract node.
    pub(super) kernel: String,
    pub(super) node: String,
}

impl Prepared {
    pub(super) fn record(&self, pass: &mut wgpu::ComputePass) {
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &self.bind_group, &[]);
        pass.dispatch_workgroups(self.workgroups[0], self.workgroups[1], self.workgroups[2]);
    }
}

pub struct GpuPlan {
    pub(super) ctx: Arc<GpuContext>,
    pub(super) steps: Vec<Prepared>,
    inputs: Vec<(wgpu::Buffer, Vec<usize>)>,
    /// (buffer index in `buffers`, element count, shape) per output.
    pub(super) outputs: Vec<(usize, usize, Vec<usize>)>,
    pub(super) buffers: Vec<wgpu::Buffer>,
    params: wgpu::Buffer,
    pub(super) staging: wgpu::Buffer,
    /// Created by the first frame run (vision models only).
    frame: std::sync::Mutex<Option<Arc<FrameBuffers>>>,
    pub info: GpuPlanInfo,
}

impl Drop for GpuPlan {
    fn drop(&mut self) {
        // Destroyed now rather than when the browser's garbage collector finds the GPUBuffers:
        // a page that loads and frees models all shift must not wait on GC for GPU memory.
        for b in self.buffers.iter().chain([&self.params, &self.staging]) {
            b.destroy();
        }
        count_buffers(-(self.buffers.len() as isize + 2));
        if let Some(f) = self.frame.get_mut().unwrap_or_else(|e| e.into_inner()).take() {
            f.destroy();
        }
    }
}

/// Where each value's bytes live: an index into `buffers`.
fn buffer_index(
    prog: &Program,
    slot_base: usize,
    placement: &memory::Placement,
    own: &[Option<usize>],
    v: usize,
) -> usize {
    let r = prog.root(v);
    match placement.slot_of[r] {
        Some(slot) => slot_base + slot,
        None => own[r].expect("inputs and constants have their own buffers"),
    }
}

impl GpuPlan {
    /// The plan with `gemm` for its products: `gemm.tile` is `Kernel::Matmul` (scalar loads),
    /// `Kernel::MatmulVec4` (any orientation: each product whose operands allow it gets the vec4
    /// kernel in its own orientation, the others `Matmul`) or `Kernel::MatmulSubgroup`, which
    /// takes the subgroup convolution with it; the products `gemm.wide` takes run
    /// `Kernel::MatmulWide`.
    pub async fn with_matmul(ctx: Arc<GpuContext>, prog: &Program, gemm: Gemm) -> Result<GpuPlan, GpuError> {
        let device = &ctx.device;
        let scope = device.push_error_scope(wgpu::ErrorFilter::Validation);
        let oom = device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let plan = Self::build(&ctx, prog, gemm);
        let oom_err = oom.pop().await;
        let err = scope.pop().await;
        if let Some(e) = oom_err {
            return Err(GpuError::OutOfMemory(e.to_string()));
        }
        if let Some(e) = err {
            return Err(GpuError::Rejected { what: "the plan", detail: e.to_string() });
        }
        plan
    }

    fn build(ctx: &Arc<GpuContext>, prog: &Program, gemm: Gemm) -> Result<GpuPlan, GpuError> {
        let device = &ctx.device;
        let max_binding = device.limits().max_storage_buffer_binding_size;
        let placement = memory::plan(prog);
        let mut buffers: Vec<wgpu::Buffer> = vec![];
        let mut own: Vec<Option<usize>> = vec![None; prog.values.len()];
        let mut inputs = vec![];
        let mut weight_bytes = 0u64;
        for (v, value) in prog.values.iter().enumerate() {
            let bytes = (value.elements().max(1) * 4) as u64;
            match &value.storage {
                &Storage::Input(ix) => {
                    let b = device.create_buffer(&wgpu::BufferDescriptor {
                        label: Some("input"),
                        size: bytes,
                        usage: wgpu::BufferUsages::STORAGE
                            | wgpu::BufferUsages::COPY_DST
                            | wgpu::BufferUsages::COPY_SRC,
                        mapped_at_creation: false,
                    });
                    inputs.push((ix, b.clone(), value.shape.clone()));
                    own[v] = Some(buffers.len());
                    buffers.push(b);
                }
                Storage::Const(data) => {
                    let contents: &[u8] = if data.is_empty() { &[0; 4] } else { bytemuck_f32(data) };
                    weight_bytes += contents.len() as u64;
                    let b = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
                        label: Some("weights"),
                        contents,
                        usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                    });
                    own[v] = Some(buffers.len());
                    buffers.push(b);
                }
                _ => {}
            }
            if bytes > max_binding {
                return Err(GpuError::Limits(format!(
                    "a tensor of {} MiB exceeds this adapter's {} MiB storage binding limit",
                    bytes >> 20,
                    max_binding >> 20
                )));
            }
        }
        // In model input order, whatever order the graph visits its sources in.
        inputs.sort_by_key(|i| i.0);
        let inputs: Vec<(wgpu::Buffer, Vec<usize>)> = inputs.into_iter().map(|(_, b, s)| (b, s)).collect();
        let slot_base = buffers.len();
        for &bytes in &placement.slot_bytes {
            buffers.push(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("activations"),
                size: bytes,
                usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            }));
        }
        // All dispatch parameters in one buffer, each block at the storage offset alignment.
        let align = (device.limits().min_storage_buffer_offset_alignment as usize / 4).max(1);
        let mut words: Vec<u32> = vec![];
        let mut offsets = vec![];
        let mut lens = vec![];
        for s in &prog.steps {
            let w = s.params.words();
            words.resize(words.len().div_ceil(align) * align, 0);
            offsets.push((words.len() * 4) as u64);
            lens.push(w.len());
            words.extend(w);
        }
        words.resize(words.len().max(1), 0);
        let params = device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck_u32(&words),
            usage: wgpu::BufferUsages::STORAGE,
        });
        let mut steps = vec![];
        let mut kernels = std::collections::BTreeMap::new();
        let max_groups = device.limits().max_compute_workgroups_per_dimension;
        for (s, step) in prog.steps.iter().enumerate() {
            // The device's GEMM kernels in place of the translation's tiled ones: the wide matmul's
            // 128x128 blocks; the subgroup matmul's 4 rows × 4·size columns per workgroup and the
            // subgroup conv's 4·size output channels × 4 positions; the vec4 loads. Past the grid
            // limit a step keeps the tiled kernel.
            let (mm, cv) = (step.params_as::<MatmulParams>(), step.params_as::<ConvParams>());
            let wide = match (step.kernel, mm) {
                (Kernel::Matmul, Some(p)) if gemm.wide.takes(p.m, p.n, p.batch_total()) => {
                    gemm_grid(p.m, p.n, (WIDE_BLOCK, WIDE_BLOCK), p.batch_total(), max_groups)
                        .map(|wg| (Kernel::MatmulWide, wg))
                }
                _ => None,
            };
            let matmul = gemm.tile;
            let chosen = wide.or_else(|| match (step.kernel, matmul, mm, cv) {
                (Kernel::Matmul, Kernel::MatmulSubgroup(size), Some(p), _) => {
                    gemm_grid(p.m, p.n, (4, 4 * size), p.batch_total(), max_groups).map(|wg| (matmul, wg))
                }
                (Kernel::Conv, Kernel::MatmulSubgroup(size), _, Some(p)) => {
                    let (og, cols) = (p.out_per_group as u32, p.geo.out_positions() as u32);
                    gemm_grid(og, cols, (4 * size, 4), step.workgroups[2], max_groups)
                        .map(|wg| (Kernel::ConvSubgroup(size), wg))
                }
                (Kernel::Matmul, Kernel::MatmulVec4 { .. }, Some(p), _) => {
                    p.vec4_orientation().map(|(a_k, b_k)| (Kernel::MatmulVec4 { a_k, b_k }, step.workgroups))
                }
                _ => None,
            });
            let (kernel, workgroups) = chosen.unwrap_or((step.kernel, step.workgroups));
            let pipeline = ctx.pipeline(kernel);
            *kernels.entry(kernel.name()).or_insert(0) += 1;
            let mut bound: Vec<usize> =
                step.inputs.iter().map(|&i| buffer_index(prog, slot_base, &placement, &own, i)).collect();
            let first = *bound.first().ok_or_else(|| GpuError::Program(format!("step {} has no input", step.node)))?;
            bound.resize(kernel.input_bindings(), first);
            let out = buffer_index(prog, slot_base, &placement, &own, step.output);
            let mut entries = vec![
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: wgpu::BindingResource::Buffer(wgpu::BufferBinding {
                        buffer: &params,
                        offset: offsets[s],
                        size: wgpu::BufferSize::new((lens[s].max(1) * 4) as u64),
                    }),
                },
                wgpu::BindGroupEntry { binding: 1, resource: buffers[out].as_entire_binding() },
            ];
            for (k, &b) in bound.iter().enumerate() {
                entries.push(wgpu::BindGroupEntry { binding: 2 + k as u32, resource: buffers[b].as_entire_binding() });
            }
            let bind_group = device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some(&step.node),
                layout: &pipeline.get_bind_group_layout(0),
                entries: &entries,
            });
            steps.push(Prepared { pipeline, bind_group, workgroups, kernel: kernel.name(), node: step.node.clone() });
        }
        let outputs: Vec<(usize, usize, Vec<usize>)> = prog
            .outputs
            .iter()
            .map(|&o| {
                (
                    buffer_index(prog, slot_base, &placement, &own, o),
                    prog.values[o].elements(),
                    prog.values[o].shape.clone(),
                )
            })
            .collect();
        let staging_bytes = outputs.iter().map(|o| o.1.max(1) as u64 * 4).sum::<u64>();
        let staging = device.create_buffer(&wgpu::BufferDescriptor {
            label: Some("readback"),
            size: staging_bytes.max(4),
            usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        });
        let info = GpuPlanInfo {
            dispatches: steps.len(),
            kernels,
            weight_bytes,
            activation_bytes: placement.slot_bytes.iter().sum(),
            unpooled_activation_bytes: placement.unpooled_bytes,
            adapter: ctx.adapter.name.clone(),
        };
        count_buffers(buffers.len() as isize + 2);
        Ok(GpuPlan {
            ctx: ctx.clone(),
            steps,
            inputs,
            outputs,
            buffers,
            params,
            staging,
            frame: std::sync::Mutex::new(None),
            info,
        })
    }

    /// Runs once: `inputs` in model input order, f32, already checked against the shapes.
    pub async fn run(&self, inputs: &[&[f32]]) -> Result<Vec<(Vec<usize>, Vec<f32>)>, GpuError> {
        self.write_inputs(inputs)?;
        self.submit_and_read(|_| {}).await
    }

    /// Queues the inputs' upload, unless the device is gone.
    pub(super) fn write_inputs(&self, inputs: &[&[f32]]) -> Result<(), GpuError> {
        if self.ctx.is_lost() {
            return Err(GpuError::DeviceLost);
        }
        for ((buffer, _), data) in self.inputs.iter().zip(inputs) {
            if !data.is_empty() {
                self.ctx.queue.write_buffer(buffer, 0, bytemuck_f32(data));
            }
        }
        Ok(())
    }

    /// Whether `run_frame` can take a frame of `bytes` with `t` (the adapter's binding limit).
    pub fn frame_fits(&self, bytes: u64, t: &FrameTransform) -> bool {
        FrameBuffers::fits(&self.ctx, bytes, t)
    }

    /// Runs once with input `input` made on the GPU from an RGBA frame (frame.wgsl); the
    /// model's other inputs, if any, keep their last values.
    pub async fn run_frame(
        &self,
        input: usize,
        rgba: &[u8],
        size: (u32, u32),
        t: &FrameTransform,
    ) -> Result<Vec<(Vec<usize>, Vec<f32>)>, GpuError> {
        if self.ctx.is_lost() {
            return Err(GpuError::DeviceLost);
        }
        let (buffer, shape) = self.inputs.get(input).ok_or_else(|| GpuError::Input(format!("no input {input}")))?;
        if shape.iter().product::<usize>() != (t.width * t.height * 3) as usize {
            return Err(GpuError::Input(format!(
                "input shape {shape:?} does not hold a {}×{}×3 frame",
                t.width, t.height
            )));
        }
        t.check(rgba, size.0, size.1).map_err(|e| GpuError::Input(e.to_string()))?;
        let bytes = rgba.len() as u64;
        let held = self.frame.lock().unwrap_or_else(|e| e.into_inner()).clone();
        let frames = match held {
            Some(f) if f.holds(bytes, t) => f,
            old => {
                if let Some(old) = old {
                    old.destroy();
                }
                // Checked like the plan: a rejected buffer or bind group must fail the run, not
                // hand back whatever the output buffers held.
                let scope = self.ctx.device.push_error_scope(wgpu::ErrorFilter::Validation);
                let oom = self.ctx.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
                let f = Arc::new(FrameBuffers::new(&self.ctx, bytes, t, buffer));
                let (oom, invalid) = (oom.pop().await, scope.pop().await);
                *self.frame.lock().unwrap_or_else(|e| e.into_inner()) = Some(f.clone());
                if let Some(e) = oom.or(invalid) {
                    return Err(GpuError::Rejected { what: "the frame buffers", detail: e.to_string() });
                }
                f
            }
        };
        self.submit_and_read(|pass| frames.record(&self.ctx, pass, rgba, size, t)).await
    }

    /// One command buffer: `before` (uploads already queued), every dispatch, the output copies;
    /// one submit, one mapped readback.
    async fn submit_and_read(
        &self,
        before: impl FnOnce(&mut wgpu::ComputePass),
    ) -> Result<Vec<(Vec<usize>, Vec<f32>)>, GpuError> {
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("run") });
        {
            let mut pass =
                encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("run"), timestamp_writes: None });
            before(&mut pass);
            for s in &self.steps {
                s.record(&mut pass);
            }
        }
        let mut at = 0u64;
        for &(b, len, _) in &self.outputs {
            if len > 0 {
                encoder.copy_buffer_to_buffer(&self.buffers[b], 0, &self.staging, at, (len * 4) as u64);
            }
            at += len.max(1) as u64 * 4;
        }
        queue.submit([encoder.finish()]);
        super::poll::map_read(device, &self.staging).await?;
        let mut results = vec![];
        {
            let view = self
                .staging
                .get_mapped_range(..)
                .map_err(|e| GpuError::Readback(format!("reading the GPU results: {e}")))?;
            let mut at = 0usize;
            for (_, len, shape) in &self.outputs {
                let bytes = &view[at..at + len * 4];
                let data: Vec<f32> =
                    bytes.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
                results.push((shape.clone(), data));
                at += len.max(&1) * 4;
            }
        }
        self.staging.unmap();
        Ok(results)
    }
}

fn bytemuck_f32(v: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and any bit pattern is a valid u8; alignment of u8 is 1.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}

fn bytemuck_u32(v: &[u32]) -> &[u8] {
    // SAFETY: as above.
    unsafe { std::slice::from_raw_parts(v.as_ptr() as *const u8, std::mem::size_of_val(v)) }
}
