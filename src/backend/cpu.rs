//! The CPU backend: tract's optimised plan, compiled per concrete input shape (and per value of
//! the inputs `plan_key` keys by value) and cached.

use std::sync::Arc;

use tract_onnx::prelude::*;

use crate::error::{Error, Result};
use crate::model::proto::DeconvShape;
use crate::model::value_inputs::Valued;

use super::plan_key::{self, PlanKey};
use crate::tensor::{DType, HostTensor};

type Plan = Arc<TypedRunnableModel>;
/// Where a plan's runs go in the threaded build (`pool::Placement`), measured per plan.
type Placement = Arc<std::sync::Mutex<super::pool::Placement>>;
/// Plans by input shapes, most recently used first. Bounded: each plan holds its own packed
/// weights and scratch buffers.
pub struct PlanCache {
    capacity: usize,
    entries: Vec<(PlanKey, Plan, Placement)>,
}

impl PlanCache {
    pub fn new(capacity: usize) -> Self {
        PlanCache { capacity: capacity.max(1), entries: vec![] }
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn get(&mut self, key: &PlanKey) -> Option<(Plan, Placement)> {
        let ix = self.entries.iter().position(|(k, _, _)| k == key)?;
        let entry = self.entries.remove(ix);
        let found = (entry.1.clone(), entry.2.clone());
        self.entries.insert(0, entry);
        Some(found)
    }

    fn put(&mut self, key: PlanKey, plan: Plan) -> Placement {
        let placement = Placement::default();
        self.entries.insert(0, (key, plan, placement.clone()));
        self.entries.truncate(self.capacity);
        placement
    }
}

/// Runs a (fixed-up, shape-pinned) inference model on the CPU.
pub struct CpuBackend {
    source: InferenceModel,
    deconvs: Vec<DeconvShape>,
    cache: PlanCache,
    /// The model's tensor budget: run-time sizes computed from feed values are held to it.
    max_tensor_bytes: u64,
    /// Per input: whether plans are compiled per value of it (`value_inputs`).
    valued: Vec<Valued>,
}

impl CpuBackend {
    /// `deconvs`: the model's ConvTranspose nodes with an `output_shape`, checked at each shape;
    /// `valued`: per input, whether plans are compiled per value of it.
    pub fn new(
        source: InferenceModel,
        deconvs: Vec<DeconvShape>,
        cache_capacity: usize,
        max_tensor_bytes: u64,
        valued: Vec<Valued>,
    ) -> Self {
        CpuBackend { source, deconvs, cache: PlanCache::new(cache_capacity), max_tensor_bytes, valued }
    }

    pub fn cached_plans(&self) -> usize {
        self.cache.len()
    }

    /// Whether some input's value, not only its shape, selects the plan.
    pub fn keys_by_value(&self) -> bool {
        self.valued.iter().any(|&v| v != Valued::No)
    }

    /// Compiles (or fetches) the plan for these input types and shapes (any value).
    pub fn plan_for(&mut self, shapes: &[(DatumType, Vec<usize>)]) -> Result<Plan> {
        Ok(self.entry_for((shapes.to_vec(), vec![None; shapes.len()]))?.0)
    }

    fn entry_for(&mut self, key: PlanKey) -> Result<(Plan, Placement)> {
        if let Some(found) = self.cache.get(&key) {
            return Ok(found);
        }
        plan_key::check_values(&key, &self.valued, &self.source, self.max_tensor_bytes)?;
        let budget = self.max_tensor_bytes;
        let compiled =
            crate::error::guard("compiling the CPU plan", || compile(&self.source, &self.deconvs, &key, budget));
        let plan = match compiled {
            // tract folds the values in while it analyses the graph, and some of its shape code
            // asserts instead of failing: with the model already loaded, what broke it is the
            // values (a fuzz finding: a negative pad past an axis).
            Err(Error::Internal(why)) if key.1.iter().any(Option::is_some) => {
                return Err(Error::InputMismatch {
                    name: "(all inputs)".into(),
                    detail: format!(
                        "the model cannot run at the input values {}: {why}",
                        plan_key::values_text(&self.source, &key)
                    ),
                })
            }
            other => other?,
        };
        let placement = self.cache.put(key, plan.clone());
        Ok((plan, placement))
    }

