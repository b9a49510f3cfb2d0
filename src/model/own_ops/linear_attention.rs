//! `LinearAttention`: attention as a recurrence over a (key size × value size) state per head,
//! with the `linear`, `gated` (decay), `delta` and `gated_delta` update rules, grouped query
//! heads, and the state carried between calls. Follows the ONNX reference
//! (`onnx/reference/ops/op_linear_attention.py`), in f32.

use tract_onnx::model::{optional_inputs, optional_outputs, ParsingContext};
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};

use super::attention_math::split_heads;
use tract_onnx::tract_hir::tract_ndarray::{Array4, Ix3, Ix4};

pub fn parse(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let rule = node.get_attr_opt::<&str>("update_rule")?.unwrap_or("gated_delta");
    let (gated, delta) = match rule {
        "linear" => (false, false),
        "gated" => (true, false),
        "delta" => (false, true),
        "gated_delta" => (true, true),
        other => bail!("LinearAttention: update_rule \"{other}\" is not one of linear, gated, delta, gated_delta"),
    };
    let heads = |name| -> TractResult<usize> {
        let n = node.get_attr_opt::<i64>(name)?.with_context(|| format!("LinearAttention needs {name}"))?;
        ensure!(n >= 1, "LinearAttention: {name} is {n}, it must be at least 1");
        Ok(n as usize)
    };
    let (q_heads, kv_heads) = (heads("q_num_heads")?, heads("kv_num_heads")?);
    ensure!(
        q_heads % kv_heads == 0,
        "LinearAttention: {q_heads} query heads do not group over {kv_heads} key/value heads"
    );
    let mut ins = optional_inputs(node).skip(3);
    let slots = [ins.next().flatten(), ins.next().flatten(), ins.next().flatten()];
    ensure!(
        slots[1].is_some() == gated,
        "LinearAttention: update_rule \"{rule}\" {} a decay input",
        if gated { "needs" } else { "takes no" }
    );
    ensure!(
        slots[2].is_some() == delta,
        "LinearAttention: update_rule \"{rule}\" {} a beta input",
        if delta { "needs" } else { "takes no" }
    );
    let mut outs = optional_outputs(node);
    let (out, state) = (outs.next().flatten(), outs.next().flatten());
    ensure!(out.is_some(), "LinearAttention: the output must be named");
    let scale = node.get_attr_opt::<f32>("scale")?.filter(|s| *s != 0.0).map(f32::to_bits);
    Ok((
        expand(LinearAttention {
            q_heads,
            kv_heads,
            past: slots[0],
            decay: slots[1],
            beta: slots[2],
            scale,
            state: state.is_some(),
        }),
        vec![],
    ))
}

/// `past`, `decay`, `beta`: indices of the optional inputs; `state`: whether present_state is wanted.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LinearAttention {
    q_heads: usize,
    kv_heads: usize,
    past: Option<usize>,
    decay: Option<usize>,
    beta: Option<usize>,
    /// f32 bits (the op must hash); None: 1/sqrt(key size).
    scale: Option<u32>,
    state: bool,
}

impl Expansion for LinearAttention {
    fn name(&self) -> StaticName {
        "LinearAttention".into()
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
        let optional = [self.past, self.decay, self.beta].iter().flatten().count();
        check_input_arity(inputs, 3 + optional)?;
        check_output_arity(outputs, 1 + usize::from(self.state))?;
        s.equals(&outputs[0].datum_type, &inputs[0].datum_type)?;
        s.equals(&outputs[0].rank, 3)?;
        if self.state {
            match self.past {
                Some(p) => s.equals(&outputs[1].datum_type, &inputs[p].datum_type)?,
                None => s.equals(&outputs[1].datum_type, &inputs[0].datum_type)?,
            }
            s.equals(&outputs[1].rank, 4)?;
        }
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        super::wire(model, prefix, Box::new(self.clone()), inputs)
    }
}

impl Op for LinearAttention {
    fn name(&self) -> StaticName {
        "LinearAttention".into()
    }

    op_as_typed_op!();
}

