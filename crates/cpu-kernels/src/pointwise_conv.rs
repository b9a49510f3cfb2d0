//! 1×1 convolutions of f32 channels-first tensors (BlazeFace's pointwise layers) without tract's
//! packing. Where tract's plan keeps a 1×1 layer's input or output channels-last (EfficientNet-
//! Lite0's in the browser, beside tract's channels-last depthwise), the layer stays tract's. tract
//! declutters such a convolution into an `EinSum` (`NIHW,OI->NOHW`) plus a bias `Add`, then lowers
//! the einsum to a blocked matrix product that packs the whole input into panels on every run and
//! drives the micro-kernel tile by tile (the panels, the driver and its border tiles were ~12 % of
//! BlazeFace). Channel c's plane *is* B's row c: each column tile gathers eight consecutive pixels
//! of every plane into one small panel (`offset_tile`), the 4×8 tile multiplies it with the bias
//! `Add` folded into its accumulators' start, and the output rows are written directly. A
//! residual `Add` after it (BlazeFace's blocks: `1×1 → + shortcut → ReLU`) and the element-wise
//! steps after that (`epilogue`) are applied to each block's rows while they are in cache.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cnn::PaddingSpec;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::math::Add;
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::constant_operand::{constant_operand, Spread};
use super::conv_filters::{constant_filters, ConstantFilters};
use super::epilogue::Epilogue;
use super::offset_tile::{gather, pack_as, pack_rows, padded_bias, tile, MR, NR};

/// Every column tile reads all the filters, as `DirectConv`'s: past this, tract's blocked product
/// (one block's filters kept in cache while the panels stream) is the better shape.
const MAX_FILTER_BYTES: usize = 128 << 10;
/// A column tile reads `NR` floats of every input plane: past this many planes those reads no
/// longer stay in L1 while every block of outputs reuses them.
const MAX_CHANNELS: usize = 512;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct PointwiseConv {
    /// Output and input channels of each group.
    m: usize,
    k: usize,
    /// Groups of channels (a grouped convolution: group g's outputs read group g's inputs only).
    groups: usize,
    /// The channel axis of input and output: 0 (one image) or 1 (images on axis 0).
    axis: usize,
    /// Filters `[m / MR rounded up][k][MR]`, group after group.
    packed: Arc<Tensor>,
    /// One bias per output channel (zero without a folded `Add`), `m` rounded up to `MR`, group
    /// after group.
    bias: Arc<Tensor>,
    /// Whether a second input, of the output's shape, is added to the output (a folded residual
    /// `Add`).
    residual: bool,
    /// The element-wise nodes after it (or after the residual `Add`), folded in.
    epilogue: Epilogue,
}

/// A pointwise convolution found in a decluttered graph: the op, its inputs, and the nodes after
/// the einsum it folds in (bias `Add`, residual `Add`, element-wise steps; the last one's output
/// is then the op's).
pub struct Found {
    pub op: PointwiseConv,
    /// The einsum's input (the planes the tiles gather from), then the residual, if any.
    pub inputs: TVec<OutletId>,
    pub folded: Vec<usize>,
}

