//! The CPU backend: tract's optimised plan, compiled from the model layer's typed graph
//! (`TypedSource`) per plan key (input shapes, and the values of the inputs keyed by value) and
//! cached.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::plan_key::{shapes_text, PlanKey};
use super::TypedSource;
use crate::error::{Error, Result};
use crate::tensor::{DType, HostTensor};

type Plan = Arc<CompiledPlan>;

/// tract's runnable plan, and which of its nodes read values that are checked before they run.
struct Part {
    runnable: Arc<TypedRunnableModel>,
    /// By node id (`feed_values::watched`).
    watched: Vec<bool>,
}

/// A plan: the whole graph, and on the threaded build its row bands (`bands`) for the pool's runs.
struct CompiledPlan {
    whole: Part,
    bands: std::sync::Mutex<Bands>,
    /// Runs started so far.
    runs: std::sync::atomic::AtomicUsize,
}

/// A plan's row bands. They are compiled on the pool before its second run, off the first inference's
/// path, from the decluttered graph kept until then; only for small plans, where splitting each
/// layer over the pool gains nothing (larger ones gain 1.4-1.7× from it on two threads).
enum Bands {
    Pending(Box<TypedModel>),
    Ready(Arc<BandPlans>),
    Absent,
}

/// The three compiled parts of a split (`bands::Split`) and where they cut.
struct BandPlans {
    geometry: super::bands::Geometry,
    top: Part,
    bottom: Part,
    rest: Part,
}

/// Above this much work (multiply-adds, roughly: `bands::work`) a plan keeps the per-layer
/// split of the pool, measured 1.4-1.7× on two threads for EfficientNet-Lite0, PP-OCRv4 and
/// ResNet-50 (0.5-6 G); BlazeFace (31 M) and the openWakeWord embedding gain nothing from it.
const MAX_BANDED_WORK: f64 = 2e8;
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

/// tract's plans of one model, compiled on demand and cached.
pub struct CpuBackend {
    source: Arc<dyn TypedSource>,
    cache: PlanCache,
    /// The model's tensor budget: run-time sizes computed from feed values are held to it.
    max_tensor_bytes: u64,
}

impl CpuBackend {
    pub fn new(source: Arc<dyn TypedSource>, cache_capacity: usize, max_tensor_bytes: u64) -> Self {
        CpuBackend { source, cache: PlanCache::new(cache_capacity), max_tensor_bytes }
    }

    pub fn cached_plans(&self) -> usize {
        self.cache.len()
    }

