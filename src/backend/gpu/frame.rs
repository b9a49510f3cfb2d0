//! Vision pre-processing on the GPU: a frame's RGBA bytes are uploaded as they are and two
//! dispatches (frame.wgsl) make the model's input tensor in place, ahead of the model's own
//! dispatches in the same command buffer. A frame then costs one upload and no CPU resize.
//! The geometry (which source rectangle lands where) is decided by the caller, the vision
//! layer, so that both paths share one definition of it.

use super::context::GpuContext;
use super::kernels::{FramePass, Kernel};
pub use crate::frame::FrameTransform;

/// The frame pass's parameter words: `struct FrameParams` in frame.wgsl, field by field.
fn params(t: &FrameTransform, src_w: u32, src_h: u32) -> Vec<u32> {
    let [cx, cy, cw, ch] = t.content;
    let mut p = vec![t.width, t.height, cx, cy, cw, ch, src_w, src_h, t.rows[0]];
    p.push(t.rows[1] - t.rows[0]);
    p.push(t.nhwc as u32);
    p.extend(t.order);
    p.extend(t.mean.map(f32::to_bits));
    p.extend(t.scale.map(f32::to_bits));
    p.extend(t.rect.map(f32::to_bits));
    p
}

/// The horizontal pass's temporary rows, in bytes.
fn tmp_bytes(t: &FrameTransform) -> u64 {
    (t.rows[1].saturating_sub(t.rows[0]) as u64 * t.content[2] as u64 * 3 * 4).max(4)
}

/// Buffers for frames, grown to the largest frame seen; the bind groups follow them.
pub struct FrameBuffers {
    frame: wgpu::Buffer,
    tmp: wgpu::Buffer,
    params: wgpu::Buffer,
    groups: [wgpu::BindGroup; 2],
    pipelines: [wgpu::ComputePipeline; 2],
}

/// Buffers a `FrameBuffers` holds (for `memoryStats().gpuBuffers`).
pub const BUFFERS: usize = 3;
pub(super) const PARAM_WORDS: usize = 24;

impl FrameBuffers {
    /// Whether a frame of `bytes` and its temporary rows fit the adapter's binding limit.
    pub fn fits(ctx: &GpuContext, frame_bytes: u64, t: &FrameTransform) -> bool {
        let max = ctx.device.limits().max_storage_buffer_binding_size;
        frame_bytes <= max && tmp_bytes(t) <= max
    }

    pub fn holds(&self, frame_bytes: u64, t: &FrameTransform) -> bool {
        self.frame.size() >= frame_bytes && self.tmp.size() >= tmp_bytes(t)
    }

    /// Buffers for frames of `frame_bytes` with `t`, writing into the model's `input` buffer.
    pub fn new(ctx: &GpuContext, frame_bytes: u64, t: &FrameTransform, input: &wgpu::Buffer) -> FrameBuffers {
        let device = &ctx.device;
        let buffer = |label, size: u64, usage| {
            device.create_buffer(&wgpu::BufferDescriptor { label: Some(label), size, usage, mapped_at_creation: false })
        };
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        // Grown with headroom, so a camera that renegotiates a slightly larger size does not
        // reallocate on every frame.
        let frame = buffer("frame", (frame_bytes + frame_bytes / 4).next_multiple_of(4).max(4), storage);
        let tmp =
            buffer("frame rows", (tmp_bytes(t) + tmp_bytes(t) / 4).next_multiple_of(4), wgpu::BufferUsages::STORAGE);
        let params = buffer("frame params", (PARAM_WORDS * 4) as u64, storage);
        let pipelines = [FramePass::Horizontal, FramePass::Vertical].map(|m| ctx.pipeline(Kernel::Frame(m)));
        let group = |k: usize, out: &wgpu::Buffer, src: &wgpu::Buffer| {
            device.create_bind_group(&wgpu::BindGroupDescriptor {
                label: Some("frame"),
                layout: &pipelines[k].get_bind_group_layout(0),
                entries: &[
                    wgpu::BindGroupEntry { binding: 0, resource: params.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 1, resource: out.as_entire_binding() },
                    wgpu::BindGroupEntry { binding: 2, resource: src.as_entire_binding() },
                ],
            })
        };
        let groups = [group(0, &tmp, &frame), group(1, input, &tmp)];
        super::memory::count_buffers(BUFFERS as isize);
        FrameBuffers { frame, tmp, params, groups, pipelines }
    }

    /// Queues the frame's upload and records its two dispatches into `pass`.
    pub fn record(
        &self,
        ctx: &GpuContext,
        pass: &mut wgpu::ComputePass,
        rgba: &[u8],
        src: (u32, u32),
        t: &FrameTransform,
    ) {
        ctx.queue.write_buffer(&self.frame, 0, rgba);
        let words = params(t, src.0, src.1);
        ctx.queue.write_buffer(&self.params, 0, &words.iter().flat_map(|w| w.to_le_bytes()).collect::<Vec<u8>>());
        let rows = t.rows[1] - t.rows[0];
        for (k, (gx, gy)) in [(t.content[2], rows), (t.width, t.height)].into_iter().enumerate() {
            pass.set_pipeline(&self.pipelines[k]);
            pass.set_bind_group(0, &self.groups[k], &[]);
            pass.dispatch_workgroups(gx.div_ceil(8), gy.div_ceil(8), 1);
        }
    }

    pub fn destroy(&self) {
        for b in [&self.frame, &self.tmp, &self.params] {
            b.destroy();
        }
        super::memory::count_buffers(-(BUFFERS as isize));
    }
}
