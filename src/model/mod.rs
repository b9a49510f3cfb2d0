//! bytes → checked, fixed-up ONNX → tract model → backend plan. `Model` is what the JS layer
//! and the CLI hold.

pub mod integrity;
pub mod proto;
pub mod signature;

use std::collections::{BTreeMap, HashMap};

use serde::Serialize;
use tract_onnx::pb;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::{Factoid, GenericFactoid};

use crate::backend::cpu::{public_dtype, CpuBackend};
use crate::backend::BackendKind;
use crate::error::{Error, Result};
use crate::tensor::{element_count, DType, HostTensor, TensorData};
pub use signature::{Dim, IoInfo};

/// Which backend the caller asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BackendChoice {
    #[default]
    Auto,
    Cpu,
    Webgpu,
}

impl std::str::FromStr for BackendChoice {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "auto" => Ok(BackendChoice::Auto),
            "cpu" => Ok(BackendChoice::Cpu),
            "webgpu" => Ok(BackendChoice::Webgpu),
            other => {
                Err(Error::InvalidArgument(format!("backend \"{other}\" is not one of \"auto\", \"cpu\", \"webgpu\"")))
            }
        }
    }
}

/// Options for `Model::load`.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub backend: BackendChoice,
    /// Refuse the bytes unless their sha256 matches (hex or `sha256-<base64>`).
    pub sha256: Option<String>,
    /// Pins input shapes (symbolic dims become these numbers), by input name.
    pub input_shapes: Vec<(String, Vec<usize>)>,
    /// Largest tensor (weights, inputs) accepted, in bytes.
    pub max_tensor_bytes: u64,
    /// Compiled plans kept for models with symbolic input dims.
    pub plan_cache_size: usize,
}

/// wasm32 has a 4 GiB address space that holds everything: one tensor gets at most 1 GiB.
pub const DEFAULT_MAX_TENSOR_BYTES: u64 = 1 << 30;

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            backend: BackendChoice::Auto,
            sha256: None,
            input_shapes: vec![],
            max_tensor_bytes: DEFAULT_MAX_TENSOR_BYTES,
            plan_cache_size: 8,
        }
    }
}

/// One op type of the model: how many nodes use it and where they run.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OpInfo {
    pub count: usize,
    pub backend: BackendKind,
}

/// What `model.info()` reports.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ModelInfo {
    pub backend: BackendKind,
    /// Why this backend was chosen.
    pub backend_reason: String,
    pub opset: i64,
    pub producer: String,
    pub node_count: usize,
    pub parameter_count: u64,
    pub ops: BTreeMap<String, OpInfo>,
    /// What the loader adjusted so the file runs as onnxruntime runs it.
    pub loader_fixes: Vec<String>,
    /// `"static"`: one plan compiled at load; `"per-shape"`: compiled per input shape, cached.
    pub plan: &'static str,
    pub cached_plans: usize,
    pub sha256: String,
    pub byte_length: usize,
}

/// A loaded model, ready to run.
pub struct Model {
    inputs: Vec<IoInfo>,
    outputs: Vec<IoInfo>,
    input_dts: Vec<Option<DatumType>>,
    info: ModelInfo,
    cpu: CpuBackend,
    max_tensor_bytes: u64,
}

impl Model {
    pub fn load(bytes: &[u8], opts: &LoadOptions) -> Result<Model> {
        Self::load_with(bytes, opts, tract_onnx::onnx())
    }