    /// `inputs` are in model input order, validated and already of the model's element types.
    pub fn run(&mut self, inputs: Vec<Tensor>) -> Result<Vec<HostTensor>> {
        let (plan, _) = self.entry_for(plan_key::key(&self.valued, &inputs))?;
        execute(&plan, inputs, self.max_tensor_bytes)
    }

    /// `run`, on the thread pool when this build has one (see `pool`): the plan is compiled here,
    /// the run itself goes to a pool thread and this awaits it without blocking, unless the plan
    /// measured itself faster inline on one thread (`pool::Placement`).
    pub async fn run_async(&mut self, inputs: Vec<Tensor>) -> Result<Vec<HostTensor>> {
        let (plan, placement) = self.entry_for(plan_key::key(&self.valued, &inputs))?;
        let budget = self.max_tensor_bytes;
        super::pool::run_placed(&placement, move || execute(&plan, inputs, budget)).await
    }

    /// `run_async` with inputs the caller keeps between runs (a decoder's cross-attention keys and
    /// values, its cache): shared with tract, not copied. Same order and checks as `run`.
    pub async fn run_shared_async(&mut self, inputs: Vec<Arc<Tensor>>) -> Result<Vec<HostTensor>> {
        let (plan, placement) = self.entry_for(plan_key::key(&self.valued, inputs.iter().map(|t| &**t)))?;
        let budget = self.max_tensor_bytes;
        let values = inputs.into_iter().map(|t| t.into_tvalue()).collect();
        super::pool::run_placed(&placement, move || execute_values(&plan, values, budget)).await
    }

    /// Where the most recently used plan's runs go: `None` while it is still measuring (or on a
    /// build without a pool).
    pub fn placement(&self) -> Option<super::pool::Where> {
        let (_, _, p) = self.cache.entries.first()?;
        p.lock().ok()?.decided()
    }
}

/// Set by the test-only wasm export `__testPanicNextRun`: the next CPU run panics inside tract's
/// guard, so the browser tests can see a real panic reach the caller as `INTERNAL`.
pub(crate) static PANIC_NEXT_RUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// One run, each node's inputs checked (`feed_values`) just before tract evaluates it.
fn execute(plan: &Plan, inputs: Vec<Tensor>, max_tensor_bytes: u64) -> Result<Vec<HostTensor>> {
    execute_values(plan, inputs.into_iter().map(|t| t.into_tvalue()).collect(), max_tensor_bytes)
}

fn execute_values(plan: &Plan, values: TVec<TValue>, max_tensor_bytes: u64) -> Result<Vec<HostTensor>> {
    let outputs = crate::error::guard("running the CPU plan", || {
        if PANIC_NEXT_RUN.swap(false, std::sync::atomic::Ordering::Relaxed) {
            panic!("injected panic (__testPanicNextRun)");
        }
        let mut state = plan.spawn().map_err(|e| Error::Internal(format!("{e:#}")))?;
        let model = plan.model();
        let result = state.run_plan_with_eval(values, |ctx, op_state, node, mut input| {
            if let Err(refusal) = super::feed_values::check(node, &input, max_tensor_bytes) {
                return Err(TractError::new(super::feed_values::to_error(model, node, &refusal)));
            }
            super::feed_values::wrap_negative_tuples(node, &mut input)?;
            let outside = super::feed_values::one_hot_outside(node, &mut input)?;
            let mut outputs = tract_onnx::tract_core::plan::eval(ctx, op_state, node, input)?;
            if let Some((shape, positions)) = outside {
                super::feed_values::reset_rows(node, &shape, &mut outputs, &positions)?;
            }
            Ok(outputs)
        });
        result.map_err(|e| match e.downcast::<Error>() {
            Ok(refused) => refused,
            Err(e) => Error::Internal(format!("tract failed during inference: {e:#}")),
        })
    })?;
    outputs.iter().map(|v| HostTensor::from_tract(v)).collect()
}

/// One node's share of a profiled run.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeTime {
    /// tract's name for the optimised op (e.g. `OptMatMul`, `Im2col`), what the time is spent in.
    pub op: String,
    pub node: String,
    pub ms: f64,
}

