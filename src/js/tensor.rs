//! JS tensors (`{ dims, data, dtype? }` with typed-array data): feeds into tract tensors, results
//! from host tensors.

use js_sys::{Array, BigInt64Array, Float32Array, Int32Array, Object, Reflect, Uint8Array};
use wasm_bindgen::{JsCast, JsValue};

use tract_onnx::prelude::{Datum, Tensor};

use crate::error::{Error, Result};
use crate::tensor::{check_elements, DType, HostTensor, TensorData};

fn mismatch(name: &str, detail: impl Into<String>) -> Error {
    Error::InputMismatch { name: name.to_string(), detail: detail.into() }
}

fn type_name(v: &JsValue) -> String {
    if v.is_undefined() {
        return "undefined".into();
    }
    if v.is_null() {
        return "null".into();
    }
    v.dyn_ref::<Object>()
        .map(|o| o.constructor().name().as_string().unwrap_or_default())
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| v.js_typeof().as_string().unwrap_or_default())
}

/// Reads one feed straight into tract's storage: one copy from the typed array, which the run
/// then takes as it is. Typed-array kinds map to dtypes; `Uint8Array` is `u8` unless
/// `dtype: "bool"`.
pub fn from_js(name: &str, value: &JsValue) -> Result<Tensor> {
    if !value.is_object() {
        return Err(mismatch(name, format!("expected a tensor {{ dims, data }}, got {}", type_name(value))));
    }
    let dims_v = Reflect::get(value, &"dims".into()).unwrap_or(JsValue::UNDEFINED);
    let data = Reflect::get(value, &"data".into()).unwrap_or(JsValue::UNDEFINED);
    let dtype = Reflect::get(value, &"dtype".into()).ok().and_then(|d| d.as_string());
    if !Array::is_array(&dims_v) {
        return Err(mismatch(
            name,
            format!("`dims` must be an array of non-negative integers, got {}", type_name(&dims_v)),
        ));
    }
    let mut dims = vec![];
    for d in Array::from(&dims_v).iter() {
        let n = d
            .as_f64()
            .filter(|n| n.fract() == 0.0 && *n >= 0.0 && *n <= u32::MAX as f64)
            .ok_or_else(|| mismatch(name, format!("`dims` must hold non-negative integers, found {d:?}")))?;
        dims.push(n as usize);
    }
    let bool_bytes = dtype.as_deref() == Some("bool");
    let (kind, len) = if let Some(a) = data.dyn_ref::<Float32Array>() {
        (DType::F32, a.length())
    } else if let Some(a) = data.dyn_ref::<Int32Array>() {
        (DType::I32, a.length())
    } else if let Some(a) = data.dyn_ref::<BigInt64Array>() {
        (DType::I64, a.length())
    } else if let Some(a) = data.dyn_ref::<Uint8Array>() {
        (if bool_bytes { DType::Bool } else { DType::U8 }, a.length())
    } else {
        return Err(mismatch(
            name,
            format!("`data` must be a Float32Array, Int32Array, BigInt64Array or Uint8Array, got {}", type_name(&data)),
        ));
    };
    if let Some(d) = &dtype {
        if d != kind.as_str() {
            return Err(mismatch(name, format!("`dtype` says \"{d}\" but `data` holds {kind}")));
        }
    }
    check_elements(&dims, len as usize).map_err(|e| match e {
        Error::InvalidArgument(detail) => mismatch(name, detail),
        e => e,
    })?;
    match kind {
        DType::F32 => filled::<f32>(&dims, |s| data.unchecked_ref::<Float32Array>().copy_to(s)),
        DType::I32 => filled::<i32>(&dims, |s| data.unchecked_ref::<Int32Array>().copy_to(s)),
        DType::I64 => filled::<i64>(&dims, |s| data.unchecked_ref::<BigInt64Array>().copy_to(s)),
        DType::U8 => filled::<u8>(&dims, |s| data.unchecked_ref::<Uint8Array>().copy_to(s)),
        DType::Bool => {
            let b: Vec<bool> = data.unchecked_ref::<Uint8Array>().to_vec().into_iter().map(|x| x != 0).collect();
            Tensor::from_shape(&dims, &b).map_err(|e| Error::Internal(format!("building input tensor: {e}")))
        }
    }
}

/// A tensor of `dims` whose every element `fill` writes (the caller checked the count).
fn filled<T: Datum + Copy>(dims: &[usize], fill: impl FnOnce(&mut [T])) -> Result<Tensor> {
    let internal = |e: tract_onnx::prelude::TractError| Error::Internal(format!("building input tensor: {e}"));
    // SAFETY: `fill` overwrites every element before the tensor is read.
    let mut t = unsafe { Tensor::uninitialized::<T>(dims) }.map_err(internal)?;
    let mut view = t.to_plain_array_view_mut::<T>().map_err(internal)?;
    fill(view.as_slice_mut().ok_or_else(|| Error::Internal("a new tensor is not contiguous".into()))?);
    Ok(t)
}

pub fn to_js(t: &HostTensor) -> JsValue {
    let obj = Object::new();
    let dims: Array = t.dims.iter().map(|&d| JsValue::from(d as f64)).collect();
    let data: JsValue = match &t.data {
        TensorData::F32(v) => Float32Array::from(v.as_slice()).into(),
        TensorData::I32(v) => Int32Array::from(v.as_slice()).into(),
        TensorData::I64(v) => BigInt64Array::from(v.as_slice()).into(),
        TensorData::U8(v) | TensorData::Bool(v) => Uint8Array::from(v.as_slice()).into(),
    };
    // Setting own properties on a fresh plain object cannot fail.
    let _ = Reflect::set(&obj, &"dims".into(), &dims);
    let _ = Reflect::set(&obj, &"data".into(), &data);
    let _ = Reflect::set(&obj, &"dtype".into(), &t.dtype().as_str().into());
    obj.into()
}
