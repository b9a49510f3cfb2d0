//! Host tensors: what users hand in and get back, independent of any backend.

use serde::Serialize;
use tract_onnx::prelude::{DatumType, Tensor};

use crate::error::{Error, Result};

/// Element types the public API accepts and returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    F32,
    I32,
    I64,
    U8,
    Bool,
}

impl DType {
    pub fn as_str(self) -> &'static str {
        match self {
            DType::F32 => "f32",
            DType::I32 => "i32",
            DType::I64 => "i64",
            DType::U8 => "u8",
            DType::Bool => "bool",
        }
    }

    pub fn size_of(self) -> usize {
        match self {
            DType::F32 | DType::I32 => 4,
            DType::I64 => 8,
            DType::U8 | DType::Bool => 1,
        }
    }

    pub fn from_datum(dt: DatumType) -> Option<DType> {
        Some(match dt {
            DatumType::F32 => DType::F32,
            DatumType::I32 => DType::I32,
            DatumType::I64 => DType::I64,
            DatumType::U8 => DType::U8,
            DatumType::Bool => DType::Bool,
            _ => return None,
        })
    }

    pub fn to_datum(self) -> DatumType {
        match self {
            DType::F32 => DatumType::F32,
            DType::I32 => DatumType::I32,
            DType::I64 => DatumType::I64,
            DType::U8 => DatumType::U8,
            DType::Bool => DatumType::Bool,
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Element storage, one variant per `DType` (bool is stored as 0/1 bytes, like JS `Uint8Array`).
#[derive(Debug, Clone, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    I32(Vec<i32>),
    I64(Vec<i64>),
    U8(Vec<u8>),
    Bool(Vec<u8>),
}

impl TensorData {
    pub fn dtype(&self) -> DType {
        match self {
            TensorData::F32(_) => DType::F32,
            TensorData::I32(_) => DType::I32,
            TensorData::I64(_) => DType::I64,
            TensorData::U8(_) => DType::U8,
            TensorData::Bool(_) => DType::Bool,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::I32(v) => v.len(),
            TensorData::I64(v) => v.len(),
            TensorData::U8(v) | TensorData::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A dense, row-major tensor on the host.
#[derive(Debug, Clone, PartialEq)]
pub struct HostTensor {
    pub dims: Vec<usize>,
    pub data: TensorData,
}

impl HostTensor {
    /// Checks that `data` holds exactly `product(dims)` elements.
    pub fn new(dims: Vec<usize>, data: TensorData) -> Result<Self> {
        check_elements(&dims, data.len())?;
        Ok(HostTensor { dims, data })
    }

    pub fn dtype(&self) -> DType {
        self.data.dtype()
    }

    pub fn f32(dims: Vec<usize>, data: Vec<f32>) -> Result<Self> {
        Self::new(dims, TensorData::F32(data))
    }

    pub fn to_tract(&self) -> Result<Tensor> {
        let t = match &self.data {
            TensorData::F32(v) => Tensor::from_shape(&self.dims, v),
            TensorData::I32(v) => Tensor::from_shape(&self.dims, v),
            TensorData::I64(v) => Tensor::from_shape(&self.dims, v),
            TensorData::U8(v) => Tensor::from_shape(&self.dims, v),
            TensorData::Bool(v) => {
                let b: Vec<bool> = v.iter().map(|&x| x != 0).collect();
                Tensor::from_shape(&self.dims, &b)
            }
        };
        t.map_err(|e| Error::Internal(format!("building input tensor: {e}")))
    }

    /// Converts a tract output; other element types are widened/narrowed to the nearest public one.
    pub fn from_tract(t: &Tensor) -> Result<Self> {
        let dims = t.shape().to_vec();
        let conv = |e: tract_onnx::prelude::TractError| Error::Internal(format!("reading output tensor: {e:#}"));
        let data = match t.datum_type() {
            DatumType::F32 => TensorData::F32(collect::<f32>(t).map_err(conv)?),
            DatumType::I32 => TensorData::I32(collect::<i32>(t).map_err(conv)?),
            DatumType::I64 => TensorData::I64(collect::<i64>(t).map_err(conv)?),
            DatumType::U8 => TensorData::U8(collect::<u8>(t).map_err(conv)?),
            DatumType::Bool => TensorData::Bool(collect::<bool>(t).map_err(conv)?.into_iter().map(u8::from).collect()),
            dt if dt.is_float() => TensorData::F32(collect::<f32>(&*t.cast_to::<f32>().map_err(conv)?).map_err(conv)?),
            DatumType::I8 | DatumType::I16 | DatumType::U16 => {
                TensorData::I32(collect::<i32>(&*t.cast_to::<i32>().map_err(conv)?).map_err(conv)?)
            }
            DatumType::U32 | DatumType::U64 | DatumType::TDim => {
                TensorData::I64(collect::<i64>(&*t.cast_to::<i64>().map_err(conv)?).map_err(conv)?)
            }
            dt => return Err(Error::Internal(format!("the model outputs {dt:?}, which has no JS representation"))),
        };
        Ok(HostTensor { dims, data })
    }
}

fn collect<D: tract_onnx::prelude::Datum + Copy>(t: &Tensor) -> tract_onnx::prelude::TractResult<Vec<D>> {
    let view = t.to_plain_array_view::<D>()?;
    Ok(match view.as_slice() {
        Some(s) => s.to_vec(),
        None => view.iter().copied().collect(),
    })
}

/// That `len` values fill a tensor of `dims` exactly.
pub fn check_elements(dims: &[usize], len: usize) -> Result<()> {
    let expected = element_count(dims)
        .ok_or_else(|| Error::ResourceLimit(format!("tensor dims {dims:?} overflow the address space")))?;
    if expected != len {
        return Err(Error::InvalidArgument(format!(
            "tensor dims {dims:?} need {expected} elements but data has {len}: make `data.length` the product of `dims`"
        )));
    }
    Ok(())
}

/// Product of dims, or None if it overflows.
pub fn element_count(dims: &[usize]) -> Option<usize> {
    dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_dtype_through_tract() {
        let cases = [
            TensorData::F32(vec![1.5, -2.0, 3.25, 0.0, 1e-7, 9.0]),
            TensorData::I32(vec![1, -2, 3, i32::MAX, i32::MIN, 0]),
            TensorData::I64(vec![1, -2, 3, i64::MAX, i64::MIN, 0]),
            TensorData::U8(vec![0, 1, 2, 3, 254, 255]),
            TensorData::Bool(vec![0, 1, 1, 0, 0, 1]),
        ];
        for data in cases {
            let t = HostTensor::new(vec![2, 3], data).unwrap();
            let back = HostTensor::from_tract(&t.to_tract().unwrap()).unwrap();
            assert_eq!(back, t);
        }
    }

    #[test]
    fn data_length_must_match_dims() {
        let e = HostTensor::f32(vec![2, 3], vec![0.0; 5]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::InvalidArgument);
        assert!(e.to_string().contains("6 elements"));
    }

    #[test]
    fn overflowing_dims_are_a_resource_limit() {
        let e = HostTensor::f32(vec![usize::MAX, 2], vec![]).unwrap_err();
        assert_eq!(e.code(), crate::ErrorCode::ResourceLimit);
    }

    #[test]
    fn f16_outputs_widen_to_f32() {
        let t = Tensor::from_shape(
            &[2],
            &[tract_onnx::prelude::f16::from_f32(1.5), tract_onnx::prelude::f16::from_f32(-2.0)],
        )
        .unwrap();
        assert_eq!(HostTensor::from_tract(&t).unwrap().data, TensorData::F32(vec![1.5, -2.0]));
    }
}
