//! A chain of element-wise steps by constants that vary along one axis, the channels (a batch
//! normalisation that could not fold into a convolution: DenseNet's and ShuffleNet's
//! `× scale + shift → ReLU` before or between convolutions), as one pass in place. tract runs
//! such chains through its generic broadcasting kernels, per step (no wasm SIMD), or, for a
//! channel plane smaller than a vector, through ndarray's indexed zip: DenseNet-121's 74 chains
//! were 40 % of its time in wasm. Here each channel's plane takes every step while it is in cache,
//! four values at a time. Each step is tract's arithmetic, so the answers are the same to the bit.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::cnn::Conv;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::math::{Add, Max, Min, Mul, Sub};

use super::constant_operand::{constant_operand, Spread};
use super::element_steps::{by_lanes, by_scalar, Kind};

/// Values a block: every step runs over one block of a channel's plane before the next block,
/// which stays in L1 cache meanwhile.
const BLOCK: usize = 1024;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct ChannelChain {
    steps: Vec<Step>,
    /// The axis the constants vary along; `None` when every constant is a scalar.
    axis: Option<usize>,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
struct Step {
    kind: Kind,
    /// One value, or one per index of the chain's axis (f32 bits, so the op stays `Hash`).
    values: Arc<Vec<u32>>,
}

/// A node as a step: its kind, its constant (flattened) and the axis that constant varies along.
struct Found {
    kind: Kind,
    values: Vec<f32>,
    axis: Option<usize>,
    /// The slot of the non-constant input.
    slot: usize,
}

impl ChannelChain {
    /// The chain that starts at `node`, with the input it reads and the ids of the nodes it takes
    /// the place of: steps by constants, each the only consumer of the one before (none a model
    /// output but the last), with the same concrete f32 shape all along. Left to tract: chains
    /// right after a matrix product or a convolution of tract's (its codegen folds such steps into
    /// the product), whole, and a single step by a scalar (tract's by-scalar kernels do as well).
    pub fn starting_at(
        model: &TypedModel,
        node: &TypedNode,
    ) -> TractResult<Option<(ChannelChain, OutletId, Vec<usize>)>> {
        let Some(head) = step(model, node)? else { return Ok(None) };
        let input = node.inputs[head.slot];
        let producer = model.node(input.node);
        // Not the head of its chain (that one was left to tract, or replaced already).
        let inside = producer.outputs.len() == 1
            && producer.outputs[0].successors.len() == 1
            && !model.output_outlets()?.contains(&input)
            && step(model, producer)?.is_some();
        if inside || producer.op_is::<EinSum>() || producer.op_is::<Conv>() {
            return Ok(None);
        }
        let fact = model.outlet_fact(input)?.clone();
        let outputs = model.output_outlets()?;
        let mut chain = ChannelChain { steps: vec![], axis: None };
        let mut nodes = vec![];
        let mut at = node;
        let mut found = head;
        loop {
            if model.outlet_fact(OutletId::new(at.id, 0))? != &fact || !chain.takes(found.axis) {
                break;
            }
            chain.axis = chain.axis.or(found.axis);
            chain
                .steps
                .push(Step { kind: found.kind, values: Arc::new(found.values.iter().map(|v| v.to_bits()).collect()) });
            nodes.push(at.id);
            let out = OutletId::new(at.id, 0);
            let [next] = at.outputs[0].successors[..] else { break };
            if outputs.contains(&out) {
                break;
            }
            let next = model.node(next.node);
            match step(model, next)? {
                Some(s) if next.inputs[s.slot] == out => (found, at) = (s, next),
                _ => break,
            }
        }
        let worth = chain.axis.is_some() || chain.steps.len() > 1;
        Ok((worth && !nodes.is_empty()).then_some((chain, input, nodes)))
    }

    fn takes(&self, axis: Option<usize>) -> bool {
        self.axis.is_none() || axis.is_none() || self.axis == axis
    }

    /// Every step over `xs`, a run of whole channel planes of `inner` values (or whole groups of
    /// `channels` planes), `first` the index of the first plane.
    fn apply(&self, xs: &mut [f32], first: usize, channels: usize, inner: usize) {
        if inner >= BLOCK / 64 {
            for (i, plane) in xs.chunks_mut(inner).enumerate() {
                let channel = (first + i) % channels;
                for block in plane.chunks_mut(BLOCK) {
                    for step in &self.steps {
                        let v = step.values.get(channel).copied().unwrap_or(step.values[0]);
                        by_scalar(block, f32::from_bits(v), step.kind);
                    }
                }
            }
            return;
        }
        // Planes smaller than a few vectors: a step at a time over each group of `channels`.
        for group in xs.chunks_mut(channels * inner) {
            for step in &self.steps {
                if step.values.len() == 1 {
                    by_scalar(group, f32::from_bits(step.values[0]), step.kind);
                } else if inner == 1 {
                    by_lanes(group, &step.values, step.kind);
                } else {
                    for (plane, &v) in group.chunks_mut(inner).zip(step.values.iter()) {
                        by_scalar(plane, f32::from_bits(v), step.kind);
                    }
                }
            }
        }
    }
}

/// `node` as a step: tract's f32 `Add`, `Mul`, `Sub`, `Max` or `Min` of a tensor and a constant
/// that is one value or varies along one axis of the tensor only.
fn step(model: &TypedModel, node: &TypedNode) -> TractResult<Option<Found>> {
    let Some(c) = constant_operand(model, node)? else { return Ok(None) };
    let x = model.outlet_fact(node.inputs[c.slot])?;
    if x.shape.as_concrete().is_none() {
        return Ok(None);
    }
    let varying = match c.spread(&x.shape) {
        Some(Spread::One) => None,
        Some(Spread::Along(axis)) => Some(axis),
        None => return Ok(None),
    };
    let (konst, slot) = (&c.konst, c.slot);
    let values: Vec<f32> = konst.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
    let op = &c.op.0;
    let kind = if op.is::<Add>() {
        Kind::Add
    } else if op.is::<Mul>() {
        Kind::Mul
    } else if op.is::<Sub>() {
        if slot == 0 {
            Kind::Sub
        } else {
            Kind::SubFrom
        }
    } else if op.is::<Max>() || op.is::<Min>() {
        // The kernels' select keeps a NaN constant where tract's `max` keeps the value.
        if values.iter().any(|v| v.is_nan()) {
            return Ok(None);
        }
        if op.is::<Max>() {
            Kind::Max
        } else {
            Kind::Min
        }
    } else {
        return Ok(None);
    };
    Ok(Some(Found { kind, values, axis: varying, slot }))
}

impl Op for ChannelChain {
    fn name(&self) -> StaticName {
        "ChannelChain".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let kinds: Vec<String> = self.steps.iter().map(|s| format!("{:?}×{}", s.kind, s.values.len())).collect();
        Ok(vec![format!("axis {:?}: {}", self.axis, kinds.join(", "))])
    }

    op_as_typed_op!();
}

impl EvalOp for ChannelChain {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        // In place: a copy only when another node still reads the input, as tract's would.
        let mut values = args_1!(inputs).into_tensor();
        let shape = values.shape().to_vec();
        let (channels, inner) = match self.axis {
            Some(axis) => (shape[axis], shape[axis + 1..].iter().product()),
            None => (1, shape.iter().product()),
        };
        if channels * inner > 0 {
            let mut plain = values.try_as_plain_ram_mut()?;
            let xs = plain.as_slice_mut::<f32>()?;
            let row = if inner >= BLOCK / 64 { inner } else { channels * inner };
            let work = xs.len() * self.steps.len();
            tract_linalg::multithread::par_chunks_mut(xs, row, work, |first, chunk| {
                self.apply(chunk, first, channels, inner);
                Ok(())
            })?;
        }
        Ok(tvec!(values.into_tvalue()))
    }
}

impl TypedOp for ChannelChain {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(inputs[0].datum_type.fact(inputs[0].shape.clone())))
    }

    as_op!();
}
