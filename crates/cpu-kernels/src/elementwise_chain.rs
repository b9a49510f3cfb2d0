//! A chain of element-wise steps that branches and meets again (`x · f(x)`, hard swish) after one
//! of tract's ops, as one pass in place. tract runs each step as its own pass, most of them with
//! its portable kernels (no wasm SIMD for add or multiply by a constant, nor for a product of two
//! tensors), and copies the branching value once, since two nodes read it: PP-OCRv4 rec's 28 hard
//! swishes were five passes and a copy each. The branching node itself stays tract's, so tract
//! still folds it into the matrix product before it.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;

use super::epilogue::Epilogue;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct ElementwiseChain {
    steps: Epilogue,
}

impl ElementwiseChain {
    /// The chain after `node`, when `node`'s output branches into `x · f(x)`, and the ids of the
    /// nodes it takes the place of.
    pub fn after(model: &TypedModel, node: &TypedNode) -> TractResult<Option<(ElementwiseChain, Vec<usize>)>> {
        let concrete = node.outputs.len() == 1 && node.outputs[0].fact.shape.as_concrete().is_some();
        if !concrete {
            return Ok(None);
        }
        Ok(Epilogue::branching_after(model, node)?.map(|(steps, nodes)| (ElementwiseChain { steps }, nodes)))
    }
}

impl Op for ElementwiseChain {
    fn name(&self) -> StaticName {
        "ElementwiseChain".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        Ok(vec![format!("{:?}", self.steps)])
    }

    op_as_typed_op!();
}

impl EvalOp for ElementwiseChain {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        // In place: the branching value's only reader is this op now, so no copy.
        let mut values = args_1!(inputs).into_tensor();
        {
            let mut plain = values.try_as_plain_ram_mut()?;
            let xs = plain.as_slice_mut::<f32>()?;
            // Any split will do (each value is its own); tract's threshold on `work` keeps small
            // tensors on one thread.
            let work = xs.len() * 4;
            tract_linalg::multithread::par_chunks_mut(xs, 1, work, |_, chunk| {
                self.steps.apply(chunk);
                Ok(())
            })?;
        }
        Ok(tvec!(values.into_tvalue()))
    }
}

impl TypedOp for ElementwiseChain {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    as_op!();
}
