//! Element-wise steps that follow a node in a decluttered graph, folded into one pass over its
//! output: arithmetic, `max` or `min` with one constant value (ReLU, clamps), leaky ReLU, and a
//! value multiplied by what the chain held before a branch (`x · f(x)`: hard swish). Our
//! convolutions apply them in their last pass over each output block (openWakeWord's embedding
//! follows each of its 19 convolutions with a leaky ReLU and a `max(x, -0.4)`); `ElementwiseChain`
//! applies them after tract's ops where the chain branches (PP-OCRv4's hard swish after each
//! layer: five of tract's passes, one of them a copy, in one).
//! Each step computes what tract's op computes, NaN included (`max`/`min` with NaN give the
//! constant, a NaN constant leaves the values as they are, as tract's by-scalar kernels do).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::math::{Add, Max, Min, Mul, Sub};
use tract_onnx::tract_core::ops::nn::LeakyRelu;

use super::element_steps::{by_scalar, Kind};

/// One step; the constants as f32 bits, so the op stays `Hash` and `Eq`.
#[derive(Debug, Clone, Copy, Hash, PartialEq, Eq)]
enum Step {
    Max(u32),
    Min(u32),
    LeakyRelu(u32),
    Add(u32),
    Mul(u32),
    /// `x − s`.
    Sub(u32),
    /// Keeps the values for `MulSaved`.
    Save,
    /// The values times those kept by the last `Save`.
    MulSaved,
}

impl Step {
    /// The constant and the kind of a step by a scalar; `None` for `Save` and `MulSaved`.
    fn by_scalar(self) -> Option<(f32, Kind)> {
        let (s, kind) = match self {
            Step::Max(s) => (s, Kind::Max),
            Step::Min(s) => (s, Kind::Min),
            Step::LeakyRelu(a) => (a, Kind::Leaky),
            Step::Add(s) => (s, Kind::Add),
            Step::Mul(s) => (s, Kind::Mul),
            Step::Sub(s) => (s, Kind::Sub),
            Step::Save | Step::MulSaved => return None,
        };
        Some((f32::from_bits(s), kind))
    }
}

/// Values a block when a step keeps values for a later one: `Save` keeps one block, and the
/// block stays in L1 cache from the first step to the last.
const BLOCK: usize = 256;

/// The steps, in graph order.
#[derive(Debug, Clone, Default, Hash, PartialEq, Eq)]
pub struct Epilogue(Vec<Step>);

impl Epilogue {
    /// The steps that follow `node`'s only output, each node the only consumer of the one before
    /// (or a branch that meets again in a product, `x · f(x)`) and none a model output, with the
    /// same f32 shape all along; and the ids of their nodes.
    pub fn following(model: &TypedModel, node: &TypedNode) -> TractResult<(Epilogue, Vec<usize>)> {
        Self::chain(model, node, false)
    }

    /// As `following`, when `node`'s output branches into `x · f(x)` right away: the steps from
    /// there on.
    pub fn branching_after(model: &TypedModel, node: &TypedNode) -> TractResult<Option<(Epilogue, Vec<usize>)>> {
        let (epilogue, nodes) = Self::chain(model, node, true)?;
        Ok(Some((epilogue, nodes)).filter(|(e, _)| !e.0.is_empty()))
    }

    fn chain(model: &TypedModel, node: &TypedNode, branch_first: bool) -> TractResult<(Epilogue, Vec<usize>)> {
        let (mut steps, mut nodes) = (vec![], vec![]);
        let fact = model.outlet_fact(OutletId::new(node.id, 0))?.clone();
        if fact.datum_type != f32::datum_type() || fact.konst.is_some() {
            return Ok((Epilogue(steps), nodes));
        }
        let outputs = model.output_outlets()?;
        let mut at = node;
        loop {
            let consumers = &at.outputs[0].successors;
            if at.outputs.len() != 1 || outputs.contains(&OutletId::new(at.id, 0)) {
                break;
            }
            if consumers.len() == 2 {
                let Some((inner, product)) = branch(model, at, &fact)? else { break };
                steps.push(Step::Save);
                for (id, step) in inner {
                    steps.push(step);
                    nodes.push(id);
                }
                steps.push(Step::MulSaved);
                nodes.push(product);
                at = model.node(product);
                continue;
            }
            if consumers.len() != 1 || (branch_first && steps.is_empty()) {
                break;
            }
            let Some((next, step)) = single(model, at, &fact)? else { break };
            steps.push(step);
            nodes.push(next);
            at = model.node(next);
        }
        Ok((Epilogue::new(steps), nodes))
    }

    /// The steps, less those that change nothing: tract's by-scalar `max` and `min` leave the
    /// values alone for a NaN constant.
    fn new(mut steps: Vec<Step>) -> Epilogue {
        steps.retain(|s| !matches!(*s, Step::Max(c) | Step::Min(c) if f32::from_bits(c).is_nan()));
        Epilogue(steps)
    }

