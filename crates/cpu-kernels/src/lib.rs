//! Our own CPU kernels, put in place of tract's ops in an optimised plan where they are faster.
//!
//! A crate of its own (`shopfloor::backend::cpu_kernels` re-exports it) so that the wasm build can
//! optimise it for speed while the rest of shopfloor is optimised for size: with LTO a crate's
//! opt-level also governs the generic code it instantiates (the root Cargo.toml's profiles).
//!
//! Matrix-product micro-kernels register with tract-linalg's kernel inventory instead
//! (`gemm_f32_8x8`, wasm SIMD builds): tract's own dispatch then picks them for every matmul and
//! convolution. Whole-op kernels are substituted on the CPU backend's plan only. Before tract's
//! codegen: the per-channel scales and shifts after a grouped or depthwise convolution fold into
//! it (`fold_channel_affine`), then the convolutions (`DepthwiseConv`, `WinogradConv`,
//! `DirectConv`: codegen lowers them into ops whose parameters are private; `PointwiseConv` takes
//! the einsum a 1×1 convolution has become by then, with a residual `Add` after it, and grouped
//! 1×1 convolutions; all of them also take the element-wise nodes after them, as their
//! `epilogue`), then the element-wise chains that branch and meet again after tract's ops
//! (`ElementwiseChain`: hard swish) and the steps by per-channel constants that no convolution took
//! (`ChannelChain`: a batch normalisation before a convolution), and the vector × matrix products
//! whose matrices are a run's values (`VectorByMatrix`: attention over a key/value cache, read in
//! place where tract would copy and pack it at every run). After codegen: max pooling
//! (`WindowMaxPool`) and LRN (`ChannelLrn`). The graph the WebGPU translator reads keeps tract's
//! ops, and any node whose parameters a kernel does not cover stays tract's. Each kernel is
//! property-tested against the op it replaces (`tests/cpu_kernels/` natively; the browser's
//! fixture and parity tests run the wasm SIMD paths).

mod affine_fold;
mod channel_chain;
mod channel_lrn;
mod constant_operand;
mod conv_filters;
mod depthwise_conv;
mod depthwise_rows;
mod direct_conv;
mod element_steps;
mod elementwise_chain;
mod epilogue;
#[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
mod gemm_f32_8x8;
mod lanes;
mod offset_tile;
mod pointwise_conv;
mod vector_by_matrix;
mod vector_by_matrix_layout;
mod window_max_pool;
mod winograd_conv;
mod winograd_transforms;

pub use affine_fold::fold_channel_affine;
pub use channel_chain::ChannelChain;
pub use channel_lrn::ChannelLrn;
pub use depthwise_conv::DepthwiseConv;
pub use direct_conv::DirectConv;
pub use elementwise_chain::ElementwiseChain;
use epilogue::Epilogue;
pub use pointwise_conv::PointwiseConv;
pub use vector_by_matrix::VectorByMatrix;
pub use window_max_pool::WindowMaxPool;
pub use winograd_conv::WinogradConv;

/// Has the browser optimise the GEMM kernel and the convolutions' tile before a model's first run
/// (wasm SIMD builds; a no-op elsewhere): see `gemm_f32_8x8::tier_up`.
pub fn tier_up() {
    #[cfg(all(target_arch = "wasm32", target_feature = "simd128"))]
    {
        gemm_f32_8x8::tier_up();
        offset_tile::tier_up();
    }
}

use tract_onnx::prelude::*;
use tract_onnx::tract_core::model::TypedModelPatch;

/// Before tract's codegen: folds the per-channel scales and shifts after each convolution into
/// it (`fold_channel_affine`), then replaces the convolutions a kernel here covers (codegen would
/// lower them into ops whose parameters are private); returns how many were replaced.
pub fn substitute_convolutions(model: &mut TypedModel) -> TractResult<usize> {
    fold_channel_affine(model)?;
    let mut replaced = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        if let Some(op) = DepthwiseConv::replacing(model, node)? {
            let (epilogue, folded) = Epilogue::following(model, node)?;
            let input = node.inputs[0];
            replace_chain(model, id, &[input], op.with_epilogue(epilogue), &folded)?;
            replaced += 1;
        } else if let Some(op) = WinogradConv::replacing(model, node)? {
            let (epilogue, folded) = Epilogue::following(model, node)?;
            let input = node.inputs[0];
            replace_chain(model, id, &[input], op.with_epilogue(epilogue), &folded)?;
            replaced += 1;
        } else if let Some(op) = DirectConv::replacing(model, node)? {
            // Its filters and bias are packed into the op: only the image stays an input. The
            // element-wise nodes after it are folded in and go too.
            let (epilogue, folded) = Epilogue::following(model, node)?;
            let input = node.inputs[0];
            replace_chain(model, id, &[input], op.with_epilogue(epilogue), &folded)?;
            replaced += 1;
        } else if let Some(found) = PointwiseConv::replacing_grouped(model, node)? {
            replace_chain(model, id, &found.inputs, found.op, &found.folded)?;
            replaced += 1;
        } else if let Some(found) = PointwiseConv::replacing(model, node)? {
            // Replaces the einsum, and the bias and residual `Add`s and steps it folded in.
            replace_chain(model, id, &found.inputs, found.op, &found.folded)?;
            replaced += 1;
        }
    }
    Ok(replaced)
}