impl PointwiseConv {
    /// The kernel for `node` if it is an f32 `EinSum` of a channels-first tensor `[N?, I, S…]`
    /// by constant filters `[O, I]` into `[N?, O, S…]` (a 1×1 convolution, however tract lettered
    /// it), whose filters fit `MAX_FILTER_BYTES` and whose planes hold at least one column tile.
    pub fn replacing(model: &TypedModel, node: &TypedNode) -> TractResult<Option<Found>> {
        let Some(einsum) = node.op_as::<EinSum>() else { return Ok(None) };
        if einsum.q_params.is_some() || einsum.operating_dt != f32::datum_type() || node.inputs.len() != 2 {
            return Ok(None);
        }
        let (ins, outs) = einsum.axes.to_strs();
        let facts = [model.outlet_fact(node.inputs[0])?, model.outlet_fact(node.inputs[1])?];
        // Which input is the constant filters (`[O, I]`, or `[I]` for one output channel, whose
        // axis tract then leaves to the output alone); the other is the image.
        let Some(w_slot) = (0..2).find(|&s| facts[s].konst.is_some() && (1..=2).contains(&facts[s].rank())) else {
            return Ok(None);
        };
        let x_slot = 1 - w_slot;
        let (x, w, o): (Vec<char>, Vec<char>, Vec<char>) =
            (ins[x_slot].chars().collect(), ins[w_slot].chars().collect(), outs[0].chars().collect());
        let (o_ax, i_ax) = match w.as_slice() {
            [o_ax, i_ax] => (*o_ax, *i_ax),
            [i_ax] => match o.iter().filter(|c| !x.contains(c)).collect::<Vec<_>>().as_slice() {
                [o_ax] => (**o_ax, *i_ax),
                _ => return Ok(None),
            },
            _ => return Ok(None),
        };
        let Some(axis) = x.iter().position(|&c| c == i_ax) else { return Ok(None) };
        let renamed: Vec<char> = x.iter().map(|&c| if c == i_ax { o_ax } else { c }).collect();
        let Some(shape) = facts[x_slot].shape.as_concrete() else { return Ok(None) };
        let filters = facts[w_slot].konst.clone().unwrap();
        let k = *filters.shape().last().unwrap();
        let m = filters.len() / k.max(1);
        let plane: usize = shape[axis + 1..].iter().product();
        let fits = axis <= 1
            && x.len() >= axis + 2
            && !o.contains(&i_ax)
            && !x.contains(&o_ax)
            && renamed == o
            && facts[x_slot].datum_type == f32::datum_type()
            && filters.datum_type() == f32::datum_type()
            && filters.is_plain()
            && shape[axis] == k
            && (1..=MAX_CHANNELS).contains(&k)
            && m >= 1
            && m * k * 4 <= MAX_FILTER_BYTES
            && plane >= NR;
        if !fits {
            return Ok(None);
        }
        let (bias, mut folded) = match folded_bias(model, node, m, axis, o.len())? {
            Some((bias, add)) => (bias, vec![add]),
            None => (tensor1(&[0f32]), vec![]),
        };
        let mut inputs = tvec![node.inputs[x_slot]];
        let mut last = model.node(folded.last().copied().unwrap_or(node.id));
        if let Some((add, shortcut)) = residual_add(model, last)? {
            inputs.push(shortcut);
            folded.push(add);
            last = model.node(add);
        }
        let (epilogue, steps) = Epilogue::following(model, last)?;
        folded.extend(steps);
        let residual = inputs.len() == 2;
        let op = PointwiseConv {
            m,
            k,
            groups: 1,
            axis,
            // The weights as they lie are `m` rows of `k` (output channel first).
            packed: pack_as(&filters, m, k)?,
            bias: padded_bias(&bias, m)?,
            residual,
            epilogue,
        };
        Ok(Some(Found { op, inputs, folded }))
    }

    /// The kernel for `node` if it is a grouped f32 1×1 `Conv` (stride 1, no padding) of a
    /// channels-first tensor (ShuffleNet's layers: tract packs each group's channels into panels
    /// by its im2col on every run), whose groups fit as `replacing`'s einsums do.
    pub fn replacing_grouped(model: &TypedModel, node: &TypedNode) -> TractResult<Option<Found>> {
        let Some(ConstantFilters { conv, kernel, bias }) = constant_filters(model, node)? else { return Ok(None) };
        let spec = &conv.pool_spec;
        let input = model.outlet_fact(node.inputs[0])?;
        let (groups, m_all, k_all) = (conv.group, conv.output_channels(), conv.input_channels());
        let unpadded = match &spec.padding {
            PaddingSpec::Valid => true,
            PaddingSpec::Explicit(b, a) | PaddingSpec::ExplicitOnnxPool(b, a, false) => {
                b.iter().chain(a.iter()).all(|&p| p == 0)
            }
            _ => false,
        };
        let axis = if spec.data_format == DataFormat::NCHW { 1 } else { 0 };
        let fits = groups > 1
            && spec.kernel_shape.iter().all(|&k| k == 1)
            && spec.dilations().iter().all(|&d| d == 1)
            && spec.strides().iter().all(|&s| s == 1)
            && unpadded
            && m_all % groups == 0
            && k_all % groups == 0
            && (bias.len() == 1 || bias.len() == m_all);
        let Some(shape) = input.shape.as_concrete().filter(|_| fits) else { return Ok(None) };
        let (m, k) = (m_all / groups, k_all / groups);
        let plane: usize = shape[axis + 1..].iter().product();
        if kernel.len() != m_all * k || !(1..=MAX_CHANNELS).contains(&k) || m * k * 4 > MAX_FILTER_BYTES || plane < NR {
            return Ok(None);
        }
        let filters = kernel.try_as_plain_ram()?;
        let filters = filters.as_slice::<f32>()?;
        let full_bias = padded_bias(&bias, m_all)?;
        let full_bias = full_bias.try_as_plain_ram()?;
        let full_bias = full_bias.as_slice::<f32>()?;
        let (mut packed, mut biases) = (vec![], vec![]);
        for g in 0..groups {
            packed.extend(pack_rows(&filters[g * m * k..][..m * k], m, k));
            biases.extend((0..m.div_ceil(MR) * MR).map(|o| if o < m { full_bias[g * m + o] } else { 0.0 }));
        }
        let (epilogue, folded) = Epilogue::following(model, node)?;
        let op = PointwiseConv {
            m,
            k,
            groups,
            axis,
            packed: Arc::new(tract_ndarray::Array1::from_vec(packed).into_tensor()),
            bias: Arc::new(tract_ndarray::Array1::from_vec(biases).into_tensor()),
            residual: false,
            epilogue,
        };
        Ok(Some(Found { op, inputs: tvec![node.inputs[0]], folded }))
    }
}

