//! Feeds against the model's signature: dtype, rank, fixed and symbolic dims, the tensor budget,
//! finite values; then converted to the model's element types.

use std::collections::HashMap;

use tract_onnx::prelude::*;

use super::signature::{Dim, IoInfo};
use crate::backend::cpu::public_dtype;
use crate::error::{Error, Result};
use crate::tensor::{element_count, DType, HostTensor, TensorData};

/// A model input as a caller gives it: a host tensor (native callers, the tasks), or a tract
/// tensor already in tract's storage (a page's typed array copied once, `js::tensor`), which the
/// run then takes without another copy.
pub trait Feed {
    fn dims(&self) -> &[usize];
    /// The public element type (what JS and the signature name).
    fn dtype(&self) -> DType;
    /// The values, when they are f32.
    fn f32s(&self) -> Option<&[f32]>;
    /// In tract's storage at the model's element type; a u8 feed to a bool input is read as
    /// booleans.
    fn into_model_tensor(self, model_dt: Option<DatumType>) -> Result<Tensor>;
}

impl Feed for HostTensor {
    fn dims(&self) -> &[usize] {
        &self.dims
    }

    fn dtype(&self) -> DType {
        self.data.dtype()
    }

    fn f32s(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            _ => None,
        }
    }

    fn into_model_tensor(self, model_dt: Option<DatumType>) -> Result<Tensor> {
        self.to_tract()?.into_model_tensor(model_dt)
    }
}

impl Feed for Tensor {
    fn dims(&self) -> &[usize] {
        self.shape()
    }

    fn dtype(&self) -> DType {
        public_dtype(self.datum_type())
    }

    fn f32s(&self) -> Option<&[f32]> {
        (self.datum_type() == DatumType::F32).then(|| self.to_plain_array_view::<f32>().ok()?.to_slice()).flatten()
    }

    fn into_model_tensor(self, model_dt: Option<DatumType>) -> Result<Tensor> {
        if self.datum_type() == DatumType::U8 && model_dt == Some(DatumType::Bool) {
            let bits =
                self.to_plain_array_view::<u8>().map_err(|e| Error::Internal(format!("reading input tensor: {e}")))?;
            let b: Vec<bool> = bits.iter().map(|&x| x != 0).collect();
            return Tensor::from_shape(self.shape(), &b)
                .map_err(|e| Error::Internal(format!("building input tensor: {e}")));
        }
        cast(self, model_dt)
    }
}

fn cast(tensor: Tensor, model_dt: Option<DatumType>) -> Result<Tensor> {
    match model_dt {
        Some(dt) if dt != tensor.datum_type() => tensor
            .cast_to_dt(dt)
            .map(|c| c.into_owned())
            .map_err(|e| Error::Internal(format!("casting input to {dt:?}: {e:#}"))),
        _ => Ok(tensor),
    }
}

/// Whether `t`'s NaN/infinity scan can wait for the run (`Unscanned`): an f32 feed that reaches
/// the model as it is (a cast would round what the scan must see).
pub(super) fn scan_later(t: &impl Feed, model_dt: Option<DatumType>) -> bool {
    t.f32s().is_some() && matches!(model_dt, None | Some(DatumType::F32))
}

pub(super) fn check_finite(info: &IoInfo, t: &impl Feed) -> Result<()> {
    t.f32s().map_or(Ok(()), |v| scan(&info.name, v))
}

/// The inputs (by position) whose NaN/infinity scan `Model::prepare_unscanned` left for the run:
/// scanned where the run goes, so that on the pool it is split over the threads (a Whisper
/// decoder step's feeds hold 6 million values, 4 ms on one thread) rather than done on the page's
/// thread first. Every run path calls `check` before the values reach a kernel.
#[must_use]
pub(super) struct Unscanned(pub(super) Vec<(usize, String)>);

impl Unscanned {
    pub fn check(&self, tensors: &[Tensor]) -> Result<()> {
        for (i, name) in &self.0 {
            if let Some(v) = tensors.get(*i).and_then(|t| t.f32s()) {
                scan(name, v)?;
            }
        }
        Ok(())
    }
}

fn scan(name: &str, v: &[f32]) -> Result<()> {
    match first_non_finite(v) {
        None => Ok(()),
        Some(i) => Err(Error::InputMismatch {
            name: name.to_string(),
            detail: format!(
                "element {i} is {}: inputs must be finite numbers (fix the pre-processing, or load with \
                 allowNonFinite if the model expects NaN or infinity)",
                v[i]
            ),
        }),
    }
}