    /// Loads with a given tract ONNX framework (tests use one with ops removed).
    #[doc(hidden)]
    pub fn load_with(bytes: &[u8], opts: &LoadOptions, onnx: tract_onnx::Onnx) -> Result<Model> {
        if bytes.len() as u64 > 2 * opts.max_tensor_bytes.max(1 << 20) {
            return Err(Error::ResourceLimit(format!(
                "the model is {} MiB, over the {} MiB this SDK accepts with maxTensorBytes = {} MiB",
                bytes.len() >> 20,
                (2 * opts.max_tensor_bytes) >> 20,
                opts.max_tensor_bytes >> 20
            )));
        }
        let sha256 = integrity::sha256_hex(bytes);
        if let Some(expected) = &opts.sha256 {
            integrity::verify(bytes, expected)?;
        }
        let backend_reason = match opts.backend {
            BackendChoice::Webgpu => {
                return Err(Error::BackendUnavailable {
                    backend: "webgpu".into(),
                    reason: "this version runs models on the CPU only (the WebGPU backend is not built yet): \
                             use backend \"cpu\" or \"auto\""
                        .into(),
                })
            }
            BackendChoice::Cpu => "requested".to_string(),
            BackendChoice::Auto => "auto: the WebGPU backend is not built in this version".to_string(),
        };

        let mut proto = proto::decode(bytes)?;
        proto::validate(&proto, opts.max_tensor_bytes)?;
        if let Some((op, node)) = proto::unsupported_ops(&proto, &onnx).into_iter().next() {
            return Err(Error::UnsupportedOp {
                op,
                node,
                detail: "tract has no implementation for it; replace it in the export (e.g. a lower opset) \
                         or open an issue with the model"
                    .into(),
            });
        }
        let mut fixes = proto::apply_fixes(&mut proto);
        let ops = proto::op_histogram(&proto);
        let parameter_count = proto::parameter_count(&proto);
        let node_count = ops.values().sum();
        let opset =
            proto.opset_import.iter().find(|i| i.domain.is_empty() || i.domain == "ai.onnx").map_or(0, |i| i.version);
        let producer = format!("{} {}", proto.producer_name, proto.producer_version).trim().to_string();

        let analysed = analyse(&proto, &onnx, &opts.input_shapes, &mut fixes)?;
        let inputs = analysed.inputs;
        let input_dts = analysed.input_dts;
        let all_concrete = inputs.iter().all(IoInfo::is_concrete);
        if analysed.typed_error.is_some() && all_concrete {
            return Err(Error::ModelInvalid(format!(
                "tract could not analyse the graph: {}",
                analysed.typed_error.unwrap_or_default()
            )));
        }
        let mut cpu = CpuBackend::new(analysed.model, opts.plan_cache_size);
        let plan = if all_concrete {
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
            "static"
        } else {
            "per-shape"
        };
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
            sha256,
            byte_length: bytes.len(),
        };
        Ok(Model { inputs, outputs: analysed.outputs, input_dts, info, cpu, max_tensor_bytes: opts.max_tensor_bytes })
    }

    pub fn inputs(&self) -> &[IoInfo] {
        &self.inputs
    }

    pub fn outputs(&self) -> &[IoInfo] {
        &self.outputs
    }

    pub fn info(&self) -> ModelInfo {
        ModelInfo { cached_plans: self.cpu.cached_plans(), ..self.info.clone() }
    }

    /// Runs the model. Inputs by name (all of them); outputs in the model's output order.
    pub fn run(&mut self, mut given: HashMap<String, HostTensor>) -> Result<Vec<(String, HostTensor)>> {
        if let Some(unknown) = given.keys().find(|k| !self.inputs.iter().any(|i| &i.name == *k)) {
            return Err(Error::InputMismatch {
                name: unknown.clone(),
                detail: format!("the model has no such input; its inputs are {}", self.input_names()),
            });
        }
        let mut symbols: HashMap<String, usize> = HashMap::new();
        let mut tensors = Vec::with_capacity(self.inputs.len());
        for (info, dt) in self.inputs.iter().zip(&self.input_dts) {
            let t = given.remove(&info.name).ok_or_else(|| Error::InputMismatch {
                name: info.name.clone(),
                detail: format!("missing: every input must be given ({})", self.input_names()),
            })?;
            check_input(info, *dt, &t, &mut symbols, self.max_tensor_bytes)?;
            tensors.push(to_model_tensor(&t, *dt)?);
        }
        let outs = self.cpu.run(tensors)?;
        Ok(self.outputs.iter().map(|o| o.name.clone()).zip(outs).collect())
    }

    fn input_names(&self) -> String {
        self.inputs.iter().map(|i| format!("\"{}\" {}", i.name, i.shape_string())).collect::<Vec<_>>().join(", ")
    }
}