/// The bias of an `Add` that is `node`'s only consumer, by a constant of one value per output
/// channel (`[1, m, 1, 1]`, `[m, 1, 1]`, or one value), and that node's id.
fn folded_bias(
    model: &TypedModel,
    node: &TypedNode,
    m: usize,
    axis: usize,
    rank: usize,
) -> TractResult<Option<(Tensor, usize)>> {
    let consumers = &node.outputs[0].successors;
    if consumers.len() != 1 || model.output_outlets()?.contains(&OutletId::new(node.id, 0)) {
        return Ok(None);
    }
    let add = model.node(consumers[0].node);
    let Some(c) = constant_operand(model, add)? else { return Ok(None) };
    let fact = model.outlet_fact(OutletId::new(node.id, 0))?;
    let per_channel = match c.spread(&fact.shape) {
        Some(Spread::One) => true,
        Some(Spread::Along(a)) => a == axis && fact.shape[axis] == TDim::from(m),
        None => false,
    };
    // The sum must keep the einsum's shape (no broadcast widening it).
    let same = model.outlet_fact(OutletId::new(add.id, 0))?.shape == fact.shape;
    if !c.op.0.is::<Add>() || !per_channel || !same || fact.rank() != rank {
        return Ok(None);
    }
    let konst = c.konst;
    let flat = (*konst).clone().into_shape(&[konst.len()])?;
    Ok(Some((flat, add.id)))
}

/// The `Add` that is `last`'s only consumer when its other operand is a computed tensor of the
/// same shape and type (a shortcut), and that operand. Every node from the einsum to `last` has
/// one consumer, the next: the shortcut, an input of that `Add`, cannot depend on the einsum.
fn residual_add(model: &TypedModel, last: &TypedNode) -> TractResult<Option<(usize, OutletId)>> {
    let consumers = &last.outputs[0].successors;
    if consumers.len() != 1 || model.output_outlets()?.contains(&OutletId::new(last.id, 0)) {
        return Ok(None);
    }
    let add = model.node(consumers[0].node);
    let is_add = add.op_as::<TypedBinOp>().is_some_and(|b| b.0.is::<Add>() && b.1.is_none());
    if !is_add || add.inputs.len() != 2 {
        return Ok(None);
    }
    let other = add.inputs[1 - consumers[0].slot];
    let (fact, out) = (model.outlet_fact(other)?, model.outlet_fact(OutletId::new(last.id, 0))?);
    let fits = fact.konst.is_none()
        && fact.datum_type == f32::datum_type()
        && fact.shape == out.shape
        && model.outlet_fact(OutletId::new(add.id, 0))?.shape == out.shape;
    Ok(fits.then_some((add.id, other)))
}

impl Op for PointwiseConv {
    fn name(&self) -> StaticName {
        "PointwiseConv".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let residual = if self.residual { ", + residual" } else { "" };
        let groups = if self.groups > 1 { format!(" in {} groups", self.groups) } else { String::new() };
        Ok(vec![format!("{} → {} channels{groups}{residual}, then {:?}", self.k, self.m, self.epilogue)])
    }

    op_as_typed_op!();
}