impl CpuBackend {
    /// Runs once with each node timed: where a run's time goes, for `shopfloor profile`.
    /// Native only: wasm32 has no `std::time::Instant`.
    #[cfg(not(target_arch = "wasm32"))]
    pub fn profile(&mut self, inputs: Vec<Tensor>) -> Result<Vec<NodeTime>> {
        let (plan, _) = self.entry_for(plan_key::key(&self.valued, &inputs))?;
        let values: TVec<TValue> = inputs.into_iter().map(|t| t.into_tvalue()).collect();
        let mut times = vec![];
        crate::error::guard("profiling the CPU plan", || {
            let mut state = plan.spawn().map_err(|e| Error::Internal(format!("{e:#}")))?;
            state
                .run_plan_with_eval(values, |ctx, op_state, node, input| {
                    let t = std::time::Instant::now();
                    let r = tract_onnx::tract_core::plan::eval(ctx, op_state, node, input);
                    let op = node.op().name().to_string();
                    times.push(NodeTime { op, node: node.name.clone(), ms: t.elapsed().as_secs_f64() * 1e3 });
                    r
                })
                .map_err(|e| Error::Internal(format!("tract failed during inference: {e:#}")))
        })?;
        Ok(times)
    }

    /// The decluttered graph at these input shapes: what the GPU translator starts from.
    pub fn decluttered(&self, key: &[(DatumType, Vec<usize>)]) -> Result<TypedModel> {
        crate::error::guard("preparing the graph", || {
            let model = plan_key::pinned(&self.source, &(key.to_vec(), vec![]))?;
            into_typed(model, &self.deconvs)?.into_decluttered().map_err(|e| Error::ModelInvalid(format!("{e:#}")))
        })
    }
}

/// tract's analysis, then what it lets through but its later passes panic on (fuzz findings).
pub(crate) fn into_typed(mut model: InferenceModel, deconvs: &[DeconvShape]) -> Result<TypedModel> {
    if !deconvs.is_empty() {
        // Errors here are tract's to report, from into_typed below.
        let _ = model.analyse(false);
        for d in deconvs {
            check_deconv_output_shape(&model, d)?;
        }
    }
    let typed = model.into_typed().map_err(|e| Error::ModelInvalid(format!("{e:#}")))?;
    for node in typed.nodes() {
        check_quantized_matmul(node).and_then(|_| check_window(&typed, node))?;
    }
    Ok(typed)
}

/// tract computes a ConvTranspose's output padding as `output_shape + pads − natural size` in
/// unsigned arithmetic; an `output_shape` below the natural size must be refused first.
fn check_deconv_output_shape(model: &InferenceModel, d: &DeconvShape) -> Result<()> {
    use tract_onnx::tract_hir::infer::Factoid;
    let Ok(node) = model.node_by_name(&d.node) else { return Ok(()) };
    let dims = |ix: usize| -> Option<Vec<i64>> {
        let fact = model.outlet_fact(*node.inputs.get(ix)?).ok()?;
        fact.shape.concretize()?.iter().map(|d| d.to_i64().ok()).collect()
    };
    // tract itself refuses an output_shape over an input of unknown size.
    let (Some(x), Some(w)) = (dims(0), dims(1)) else { return Ok(()) };
    let n = d.output_shape.len();
    let bad = |what: String| Err(Error::ModelInvalid(format!("ConvTranspose node \"{}\": {what}", d.node)));
    if x.len() != n + 2 || w.len() != n + 2 {
        return bad(format!("output_shape {:?} has {n} entries for a rank-{} input", d.output_shape, x.len()));
    }
    for i in 0..n {
        let at = |v: &[i64], default: i64| v.get(i).copied().unwrap_or(default) as i128;
        let pads = if d.pads.len() == 2 * n { (d.pads[i] + d.pads[i + n]) as i128 } else { 0 };
        let (xi, ki) = (x[i + 2] as i128, w[i + 2] as i128);
        let natural = at(&d.strides, 1) * (xi - 1) + (ki - 1) * at(&d.dilations, 1) + 1;
        if xi < 1 || ki < 1 || (d.output_shape[i] as i128) + pads < natural {
            return bad(format!(
                "output_shape {:?} is smaller on axis {i} than the {} that this input, kernel, strides and pads make: \
                 remove output_shape and crop with a Slice",
                d.output_shape,
                natural - pads
            ));
        }
    }
    Ok(())
}

