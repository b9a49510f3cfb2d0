//! `CausalConvWithState`: a depthwise 1-D convolution over (batch, channels, length), left-padded
//! with the previous call's last k-1 inputs (or zeros), optionally followed by SiLU; the next
//! state is the last k-1 positions of the padded input (streaming Mamba-style blocks).

use tract_onnx::model::{optional_inputs, optional_outputs, ParsingContext};
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};
use tract_onnx::tract_hir::tract_ndarray::{s, Array3, Axis, Ix3};

pub fn parse(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let silu = match node.get_attr_opt::<&str>("activation")?.unwrap_or("none") {
        "none" => false,
        "silu" | "swish" => true,
        other => bail!("CausalConvWithState: activation \"{other}\" is not one of none, silu, swish"),
    };
    let mut ins = optional_inputs(node).skip(2);
    let (bias, past) = (ins.next().flatten(), ins.next().flatten());
    let mut outs = optional_outputs(node);
    let (out, state) = (outs.next().flatten(), outs.next().flatten());
    ensure!(out.is_some(), "CausalConvWithState: the output must be named");
    Ok((expand(CausalConv { silu, bias, past, state: state.is_some() }), vec![]))
}

/// `bias`, `past`: the input indices of the optional inputs; `state`: whether present_state is wanted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CausalConv {
    silu: bool,
    bias: Option<usize>,
    past: Option<usize>,
    state: bool,
}

impl Expansion for CausalConv {
    fn name(&self) -> StaticName {
        "CausalConvWithState".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(1 + usize::from(self.state))
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, 2 + usize::from(self.bias.is_some()) + usize::from(self.past.is_some()))?;
        check_output_arity(outputs, 1 + usize::from(self.state))?;
        for o in outputs {
            s.equals(&o.datum_type, &inputs[0].datum_type)?;
            s.equals(&o.rank, 3)?;
        }
        s.equals(&inputs[0].rank, 3)?;
        s.equals(&outputs[0].shape, &inputs[0].shape)
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        super::wire(model, prefix, Box::new(self.clone()), inputs)
    }
}

impl Op for CausalConv {
    fn name(&self) -> StaticName {
        "CausalConvWithState".into()
    }

    op_as_typed_op!();
}

fn f32s(t: &Tensor) -> TractResult<Array3<f32>> {
    Ok(t.cast_to::<f32>()?.to_plain_array_view::<f32>()?.into_dimensionality::<Ix3>()?.to_owned())
}

impl EvalOp for CausalConv {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let dt = inputs[0].datum_type();
        let (x, w) = (f32s(&inputs[0])?, f32s(&inputs[1])?);
        let (batch, channels, _) = x.dim();
        let k = w.dim().2;
        let pad = match self.past {
            Some(i) => f32s(&inputs[i])?,
            None => Array3::zeros((batch, channels, k - 1)),
        };
        let padded = tract_onnx::tract_hir::tract_ndarray::concatenate(Axis(2), &[pad.view(), x.view()])?;
        let bias: Option<Vec<f32>> = match self.bias {
            Some(i) => Some(inputs[i].cast_to::<f32>()?.to_plain_array_view::<f32>()?.iter().copied().collect()),
            None => None,
        };
        let mut y = Array3::<f32>::zeros(x.dim());
        for ((b, c, t), out) in y.indexed_iter_mut() {
            let window = padded.slice(s![b, c, t..t + k]);
            let taps = w.slice(s![c, 0, ..]);
            let mut acc: f32 = window.iter().zip(taps).map(|(a, b)| a * b).sum();
            if let Some(bias) = &bias {
                acc += bias[c];
            }
            *out = if self.silu { acc / (1.0 + (-acc).exp()) } else { acc };
        }
        let mut out = tvec![y.into_tensor().cast_to_dt(dt)?.into_owned().into_tvalue()];
        if self.state {
            let len = padded.dim().2;
            let state = padded.slice(s![.., .., len + 1 - k..]).to_owned();
            out.push(state.into_tensor().cast_to_dt(dt)?.into_owned().into_tvalue());
        }
        Ok(out)
    }
}

impl TypedOp for CausalConv {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (x, w) = (inputs[0], inputs[1]);
        ensure!(
            x.rank() == 3,
            "CausalConvWithState: the input must be (batch, channels, length), has rank {}",
            x.rank()
        );
        ensure!(w.rank() == 3, "CausalConvWithState: the weight must be (channels, 1, k), has rank {}", w.rank());
        ensure!(x.datum_type.is_float(), "CausalConvWithState on {:?}: floats only", x.datum_type);
        let n = |d: &TDim| d.to_usize().ok();
        let k = n(&w.shape[2]);
        if let Some(k) = k {
            ensure!(k >= 1, "CausalConvWithState: a kernel of size 0");
        }
        if let (Some(c), Some(wc)) = (n(&x.shape[1]), n(&w.shape[0])) {
            ensure!(c == wc, "CausalConvWithState: {c} channels, the weight has {wc}");
        }
        if let Some(one) = n(&w.shape[1]) {
            ensure!(one == 1, "CausalConvWithState: the weight's second axis is {one}, must be 1 (depthwise)");
        }
        if let Some(i) = self.bias {
            let b = inputs[i];
            ensure!(b.rank() == 1, "CausalConvWithState: the bias must be (channels), has rank {}", b.rank());
            if let (Some(c), Some(bc)) = (n(&x.shape[1]), n(&b.shape[0])) {
                ensure!(c == bc, "CausalConvWithState: {c} channels, the bias has {bc}");
            }
        }
        let state_len = w.shape[2].clone() - 1;
        if let Some(i) = self.past {
            let p = inputs[i];
            ensure!(
                p.rank() == 3,
                "CausalConvWithState: past_state must be (batch, channels, k-1), has rank {}",
                p.rank()
            );
            for (axis, want) in [(0, &x.shape[0]), (1, &x.shape[1]), (2, &state_len)] {
                if let (Some(a), Some(b)) = (n(&p.shape[axis]), n(want)) {
                    ensure!(a == b, "CausalConvWithState: past_state's axis {axis} is {a}, must be {b}");
                }
            }
        }
        let mut out = tvec![x.datum_type.fact(x.shape.clone())];
        if self.state {
            out.push(x.datum_type.fact(tvec![x.shape[0].clone(), x.shape[1].clone(), state_len]));
        }
        Ok(out)
    }
}
