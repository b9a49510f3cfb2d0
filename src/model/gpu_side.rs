//! The model's WebGPU side: which plan a run goes to, and why. A model with fixed input shapes
//! gets one GPU plan at load (`Model::gpu`); one with symbolic dims gets a plan per concrete input
//! shape, built at the first run at that shape and kept in a bounded cache (`ShapePlans`), with
//! `"auto"`'s measured choice made per shape.

use tract_onnx::prelude::*;

use super::feeds::f32_views;
use super::{Model, GPU_HOPELESS_MS};
use crate::backend::gpu::error::GpuError;
use crate::backend::gpu::session::GpuPlan;
use crate::backend::gpu::{context, translate, tune};
use crate::backend::plan_key::{shapes_text, Shapes};
use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::tensor::HostTensor;

/// Where runs at one input shape go.
enum Choice {
    Gpu(Box<GpuPlan>, String),
    Cpu(String),
}

/// GPU plans per input shape, most recently used first.
pub(super) struct ShapePlans {
    /// `"webgpu"` asked for: a shape the GPU cannot take is an error, not a quiet CPU run.
    requested: bool,
    capacity: usize,
    entries: Vec<(Shapes, Choice)>,
    /// `"auto"` gives up on the GPU for every later shape once it failed for a reason that is
    /// not about the shape (an op without a GPU kernel) or lost a race clearly (over twice the
    /// CPU's time, or seconds per run).
    given_up: Option<String>,
}

impl ShapePlans {
    pub(super) fn new(requested: bool, capacity: usize) -> Self {
        ShapePlans { requested, capacity: capacity.max(1), entries: vec![], given_up: None }
    }

    fn position(&self, key: &Shapes) -> Option<usize> {
        self.entries.iter().position(|(k, _)| k == key)
    }

    fn put(&mut self, key: Shapes, choice: Choice) {
        self.entries.insert(0, (key, choice));
        self.entries.truncate(self.capacity);
    }

    fn promote(&mut self, ix: usize) {
        let entry = self.entries.remove(ix);
        self.entries.insert(0, entry);
    }
}

impl Model {
    /// Translates the graph at these input shapes and builds its GPU plan; the error says why it
    /// cannot run there.
    pub(super) async fn gpu_plan(&self, key: &Shapes) -> std::result::Result<GpuPlan, GpuError> {
        if self.graph.keys_by_value() {
            return Err(GpuError::ValueDependent);
        }
        let typed = self.graph.decluttered(key).map_err(|e| GpuError::Prepare(e.to_string()))?;
        let program = crate::error::guard("translating for the GPU", || Ok(translate::translate(&typed)))
            .map_err(|e| GpuError::Prepare(e.to_string()))?
            .map_err(GpuError::NoKernel)?;
        let ctx = context::shared().await?;
        tune::plan(ctx, &program).await
    }

    /// Puts the model on the GPU (`plan` serves every run when it is the fixed-shape plan).
    pub(super) fn use_gpu(
        &mut self,
        plan: Option<GpuPlan>,
        info: crate::backend::gpu::session::GpuPlanInfo,
        reason: String,
    ) {
        self.info.backend = BackendKind::Webgpu;
        self.info.backend_reason = reason;
        self.info.gpu = Some(info);
        for op in self.info.ops.values_mut() {
            op.backend = BackendKind::Webgpu;
        }
        if plan.is_some() {
            self.gpu = plan;
        }
    }

    /// Says in `info()` that runs (at the latest shape) go to the CPU, and why.
    fn use_cpu(&mut self, reason: String) {
        self.info.backend = BackendKind::Cpu;
        self.info.backend_reason = reason;
        self.info.gpu = None;
        for op in self.info.ops.values_mut() {
            op.backend = BackendKind::Cpu;
        }
    }

    /// Median time per run of each path on zero inputs at these shapes, after one warm-up each,
    /// alternating (the warm-up decides alone when the GPU is hopeless: see `GPU_HOPELESS_MS`).
    pub(super) async fn race(&mut self, plan: &GpuPlan, key: &Shapes) -> Result<(f64, f64)> {
        let zeros: Vec<Vec<f32>> = key.iter().map(|(_, s)| vec![0.0; s.iter().product()]).collect();
        let slices: Vec<&[f32]> = zeros.iter().map(|z| z.as_slice()).collect();
        let cpu_inputs = || -> Result<Vec<Tensor>> {
            key.iter().map(|(dt, s)| Tensor::zero_dt(*dt, s).map_err(|e| Error::Internal(e.to_string()))).collect()
        };
        let (mut g, mut c) = (vec![], vec![]);
        for round in 0..3 {
            let t0 = crate::backend::clock::now_ms();
            plan.run(&slices).await?;
            let t1 = crate::backend::clock::now_ms();
            self.cpu.run(cpu_inputs()?)?;
            let t2 = crate::backend::clock::now_ms();
            if round > 0 {
                g.push(t1 - t0);
                c.push(t2 - t1);
            } else if t1 - t0 > GPU_HOPELESS_MS && t1 - t0 > 4.0 * (t2 - t1) {
                // Seconds per warm-up run, several times the CPU's: a software adapter
                // (SwiftShader, lavapipe) or a GPU too weak for this model; more rounds would
                // only make the load slower.
                return Ok((t1 - t0, t2 - t1));
            }
        }
        let median = |mut v: Vec<f64>| {
            v.sort_by(|a, b| a.total_cmp(b));
            v[v.len() / 2]
        };
        Ok((median(g), median(c)))
    }

