//! `ConstantOfShape` that makes its tensor once. tract's evaluates again each time its node is
//! analysed (at least twice) and once more when the graph is typed, and every new copy is then
//! compared value by value with the one before it: the ONNX zoo's light test models make all
//! their weights this way (light_resnet50: 100 MB, a fifth of its load). Here the tensor made for
//! a shape is given out again, the same `Arc`, for as long as something holds it (the analysed
//! facts, the typed graph), so that tract's comparisons of facts stop at the pointer and the typed
//! graph holds that tensor as a constant. Only a weak reference is kept: the model we keep for
//! later plans would otherwise hold every such tensor for its lifetime.

use std::sync::{Arc, Mutex, Weak};

use tract_onnx::model::ParsingContext;
use tract_onnx::pb;
use tract_onnx::tract_core::ops::array::MultiBroadcastTo;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};

/// tract-onnx's parser, but for the op it builds.
pub fn parse(ctx: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let mut value = match node.get_attr_opt("value")? {
        Some(val) => ctx.load_tensor(val)?.into_arc_tensor(),
        None => rctensor0(0.0),
    };
    if value.rank() > 0 {
        ensure!(value.len() == 1, "ConstantOfShape's value must hold one element, not {:?}", value.shape());
        value = value.nth(0)?.into_arc_tensor();
    }
    Ok((expand(ConstantOfShape { scalar: value, made: Arc::default() }), vec![]))
}

#[derive(Debug, Clone)]
pub struct ConstantOfShape {
    scalar: Arc<Tensor>,
    /// The last tensor made, shared by the op's clones.
    made: Arc<Mutex<Weak<Tensor>>>,
}

impl ConstantOfShape {
    fn tensor(&self, shape: &[usize]) -> TractResult<Arc<Tensor>> {
        let mut made = self.made.lock().map_err(|_| format_err!("ConstantOfShape: a thread panicked holding it"))?;
        if let Some(t) = made.upgrade().filter(|t| t.shape() == shape) {
            return Ok(t);
        }
        let t = self.scalar.broadcast_to_shape(shape)?.into_arc_tensor();
        *made = Arc::downgrade(&t);
        Ok(t)
    }
}

impl Expansion for ConstantOfShape {
    fn name(&self) -> StaticName {
        "ConstantOfShape".into()
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 1)?;
        check_output_arity(outputs, 1)?;
        s.equals(&outputs[0].datum_type, self.scalar.datum_type())?;
        s.equals(&inputs[0].rank, 1)?;
        s.equals(&inputs[0].shape[0], outputs[0].rank.bex().to_dim())?;
        s.given(&inputs[0].value, move |s, shape| {
            let shape = shape.cast_to::<TDim>()?;
            for (axis, dim) in shape.try_as_plain_ram()?.as_slice::<TDim>()?.iter().enumerate() {
                s.equals(&outputs[0].shape[axis], dim)?;
            }
            Ok(())
        })
    }

    fn wire(&self, prefix: &str, target: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        let Some(shape) = target.outlet_fact(inputs[0])?.konst.clone() else { bail!("shape input is variable") };
        let shape = shape.cast_to::<TDim>()?;
        let shape = shape.try_as_plain_ram()?.as_slice::<TDim>()?.to_vec();
        if let Some(dims) = shape.iter().map(|d| d.to_usize().ok()).collect::<Option<TVec<usize>>>() {
            return Ok(tvec!(target.add_const(prefix, self.tensor(&dims)?)?));
        }
        // A shape that depends on a symbol (a dynamic batch): broadcast when it is run, as tract does.
        let scalar = target.add_const(format!("{prefix}.scalar"), self.scalar.clone())?;
        target.wire_node(prefix, MultiBroadcastTo::new(shape.into()), &[scalar])
    }
}
