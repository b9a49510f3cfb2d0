//! A run's feeds checked against the model's signature (names, element types, shapes, the tensor
//! budget, finite values) and converted to its element types, before any backend sees them.

use std::collections::HashMap;

use tract_onnx::prelude::*;

use super::feeds::{check_finite, check_input, scan_later, Feed, Unscanned};
use super::Model;
use crate::error::{Error, Result};

impl Model {
    /// Checks the feeds against the signature and converts them to the model's types.
    pub(super) fn prepare<F: Feed>(&self, given: HashMap<String, F>) -> Result<Vec<Tensor>> {
        let (tensors, unscanned) = self.prepare_unscanned(given)?;
        unscanned.check(&tensors)?;
        Ok(tensors)
    }

    /// `prepare` but the NaN/infinity scan of the feeds that reach the model as they are, left
    /// to the run (`Unscanned`).
    pub(super) fn prepare_unscanned<F: Feed>(&self, mut given: HashMap<String, F>) -> Result<(Vec<Tensor>, Unscanned)> {
        if let Some(unknown) = given.keys().find(|k| !self.inputs.iter().any(|i| &i.name == *k)) {
            return Err(Error::InputMismatch {
                name: unknown.clone(),
                detail: format!("the model has no such input; its inputs are {}", self.input_names()),
            });
        }
        let mut symbols: HashMap<String, usize> = HashMap::new();
        let mut tensors = Vec::with_capacity(self.inputs.len());
        let mut unscanned = Unscanned(vec![]);
        for (info, dt) in self.inputs.iter().zip(&self.input_dts) {
            let t = given.remove(&info.name).ok_or_else(|| Error::InputMismatch {
                name: info.name.clone(),
                detail: format!("missing: every input must be given ({})", self.input_names()),
            })?;
            check_input(info, *dt, &t, &mut symbols, self.max_tensor_bytes)?;
            if !self.allow_non_finite {
                if scan_later(&t, *dt) {
                    unscanned.0.push((tensors.len(), info.name.clone()));
                } else {
                    check_finite(info, &t)?;
                }
            }
            tensors.push(t.into_model_tensor(*dt)?);
        }
        Ok((tensors, unscanned))
    }

    pub(super) fn input_names(&self) -> String {
        self.inputs.iter().map(|i| format!("\"{}\" {}", i.name, i.shape_string())).collect::<Vec<_>>().join(", ")
    }
}
