//! The file's large weights handed to tract one at a time. tract's parser converts every
//! initializer of the decoded file to a tensor while the file keeps its own copy, so a load held
//! each weight twice until the file was dropped (three times for a float16 file, whose float32
//! copies `half_casts` made). Here each large top-level initializer becomes a tensor and its
//! protobuf bytes are freed before the next is read; the parser then sees the names as inputs
//! it cannot resolve, and `restore` turns those back into the constants tract would have made.

use std::collections::{HashMap, HashSet};

use tract_onnx::model::ParseResult;
use tract_onnx::pb;
use tract_onnx::prelude::*;
use tract_onnx::tract_hir::ops::konst::Const;

use crate::error::{guard, Error, Result};

/// Smaller initializers (shapes, axes, scalars) stay in the file for tract's parser, which
/// shares equal constants between the nodes that read them.
const MIN_BYTES: usize = 4096;

/// Weights taken out of a decoded file, by initializer name.
#[derive(Default)]
pub(super) struct Weights(HashMap<String, Arc<Tensor>>);

impl Weights {
    /// Takes the top-level initializers of `MIN_BYTES` or more out of `proto`, as tract would
    /// read them. Left in place: initializers that are also graph inputs (defaults a caller may
    /// override), external data, and every initializer of a file that names one twice.
    pub(super) fn take(proto: &mut pb::ModelProto, onnx: &tract_onnx::Onnx) -> Result<Weights> {
        let Some(g) = proto.graph.as_mut() else { return Ok(Weights::default()) };
        let mut names = HashSet::new();
        if !g.initializer.iter().all(|t| names.insert(t.name.as_str())) {
            return Ok(Weights::default());
        }
        let inputs: HashSet<String> = g.input.iter().map(|i| i.name.clone()).collect();
        let mut taken: HashMap<String, Arc<Tensor>> = HashMap::new();
        let mut kept = Vec::with_capacity(g.initializer.len());
        for t in std::mem::take(&mut g.initializer) {
            if t.raw_data.len() < MIN_BYTES || inputs.contains(&t.name) || !t.external_data.is_empty() {
                kept.push(t);
                continue;
            }
            let tensor = guard("reading the model's weights", || {
                tract_onnx::tensor::load_tensor(&*onnx.provider, &t, None)
                    .map_err(|e| Error::ModelInvalid(format!("initializer \"{}\": {e:#}", t.name)))
            })?
            .into_arc_tensor();
            // Equal weights share one tensor, as tract's parser shares equal constants.
            let shared = taken.values().find(|o| o.as_ref() == tensor.as_ref()).cloned();
            taken.insert(t.name, shared.unwrap_or(tensor));
        }
        g.initializer = kept;
        Ok(Weights(taken))
    }

    /// tract's parse of the file without the taken weights: the inputs it could not resolve
    /// that name one become that constant (no longer a model input); any other is the error
    /// tract gives.
    pub(super) fn restore(&self, parsed: ParseResult) -> TractResult<InferenceModel> {
        let ParseResult { mut model, unresolved_inputs, outlets_by_name } = parsed;
        let mut missing = vec![];
        let mut made = HashSet::new();
        for name in unresolved_inputs {
            let (Some(value), Some(&outlet)) = (self.0.get(&name), outlets_by_name.get(&name)) else {
                missing.push(name);
                continue;
            };
            let node = &mut model.nodes[outlet.node];
            node.op = Box::new(Const::new(value.clone())?);
            node.outputs[outlet.slot].fact = TypedFact::try_from(value.clone())?.into();
            made.insert(outlet);
        }
        if !missing.is_empty() {
            tract_onnx::tract_core::internal::bail!("Could not resolve inputs at top-level: {missing:?}");
        }
        model.inputs.retain(|o| !made.contains(o));
        Ok(model)
    }
}
