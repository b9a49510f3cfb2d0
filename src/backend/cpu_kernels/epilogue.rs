//! Element-wise steps that follow a convolution in a decluttered graph, folded into the kernel's
//! last pass over its output: `max` or `min` with one constant value (ReLU, clamps) and leaky
//! ReLU. openWakeWord's embedding follows each of its 19 convolutions with a leaky ReLU and a
//! `max(x, -0.4)`: two more passes over every output and two more ops per layer in tract's plan.
//! Each step computes what tract's op computes, NaN included (`max`/`min` with NaN give the
//! constant, a NaN constant leaves the values as they are, as tract's by-scalar kernels do).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::math::{Max, Min};
use tract_onnx::tract_core::ops::nn::LeakyRelu;

/// One step; the constants as f32 bits, so the op stays `Hash` and `Eq`.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Step {
    Max(u32),
    Min(u32),
    LeakyRelu(u32),
}

/// The steps, in graph order.
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
pub struct Epilogue(Vec<Step>);

impl Epilogue {
    /// The steps that follow `node`'s only output, each node the only consumer of the one before
    /// and none a model output, with the same f32 shape all along; and the ids of their nodes.
    pub fn following(model: &TypedModel, node: &TypedNode) -> TractResult<(Epilogue, Vec<usize>)> {
        let (mut steps, mut nodes) = (vec![], vec![]);
        let fact = model.outlet_fact(OutletId::new(node.id, 0))?.clone();
        let outputs = model.output_outlets()?;
        let mut at = node;
        loop {
            let consumers = &at.outputs[0].successors;
            if at.outputs.len() != 1 || consumers.len() != 1 || outputs.contains(&OutletId::new(at.id, 0)) {
                break;
            }
            let next = model.node(consumers[0].node);
            let same = next.outputs.len() == 1 && model.outlet_fact(OutletId::new(next.id, 0))? == &fact;
            let Some(step) = step(model, next, consumers[0].slot)?.filter(|_| same) else { break };
            steps.push(step);
            nodes.push(next.id);
            at = next;
        }
        Ok((Epilogue(steps), nodes))
    }

    /// The steps over `xs`, in place.
    pub fn apply(&self, xs: &mut [f32]) {
        for step in &self.0 {
            let (s, kind) = match *step {
                Step::Max(s) => (f32::from_bits(s), Kind::Max),
                Step::Min(s) => (f32::from_bits(s), Kind::Min),
                Step::LeakyRelu(a) => (f32::from_bits(a), Kind::Leaky),
            };
            // tract's by-scalar max and min leave the values alone for a NaN constant.
            if !(s.is_nan() && matches!(kind, Kind::Max | Kind::Min)) {
                by_scalar(xs, s, kind);
            }
        }
    }
}

/// `node` as a step, when it is one, reading its input from `slot`.
fn step(model: &TypedModel, node: &TypedNode, slot: usize) -> TractResult<Option<Step>> {
    if let Some(ew) = node.op_as::<ElementWiseOp>() {
        let leaky = ew.0.downcast_ref::<LeakyRelu>().filter(|_| ew.1.is_none() && node.inputs.len() == 1);
        return Ok(leaky.map(|l| Step::LeakyRelu(l.alpha.to_bits())));
    }
    let Some(bin) = node.op_as::<TypedBinOp>() else { return Ok(None) };
    if bin.1.is_some() || node.inputs.len() != 2 {
        return Ok(None);
    }
    let Some(konst) = model.outlet_fact(node.inputs[1 - slot])?.konst.clone() else { return Ok(None) };
    if konst.len() != 1 || konst.datum_type() != f32::datum_type() {
        return Ok(None);
    }
    let s = konst.cast_to_scalar::<f32>()?.to_bits();
    Ok(if bin.0.is::<Max>() {
        Some(Step::Max(s))
    } else if bin.0.is::<Min>() {
        Some(Step::Min(s))
    } else {
        None
    })
}

#[derive(Clone, Copy)]
enum Kind {
    Max,
    Min,
    Leaky,
}

/// One value's step, as tract's scalar kernels compute it.
fn one(x: f32, s: f32, kind: Kind) -> f32 {
    match kind {
        Kind::Max => x.max(s),
        Kind::Min => x.min(s),
        Kind::Leaky => {
            if x < 0.0 {
                x * s
            } else {
                x
            }
        }
    }
}

#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
fn by_scalar(xs: &mut [f32], s: f32, kind: Kind) {
    use std::arch::wasm32::*;
    let sv = f32x4_splat(s);
    let mut chunks = xs.chunks_exact_mut(4);
    for c in &mut chunks {
        let p = c.as_mut_ptr() as *mut v128;
        // SAFETY: `c` holds 4 floats; unaligned v128 access is allowed in wasm.
        unsafe {
            let v = v128_load(p);
            // pmax(s, x) = s < x ? x : s: a NaN x gives s, as `x.max(s)` does; pmin likewise.
            let y = match kind {
                Kind::Max => f32x4_pmax(sv, v),
                Kind::Min => f32x4_pmin(sv, v),
                Kind::Leaky => v128_bitselect(f32x4_mul(v, sv), v, f32x4_lt(v, f32x4_splat(0.0))),
            };
            v128_store(p, y);
        }
    }
    for x in chunks.into_remainder() {
        *x = one(*x, s, kind);
    }
}

#[cfg(not(all(target_arch = "wasm32", target_feature = "simd128")))]
fn by_scalar(xs: &mut [f32], s: f32, kind: Kind) {
    for x in xs {
        *x = one(*x, s, kind);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_compute_what_tracts_scalar_kernels_do() {
        let xs = [-2.0f32, -0.5, -0.0, 0.0, 0.3, 7.0, f32::NAN, f32::NEG_INFINITY, f32::INFINITY];
        let run = |e: Epilogue| {
            let mut v = xs.to_vec();
            e.apply(&mut v);
            v
        };
        let max = run(Epilogue(vec![Step::Max((-0.4f32).to_bits())]));
        assert_eq!(&max[..6], &[-0.4, -0.4, -0.0f32.max(-0.4), 0.0, 0.3, 7.0]);
        assert_eq!(max[6], -0.4, "max(NaN, s) is s");
        assert_eq!(&max[7..], &[-0.4, f32::INFINITY]);
        let min = run(Epilogue(vec![Step::Min(1.0f32.to_bits())]));
        assert_eq!(&min[4..6], &[0.3, 1.0]);
        assert_eq!(min[6], 1.0, "min(NaN, s) is s");
        let leaky = run(Epilogue(vec![Step::LeakyRelu(0.2f32.to_bits())]));
        assert_eq!(&leaky[..2], &[-2.0 * 0.2, -0.5 * 0.2]);
        assert_eq!(&leaky[4..6], &[0.3, 7.0]);
        assert!(leaky[6].is_nan());
        let nan_max = run(Epilogue(vec![Step::Max(f32::NAN.to_bits())]));
        assert_eq!(nan_max[0], -2.0, "a NaN constant leaves the values alone");
        let both = run(Epilogue(vec![Step::LeakyRelu(0.2f32.to_bits()), Step::Max((-0.3f32).to_bits())]));
        assert_eq!(&both[..2], &[-0.3, -0.1]);
    }
}
