//! Where a plan's GPU time goes: every dispatch timed by timestamp queries (`profile`, for
//! `shopfloor profile --backend webgpu` and `Model::profile_gpu`), and the kernels' wall time
//! without uploads or readbacks (`time_dispatches`, for tuning and the kernel benchmarks).

use serde::Serialize;

use super::error::GpuError;
use super::session::GpuPlan;

/// One dispatch's GPU time in a profiled run.
#[derive(Debug, Clone, Serialize)]
pub struct StepTime {
    pub kernel: String,
    pub node: String,
    pub ms: f64,
}

/// Timestamp queries per query set (wgpu's limit), two per dispatch.
const QUERIES: usize = 4096;

impl GpuPlan {
    /// Wall time of `reps` passes over every dispatch in one submission, waited for by mapping
    /// the readback buffer: the kernels' cost without uploads or per-run overhead.
    pub async fn time_dispatches(&self, reps: usize) -> Result<f64, GpuError> {
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        let t0 = crate::backend::clock::now_ms();
        let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("bench") });
        {
            let mut pass = encoder
                .begin_compute_pass(&wgpu::ComputePassDescriptor { label: Some("bench"), timestamp_writes: None });
            for _ in 0..reps {
                for s in &self.steps {
                    s.record(&mut pass);
                }
            }
        }
        encoder.copy_buffer_to_buffer(&self.buffers[self.outputs[0].0], 0, &self.staging, 0, 4);
        queue.submit([encoder.finish()]);
        super::poll::map_read(device, &self.staging).await?;
        self.staging.unmap();
        Ok(crate::backend::clock::now_ms() - t0)
    }

    /// Runs once with every dispatch in its own pass between two timestamp queries: the GPU time
    /// of each dispatch, in execution order (the run's outputs are not read back).
    pub async fn profile(&self, inputs: &[&[f32]]) -> Result<Vec<StepTime>, GpuError> {
        let (device, queue) = (&self.ctx.device, &self.ctx.queue);
        if !device.features().contains(wgpu::Features::TIMESTAMP_QUERY) {
            return Err(GpuError::Limits(format!(
                "the adapter {:?} offers no timestamp queries (in Chromium: --enable-dawn-features=allow_unsafe_apis)",
                self.ctx.adapter.name
            )));
        }
        self.write_inputs(inputs)?;
        // Nanoseconds per tick (1 in browsers).
        let period = queue.get_timestamp_period() as f64;
        let mut times = Vec::with_capacity(self.steps.len());
        for chunk in self.steps.chunks(QUERIES / 2) {
            let n = chunk.len() as u32 * 2;
            let set = device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("profile"),
                ty: wgpu::QueryType::Timestamp,
                count: n,
            });
            let resolved = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("profile"),
                size: n as u64 * 8,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let read = device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("profile readback"),
                size: n as u64 * 8,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let mut encoder = device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: Some("profile") });
            for (i, s) in chunk.iter().enumerate() {
                let writes = wgpu::ComputePassTimestampWrites {
                    query_set: &set,
                    beginning_of_pass_write_index: Some(2 * i as u32),
                    end_of_pass_write_index: Some(2 * i as u32 + 1),
                };
                let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(&s.node),
                    timestamp_writes: Some(writes),
                });
                s.record(&mut pass);
            }
            encoder.resolve_query_set(&set, 0..n, &resolved, 0);
            encoder.copy_buffer_to_buffer(&resolved, 0, &read, 0, n as u64 * 8);
            queue.submit([encoder.finish()]);
            let mapped = super::poll::map_read(device, &read).await;
            if mapped.is_ok() {
                let view = read
                    .get_mapped_range(..)
                    .map_err(|e| GpuError::Readback(format!("reading the GPU timestamps: {e}")))?;
                let ticks: Vec<u64> = view.chunks_exact(8).map(|c| u64::from_le_bytes(c.try_into().unwrap())).collect();
                for (s, t) in chunk.iter().zip(ticks.chunks_exact(2)) {
                    let ms = t[1].saturating_sub(t[0]) as f64 * period / 1e6;
                    times.push(StepTime { kernel: s.kernel.clone(), node: s.node.clone(), ms });
                }
                drop(view);
                read.unmap();
            }
            for b in [&read, &resolved] {
                b.destroy();
            }
            mapped?;
        }
        Ok(times)
    }
}
