//! Runs whose large inputs the caller keeps from one run to the next (an autoregressive decoder
//! feeds the same encoder keys and values, and a growing cache, to every step): the tensors are
//! shared with tract instead of converted and copied each time. Always on the CPU.

use std::sync::Arc;

use tract_onnx::prelude::*;

use super::Model;
use crate::error::{Error, Result};
use crate::tensor::HostTensor;

impl Model {
    /// `inputs` in the model's input order, of its element types and (fixed) shapes. Values are
    /// not scanned for NaN: callers are the SDK's own decoders, whose tensors come from models.
    pub(crate) async fn run_shared(&mut self, inputs: Vec<Arc<Tensor>>) -> Result<Vec<HostTensor>> {
        if inputs.len() != self.inputs.len() {
            return Err(Error::Internal(format!("{} inputs for a model of {}", inputs.len(), self.inputs.len())));
        }
        for ((t, info), dt) in inputs.iter().zip(&self.inputs).zip(&self.input_dts) {
            let dims_ok = info.shape.as_ref().is_none_or(|s| {
                s.len() == t.rank() && s.iter().zip(t.shape()).all(|(d, &n)| d.fixed().is_none_or(|f| f == n))
            });
            if !dims_ok || dt.is_some_and(|dt| dt != t.datum_type()) {
                return Err(Error::InputMismatch {
                    name: info.name.clone(),
                    detail: format!(
                        "expected {} {}, got {:?} {:?}",
                        info.shape_string(),
                        dt.map_or("?".into(), |d| format!("{d:?}")),
                        t.datum_type(),
                        t.shape()
                    ),
                });
            }
        }
        self.cpu.run_shared_async(inputs).await
    }
}