impl EvalOp for PointwiseConv {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let input = &inputs[0];
        let shape = input.shape();
        let (images, plane): (usize, usize) =
            (shape[..self.axis].iter().product(), shape[self.axis + 1..].iter().product());
        let mut out_shape: TVec<usize> = shape.into();
        out_shape[self.axis] = self.m * self.groups;
        let mut output = unsafe { Tensor::uninitialized::<f32>(&out_shape)? };
        let src = input.try_as_plain_ram()?;
        let src = src.as_slice::<f32>()?;
        let (packed, bias) = (self.packed.try_as_plain_ram()?, self.bias.try_as_plain_ram()?);
        let (packed, bias) = (packed.as_slice::<f32>()?, bias.as_slice::<f32>()?);
        let mut dst = output.try_as_plain_ram_mut()?;
        let dst = dst.as_slice_mut::<f32>()?;
        let shortcut = inputs.get(1).map(|r| r.try_as_plain_ram()).transpose()?;
        let shortcut = shortcut.as_ref().map(|r| r.as_slice::<f32>()).transpose()?;
        let (k, m) = (self.k, self.m);
        let offsets: Vec<usize> = (0..k).map(|c| c * plane).collect();
        let full = plane / NR * NR;
        let group_filters = m.div_ceil(MR) * k * MR;
        let group_bias = m.div_ceil(MR) * MR;
        // Each group of each image: its own planes, filters and outputs.
        for image in 0..images * self.groups {
            let planes = &src[image * k * plane..][..k * plane];
            let out = &mut dst[image * m * plane..][..m * plane];
            let shortcut = shortcut.map(|r| &r[image * m * plane..][..m * plane]);
            let g = image % self.groups;
            let packed = &packed[g * group_filters..][..group_filters];
            let bias = &bias[g * group_bias..][..group_bias];
            // Channels `first ..` of `rows`, now computed: + the shortcut, then the epilogue.
            let finish = |first: usize, rows: &mut [f32]| {
                for (ch, row) in (first..m).zip(rows.chunks_exact_mut(plane)) {
                    if let Some(r) = shortcut {
                        for (o, r) in row.iter_mut().zip(&r[ch * plane..][..plane]) {
                            *o += r;
                        }
                    }
                    self.epilogue.apply(row);
                }
            };
            // The last columns of every plane, zero-filled to a tile (a gathered panel already), so
            // no tile reads past them.
            let tail: Vec<f32> = if full < plane {
                planes
                    .chunks_exact(plane)
                    .flat_map(|p| (full..full + NR).map(|x| p.get(x).copied().unwrap_or(0.0)))
                    .collect()
            } else {
                vec![]
            };
            // Blocks `first ..` of MR output channels: column tile by column tile, every block, so
            // one tile's reads of the planes stay in cache while the blocks' filters pass.
            let blocks = |first: usize, rows: &mut [f32]| {
                let filters = |j: usize| &packed[(first + j) * k * MR..][..k * MR];
                let bias = |j: usize| &bias[(first + j) * MR..][..MR];
                let mut panel = vec![0f32; k * NR];
                for n0 in (0..full).step_by(NR) {
                    gather(&planes[n0..], &offsets, &mut panel);
                    for (j, block) in rows.chunks_exact_mut(MR * plane).enumerate() {
                        tile(filters(j), &panel, bias(j), block, plane, n0);
                    }
                }
                if full < plane {
                    let mut last = [0f32; MR * NR];
                    for (j, block) in rows.chunks_exact_mut(MR * plane).enumerate() {
                        tile(filters(j), &tail, bias(j), &mut last, NR, 0);
                        for (r, row) in block.chunks_exact_mut(plane).enumerate() {
                            row[full..].copy_from_slice(&last[r * NR..][..plane - full]);
                        }
                    }
                }
                finish(first * MR, rows);
            };
            let whole = m / MR * MR * plane;
            let (head, rest) = out.split_at_mut(whole);
            tract_linalg::multithread::par_chunks_mut(head, MR * plane, head.len() * k, |first, chunk| {
                blocks(first, chunk);
                Ok(())
            })?;
            if !rest.is_empty() {
                // The last block's missing rows are computed into a scratch block and dropped.
                let mut scratch = vec![0f32; MR * plane];
                blocks(m / MR, &mut scratch);
                rest.copy_from_slice(&scratch[..rest.len()]);
            }
        }
        Ok(tvec!(output.into_tvalue()))
    }
}

impl TypedOp for PointwiseConv {
    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        ensure!(inputs.len() == 1 + self.residual as usize, "PointwiseConv: {} inputs", inputs.len());
        let mut shape = inputs[0].shape.clone();
        shape.set(self.axis, (self.m * self.groups).to_dim());
        Ok(tvec!(f32::fact(shape)))
    }

    as_op!();
}
