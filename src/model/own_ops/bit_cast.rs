//! `BitCast` (opset 26): the same bytes read as another type of the same width.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};

pub fn parse(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let to = node.get_attr::<DatumType>("to")?;
    ensure!(plain(to), "BitCast to {to:?} is not supported: only numbers and bools can be reinterpreted");
    Ok((expand(BitCast { to }), vec![]))
}

/// Types whose values are their bytes (not strings, not symbolic dims, not opaque blobs).
fn plain(dt: DatumType) -> bool {
    dt.is_number() || dt == DatumType::Bool
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BitCast {
    to: DatumType,
}

impl Expansion for BitCast {
    fn name(&self) -> StaticName {
        "BitCast".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, self.to)?;
        s.equals(&outputs[0].shape, &inputs[0].shape)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        super::wire(model, prefix, Box::new(self.clone()), inputs)
    }
}

impl Op for BitCast {
    fn name(&self) -> StaticName {
        "BitCast".into()
    }

    op_as_typed_op!();
}

impl EvalOp for BitCast {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let x = args_1!(inputs);
        let mut bytes = x.as_bytes().to_vec();
        if self.to == DatumType::Bool {
            // A bool is one byte that must be 0 or 1: any other byte reads as true.
            bytes.iter_mut().for_each(|b| *b = u8::from(*b != 0));
        }
        // Safety: same element count and width (checked in `output_facts`), and the bytes are
        // valid for every plain type (bools normalised above).
        let out = unsafe { Tensor::from_raw_dt(self.to, x.shape(), &bytes)? };
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for BitCast {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let from = inputs[0].datum_type;
        ensure!(plain(from), "BitCast from {from:?}: only numbers and bools can be reinterpreted");
        ensure!(
            from.size_of() == self.to.size_of(),
            "BitCast from {from:?} ({} bits) to {:?} ({} bits): the widths must be equal",
            8 * from.size_of(),
            self.to,
            8 * self.to.size_of()
        );
        Ok(tvec!(self.to.fact(inputs[0].shape.clone())))
    }
}