    /// The GPU failed mid-session (device lost): the model stays on the CPU from now on.
    pub(super) fn leave_gpu(&mut self, e: &GpuError) {
        self.gpu = None;
        self.shape_plans = None;
        self.use_cpu(format!("moved to the CPU after a WebGPU failure: {e}"));
    }

    pub(super) fn named_gpu_outputs(&self, outs: Vec<(Vec<usize>, Vec<f32>)>) -> Result<Vec<(String, HostTensor)>> {
        let names = self.outputs.iter().map(|o| o.name.clone());
        names
            .zip(outs)
            .map(|(n, (dims, data))| Ok((n, HostTensor::new(dims, crate::tensor::TensorData::F32(data))?)))
            .collect()
    }

    /// A model with symbolic dims on `"webgpu"` or `"auto"`: the run goes to the GPU plan for
    /// these shapes (built, and for `"auto"` raced against the CPU, at the first run at them), or
    /// `None` for the CPU. A GPU failure moves the model to the CPU, as for fixed shapes.
    pub(super) async fn run_per_shape(&mut self, tensors: &[Tensor]) -> Result<Option<Vec<(String, HostTensor)>>> {
        let Some(plans) = &self.shape_plans else { return Ok(None) };
        let key: Shapes = tensors.iter().map(|t| (t.datum_type(), t.shape().to_vec())).collect();
        if plans.position(&key).is_none() {
            let choice = self.choose(&key).await?;
            let Some(plans) = &mut self.shape_plans else { return Ok(None) };
            plans.put(key.clone(), choice);
        }
        let Some(plans) = &mut self.shape_plans else { return Ok(None) };
        let ix = plans.position(&key).unwrap_or_default();
        plans.promote(ix);
        let (plan, reason) = match &plans.entries[0].1 {
            Choice::Cpu(reason) => {
                let reason = reason.clone();
                self.use_cpu(reason);
                return Ok(None);
            }
            Choice::Gpu(plan, reason) => (plan, reason.clone()),
        };
        let views = f32_views(tensors)?;
        let slices: Vec<&[f32]> = views.iter().filter_map(|v| v.as_slice()).collect();
        let info = plan.info.clone();
        match plan.run(&slices).await {
            Ok(outs) => {
                self.use_gpu(None, info, reason);
                self.named_gpu_outputs(outs).map(Some)
            }
            Err(e) => {
                self.leave_gpu(&e);
                Ok(None)
            }
        }
    }

    /// Builds the GPU plan for a new shape and decides where runs at it go.
    async fn choose(&mut self, key: &Shapes) -> Result<Choice> {
        let (requested, given_up) = match &self.shape_plans {
            Some(p) => (p.requested, p.given_up.clone()),
            None => return Ok(Choice::Cpu(String::new())),
        };
        let at = shapes_text(key);
        if let Some(why) = given_up {
            return Ok(Choice::Cpu(format!("auto: CPU at input shapes {at}, because {why}")));
        }
        let plan = match self.gpu_plan(key).await {
            Ok(plan) => plan,
            Err(reason) if requested => {
                return Err(Error::BackendUnavailable {
                    backend: "webgpu".into(),
                    reason: format!("at input shapes {at}: {reason}"),
                })
            }
            Err(reason) => {
                if let Some(p) = &mut self.shape_plans {
                    p.given_up = Some(reason.to_string());
                }
                return Ok(Choice::Cpu(format!("auto: CPU at input shapes {at}, because {reason}")));
            }
        };
        if requested {
            return Ok(Choice::Gpu(Box::new(plan), format!("requested; a WebGPU plan per input shape (now {at})")));
        }
        let (gpu_ms, cpu_ms) = self.race(&plan, key).await?;
        if gpu_ms < cpu_ms {
            return Ok(Choice::Gpu(
                Box::new(plan),
                format!("auto: WebGPU measured {gpu_ms:.1} ms per run vs CPU {cpu_ms:.1} ms at input shapes {at}"),
            ));
        }
        let why = format!("the CPU measured {cpu_ms:.1} ms per run vs WebGPU {gpu_ms:.1} ms on this adapter");
        // A clear loss predicts the other shapes on this device: no more plans and races (each
        // costs a GPU compile and runs, seconds on a software adapter).
        if gpu_ms > GPU_HOPELESS_MS || gpu_ms > 2.0 * cpu_ms {
            if let Some(p) = &mut self.shape_plans {
                p.given_up = Some(format!("{why} at input shapes {at}"));
            }
        }
        Ok(Choice::Cpu(format!("auto: CPU at input shapes {at}: {why}")))
    }
}
