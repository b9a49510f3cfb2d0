//! Helpers shared by the native test files.
#![allow(dead_code)]

#[cfg(not(target_arch = "wasm32"))]
pub mod onnx;

use std::path::{Path, PathBuf};

use shopfloor::tract_ndarray::ArrayD;
use shopfloor::{HostTensor, TensorData};

/// models/cache, where scripts/test-data.sh puts the third-party models and references.
pub fn cache() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("models/cache")
}

/// The path of a cached file, or None if the test data was not fetched. Under `make test`
/// (SHOPFLOOR_REQUIRE_MODELS=1) a missing file fails the test instead of skipping it.
pub fn cached(rel: &str) -> Option<PathBuf> {
    let p = cache().join(rel);
    if p.exists() {
        return Some(p);
    }
    if std::env::var_os("SHOPFLOOR_REQUIRE_MODELS").is_some() {
        panic!("{} is missing: run scripts/test-data.sh", p.display());
    }
    eprintln!("skipping: {} not found (run scripts/test-data.sh)", p.display());
    None
}

/// Reads a .npy as the public dtype the SDK uses for it (f64 → f32, i8 → i32); None for
/// element types the SDK has no public form for (f16, strings).
pub fn try_read_npy(path: &Path) -> Option<HostTensor> {
    use ndarray_npy::ReadNpyExt;
    let open = || std::fs::File::open(path).unwrap();
    let mk = |shape: &[usize], data: TensorData| Some(HostTensor::new(shape.to_vec(), data).unwrap());
    if let Ok(a) = ArrayD::<f32>::read_npy(open()) {
        return mk(a.shape(), TensorData::F32(a.iter().copied().collect()));
    }
    if let Ok(a) = ArrayD::<f64>::read_npy(open()) {
        return mk(a.shape(), TensorData::F32(a.iter().map(|&x| x as f32).collect()));
    }
    if let Ok(a) = ArrayD::<i64>::read_npy(open()) {
        return mk(a.shape(), TensorData::I64(a.iter().copied().collect()));
    }
    if let Ok(a) = ArrayD::<i32>::read_npy(open()) {
        return mk(a.shape(), TensorData::I32(a.iter().copied().collect()));
    }
    if let Ok(a) = ArrayD::<i8>::read_npy(open()) {
        return mk(a.shape(), TensorData::I32(a.iter().map(|&x| x as i32).collect()));
    }
    if let Ok(a) = ArrayD::<u8>::read_npy(open()) {
        return mk(a.shape(), TensorData::U8(a.iter().copied().collect()));
    }
    if let Ok(a) = ArrayD::<bool>::read_npy(open()) {
        return mk(a.shape(), TensorData::Bool(a.iter().map(|&x| u8::from(x)).collect()));
    }
    None
}

pub fn read_npy(path: &Path) -> HostTensor {
    try_read_npy(path).unwrap_or_else(|| panic!("{}: unsupported npy dtype", path.display()))
}

/// A test case folder: model, named inputs, expected outputs (case.json).
pub struct Case {
    pub model: PathBuf,
    pub inputs: Vec<(String, PathBuf)>,
    pub outputs: Vec<(String, PathBuf)>,
}

pub fn read_case(dir: &Path, model_root: &Path) -> Case {
    let meta: serde_json::Value = serde_json::from_slice(&std::fs::read(dir.join("case.json")).unwrap()).unwrap();
    let model = meta["model"].as_str().unwrap();
    let model = if dir.join(model).exists() { dir.join(model) } else { model_root.join(model) };
    let inputs =
        meta["inputs"].as_object().unwrap().iter().map(|(k, v)| (k.clone(), dir.join(v.as_str().unwrap()))).collect();
    let outputs = meta["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["name"].as_str().unwrap().to_string(), dir.join(o["file"].as_str().unwrap())))
        .collect();
    Case { model, inputs, outputs }
}

/// max |a - b| / max |b|: error relative to the tensor's scale, robust to near-zero elements.
pub fn relative_error(got: &HostTensor, want: &HostTensor) -> f64 {
    assert_eq!(got.dims, want.dims, "shape");
    let (a, b) = (as_f64(got), as_f64(want));
    let scale = b.iter().fold(0f64, |m, x| m.max(x.abs())).max(1e-12);
    let diff = a
        .iter()
        .zip(&b)
        .fold(0f64, |m, (x, y)| if x.is_nan() || y.is_nan() { f64::INFINITY } else { m.max((x - y).abs()) });
    diff / scale
}

pub fn as_f64(t: &HostTensor) -> Vec<f64> {
    match &t.data {
        TensorData::F32(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::I32(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::I64(v) => v.iter().map(|&x| x as f64).collect(),
        TensorData::U8(v) | TensorData::Bool(v) => v.iter().map(|&x| x as f64).collect(),
    }
}

/// ONNX's own comparison: |a - b| <= atol + rtol * |b| for every element.
pub fn allclose(got: &HostTensor, want: &HostTensor, rtol: f64, atol: f64) -> Result<(), String> {
    if got.dims != want.dims {
        return Err(format!("shape {:?}, expected {:?}", got.dims, want.dims));
    }
    for (i, (a, b)) in as_f64(got).iter().zip(as_f64(want)).enumerate() {
        let ok = (a.is_nan() && b.is_nan()) || a == &b || (a - b).abs() <= atol + rtol * b.abs();
        if !ok {
            return Err(format!("element {i}: {a}, expected {b}"));
        }
    }
    Ok(())
}

/// `make test` sets SHOPFLOOR_EXPECT_GPU=1: a missing adapter is then a failure, not a skip.
pub fn gpu_expected() -> bool {
    std::env::var("SHOPFLOOR_EXPECT_GPU").is_ok_and(|v| v == "1")
}
