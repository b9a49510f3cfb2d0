//! Feeds against the model's signature: dtype, rank, fixed and symbolic dims, the tensor budget,
//! finite values; then converted to the model's element types.

use std::collections::HashMap;

use tract_onnx::prelude::*;

use super::signature::{Dim, IoInfo};
use crate::backend::cpu::public_dtype;
use crate::error::{Error, Result};
use crate::tensor::{element_count, DType, HostTensor, TensorData};

pub(super) fn check_finite(info: &IoInfo, t: &HostTensor) -> Result<()> {
    if let TensorData::F32(v) = &t.data {
        if let Some(i) = v.iter().position(|x| !x.is_finite()) {
            return Err(Error::InputMismatch {
                name: info.name.clone(),
                detail: format!(
                    "element {i} is {}: inputs must be finite numbers (fix the pre-processing, or load with \
                     allowNonFinite if the model expects NaN or infinity)",
                    v[i]
                ),
            });
        }
    }
    Ok(())
}

pub(super) fn check_input(
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

pub(super) fn to_model_tensor(t: &HostTensor, model_dt: Option<DatumType>) -> Result<Tensor> {
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

/// The inputs as f32 views for the GPU plan (its inputs are f32 by construction).
pub(super) fn f32_views(tensors: &[Tensor]) -> Result<Vec<tract_onnx::prelude::tract_ndarray::ArrayViewD<'_, f32>>> {
    tensors
        .iter()
        .map(|t| t.to_plain_array_view::<f32>())
        .collect::<TractResult<_>>()
        .map_err(|e| Error::Internal(format!("GPU inputs must be f32: {e}")))
}