    fn key_of<'a>(&self, inputs: impl IntoIterator<Item = &'a Tensor>) -> PlanKey {
        self.source.key(&mut inputs.into_iter())
    }

    /// Compiles (or fetches) the plan for these input types and shapes (any value).
    pub fn plan_for(&mut self, shapes: &[(DatumType, Vec<usize>)]) -> Result<()> {
        self.entry_for((shapes.to_vec(), vec![None; shapes.len()])).map(|_| ())
    }

    fn entry_for(&mut self, key: PlanKey) -> Result<(Plan, Placement)> {
        if let Some(found) = self.cache.get(&key) {
            return Ok(found);
        }
        let compiled = crate::error::guard("compiling the CPU plan", || compile(&*self.source, &key));
        let plan = match compiled {
            // tract folds the values in while it analyses the graph, and some of its shape code
            // asserts instead of failing: with the model already loaded, what broke it is the
            // values (a fuzz finding: a negative pad past an axis).
            Err(Error::Internal(why)) if key.1.iter().any(Option::is_some) => {
                return Err(Error::InputMismatch {
                    name: "(all inputs)".into(),
                    detail: format!(
                        "the model cannot run at the input values {}: {why}",
                        self.source.values_text(&key)
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
        let (plan, _) = self.entry_for(self.key_of(&inputs))?;
        execute(&plan.whole, inputs, self.max_tensor_bytes)
    }

    /// `run` through the plan's row bands (`bands`), one band after the other on this thread:
    /// `None` when the graph has no split worth two threads. For tests and measurements; the
    /// threaded build's pool runs the bands side by side.
    pub fn run_in_bands(&mut self, inputs: Vec<Tensor>) -> Result<Option<Vec<HostTensor>>> {
        let key = self.key_of(&inputs);
        let model = self.source.decluttered_at(&key)?;
        let Some(bands) = compile_bands(model) else { return Ok(None) };
        execute_bands(Arc::new(bands), inputs, self.max_tensor_bytes).map(Some)
    }

    /// `run`, on the thread pool when this build has one (see `pool`): the plan is compiled here,
    /// the run itself goes to a pool thread and this awaits it without blocking, unless the plan
    /// measured itself faster inline on one thread (`pool::Placement`). `check` vets the inputs
    /// first, where the run goes (the feeds' NaN/infinity scan, split over the pool there).
    pub async fn run_async(
        &mut self,
        inputs: Vec<Tensor>,
        check: impl FnOnce(&[Tensor]) -> Result<()> + Send + 'static,
    ) -> Result<Vec<HostTensor>> {
        let (plan, placement) = self.entry_for(self.key_of(&inputs))?;
        let budget = self.max_tensor_bytes;
        // The bands compile on the pool after the plan's first run (a page's first inference never
        // waits for them), as a job of their own: the placement times runs, not compiles.
        let first = plan.runs.fetch_add(1, std::sync::atomic::Ordering::Relaxed) == 0;
        if !first && super::pool::threads() > 1 && plan.bands_pending() {
            let p = plan.clone();
            super::pool::on_pool(move || Ok(p.band_plans().is_some())).await?;
        }
        // A banded run stays on this thread and hands one band to the pool (`execute_bands`).
        let banded = plan.ready_bands();
        super::pool::run_placed(&placement, banded.is_some(), move |at| {
            check(&inputs)?;
            match banded {
                Some(bands) if at == super::pool::Where::Pool => execute_bands(bands, inputs, budget),
                _ => execute(&plan.whole, inputs, budget),
            }
        })
        .await
    }

    /// `run_async` with inputs the caller keeps between runs (a decoder's cross-attention keys and
    /// values, its cache): shared with tract, not copied. Same order and checks as `run`.
    pub async fn run_shared_async(&mut self, inputs: Vec<Arc<Tensor>>) -> Result<Vec<HostTensor>> {
        let (plan, placement) = self.entry_for(self.key_of(inputs.iter().map(|t| &**t)))?;
        let budget = self.max_tensor_bytes;
        let values = inputs.into_iter().map(|t| t.into_tvalue()).collect();
        super::pool::run_placed(&placement, false, move |_| execute_values(&plan.whole, values, budget)).await
    }

    /// Where the most recently used plan's runs go (`info().cpuPlacement`): `"pool"`, `"bands"`
    /// (the pool, in row bands) or `"inline"`; `None` while it is still measuring (or on a build
    /// without a pool).
    pub fn placement(&self) -> Option<&'static str> {
        let (_, plan, p) = self.cache.entries.first()?;
        Some(match p.lock().ok()?.decided()? {
            super::pool::Where::Inline => "inline",
            _ if plan.ready_bands().is_some() => "bands",
            super::pool::Where::Pool => "pool",
        })
    }
}

/// Set by the test-only wasm export `__testPanicNextRun`: the next CPU run panics inside tract's
/// guard, so the browser tests can see a real panic reach the caller as `INTERNAL`.
pub(crate) static PANIC_NEXT_RUN: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// One run, each node's inputs checked (`feed_values`) just before tract evaluates it.
fn execute(plan: &Part, inputs: Vec<Tensor>, max_tensor_bytes: u64) -> Result<Vec<HostTensor>> {
    execute_values(plan, inputs.into_iter().map(|t| t.into_tvalue()).collect(), max_tensor_bytes)
}

fn execute_values(plan: &Part, values: TVec<TValue>, max_tensor_bytes: u64) -> Result<Vec<HostTensor>> {
    run_part(plan, values, max_tensor_bytes)?.iter().map(|v| HostTensor::from_tract(v)).collect()
}

/// Runs that went in row bands, for the browser tests (the test-only export `__testBandedRuns`).
pub(crate) static BANDED_RUNS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A run in row bands: the second band handed to a pool thread while this thread computes the
/// first (`pool::beside`), then the rest of the graph here, on the joined tensor. Each part runs
/// under tract's single-thread executor: a band is one thread's whole share.
fn execute_bands(bands: Arc<BandPlans>, inputs: Vec<Tensor>, max_tensor_bytes: u64) -> Result<Vec<HostTensor>> {
    use super::bands::Part as P;
    let input = inputs.into_iter().next().ok_or_else(|| Error::Internal("a banded plan takes one input".into()))?;
    BANDED_RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let g = &bands.geometry;
    let bottom_input = Arc::new(g.band_input(P::Bottom, &input).map_err(band_error)?);
    let shared = bands.clone();
    let bottom: Arc<dyn Fn() -> Result<Tensor> + Send + Sync> =
        Arc::new(move || run_band(&shared, P::Bottom, bottom_input.clone().into_tvalue(), max_tensor_bytes));
    let (top, bottom) = super::pool::beside(
        || run_band(&bands, P::Top, g.band_input(P::Top, &input).map_err(band_error)?.into_tvalue(), max_tensor_bytes),
        bottom,
    );
    let joined = g.join(top?, bottom?).map_err(band_error)?;
    let outputs = single_threaded(|| run_part(&bands.rest, tvec![joined.into_tvalue()], max_tensor_bytes))?;
    outputs.iter().map(|v| HostTensor::from_tract(v)).collect()
}

/// One band of a run: its part of the plan on its rows of the input, and the rows it keeps.
fn run_band(bands: &BandPlans, band: super::bands::Part, input: TValue, max_tensor_bytes: u64) -> Result<Tensor> {
    let plan = if band == super::bands::Part::Top { &bands.top } else { &bands.bottom };
    let outputs = single_threaded(|| run_part(plan, tvec![input], max_tensor_bytes))?;
    bands.geometry.band_output(band, outputs).map_err(band_error)
}

fn band_error(e: TractError) -> Error {
    Error::Internal(format!("joining the row bands: {e:#}"))
}

/// `job` under tract's single-thread executor, whatever thread it is on: its kernels must not
/// split a band's work again.
fn single_threaded<T>(job: impl FnOnce() -> T) -> T {
    use tract_onnx::tract_core::internal::tract_linalg::multithread::{multithread_tract_scope, Executor};
    multithread_tract_scope(Executor::SingleThread, job)
}

fn run_part(plan: &Part, values: TVec<TValue>, max_tensor_bytes: u64) -> Result<TVec<TValue>> {
    crate::error::guard("running the CPU plan", || {
        if PANIC_NEXT_RUN.swap(false, std::sync::atomic::Ordering::Relaxed) {
            panic!("injected panic (__testPanicNextRun)");
        }
        let mut state = plan.runnable.spawn().map_err(|e| Error::Internal(format!("{e:#}")))?;
        let model = plan.runnable.model();
        let result = state.run_plan_with_eval(values, |ctx, op_state, node, mut input| {
            if !plan.watched[node.id] {
                return tract_onnx::tract_core::plan::eval(ctx, op_state, node, input);
            }
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
    })
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
        let (plan, _) = self.entry_for(self.key_of(&inputs))?;
        let values: TVec<TValue> = inputs.into_iter().map(|t| t.into_tvalue()).collect();
        let mut times = vec![];
        crate::error::guard("profiling the CPU plan", || {
            let mut state = plan.whole.runnable.spawn().map_err(|e| Error::Internal(format!("{e:#}")))?;
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
}

fn compile(source: &dyn TypedSource, key: &PlanKey) -> Result<Plan> {
    let decluttered = source.decluttered_at(key)?;
    let cannot_run = |e: TractError| Error::InputMismatch {
        name: "(all inputs)".into(),
        detail: format!(
            "the model cannot run at input shapes {}{}: {e:#}",
            shapes_text(&key.0),
            source.values_text(key)
        ),
    };
    let bands = if super::pool::CAN_THREAD && super::bands::total_work(&decluttered) <= MAX_BANDED_WORK {
        Bands::Pending(Box::new(decluttered.clone()))
    } else {
        Bands::Absent
    };
    let whole = compile_part(decluttered, cannot_run)?;
    Ok(Arc::new(CompiledPlan { whole, bands: std::sync::Mutex::new(bands), runs: Default::default() }))
}

impl CompiledPlan {
    /// The plan's row bands, compiled by the first call that finds them pending.
    fn band_plans(&self) -> Option<Arc<BandPlans>> {
        let mut bands = self.bands.lock().ok()?;
        if let Bands::Pending(model) = std::mem::replace(&mut *bands, Bands::Absent) {
            if let Some(compiled) = compile_bands(*model) {
                *bands = Bands::Ready(Arc::new(compiled));
            }
        }
        match &*bands {
            Bands::Ready(b) => Some(b.clone()),
            _ => None,
        }
    }

    fn bands_pending(&self) -> bool {
        matches!(self.bands.lock().as_deref(), Ok(Bands::Pending(_)))
    }

    /// The bands if compiled (never compiles them).
    fn ready_bands(&self) -> Option<Arc<BandPlans>> {
        match self.bands.lock().as_deref() {
            Ok(Bands::Ready(b)) => Some(b.clone()),
            _ => None,
        }
    }
}

/// A decluttered graph's row bands, compiled; `None` when it has no split worth two threads, or
/// when cutting or compiling it failed (the whole plan then runs as before).
fn compile_bands(model: TypedModel) -> Option<BandPlans> {
    crate::error::guard("compiling the CPU plan's row bands", || {
        let Some(split) =
            super::bands::split(&model, super::bands::MAX_RATIO).map_err(|e| Error::Internal(format!("{e:#}")))?
        else {
            return Ok(None);
        };
        let internal = |e: TractError| Error::Internal(format!("{e:#}"));
        Ok(Some(BandPlans {
            geometry: split.geometry,
            top: compile_part(split.top, internal)?,
            bottom: compile_part(split.bottom, internal)?,
            rest: compile_part(split.rest, internal)?,
        }))
    })
    .ok()
    .flatten()
}

/// Our kernels and tract's codegen on a decluttered graph; `cannot_run` words codegen's errors.
fn compile_part(mut decluttered: TypedModel, cannot_run: impl Fn(TractError) -> Error) -> Result<Part> {
    let ours = |e: TractError| Error::Internal(format!("putting our CPU kernels in the plan: {e:#}"));
    // Natively tract's depthwise and element-wise ops have AVX and NEON kernels; on wasm its
    // depthwise has SIMD for stride 1 only, and its add, multiply and product by-scalar none.
    if cfg!(target_arch = "wasm32") {
        super::cpu_kernels::substitute_convolutions(&mut decluttered).map_err(ours)?;
        super::cpu_kernels::fuse_element_wise(&mut decluttered).map_err(ours)?;
        super::cpu_kernels::substitute_vector_products(&mut decluttered).map_err(ours)?;
    }
    let mut optimized = super::optimise::codegen(decluttered).map_err(cannot_run)?;
    super::cpu_kernels::substitute(&mut optimized).map_err(ours)?;
    let watched = super::feed_values::watched(&optimized);
    let runnable = optimized.into_runnable().map_err(|e| Error::Internal(format!("building the plan: {e:#}")))?;
    Ok(Part { runnable, watched })
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