fn check_input(
    info: &IoInfo,
    model_dt: Option<DatumType>,
    t: &HostTensor,
    symbols: &mut HashMap<String, usize>,
    max_bytes: u64,
) -> Result<()> {
    let mismatch = |detail: String| Error::InputMismatch { name: info.name.clone(), detail };
    if let Some(dt) = model_dt {
        let want = public_dtype(dt);
        let ok = want == t.dtype() || (want == DType::Bool && t.dtype() == DType::U8);
        if !ok {
            return Err(mismatch(format!("expected dtype {want}, got {}", t.dtype())));
        }
    }
    let bytes = element_count(&t.dims).map(|n| n as u64 * t.dtype().size_of() as u64);
    if bytes.is_none_or(|b| b > max_bytes) {
        return Err(Error::ResourceLimit(format!(
            "input \"{}\" with dims {:?} exceeds the {} MiB tensor budget",
            info.name,
            t.dims,
            max_bytes >> 20
        )));
    }
    let Some(shape) = &info.shape else { return Ok(()) };
    if shape.len() != t.dims.len() {
        return Err(mismatch(format!("expected rank {} {}, got dims {:?}", shape.len(), info.shape_string(), t.dims)));
    }
    for (axis, (want, &got)) in shape.iter().zip(&t.dims).enumerate() {
        match want {
            Dim::Fixed(n) if *n != got => {
                return Err(mismatch(format!(
                    "expected shape {}, got {:?} (axis {axis} must be {n})",
                    info.shape_string(),
                    t.dims
                )))
            }
            Dim::Fixed(_) => {}
            Dim::Symbol(s) => {
                if got == 0 {
                    return Err(mismatch(format!("axis {axis} (\"{s}\") is 0: give a non-empty tensor")));
                }
                if let Some(&prev) = symbols.get(s) {
                    if prev != got {
                        return Err(mismatch(format!(
                            "axis {axis} is dimension \"{s}\", which another input set to {prev}, got {got}"
                        )));
                    }
                }
                symbols.insert(s.clone(), got);
            }
        }
    }
    Ok(())
}

fn to_model_tensor(t: &HostTensor, model_dt: Option<DatumType>) -> Result<Tensor> {
    // One copy into tract's storage; a Uint8Array fed to a bool input is read as booleans.
    let tensor = match (&t.data, model_dt) {
        (TensorData::U8(v), Some(DatumType::Bool)) => {
            let b: Vec<bool> = v.iter().map(|&x| x != 0).collect();
            Tensor::from_shape(&t.dims, &b).map_err(|e| Error::Internal(format!("building input tensor: {e}")))?
        }
        _ => t.to_tract()?,
    };
    match model_dt {
        Some(dt) if dt != tensor.datum_type() => tensor
            .cast_to_dt(dt)
            .map(|c| c.into_owned())
            .map_err(|e| Error::Internal(format!("casting input to {dt:?}: {e:#}"))),
        _ => Ok(tensor),
    }
}

struct Analysed {
    model: InferenceModel,
    inputs: Vec<IoInfo>,
    input_dts: Vec<Option<DatumType>>,
    outputs: Vec<IoInfo>,
    typed_error: Option<String>,
}

/// Parses the proto into tract and runs type/shape analysis. value_info entries are hints that
/// exports often get wrong (PyTorch leaves symbolic ones that contradict concrete inputs, and
/// subgraph hints break analysis at concrete shapes): like onnxruntime, infer shapes from the
/// inputs and ignore them; use them only if analysis cannot succeed without.
fn analyse(
    proto: &pb::ModelProto,
    onnx: &tract_onnx::Onnx,
    pins: &[(String, Vec<usize>)],
    fixes: &mut Vec<String>,
) -> Result<Analysed> {
    let hints = proto::value_info_count(proto);
    let without = parse(proto, onnx.clone().with_ignore_value_info(true), pins)?;
    let err = match typed(&without) {
        Ok(t) => {
            if hints > 0 {
                fixes.push(format!("value_info: {hints} shape hint(s) ignored, shapes inferred from the inputs"));
            }
            return Ok(describe(without, Some(t), None));
        }
        Err(e) => e,
    };
    if hints > 0 {
        let with = parse(proto, onnx.clone(), pins)?;
        if let Ok(t) = typed(&with) {
            return Ok(describe(with, Some(t), None));
        }
    }
    Ok(describe(without, None, Some(err)))
}