/// Before tract's codegen, after `substitute_convolutions`: replaces each chain of element-wise
/// steps that branches and meets again (`x · f(x)`) with one `ElementwiseChain` (the node the
/// chain starts from stays, so tract still folds it into what comes before), then each chain of
/// steps by constants that vary along the channels with one `ChannelChain`; returns how many.
pub fn fuse_element_wise(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let Some((op, folded)) = ElementwiseChain::after(model, node)? else { continue };
        let mut patch = TypedModelPatch::default();
        let input = patch.tap_model(model, OutletId::new(id, 0))?;
        let out = patch.wire_node(format!("{}.chain", node.name), op, &[input])?[0];
        patch.shunt_outside(model, OutletId::new(*folded.last().expect("a chain has nodes"), 0), out)?;
        for &node in &folded {
            patch.obliterate(node)?;
        }
        patch.apply(model)?;
        replaced += 1;
    }
    for id in model.eval_order()? {
        let node = model.node(id);
        let Some((op, input, folded)) = ChannelChain::starting_at(model, node)? else { continue };
        let mut patch = TypedModelPatch::default();
        let input = patch.tap_model(model, input)?;
        let out = patch.wire_node(format!("{}.chain", node.name), op, &[input])?[0];
        patch.shunt_outside(model, OutletId::new(*folded.last().expect("a chain has nodes"), 0), out)?;
        for &node in &folded {
            patch.obliterate(node)?;
        }
        patch.apply(model)?;
        replaced += 1;
    }
    Ok(replaced)
}

/// Before tract's codegen: splits each einsum over a concat of a cache and this step's rows, then
/// replaces each vector × matrix product over a run's values (attention over a key/value cache)
/// with `VectorByMatrix`, which reads the matrices where they lie; returns how many it replaced.
pub fn substitute_vector_products(model: &mut TypedModel) -> TractResult<usize> {
    vector_by_matrix_layout::split_over_concat(model)?;
    let mut replaced = 0;
    for id in model.eval_order()? {
        if let Some((op, inputs)) = vector_by_matrix_layout::replacing(model, model.node(id))? {
            replace_chain(model, id, &inputs, op, &[])?;
            replaced += 1;
        }
    }
    Ok(replaced)
}

/// Puts `op`, reading `inputs`, in place of node `id` and the chain of nodes after it that the op
/// folded in (`folded`, in order): their last output becomes the op's.
fn replace_chain(
    model: &mut TypedModel,
    id: usize,
    inputs: &[OutletId],
    op: impl TypedOp,
    folded: &[usize],
) -> TractResult<()> {
    let mut patch = TypedModelPatch::default();
    let inputs = inputs.iter().map(|&i| patch.tap_model(model, i)).collect::<TractResult<TVec<_>>>()?;
    let out = patch.wire_node(&model.node(id).name, op, &inputs)?[0];
    let last = folded.last().copied().unwrap_or(id);
    patch.shunt_outside(model, OutletId::new(last, 0), out)?;
    for &node in std::iter::once(&id).chain(folded) {
        patch.obliterate(node)?;
    }
    patch.apply(model)
}

/// After tract's codegen: replaces every node a kernel here covers; returns how many were
/// replaced.
pub fn substitute(model: &mut TypedModel) -> TractResult<usize> {
    let mut replaced = 0;
    for id in model.eval_order()? {
        let node = model.node(id);
        let patch = if let Some(op) = WindowMaxPool::replacing(model, node)? {
            TypedModelPatch::replace_single_op(model, node, &node.inputs, op)?
        } else if let Some(op) = ChannelLrn::replacing(model, node)? {
            TypedModelPatch::replace_single_op(model, node, &node.inputs, op)?
        } else {
            continue;
        };
        patch.apply(model)?;
        replaced += 1;
    }
    Ok(replaced)
}