    /// The steps over `xs`, in place: one pass each over the whole slice (in cache: callers give
    /// a row or a block of rows), or, when a step must see the values an earlier one kept, block
    /// by block.
    pub fn apply(&self, xs: &mut [f32]) {
        if !self.0.contains(&Step::Save) {
            for (s, kind) in self.0.iter().filter_map(|s| s.by_scalar()) {
                by_scalar(xs, s, kind);
            }
            return;
        }
        let mut saved = [0f32; BLOCK];
        for block in xs.chunks_mut(BLOCK) {
            for &step in &self.0 {
                match step {
                    Step::Save => saved[..block.len()].copy_from_slice(block),
                    Step::MulSaved => {
                        for (x, s) in block.iter_mut().zip(&saved) {
                            *x *= s;
                        }
                    }
                    _ => {
                        if let Some((s, kind)) = step.by_scalar() {
                            by_scalar(block, s, kind);
                        }
                    }
                }
            }
        }
    }
}

/// `at`'s only consumer as a step, when it is one with `fact` as its output.
fn single(model: &TypedModel, at: &TypedNode, fact: &TypedFact) -> TractResult<Option<(usize, Step)>> {
    let consumer = at.outputs[0].successors[0];
    let next = model.node(consumer.node);
    if next.outputs.len() != 1 || model.outlet_fact(OutletId::new(next.id, 0))? != fact {
        return Ok(None);
    }
    Ok(step(model, next, consumer.slot)?.map(|s| (next.id, s)))
}

/// `at`'s output `x` into two consumers that meet again in `x · f(x)`: `f`'s nodes and steps
/// (each the only consumer of the one before, none a model output) and the product's node.
#[allow(clippy::type_complexity)]
fn branch(model: &TypedModel, at: &TypedNode, fact: &TypedFact) -> TractResult<Option<(Vec<(usize, Step)>, usize)>> {
    let x = OutletId::new(at.id, 0);
    let outputs = model.output_outlets()?;
    let product_of = |id: usize, other: OutletId| -> TractResult<bool> {
        let node = model.node(id);
        let Some(bin) = node.op_as::<TypedBinOp>() else { return Ok(false) };
        Ok(bin.0.is::<Mul>()
            && bin.1.is_none()
            && node.outputs.len() == 1
            && node.inputs.len() == 2
            && (node.inputs[..] == [x, other] || node.inputs[..] == [other, x])
            && model.outlet_fact(node.inputs[0])? == fact
            && model.outlet_fact(node.inputs[1])? == fact
            && model.outlet_fact(OutletId::new(id, 0))? == fact)
    };
    let consumers = &at.outputs[0].successors;
    for (first, product) in [(consumers[0], consumers[1]), (consumers[1], consumers[0])] {
        // `x · x`: no steps between.
        if first.node == product.node {
            return Ok(product_of(product.node, x)?.then(|| (vec![], product.node)));
        }
        let (mut inner, mut end) = (vec![], first);
        loop {
            let node = model.node(end.node);
            let out = OutletId::new(node.id, 0);
            let same = node.outputs.len() == 1 && model.outlet_fact(out)? == fact && !outputs.contains(&out);
            let Some(step) = step(model, node, end.slot)?.filter(|_| same) else { break };
            inner.push((node.id, step));
            match node.outputs[0].successors[..] {
                [next] if next.node == product.node => {
                    if product_of(product.node, out)? {
                        return Ok(Some((inner, product.node)));
                    }
                    break;
                }
                [next] => end = next,
                _ => break,
            }
        }
    }
    Ok(None)
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
    } else if bin.0.is::<Add>() {
        Some(Step::Add(s))
    } else if bin.0.is::<Mul>() {
        Some(Step::Mul(s))
    } else if bin.0.is::<Sub>() && slot == 0 {
        Some(Step::Sub(s))
    } else {
        None
    })
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
        let nan_max = run(Epilogue::new(vec![Step::Max(f32::NAN.to_bits()), Step::Min(f32::NAN.to_bits())]));
        assert_eq!(nan_max[..6], xs[..6], "a NaN constant leaves the values alone");
        let both = run(Epilogue(vec![Step::LeakyRelu(0.2f32.to_bits()), Step::Max((-0.3f32).to_bits())]));
        assert_eq!(&both[..2], &[-0.3, -0.1]);
        // Hard swish with an affine step on either side: 0.5·(x + 1)·min(max(x + 1 + 3, 0), 6) − 1.
        // Not `clamp`: tract's max then min give 0 for NaN, as the steps do.
        #[allow(clippy::manual_clamp)]
        let f = |x: f32| {
            let y = x + 1.0;
            y * (y + 3.0).max(0.0).min(6.0) * 0.5 - 1.0
        };
        let c = |v: f32| v.to_bits();
        let swish = run(Epilogue::new(vec![
            Step::Add(c(1.0)),
            Step::Save,
            Step::Add(c(3.0)),
            Step::Max(c(0.0)),
            Step::Min(c(6.0)),
            Step::MulSaved,
            Step::Mul(c(0.5)),
            Step::Sub(c(1.0)),
        ]));
        for (x, got) in xs.iter().zip(&swish) {
            assert!(got.to_bits() == f(*x).to_bits() || got.is_nan() && f(*x).is_nan(), "{x}: {got} against {}", f(*x));
        }
    }
}
