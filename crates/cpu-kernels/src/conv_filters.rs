//! A convolution whose filters and bias are constants our kernels can pack at load: the part
//! of the checks that `DirectConv` and `PointwiseConv`'s grouped form share.

use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat};
use tract_onnx::tract_core::ops::nn::DataFormat;

/// A `Conv` with its constant f32 filters (OIHW) and bias.
pub(super) struct ConstantFilters {
    pub conv: Conv,
    pub kernel: Arc<Tensor>,
    pub bias: Arc<Tensor>,
}

/// `node`'s `Conv` with its constant f32 filters (OIHW) and bias (a third input), over an f32
/// input in NCHW or CHW, not quantised; `None` otherwise.
pub(super) fn constant_filters(model: &TypedModel, node: &TypedNode) -> TractResult<Option<ConstantFilters>> {
    let Some(conv) = node.op_as::<Conv>() else { return Ok(None) };
    if node.inputs.len() != 3 {
        return Ok(None);
    }
    let (Some(kernel), Some(bias)) =
        (model.outlet_fact(node.inputs[1])?.konst.clone(), model.outlet_fact(node.inputs[2])?.konst.clone())
    else {
        return Ok(None);
    };
    let f32s = [model.outlet_fact(node.inputs[0])?.datum_type, kernel.datum_type(), bias.datum_type()]
        .iter()
        .all(|&t| t == f32::datum_type());
    let fits = f32s
        && conv.q_params.is_none()
        && matches!(conv.pool_spec.data_format, DataFormat::NCHW | DataFormat::CHW)
        && conv.kernel_fmt == KernelFormat::OIHW;
    Ok(fits.then(|| ConstantFilters { conv: conv.clone(), kernel, bias }))
}
