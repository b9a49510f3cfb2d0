//! bytes → checked, fixed-up ONNX → tract model → backend plan. `Model` is what the JS layer
//! and the CLI hold.

mod analysis;
mod banded_run;
mod feeds;
mod fixes;
mod gpu_side;
mod graph;
mod half_casts;
pub mod harden;
mod info;
pub mod integrity;
mod known_if;
mod options;
mod own_ops;
pub mod peek;
mod prepare;
pub mod proto;
mod reverse_rnn;
mod shared_run;
pub mod signature;
pub mod value_inputs;
pub mod warm_up;
mod weights;

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::backend::cpu::CpuBackend;
use crate::backend::gpu::context;
use crate::backend::gpu::session::GpuPlan;
use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::frame::FrameTransform;
use crate::tensor::HostTensor;
pub use feeds::Feed;
use feeds::{f32_views, Unscanned};
pub use info::{ModelInfo, OpInfo};
pub use options::{BackendChoice, LoadOptions, DEFAULT_MAX_TENSOR_BYTES};
pub use signature::{Dim, IoInfo};

/// A GPU warm-up run longer than this (and 4× the CPU's) ends `auto`'s measurement there.
const GPU_HOPELESS_MS: f64 = 5_000.0;

/// A loaded model, ready to run.
pub struct Model {
    inputs: Vec<IoInfo>,
    outputs: Vec<IoInfo>,
    input_dts: Vec<Option<DatumType>>,
    info: ModelInfo,
    /// The graph plans are compiled from (shared with the CPU backend, asked by the GPU side).
    graph: Arc<graph::Graph>,
    cpu: CpuBackend,
    max_tensor_bytes: u64,
    allow_non_finite: bool,
    /// Input types and shapes when they are all fixed (the GPU path needs them).
    static_key: Option<Vec<(DatumType, Vec<usize>)>>,
    /// The GPU plan of a model with fixed shapes.
    gpu: Option<GpuPlan>,
    /// GPU plans per input shape of a model with symbolic dims on `"webgpu"` or `"auto"`.
    shape_plans: Option<gpu_side::ShapePlans>,
}

impl Model {
    /// Loads synchronously. `"auto"` stays on the CPU here (choosing the GPU means measuring
    /// it, which is `load_async`'s job); `"webgpu"` builds the GPU plan natively and is refused
    /// in a browser, where only `load_async` can wait for the device.
    pub fn load(bytes: &[u8], opts: &LoadOptions) -> Result<Model> {
        if opts.backend == BackendChoice::Webgpu {
            return block_on(Self::load_async(bytes, opts)).unwrap_or_else(|| {
                Err(Error::BackendUnavailable {
                    backend: "webgpu".into(),
                    reason: "a browser's GPU device can only be awaited: load the model asynchronously".into(),
                })
            });
        }
        Self::load_with(bytes, opts, tract_onnx::onnx())
    }

    /// Loads with a given tract ONNX framework (tests use one with ops removed).
    #[doc(hidden)]
    pub fn load_with(bytes: &[u8], opts: &LoadOptions, onnx: tract_onnx::Onnx) -> Result<Model> {
        Self::load_parts(Cow::Borrowed(bytes), opts, onnx, 1)
    }

