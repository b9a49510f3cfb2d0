//! `BitShift`: tract shifts with Rust's `<<`/`>>`, which panics on a shift of the type's width
//! or more (debug) or shifts by it modulo the width (release: a silent wrong answer). ONNX says
//! such a shift, or a negative one, gives 0 (right shift of a negative number: -1).

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_core::broadcast::multi_broadcast;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};

pub fn parse_bit_shift(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let left = match node.get_attr::<&str>("direction")? {
        "LEFT" => true,
        "RIGHT" => false,
        other => bail!("BitShift: direction is \"{other}\", not \"LEFT\" or \"RIGHT\""),
    };
    Ok((expand(BitShift { left }), vec![]))
}

impl Expansion for BitShift {
    fn name(&self) -> StaticName {
        "BitShift".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2)?;
        check_output_arity(outputs, 1)?;
        s.equals(&inputs[0].datum_type, &inputs[1].datum_type)?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.given_2(&inputs[0].shape, &inputs[1].shape, move |s, a, b| {
            s.equals(&outputs[0].shape, multi_broadcast(&[a, b])?)
        })
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        super::wire(model, prefix, Box::new(self.clone()), inputs)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct BitShift {
    left: bool,
}

impl BitShift {
    /// One element: `x` sign-extended (or not) from its type, `n` the shift, `bits` the width.
    fn shift(&self, x: i128, n: i128, bits: u32, signed: bool) -> i128 {
        if n < 0 || n >= bits as i128 {
            // Past the width: every bit shifted out (a negative number shifted right keeps its
            // sign bits).
            return if !self.left && signed && x < 0 { -1 } else { 0 };
        }
        if self.left {
            x << n // truncated to the width when written back
        } else if signed {
            x >> n
        } else {
            (x as u128 >> n) as i128
        }
    }
}

/// Reads the little-endian integer at `bytes`, sign-extended when `signed`.
pub fn read_int(bytes: &[u8], signed: bool) -> i128 {
    let mut wide = [0u8; 16];
    wide[..bytes.len()].copy_from_slice(bytes);
    if signed && bytes.last().is_some_and(|b| b & 0x80 != 0) {
        wide[bytes.len()..].fill(0xff);
    }
    i128::from_le_bytes(wide)
}

impl Op for BitShift {
    fn name(&self) -> StaticName {
        "BitShift".into()
    }

    op_as_typed_op!();
}

impl EvalOp for BitShift {
    op_out_of_plan!();

    // Byte-level, one function for the eight integer types (generic code per type cost the
    // wasm bundle 50 KiB gzipped).
    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, b) = args_2!(inputs);
        let dt = a.datum_type();
        ensure!(
            dt.is_integer() && b.datum_type() == dt,
            "BitShift takes two integers of one type, got {dt:?} and {:?}",
            b.datum_type()
        );
        let signed = dt.is_signed();
        let width = dt.size_of();
        let shape = multi_broadcast(&[a.shape(), b.shape()])?;
        let (a, b) = (a.broadcast_to_shape(&shape)?, b.broadcast_to_shape(&shape)?);
        let mut out = a.clone();
        let bytes = out.as_bytes_mut();
        for ((x, n), dst) in a.as_bytes().chunks(width).zip(b.as_bytes().chunks(width)).zip(bytes.chunks_mut(width)) {
            let y = self.shift(read_int(x, signed), read_int(n, signed), 8 * width as u32, signed);
            dst.copy_from_slice(&y.to_le_bytes()[..width]);
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for BitShift {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let shape = multi_broadcast(&[inputs[0].shape.to_tvec(), inputs[1].shape.to_tvec()])?;
        Ok(tvec!(inputs[0].datum_type.fact(shape)))
    }
}