/// A quantized matmul (QLinearMatMul, MatMulInteger) is clamped to its output zero point's
/// range; a zero point of a type without one (bool, string) panics in codegen.
fn check_quantized_matmul(node: &TypedNode) -> Result<()> {
    use tract_onnx::tract_core::ops::einsum::EinSum;
    use DatumType::*;
    let Some(dt) = node.op_as::<EinSum>().and_then(|e| e.q_params) else { return Ok(()) };
    if matches!(dt.unquantized(), U8 | U16 | U32 | U64 | I8 | I16 | I32 | I64 | F16 | F32 | F64) {
        return Ok(());
    }
    Err(Error::ModelInvalid(format!(
        "node \"{}\" is a quantized matmul whose output zero point is {dt:?}: it must be an integer type (uint8 or int8)",
        node.name
    )))
}

/// A convolution's or pool's window must have one entry per spatial axis of its input: tract
/// indexes the input's padding by the kernel's axes, so a 2-d kernel over a 1-d signal panics.
fn check_window(model: &TypedModel, node: &TypedNode) -> Result<()> {
    use tract_onnx::tract_core::ops::cnn::{Conv, Deconv, MaxPool, PaddingSpec, PoolSpec, SumPool};
    let spec: &PoolSpec = if let Some(op) = node.op_as::<MaxPool>() {
        &op.pool_spec
    } else if let Some(op) = node.op_as::<SumPool>() {
        &op.pool_spec
    } else if let Some(op) = node.op_as::<Conv>() {
        &op.pool_spec
    } else if let Some(op) = node.op_as::<Deconv>() {
        &op.pool_spec
    } else {
        return Ok(());
    };
    let Some(input) = node.inputs.first() else { return Ok(()) };
    let rank = model.outlet_fact(*input).map_err(|e| Error::Internal(format!("{e:#}")))?.rank();
    let spatial = rank.checked_sub(1 + spec.data_format.has_n() as usize);
    let k = spec.kernel_shape.len();
    let pads = match &spec.padding {
        PaddingSpec::Explicit(b, a) | PaddingSpec::ExplicitOnnxPool(b, a, _) => [Some(b.len()), Some(a.len())],
        _ => [None, None],
    };
    let lens = [spec.dilations.as_ref().map(|d| d.len()), spec.strides.as_ref().map(|s| s.len())];
    if spatial == Some(k) && lens.iter().chain(&pads).flatten().all(|&n| n == k) {
        return Ok(());
    }
    Err(Error::ModelInvalid(format!(
        "node \"{}\" ({}): a {k}-d window (kernel {:?}) over a rank-{rank} input: the kernel, strides, dilations and pads need one entry per spatial axis",
        node.name,
        node.op.name(),
        spec.kernel_shape
    )))
}

fn compile(source: &InferenceModel, deconvs: &[DeconvShape], key: &PlanKey, max_tensor_bytes: u64) -> Result<Plan> {
    let model = plan_key::pinned(source, key)?;
    let shapes = key.0.iter().map(|(_, s)| format!("{s:?}")).collect::<Vec<_>>().join(", ");
    let at = format!("input shapes {shapes}{}", plan_key::values_text(source, key));
    let mismatch = |e: String| Error::InputMismatch {
        name: "(all inputs)".into(),
        detail: format!("the model cannot run at {at}: {e}"),
    };
    // The file was read at load: what fails now fails at these inputs.
    let typed = into_typed(model, deconvs).map_err(|e| match e {
        Error::ModelInvalid(e) => mismatch(e),
        e => e,
    })?;
    if key.1.iter().any(Option::is_some) {
        plan_key::check_sizes(&typed, max_tensor_bytes)?;
    }
    let optimized = typed.into_optimized().map_err(|e| mismatch(format!("{e:#}")))?;
    optimized.into_runnable().map_err(|e| Error::Internal(format!("building the plan: {e:#}")))
}

/// The public dtype a caller passes for a model input type (and gets for an output): types JS
/// has no array for are widened (f16/f64 → f32, i8/i16/u16 → i32, u32/u64/TDim → i64).
pub fn public_dtype(dt: DatumType) -> DType {
    DType::from_datum(dt).unwrap_or(match dt {
        DatumType::I8 | DatumType::I16 | DatumType::U16 => DType::I32,
        dt if dt.is_float() => DType::F32,
        _ => DType::I64,
    })
}