/// The index of the first NaN or infinity. Blocks are scanned without a branch (an early-exit
/// `position` ran one value at a time: 14 % of a Whisper decoder step, whose feeds hold 6 million
/// values); only a block that holds one is searched.
/// On a pool thread (a run in the pool, `Unscanned`), large feeds are scanned by all its threads.
fn first_non_finite(v: &[f32]) -> Option<usize> {
    const BLOCK: usize = 1024;
    let in_block = |(b, block): (usize, &[f32])| {
        has_non_finite(block).then(|| block.iter().position(|x| !x.is_finite()).map(|i| b * BLOCK + i)).flatten()
    };
    #[cfg(all(target_arch = "wasm32", feature = "threads"))]
    if v.len() >= 64 * BLOCK && rayon::current_thread_index().is_some() {
        use rayon::prelude::*;
        return v.par_chunks(BLOCK).enumerate().find_map_first(in_block);
    }
    v.chunks(BLOCK).enumerate().find_map(in_block)
}

/// Whether `block` holds a NaN or an infinity (every exponent bit set), sixteen values a step in
/// wasm SIMD: this crate is optimised for size in the wasm build, where the compiler leaves the
/// plain loop below unvectorised (twice as slow on a decoder step's feeds).
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn has_non_finite(block: &[f32]) -> bool {
    use std::arch::wasm32::*;
    let exponent = u32x4_splat(EXPONENT);
    let load = |s: &[f32], i: usize| {
        let s = &s[i..i + 4];
        // SAFETY: four floats in bounds (sliced above); wasm loads need no alignment.
        v128_and(unsafe { v128_load(s.as_ptr() as *const v128) }, exponent)
    };
    // Every masked value is at most `EXPONENT`, which only a NaN or an infinity reaches: the
    // largest of them says (two operations a vector where comparing each took three).
    let mut most = u32x4_splat(0);
    let mut sixteens = block.chunks_exact(16);
    for s in &mut sixteens {
        most = u32x4_max(most, u32x4_max(u32x4_max(load(s, 0), load(s, 4)), u32x4_max(load(s, 8), load(s, 12))));
    }
    v128_any_true(u32x4_eq(most, exponent)) || sixteens.remainder().iter().any(|x| !x.is_finite())
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn has_non_finite(block: &[f32]) -> bool {
    block.iter().fold(0u32, |acc, x| acc | u32::from(x.to_bits() & EXPONENT == EXPONENT)) != 0
}

/// An f32's exponent bits: all set in a NaN or an infinity.
const EXPONENT: u32 = 0x7f80_0000;

pub(super) fn check_input(
    info: &IoInfo,
    model_dt: Option<DatumType>,
    t: &impl Feed,
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
    let bytes = element_count(t.dims()).map(|n| n as u64 * t.dtype().size_of() as u64);
    if bytes.is_none_or(|b| b > max_bytes) {
        return Err(Error::ResourceLimit(format!(
            "input \"{}\" with dims {:?} exceeds the {} MiB tensor budget",
            info.name,
            t.dims(),
            max_bytes >> 20
        )));
    }
    let Some(shape) = &info.shape else { return Ok(()) };
    if shape.len() != t.dims().len() {
        return Err(mismatch(format!(
            "expected rank {} {}, got dims {:?}",
            shape.len(),
            info.shape_string(),
            t.dims()
        )));
    }
    for (axis, (want, &got)) in shape.iter().zip(t.dims()).enumerate() {
        match want {
            Dim::Fixed(n) if *n != got => {
                return Err(mismatch(format!(
                    "expected shape {}, got {:?} (axis {axis} must be {n})",
                    info.shape_string(),
                    t.dims()
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

/// The inputs as f32 views for the GPU plan (its inputs are f32 by construction).
pub(super) fn f32_views(tensors: &[Tensor]) -> Result<Vec<tract_onnx::prelude::tract_ndarray::ArrayViewD<'_, f32>>> {
    tensors
        .iter()
        .map(|t| t.to_plain_array_view::<f32>())
        .collect::<TractResult<_>>()
        .map_err(|e| Error::Internal(format!("GPU inputs must be f32: {e}")))
}

#[cfg(test)]
mod tests {
    use super::first_non_finite;

    #[test]
    fn finds_the_first_nan_or_infinity_in_any_block() {
        let finite = [0.0, -0.0, f32::MAX, f32::MIN, f32::MIN_POSITIVE, 1e-45, -1e-45];
        let v: Vec<f32> = (0..5000).map(|i| finite[i % finite.len()]).collect();
        assert_eq!(first_non_finite(&v), None);
        assert_eq!(first_non_finite(&[]), None);
        for bad in [f32::NAN, -f32::NAN, f32::INFINITY, f32::NEG_INFINITY] {
            for at in [0, 1, 1023, 1024, 1025, 2047, 4999] {
                let mut w = v.clone();
                w[at] = bad;
                // A later one must not win over the first.
                w[4999.min(at + 7)] = f32::NAN;
                assert_eq!(first_non_finite(&w), Some(at), "{bad} at {at}");
            }
        }
    }
}