impl EvalOp for LinearAttention {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let dt = inputs[0].datum_type();
        let q = split_heads(&inputs[0], self.q_heads).context("LinearAttention: query")?;
        let k = split_heads(&inputs[1], self.kv_heads).context("LinearAttention: key")?;
        let v = split_heads(&inputs[2], self.kv_heads).context("LinearAttention: value")?;
        let (batch, _, steps, dk) = q.dim();
        let dv = v.dim().3;
        ensure!(k.dim().3 == dk, "LinearAttention: the key size is {}, the query's {dk}", k.dim().3);
        let state_dt = self.past.map(|p| inputs[p].datum_type()).unwrap_or(dt);
        let mut state = match self.past {
            Some(p) => {
                inputs[p].cast_to::<f32>()?.to_plain_array_view::<f32>()?.into_dimensionality::<Ix4>()?.to_owned()
            }
            None => Array4::zeros((batch, self.kv_heads, dk, dv)),
        };
        // decay: (batch, time, kv heads) per head, or (batch, time, kv heads × key size) per key.
        let decay = match self.decay {
            Some(i) => {
                Some(inputs[i].cast_to::<f32>()?.to_plain_array_view::<f32>()?.into_dimensionality::<Ix3>()?.to_owned())
            }
            None => None,
        };
        // beta: (batch, time, kv heads or 1).
        let beta = match self.beta {
            Some(i) => {
                Some(inputs[i].cast_to::<f32>()?.to_plain_array_view::<f32>()?.into_dimensionality::<Ix3>()?.to_owned())
            }
            None => None,
        };
        let scale = self.scale.map(f32::from_bits).unwrap_or(1.0 / (dk as f32).sqrt());
        let group = self.q_heads / self.kv_heads;
        let mut out = Array4::<f32>::zeros((batch, self.q_heads, steps, dv));
        let mut vt = vec![0f32; dv];
        for b in 0..batch {
            for t in 0..steps {
                for h in 0..self.kv_heads {
                    if let Some(g) = &decay {
                        let per_key = g.dim().2 != self.kv_heads;
                        for d in 0..dk {
                            let f = g[[b, t, if per_key { h * dk + d } else { h }]].exp();
                            for m in 0..dv {
                                state[[b, h, d, m]] *= f;
                            }
                        }
                    }
                    for (m, x) in vt.iter_mut().enumerate() {
                        *x = v[[b, h, t, m]];
                    }
                    if let Some(beta) = &beta {
                        let bt = beta[[b, t, if beta.dim().2 == 1 { 0 } else { h }]];
                        for (m, x) in vt.iter_mut().enumerate() {
                            let retrieved: f32 = (0..dk).map(|d| state[[b, h, d, m]] * k[[b, h, t, d]]).sum();
                            *x = bt * (*x - retrieved);
                        }
                    }
                    for d in 0..dk {
                        let kd = k[[b, h, t, d]];
                        for (m, x) in vt.iter().enumerate() {
                            state[[b, h, d, m]] += kd * x;
                        }
                    }
                }
                for h in 0..self.q_heads {
                    let kh = h / group;
                    for m in 0..dv {
                        let o: f32 = (0..dk).map(|d| q[[b, h, t, d]] * state[[b, kh, d, m]]).sum();
                        out[[b, h, t, m]] = scale * o;
                    }
                }
            }
        }
        let y = out
            .permuted_axes([0, 2, 1, 3])
            .as_standard_layout()
            .to_shape((batch, steps, self.q_heads * dv))?
            .into_owned();
        let mut result = tvec![y.into_tensor().cast_to_dt(dt)?.into_owned().into_tvalue()];
        if self.state {
            result.push(state.into_tensor().cast_to_dt(state_dt)?.into_owned().into_tvalue());
        }
        Ok(result)
    }
}

impl TypedOp for LinearAttention {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (q, k, v) = (inputs[0], inputs[1], inputs[2]);
        for (what, x) in [("query", q), ("key", k), ("value", v)] {
            ensure!(
                x.rank() == 3,
                "LinearAttention: {what} must be (batch, time, heads × size), has rank {}",
                x.rank()
            );
            ensure!(x.datum_type.is_float(), "LinearAttention on {:?}: floats only", x.datum_type);
        }
        let n = |d: &TDim| d.to_usize().ok();
        let dk = q.shape[2].clone() / self.q_heads;
        let dv = v.shape[2].clone() / self.kv_heads;
        for (what, x, h) in [("query", q, self.q_heads), ("key", k, self.kv_heads), ("value", v, self.kv_heads)] {
            if let Some(hidden) = n(&x.shape[2]) {
                ensure!(hidden % h == 0, "LinearAttention: {what}'s last axis {hidden} does not split into {h} heads");
            }
        }
        if let (Some(qh), Some(kh)) = (n(&q.shape[2]), n(&k.shape[2])) {
            ensure!(qh / self.q_heads == kh / self.kv_heads, "LinearAttention: query and key head sizes differ");
        }
        for x in [k, v] {
            for axis in 0..2 {
                if let (Some(a), Some(b)) = (n(&q.shape[axis]), n(&x.shape[axis])) {
                    ensure!(a == b, "LinearAttention: query, key and value differ in batch or time ({a} against {b})");
                }
            }
        }
        if let Some(p) = self.past {
            let p = inputs[p];
            ensure!(p.rank() == 4, "LinearAttention: past_state must be (batch, kv heads, key size, value size)");
            let want = [q.shape[0].clone(), self.kv_heads.to_dim(), dk.clone(), dv.clone()];
            for (axis, w) in want.iter().enumerate() {
                if let (Some(a), Some(b)) = (n(&p.shape[axis]), n(w)) {
                    ensure!(a == b, "LinearAttention: past_state's axis {axis} is {a}, must be {b}");
                }
            }
        }
        for (slot, what, allowed) in [
            (self.decay, "decay", [self.kv_heads.to_dim(), dk.clone() * self.kv_heads]),
            (self.beta, "beta", [self.kv_heads.to_dim(), 1.to_dim()]),
        ] {
            if let Some(i) = slot {
                let x = inputs[i];
                ensure!(x.rank() == 3, "LinearAttention: {what} must have rank 3, has {}", x.rank());
                for axis in 0..2 {
                    if let (Some(a), Some(b)) = (n(&x.shape[axis]), n(&q.shape[axis])) {
                        ensure!(a == b, "LinearAttention: {what} differs from the query in batch or time");
                    }
                }
                if let (Some(last), Some(a), Some(b)) = (n(&x.shape[2]), n(&allowed[0]), n(&allowed[1])) {
                    ensure!(
                        last == a || last == b,
                        "LinearAttention: {what}'s last axis is {last}, must be {a} or {b}"
                    );
                }
            }
        }
        let state_dt = self.past.map(|p| inputs[p].datum_type).unwrap_or(q.datum_type);
        let mut out =
            tvec![q.datum_type.fact(tvec![q.shape[0].clone(), q.shape[1].clone(), dv.clone() * self.q_heads])];
        if self.state {
            out.push(state_dt.fact(tvec![q.shape[0].clone(), self.kv_heads.to_dim(), dk, dv]));
        }
        Ok(out)
    }
}