    /// `load_with`, the analysed graph kept for the first `plans` plans at the file's shapes (2
    /// when the GPU's plan follows the CPU's). Owned bytes are freed once decoded, the large
    /// weights go to tract one at a time (`weights.rs`) and the rest of the decoded file is
    /// dropped before the plan is compiled: a load otherwise held the weights three times over
    /// (bytes, protobuf, tract's tensors) while the plan packed a fourth copy.
    fn load_parts(bytes: Cow<[u8]>, opts: &LoadOptions, mut onnx: tract_onnx::Onnx, plans: usize) -> Result<Model> {
        harden::checked_ops::install(&mut onnx.op_register);
        known_if::install(&mut onnx.op_register);
        own_ops::install(&mut onnx.op_register);
        if bytes.len() as u64 > 2 * opts.max_tensor_bytes.max(1 << 20) {
            return Err(Error::ResourceLimit(format!(
                "the model is {} MiB, over the {} MiB this SDK accepts with maxTensorBytes = {} MiB",
                bytes.len() >> 20,
                (2 * opts.max_tensor_bytes) >> 20,
                opts.max_tensor_bytes >> 20
            )));
        }
        let given = opts.digest.as_ref().filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()));
        let sha256 = given.map_or_else(|| integrity::sha256_hex(&bytes), |d| d.to_ascii_lowercase());
        if let Some(expected) = &opts.sha256 {
            integrity::verify_hex(&sha256, expected)?;
        }
        // The decoding budget: the tensor budget, but never below 64 MiB (small budgets are
        // about tensors; any real graph's structure fits in a few MiB).
        let decode_budget = opts.max_tensor_bytes.max(64 << 20);
        let tally = harden::wire::tally(&bytes)?;
        if tally.estimated_bytes() > decode_budget {
            return Err(Error::ResourceLimit(format!(
                "decoding this file would take about {} MiB ({} graph entries, {} names): over the {} MiB \
                 budget (maxTensorBytes); a real model of {} MiB needs far less, so it is corrupt or hostile",
                tally.estimated_bytes() >> 20,
                tally.messages,
                tally.strings,
                decode_budget >> 20,
                bytes.len() >> 20
            )));
        }
        let backend_reason = match opts.backend {
            BackendChoice::Cpu => "requested".to_string(),
            _ => "auto: CPU (a synchronous load does not measure the GPU; load_async does)".to_string(),
        };

        let mut proto = proto::decode(&bytes)?;
        let byte_length = bytes.len();
        drop(bytes);
        harden::structure::validate(&proto, opts.max_tensor_bytes)?;
        if let Some((op, node)) = proto::unsupported_ops(&proto, &onnx).into_iter().next() {
            return Err(Error::UnsupportedOp {
                op,
                node,
                detail: "tract has no implementation for it; replace it in the export (e.g. a lower opset) \
                         or open an issue with the model"
                    .into(),
            });
        }
        reverse_rnn::check(&proto)?;
        let mut fixes = fixes::apply_fixes(&mut proto);
        let ops = proto::op_histogram(&proto);
        let parameter_count = proto::parameter_count(&proto);
        let node_count = ops.values().sum();
        let opset = proto::default_opset(&proto);
        let producer = format!("{} {}", proto.producer_name, proto.producer_version).trim().to_string();

        let deconvs = harden::nodes::deconvs_with_output_shape(&proto)?;
        let weights = weights::Weights::take(&mut proto, &onnx)?;
        let analysed = analysis::analyse(&proto, &weights, &onnx, &opts.input_shapes, &deconvs, &mut fixes)?;
        drop(weights);
        let inputs = analysed.inputs;
        let input_dts = analysed.input_dts;
        let all_concrete = inputs.iter().all(IoInfo::is_concrete);
        let value_inputs = proto.graph.as_ref().map(value_inputs::value_inputs).unwrap_or_default();
        drop(proto);
        let valued: Vec<_> = inputs.iter().map(|i| value_inputs.get(&i.name).copied().unwrap_or_default()).collect();
        let by_value = valued.iter().any(|&v| v != value_inputs::Valued::No);
        // With an input whose value types the graph, it is only analysed per value of it.
        if analysed.typed_error.is_some() && all_concrete && !by_value {
            return Err(Error::ModelInvalid(format!(
                "tract could not analyse the graph: {}",
                analysed.typed_error.unwrap_or_default()
            )));
        }
        let graph = Arc::new(graph::Graph::new(
            analysed.model,
            (analysed.typed, plans),
            deconvs,
            valued,
            opts.max_tensor_bytes,
        ));
        let mut cpu = CpuBackend::new(graph.clone(), opts.plan_cache_size, opts.max_tensor_bytes);
        let mut static_key = None;
        let plan = if by_value {
            "per-value"
        } else if all_concrete {
            let key: Vec<_> = inputs
                .iter()
                .zip(&input_dts)
                .map(|(i, dt)| {
                    (dt.unwrap_or(DatumType::F32), i.shape.iter().flatten().filter_map(Dim::fixed).collect())
                })
                .collect();
            cpu.plan_for(&key).map_err(|e| match e {
                Error::InputMismatch { detail, .. } => Error::ModelInvalid(detail),
                e => e,
            })?;
            static_key = Some(key);
            "static"
        } else {
            "per-shape"
        };
        // No load-time plan took it (per-value, per-shape), or the CPU's was its only use.
        if plans == 1 {
            graph.drop_seed();
        }
        let info = ModelInfo {
            backend: BackendKind::Cpu,
            backend_reason,
            opset,
            producer,
            node_count,
            parameter_count,
            ops: ops.into_iter().map(|(k, count)| (k, OpInfo { count, backend: BackendKind::Cpu })).collect(),
            loader_fixes: fixes,
            plan,
            cached_plans: 0,
            cpu_placement: None,
            gpu: None,
            sha256,
            byte_length,
        };
        Ok(Model {
            inputs,
            outputs: analysed.outputs,
            input_dts,
            info,
            graph,
            cpu,
            max_tensor_bytes: opts.max_tensor_bytes,
            allow_non_finite: opts.allow_non_finite,
            static_key,
            gpu: None,
            shape_plans: None,
        })
    }

    /// Loads and, unless the CPU is asked for, tries the WebGPU backend: `"webgpu"` fails with
    /// `BACKEND_UNAVAILABLE` (and why) where it cannot run; `"auto"` keeps the CPU unless the
    /// whole graph has GPU kernels and a measured warm-up of both paths favours the GPU.
    /// Bytes given owned (`Vec<u8>`) are freed as soon as they are decoded.
    pub async fn load_async<'a>(bytes: impl Into<Cow<'a, [u8]>>, opts: &LoadOptions) -> Result<Model> {
        let cpu_only = LoadOptions { backend: BackendChoice::Cpu, ..opts.clone() };
        let plans = if opts.backend == BackendChoice::Cpu { 1 } else { 2 };
        let mut model = Self::load_parts(bytes.into(), &cpu_only, tract_onnx::onnx(), plans)?;
        let loaded = Self::try_gpu(&mut model, opts).await;
        model.graph.drop_seed();
        loaded.map(|()| model)
    }

    /// After a CPU load: the GPU as `opts.backend` asks.
    async fn try_gpu(model: &mut Model, opts: &LoadOptions) -> Result<()> {
        if opts.backend != BackendChoice::Cpu && model.static_key.is_none() && !model.graph.keys_by_value() {
            // Symbolic dims: a GPU plan per input shape, at the first run at each.
            let requested = opts.backend == BackendChoice::Webgpu;
            match context::shared().await {
                Err(reason) if requested => {
                    return Err(reason.into());
                }
                Err(reason) => model.info.backend_reason = format!("auto: CPU, because {reason}"),
                Ok(_) => {
                    model.shape_plans = Some(gpu_side::ShapePlans::new(requested, opts.plan_cache_size));
                    if requested {
                        model.info.backend = BackendKind::Webgpu;
                        model.info.backend_reason =
                            "requested; a WebGPU plan per input shape, built at the first run at each".into();
                    } else {
                        model.info.backend_reason =
                            "auto: measured per input shape at the first run at each (none yet)".into();
                    }
                }
            }
            return Ok(());
        }
        let key = model.static_key.clone().unwrap_or_default();
        match opts.backend {
            BackendChoice::Cpu => {}
            BackendChoice::Webgpu => {
                let plan = model.gpu_plan(&key).await?;
                let info = plan.info.clone();
                model.use_gpu(Some(plan), info, "requested".into());
            }
            BackendChoice::Auto => match model.gpu_plan(&key).await {
                Err(reason) => model.info.backend_reason = format!("auto: CPU, because {reason}"),
                Ok(plan) => {
                    let (gpu_ms, cpu_ms) = model.race(&plan, &key).await?;
                    if gpu_ms < cpu_ms {
                        let why = format!("auto: WebGPU measured {gpu_ms:.1} ms per run vs CPU {cpu_ms:.1} ms");
                        let info = plan.info.clone();
                        model.use_gpu(Some(plan), info, why);
                    } else {
                        model.info.backend_reason = format!(
                            "auto: CPU measured {cpu_ms:.1} ms per run vs WebGPU {gpu_ms:.1} ms on this adapter"
                        );
                    }
                }
            },
        }
        Ok(())
    }

    pub fn inputs(&self) -> &[IoInfo] {
        &self.inputs
    }

    pub fn outputs(&self) -> &[IoInfo] {
        &self.outputs
    }

    pub fn info(&self) -> ModelInfo {
        ModelInfo { cached_plans: self.cpu.cached_plans(), cpu_placement: self.cpu.placement(), ..self.info.clone() }
    }

    /// Runs the model. Inputs by name (all of them); outputs in the model's output order.
    /// Natively this also drives the GPU; in a browser a WebGPU model needs `run_async`.
    pub fn run<F: Feed>(&mut self, given: HashMap<String, F>) -> Result<Vec<(String, HostTensor)>> {
        block_on(self.run_async(given)).unwrap_or_else(|| {
            Err(Error::InvalidArgument("a WebGPU model runs asynchronously here: await run_async".into()))
        })
    }

    /// Runs the model on its backend. If the GPU fails mid-session (device lost), the model
    /// moves to the CPU for good, says so in `info()`, and this run still returns a result.
    /// Feeds are host tensors, or tract tensors that the run takes as they are (`Feed`).
    pub async fn run_async<F: Feed>(&mut self, given: HashMap<String, F>) -> Result<Vec<(String, HostTensor)>> {
        let (tensors, unscanned) = self.prepare_unscanned(given)?;
        self.run_prepared(tensors, unscanned).await
    }

    /// `run_async` past the feeds' checks but their NaN/infinity scan, which a CPU run does where
    /// it runs (`Unscanned`): one body whatever the feeds' type.
    async fn run_prepared(&mut self, tensors: Vec<Tensor>, unscanned: Unscanned) -> Result<Vec<(String, HostTensor)>> {
        // A GPU plan, or one that may be chosen, reads the values before any CPU run would.
        let unscanned = if self.gpu.is_some() || self.shape_plans.is_some() {
            unscanned.check(&tensors)?;
            Unscanned(vec![])
        } else {
            unscanned
        };
        if let Some(plan) = &self.gpu {
            let views = f32_views(&tensors)?;
            let slices: Vec<&[f32]> = views.iter().filter_map(|v| v.as_slice()).collect();
            match plan.run(&slices).await {
                Ok(outs) => return self.named_gpu_outputs(outs),
                Err(e) => self.leave_gpu(&e),
            }
        }
        if let Some(outs) = self.run_per_shape(&tensors).await? {
            return Ok(outs);
        }
        let outs = self.cpu.run_async(tensors, move |t| unscanned.check(t)).await?;
        Ok(self.outputs.iter().map(|o| o.name.clone()).zip(outs).collect())
    }

    /// Runs the model with its only input made on the GPU from an RGBA frame by `t` (vision
    /// pre-processing in the same submission as the model). `None` when the model does not run
    /// there, has other inputs, or the frame is over the adapter's binding limit: the caller then
    /// makes the tensor on the CPU. A GPU failure moves the model to the CPU, as `run_async` does.
    pub async fn run_frame_async(
        &mut self,
        input: &str,
        rgba: &[u8],
        size: (u32, u32),
        t: &FrameTransform,
    ) -> Result<Option<Vec<(String, HostTensor)>>> {
        let Some(plan) = &self.gpu else { return Ok(None) };
        if !self.takes_gpu_frames(input) {
            return Ok(None);
        }
        t.check(rgba, size.0, size.1)?;
        if !plan.frame_fits(rgba.len() as u64, t) {
            return Ok(None);
        }
        match plan.run_frame(0, rgba, size, t).await {
            Ok(outs) => self.named_gpu_outputs(outs).map(Some),
            Err(e) => {
                self.leave_gpu(&e);
                Ok(None)
            }
        }
    }

    /// Whether `run_frame_async` can make `input` on the GPU: the model runs there and that is its
    /// only input, f32. Callers check this before describing a frame for it.
    pub fn takes_gpu_frames(&self, input: &str) -> bool {
        self.gpu.is_some()
            && self.inputs.len() == 1
            && self.inputs[0].name == input
            && self.input_dts[0] == Some(DatumType::F32)
    }

    /// One WebGPU run with every dispatch timed by the GPU (timestamp queries, `GpuPlan::profile`);
    /// `op` is the kernel family. The model must be on WebGPU.
    pub async fn profile_gpu(
        &mut self,
        given: HashMap<String, HostTensor>,
    ) -> Result<Vec<crate::backend::cpu::NodeTime>> {
        let tensors = self.prepare(given)?;
        let unavailable = |reason: String| Error::BackendUnavailable { backend: "webgpu".into(), reason };
        let Some(plan) = &self.gpu else {
            return Err(unavailable(format!("the model is on the CPU ({})", self.info.backend_reason)));
        };
        let views = f32_views(&tensors)?;
        let slices: Vec<&[f32]> = views.iter().filter_map(|v| v.as_slice()).collect();
        let steps = plan.profile(&slices).await?;
        Ok(steps.into_iter().map(|s| crate::backend::cpu::NodeTime { op: s.kernel, node: s.node, ms: s.ms }).collect())
    }

    /// One CPU run with every node timed (whatever backend the model is on): see
    /// `CpuBackend::profile`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn profile_cpu(&mut self, given: HashMap<String, HostTensor>) -> Result<Vec<crate::backend::cpu::NodeTime>> {
        let tensors = self.prepare(given)?;
        self.cpu.profile(tensors)
    }
}

/// Polls a future to completion where it completes without an event loop: natively every GPU
/// wait here blocks inside `poll`, so the first poll finishes. None if it would need to yield
/// (a browser GPU readback).
pub(crate) fn block_on<F: std::future::Future>(f: F) -> Option<F::Output> {
    let mut f = std::pin::pin!(f);
    let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
    for _ in 0..if cfg!(target_arch = "wasm32") { 1 } else { 1_000_000 } {
        if let std::task::Poll::Ready(v) = f.as_mut().poll(&mut cx) {
            return Some(v);
        }
        std::thread::yield_now();
    }
    None
}
