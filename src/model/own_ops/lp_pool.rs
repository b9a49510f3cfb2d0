//! `LpPool`: the p-norm of each window (padding counts as zeros). Built from tract's own sum
//! pooling, so padding, `auto_pad`, dilations and `ceil_mode` behave as in `AveragePool`.

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn::DataFormat;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::cnn::{HirSumPool, PaddingSpec, PoolSpec};
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};
use tract_onnx::tract_hir::ops::logic::wire_with_rank_broadcast;

pub fn parse(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let kernel_shape: TVec<usize> = node.get_attr_tvec("kernel_shape")?;
    let p = node.get_attr_opt::<i64>("p")?.unwrap_or(2);
    ensure!(p >= 1, "LpPool: p is {p}, it must be at least 1");
    let ceil_mode = node.get_attr_opt::<i64>("ceil_mode")?.unwrap_or(0) == 1;
    let zeros = || tvec![0; kernel_shape.len()];
    let padding =
        match (node.get_attr_opt_tvec::<usize>("pads")?, node.get_attr_opt::<&str>("auto_pad")?.unwrap_or("NOTSET")) {
            (Some(pads), _) => {
                ensure!(
                    pads.len() == 2 * kernel_shape.len(),
                    "LpPool: {} pads for {} axes",
                    pads.len(),
                    kernel_shape.len()
                );
                let (before, after) = pads.split_at(kernel_shape.len());
                PaddingSpec::ExplicitOnnxPool(before.into(), after.into(), ceil_mode)
            }
            (None, "NOTSET") => PaddingSpec::ExplicitOnnxPool(zeros(), zeros(), ceil_mode),
            (None, "VALID") => PaddingSpec::Valid,
            (None, "SAME_UPPER") => PaddingSpec::SameUpper,
            (None, "SAME_LOWER") => PaddingSpec::SameLower,
            (None, other) => bail!("LpPool: auto_pad \"{other}\" is not NOTSET, VALID, SAME_UPPER or SAME_LOWER"),
        };
    let pool = HirSumPool {
        pool_spec: PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape,
            padding,
            dilations: node.get_attr_opt_tvec("dilations")?,
            strides: node.get_attr_opt_tvec("strides")?,
            input_channels: 0,
            output_channels: 0,
        },
        count_include_pad: true,
        normalize: false,
    };
    Ok((expand(LpPool { pool, p: p as u32 }), vec![]))
}

#[derive(Debug, Clone, Hash)]
pub struct LpPool {
    pool: HirSumPool,
    p: u32,
}

impl Expansion for LpPool {
    fn name(&self) -> StaticName {
        "LpPool".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        self.pool.rules(s, inputs, outputs)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let dt = model.outlet_fact(inputs[0])?.datum_type;
        ensure!(dt.is_float(), "LpPool on {dt:?}: floats only");
        let mut constant = |name: &str, v: f32| -> TractResult<OutletId> {
            model.add_const(format!("{prefix}.{name}"), tensor0(v).cast_to_dt(dt)?.into_owned())
        };
        let (p, root) = (constant("p", self.p as f32)?, constant("inv_p", 1.0 / self.p as f32)?);
        let abs = model.wire_node(format!("{prefix}.abs"), math::abs(), &inputs[..1])?;
        let powered = wire_with_rank_broadcast(format!("{prefix}.pow"), model, math::pow(), &[abs[0], p])?;
        let sum = self.pool.wire(&format!("{prefix}.sum"), model, &powered)?;
        wire_with_rank_broadcast(format!("{prefix}.root"), model, math::pow(), &[sum[0], root])
    }
}