fn parse(proto: &pb::ModelProto, onnx: tract_onnx::Onnx, pins: &[(String, Vec<usize>)]) -> Result<InferenceModel> {
    let mut model = guard("parsing the model", || {
        onnx.model_for_proto_model(proto).map_err(|e| Error::ModelInvalid(format!("{e:#}")))
    })?;
    for (name, shape) in pins {
        let ix = model
            .input_outlets()
            .map_err(|e| Error::Internal(format!("{e:#}")))?
            .iter()
            .position(|o| model.node(o.node).name == *name)
            .ok_or_else(|| {
                Error::InvalidArgument(format!("inputShapes names \"{name}\", which is not an input of the model"))
            })?;
        let mut fact = model.input_fact(ix).map_err(|e| Error::Internal(format!("{e:#}")))?.clone();
        if let GenericFactoid::Only(r) = fact.shape.rank() {
            if r as usize != shape.len() {
                return Err(Error::InvalidArgument(format!(
                    "inputShapes gives \"{name}\" rank {}, the model declares rank {r}",
                    shape.len()
                )));
            }
        }
        fact.shape = shape.iter().copied().collect::<TVec<usize>>().into();
        model.set_input_fact(ix, fact).map_err(|e| Error::Internal(format!("{e:#}")))?;
    }
    Ok(model)
}

fn typed(model: &InferenceModel) -> std::result::Result<TypedModel, String> {
    let m = model.clone();
    match guard("analysing the model", || Ok(m.into_typed().and_then(|t| t.into_decluttered()))) {
        Ok(Ok(t)) => Ok(t),
        Ok(Err(e)) => Err(format!("{e:#}")),
        Err(e) => Err(e.to_string()),
    }
}

fn describe(model: InferenceModel, typed: Option<TypedModel>, typed_error: Option<String>) -> Analysed {
    let name_of = |m: &InferenceModel, o: OutletId| {
        m.outlet_label(o).map(str::to_string).unwrap_or_else(|| m.node(o.node).name.clone())
    };
    let in_outlets = model.input_outlets().map(|o| o.to_vec()).unwrap_or_default();
    let out_outlets = model.output_outlets().map(|o| o.to_vec()).unwrap_or_default();
    let input_dts =
        in_outlets.iter().map(|&o| model.outlet_fact(o).ok().and_then(|f| f.datum_type.concretize())).collect();
    let (inputs, outputs) = match &typed {
        Some(t) => (
            in_outlets
                .iter()
                .zip(t.input_outlets().unwrap_or(&[]))
                .map(|(&o, &to)| signature::from_typed_fact(&model.node(o.node).name, t.outlet_fact(to).unwrap()))
                .collect(),
            out_outlets
                .iter()
                .zip(t.output_outlets().unwrap_or(&[]))
                .map(|(&o, &to)| signature::from_typed_fact(&name_of(&model, o), t.outlet_fact(to).unwrap()))
                .collect(),
        ),
        None => (
            in_outlets
                .iter()
                .map(|&o| signature::from_inference_fact(&model.node(o.node).name, model.outlet_fact(o).unwrap()))
                .collect(),
            out_outlets
                .iter()
                .map(|&o| signature::from_inference_fact(&name_of(&model, o), model.outlet_fact(o).unwrap()))
                .collect(),
        ),
    };
    Analysed { model, inputs, input_dts, outputs, typed_error }
}

/// Runs tract code so that a panic inside it becomes an error instead of unwinding into the
/// caller (natively; in wasm a panic aborts, so loading validates inputs up front).
pub(crate) fn guard<T>(what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(r) => r,
        Err(payload) => {
            let msg = payload
                .downcast_ref::<String>()
                .map(String::as_str)
                .or_else(|| payload.downcast_ref::<&str>().copied())
                .unwrap_or("unknown panic");
            Err(Error::Internal(format!("tract panicked while {what}: {msg}")))
        }
    }
}
