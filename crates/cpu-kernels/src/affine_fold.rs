//! A scale and a shift per output channel right after a convolution (a batch normalisation the
//! exporter left unfolded: ShuffleNet's after each of its layers) folded into the convolution's
//! filters and bias, before the kernels take the convolutions: a pass over the output fewer per
//! layer, and the element-wise steps after it (a ReLU) become the kernel's epilogue. The answers
//! move by rounding only: each filter is scaled before the sum instead of the sum after it.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::model::TypedModelPatch;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::math::{Add, Mul};

use super::constant_operand::{constant_operand, Spread};

/// One step: `× s[o]` or `+ t[o]` for output channel `o`.
enum Step {
    Scale(Vec<f32>),
    Shift(Vec<f32>),
}

/// Folds the scales and shifts after every f32 `Conv` (OIHW filters, constant filters and bias)
/// into it; returns how many convolutions took some.
pub fn fold_channel_affine(model: &mut TypedModel) -> TractResult<usize> {
    let mut folded = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let Some(conv) = node.op_as::<Conv>() else { continue };
        let facts: Vec<&TypedFact> = node.inputs.iter().map(|&i| model.outlet_fact(i)).collect::<TractResult<_>>()?;
        let (m, out) = (conv.output_channels(), model.outlet_fact(OutletId::new(id, 0))?);
        let fits = conv.q_params.is_none()
            && conv.kernel_fmt == KernelFormat::OIHW
            && facts.len() == 3
            && facts[1..].iter().all(|f| f.konst.as_ref().is_some_and(|k| k.datum_type() == f32::datum_type()))
            && out.datum_type == f32::datum_type()
            && facts[2].konst.as_ref().is_some_and(|b| b.len() == 1 || b.len() == m);
        let Some(shape) = out.shape.as_concrete().filter(|_| fits) else { continue };
        let axis = conv.pool_spec.data_format.shape(shape)?.c_axis();
        let (steps, nodes) = following(model, node, axis, m)?;
        if steps.is_empty() {
            continue;
        }
        let kernel = facts[1].konst.clone().unwrap();
        let mut filters = kernel.try_as_plain_ram()?.as_slice::<f32>()?.to_vec();
        let bias_in = facts[2].konst.clone().unwrap();
        let bias_in = bias_in.try_as_plain_ram()?;
        let bias_in = bias_in.as_slice::<f32>()?;
        let mut bias: Vec<f32> = (0..m).map(|o| bias_in[if bias_in.len() == 1 { 0 } else { o }]).collect();
        let per_output = filters.len() / m;
        for step in &steps {
            match step {
                Step::Scale(s) => {
                    for (o, row) in filters.chunks_exact_mut(per_output).enumerate() {
                        row.iter_mut().for_each(|w| *w *= s[o]);
                        bias[o] *= s[o];
                    }
                }
                Step::Shift(t) => bias.iter_mut().zip(t).for_each(|(b, t)| *b += t),
            }
        }
        let filters = tract_ndarray::ArrayD::from_shape_vec(kernel.shape(), filters)?.into_tensor();
        let mut patch = TypedModelPatch::default();
        let x = patch.tap_model(model, node.inputs[0])?;
        let k = patch.add_const(format!("{}.filters", node.name), filters)?;
        let b = patch.add_const(format!("{}.bias", node.name), tensor1(&bias))?;
        let y = patch.wire_node(&node.name, conv.clone(), &[x, k, b])?[0];
        patch.shunt_outside(model, OutletId::new(*nodes.last().unwrap(), 0), y)?;
        for &n in std::iter::once(&id).chain(&nodes) {
            patch.obliterate(n)?;
        }
        patch.apply(model)?;
        folded += 1;
    }
    Ok(folded)
}

/// The `Mul`s and `Add`s by constants per channel (along `axis`, `m` of them) or by one value
/// that follow `node`, each the only consumer of the one before and none a model output but the
/// last, keeping the shape; and their ids.
fn following(model: &TypedModel, node: &TypedNode, axis: usize, m: usize) -> TractResult<(Vec<Step>, Vec<usize>)> {
    let (mut steps, mut nodes) = (vec![], vec![]);
    let fact = model.outlet_fact(OutletId::new(node.id, 0))?.clone();
    let outputs = model.output_outlets()?;
    let mut at = node;
    loop {
        let out = OutletId::new(at.id, 0);
        let [next] = at.outputs[0].successors[..] else { break };
        if outputs.contains(&out) {
            break;
        }
        let next_node = model.node(next.node);
        let Some(c) = constant_operand(model, next_node)? else { break };
        let (is_mul, is_add) = (c.op.0.is::<Mul>(), c.op.0.is::<Add>());
        let per_channel = match c.spread(&fact.shape) {
            Some(Spread::One) => true,
            Some(Spread::Along(a)) => a == axis && fact.shape[axis] == TDim::from(m),
            None => false,
        };
        let same = model.outlet_fact(OutletId::new(next_node.id, 0))? == &fact;
        if !(is_mul || is_add) || !per_channel || !same {
            break;
        }
        let values = c.values(m)?;
        steps.push(if is_mul { Step::Scale(values) } else { Step::Shift(values) });
        nodes.push(next_node.id);
        at = next_node;
    }
    Ok((steps, nodes))
}
