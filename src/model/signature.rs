//! Inputs and outputs as users see them: names, dtypes, shapes with symbolic dims by name.

use serde::Serialize;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::infer::Factoid;
use tract_onnx::tract_hir::internal::DimLike;

use crate::tensor::DType;

/// One dimension: a number, or the name of a symbol (e.g. `"batch"`, `"height"`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize)]
#[serde(untagged)]
pub enum Dim {
    Fixed(usize),
    Symbol(String),
}

impl Dim {
    fn from_tdim(d: &TDim) -> Dim {
        match d.to_usize() {
            Ok(n) => Dim::Fixed(n),
            Err(_) => Dim::Symbol(d.to_string()),
        }
    }

    pub fn fixed(&self) -> Option<usize> {
        match self {
            Dim::Fixed(n) => Some(*n),
            Dim::Symbol(_) => None,
        }
    }
}

impl std::fmt::Display for Dim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Dim::Fixed(n) => write!(f, "{n}"),
            Dim::Symbol(s) => f.write_str(s),
        }
    }
}

/// A model input or output.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct IoInfo {
    pub name: String,
    /// `None` when the model leaves it to inference, or uses a type JS cannot hold (see `model_dtype`).
    pub dtype: Option<DType>,
    /// The model's own element type name (`"f32"`, `"f16"`, `"i64"`...).
    pub model_dtype: Option<String>,
    /// `None` when even the rank is unknown.
    pub shape: Option<Vec<Dim>>,
}

impl IoInfo {
    pub fn is_concrete(&self) -> bool {
        self.shape.as_ref().is_some_and(|s| s.iter().all(|d| d.fixed().is_some()))
    }

    pub fn shape_string(&self) -> String {
        match &self.shape {
            Some(s) => format!("[{}]", s.iter().map(ToString::to_string).collect::<Vec<_>>().join(", ")),
            None => "[any rank]".into(),
        }
    }
}

fn dtype_names(dt: Option<DatumType>) -> (Option<DType>, Option<String>) {
    match dt {
        Some(dt) => (DType::from_datum(dt), Some(format!("{dt:?}").to_lowercase())),
        None => (None, None),
    }
}

pub fn from_inference_fact(name: &str, fact: &InferenceFact) -> IoInfo {
    let (dtype, model_dtype) = dtype_names(fact.datum_type.concretize());
    let shape = (!fact.shape.is_open()).then(|| {
        fact.shape
            .dims()
            .enumerate()
            .map(|(i, d)| match d.concretize() {
                Some(d) => Dim::from_tdim(&d),
                None => Dim::Symbol(format!("{name}_dim{i}")),
            })
            .collect()
    });
    IoInfo { name: name.to_string(), dtype, model_dtype, shape }
}

pub fn from_typed_fact(name: &str, fact: &TypedFact) -> IoInfo {
    let (dtype, model_dtype) = dtype_names(Some(fact.datum_type));
    let shape = Some(fact.shape.dims().iter().map(Dim::from_tdim).collect());
    IoInfo { name: name.to_string(), dtype, model_dtype, shape }
}
