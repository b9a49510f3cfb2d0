//! ONNX `Attention` (opset 23-25) as our own op. tract's expansion into its `Sdpa` refuses
//! `softcap`, `qk_matmul_output_mode` and `nonpad_kv_seqlen`, gives NaN for a query row whose
//! keys are all masked (ONNX: zeros), and aligns the causal mask top-left where ONNX aligns it
//! bottom-right (a query sees the whole cache before it). This one follows the ONNX reference
//! (`onnx/reference/ops/op_attention.py`) step by step, in f32, one GEMM per batch and head.

use tract_onnx::model::{optional_inputs, optional_outputs, ParsingContext};
use tract_onnx::pb;
use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::ops::expandable::{expand, Expansion};
use tract_onnx::tract_hir::tract_ndarray::{s, Array4, Axis};

use super::attention_math::{additive_mask, broadcast4, rows_dot, softmax_rows, split_heads, weighted_rows, Bias};

pub fn parse(_: &ParsingContext, node: &pb::NodeProto) -> TractResult<(Box<dyn InferenceOp>, Vec<String>)> {
    let mut ins = optional_inputs(node).take(7);
    let slots: [Option<usize>; 7] = std::array::from_fn(|_| ins.next().flatten());
    ensure!(slots[..3].iter().all(Option::is_some), "Attention needs Q, K and V");
    ensure!(slots[4].is_some() == slots[5].is_some(), "Attention: past_key and past_value must be given together");
    ensure!(
        !(slots[6].is_some() && slots[4].is_some()),
        "Attention: nonpad_kv_seqlen cannot be combined with past_key / past_value"
    );
    let mut outs = optional_outputs(node).take(4);
    let outputs: [Option<usize>; 4] = std::array::from_fn(|_| outs.next().flatten());
    let mode = node.get_attr_opt::<i64>("qk_matmul_output_mode")?.unwrap_or(0);
    ensure!((0..=3).contains(&mode), "Attention: qk_matmul_output_mode is {mode}, not 0 to 3");
    let heads = |name| -> TractResult<Option<usize>> {
        match node.get_attr_opt::<i64>(name)? {
            Some(n) if n < 1 => bail!("Attention: {name} is {n}, it must be at least 1"),
            n => Ok(n.map(|n| n as usize)),
        }
    };
    let window = |name| -> TractResult<i64> {
        let w = node.get_attr_opt::<i64>(name)?.unwrap_or(-1);
        ensure!(w >= -1, "Attention: {name} is {w}, not -1 or a size");
        Ok(w)
    };
    let op = OnnxAttention {
        slots,
        outputs,
        q_heads: heads("q_num_heads")?,
        kv_heads: heads("kv_num_heads")?,
        causal: node.get_attr_opt::<i64>("is_causal")?.unwrap_or(0) != 0,
        scale: node.get_attr_opt::<f32>("scale")?.map(f32::to_bits),
        softcap: node.get_attr_opt::<f32>("softcap")?.unwrap_or(0.0).to_bits(),
        qk_mode: mode as u8,
        window: (window("left_window_size")?, window("right_window_size")?),
    };
    Ok((expand(op), vec![]))
}

/// Which of the seven inputs (Q, K, V, attn_mask, past_key, past_value, nonpad_kv_seqlen) and
/// four outputs (Y, present_key, present_value, qk_matmul_output) the node has, at which index.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct OnnxAttention {
    slots: [Option<usize>; 7],
    outputs: [Option<usize>; 4],
    q_heads: Option<usize>,
    kv_heads: Option<usize>,
    causal: bool,
    /// f32 bits (the op must hash).
    scale: Option<u32>,
    softcap: u32,
    qk_mode: u8,
    window: (i64, i64),
}

const MASK: usize = 3;
const PAST_K: usize = 4;
const PAST_V: usize = 5;
const NONPAD: usize = 6;

impl Expansion for OnnxAttention {
    fn name(&self) -> StaticName {
        "Attention".into()
    }

    fn nboutputs(&self) -> TractResult<usize> {
        Ok(self.outputs.iter().flatten().count())
    }

    fn rules<'r, 'p: 'r, 's: 'r>(
        &'s self,
        s: &mut Solver<'r>,
        inputs: &'p [TensorProxy],
        outputs: &'p [TensorProxy],
    ) -> InferenceResult {
        check_input_arity(inputs, self.slots.iter().flatten().count())?;
        check_output_arity(outputs, self.outputs.iter().flatten().count())?;
        for o in outputs {
            s.equals(&o.datum_type, &inputs[0].datum_type)?;
        }
        s.equals(&outputs[0].rank, &inputs[0].rank)?;
        for o in &outputs[1..] {
            s.equals(&o.rank, 4)?;
        }
        Ok(())
    }

    fn wire(&self, prefix: &str, model: &mut TypedModel, inputs: &[OutletId]) -> TractResult<TVec<OutletId>> {
        super::wire(model, prefix, Box::new(self.clone()), inputs)
    }
}

impl Op for OnnxAttention {
    fn name(&self) -> StaticName {
        "Attention".into()
    }

    op_as_typed_op!();
}

impl OnnxAttention {
    fn input<'a, T>(&self, inputs: &'a [T], slot: usize) -> Option<&'a T> {
        self.slots[slot].map(|i| &inputs[i])
    }

    /// (q heads, kv heads) for rank-3 inputs, where the attributes say how to split.
    fn head_counts(&self) -> TractResult<(usize, usize)> {
        match (self.q_heads, self.kv_heads) {
            (Some(q), Some(kv)) => Ok((q, kv)),
            _ => bail!("Attention: rank-3 Q, K, V need q_num_heads and kv_num_heads"),
        }
    }
}

impl TypedOp for OnnxAttention {
    as_op!();

    fn output_facts(&self, inputs: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        let (q, k, v) = (inputs[0], inputs[1], inputs[2]);
        let dt = q.datum_type;
        ensure!(dt.is_float(), "Attention on {dt:?}: Q, K and V must be floats");
        ensure!(q.rank() == k.rank() && k.rank() == v.rank(), "Attention: Q, K and V must have one rank");
        // (batch, heads, sequence, head size) of each, in TDims.
        let (b, q_heads, q_len, kv_heads, k_len, v_size, k_size) = match q.rank() {
            4 => (
                q.shape[0].clone(),
                q.shape[1].clone(),
                q.shape[2].clone(),
                k.shape[1].clone(),
                k.shape[2].clone(),
                v.shape[3].clone(),
                k.shape[3].clone(),
            ),
            3 => {
                let (qh, kvh) = self.head_counts()?;
                (
                    q.shape[0].clone(),
                    qh.to_dim(),
                    q.shape[1].clone(),
                    kvh.to_dim(),
                    k.shape[1].clone(),
                    v.shape[2].clone() / kvh,
                    k.shape[2].clone() / kvh,
                )
            }
            r => bail!("Attention takes rank-3 or rank-4 Q, K, V, got rank {r}"),
        };
        let total = match self.input(inputs, PAST_K) {
            Some(past) => past.shape[2].clone() + k_len,
            None => k_len,
        };
        self.check_fit(inputs, [&b, &q_heads, &kv_heads, &total, &q_len], &k_size)?;
        let y = if q.rank() == 4 {
            dt.fact(tvec![b.clone(), q_heads.clone(), q_len.clone(), v_size.clone()])
        } else {
            dt.fact(tvec![b.clone(), q_len.clone(), q_heads.clone() * v_size.clone()])
        };
        let all = [
            y,
            dt.fact(tvec![b.clone(), kv_heads.clone(), total.clone(), k_size]),
            dt.fact(tvec![b.clone(), kv_heads, total.clone(), v_size]),
            dt.fact(tvec![b, q_heads, q_len, total]),
        ];
        Ok(all.into_iter().zip(self.outputs).filter(|(_, o)| o.is_some()).map(|(f, _)| f).collect())
    }
}

impl OnnxAttention {
    /// Refuses, when the plan is compiled for concrete shapes, inputs that cannot go together, so
    /// the caller gets `INPUT_MISMATCH` quoting the shapes rather than an error mid-run. `dims`:
    /// batch, query heads, key/value heads, keys (cache included), queries.
    fn check_fit(&self, inputs: &[&TypedFact], dims: [&TDim; 5], k_size: &TDim) -> TractResult<()> {
        let n = |d: &TDim| d.to_usize().ok();
        let (q, k, v) = (inputs[0], inputs[1], inputs[2]);
        let q_size = if q.rank() == 4 { q.shape[3].clone() } else { q.shape[2].clone() / self.head_counts()?.0 };
        if let (Some(qs), Some(ks)) = (n(&q_size), n(k_size)) {
            ensure!(qs == ks, "Attention: Q's head size is {qs}, K's {ks}: they must be equal");
        }
        if q.rank() == 3 {
            let (qh, kvh) = self.head_counts()?;
            for (what, x, h) in [("Q", q, qh), ("K", k, kvh), ("V", v, kvh)] {
                if let Some(hidden) = n(&x.shape[2]) {
                    ensure!(hidden % h == 0, "Attention: {what}'s hidden size {hidden} does not split into {h} heads");
                }
            }
        }
        let same = |a: &TDim, b: &TDim, what: &str| -> TractResult<()> {
            if let (Some(a), Some(b)) = (n(a), n(b)) {
                ensure!(a == b, "Attention: {what} ({a} against {b})");
            }
            Ok(())
        };
        same(&q.shape[0], &k.shape[0], "Q and K differ in batch size")?;
        same(&k.shape[0], &v.shape[0], "K and V differ in batch size")?;
        let seq = if q.rank() == 4 { 2 } else { 1 };
        same(&k.shape[seq], &v.shape[seq], "K and V differ in length")?;
        if q.rank() == 4 {
            same(&k.shape[1], &v.shape[1], "K and V differ in heads")?;
        }
        let [batch, q_heads, kv_heads, keys, queries] = dims.map(n);
        if let (Some(qh), Some(kvh)) = (q_heads, kv_heads) {
            ensure!(kvh > 0 && qh % kvh == 0, "Attention: {qh} query heads do not group over {kvh} key/value heads");
        }
        for (slot, what) in [(PAST_K, "past_key"), (PAST_V, "past_value")] {
            if let Some(p) = self.input(inputs, slot) {
                ensure!(p.rank() == 4, "Attention: {what} must have rank 4, has {}", p.rank());
                same(&p.shape[0], dims[0], &format!("{what} differs from Q in batch size"))?;
                same(&p.shape[1], dims[2], &format!("{what} differs from K in heads"))?;
            }
        }
        if let Some(m) = self.input(inputs, MASK) {
            ensure!((1..=4).contains(&m.rank()), "Attention: attn_mask has rank {}, 1 to 4", m.rank());
            if let (Some(last), Some(keys)) = (n(&m.shape[m.rank() - 1]), keys) {
                ensure!(last <= keys, "Attention: attn_mask covers {last} keys, there are {keys}");
            }
            // The other axes broadcast, right-aligned, against (batch, query heads, queries).
            let outer = [batch, q_heads, queries];
            for (i, d) in m.shape.iter().rev().skip(1).enumerate() {
                if let (Some(d), Some(want)) = (n(d), outer[2 - i]) {
                    ensure!(
                        d == 1 || d == want,
                        "Attention: attn_mask {:?} does not broadcast to (batch, heads, queries) = {outer:?}",
                        m.shape
                    );
                }
            }
        }
        if let (Some(np), Some(batch)) = (self.input(inputs, NONPAD), batch) {
            ensure!(np.rank() == 1, "Attention: nonpad_kv_seqlen must have rank 1, has {}", np.rank());
            if let Some(len) = n(&np.shape[0]) {
                ensure!(len == batch, "Attention: nonpad_kv_seqlen has {len} values for a batch of {batch}");
            }
        }
        Ok(())
    }
}

impl EvalOp for OnnxAttention {
    op_out_of_plan!();

    fn eval(&self, _ctx: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let dt = inputs[0].datum_type();
        let rank3 = inputs[0].rank() == 3;
        let (qh3, kvh3) = if rank3 { self.head_counts()? } else { (0, 0) };
        let q = split_heads(&inputs[0], qh3)?;
        let mut k = split_heads(&inputs[1], kvh3)?;
        let mut v = split_heads(&inputs[2], kvh3)?;
        let (batch, q_heads, q_len, head) = q.dim();
        ensure!(k.dim().3 == head, "Attention: Q's head size is {head}, K's {}", k.dim().3);
        ensure!(k.dim().0 == batch && v.dim().0 == batch, "Attention: Q, K and V differ in batch size");
        ensure!(k.dim().1 == v.dim().1 && k.dim().2 == v.dim().2, "Attention: K and V differ in heads or length");
        let past = match (self.input(&inputs, PAST_K), self.input(&inputs, PAST_V)) {
            (Some(pk), Some(pv)) => {
                let (pk, pv) = (split_heads(pk, 0)?, split_heads(pv, 0)?);
                ensure!(
                    pk.dim().0 == batch && pk.dim().1 == k.dim().1 && pk.dim().3 == head,
                    "Attention: past_key {:?} does not fit K {:?}",
                    pk.shape(),
                    k.shape()
                );
                ensure!(
                    pv.dim().0 == batch && pv.dim().1 == v.dim().1 && pv.dim().3 == v.dim().3,
                    "Attention: past_value does not fit V"
                );
                let len = pk.dim().2;
                k = tract_ndarray::concatenate(Axis(2), &[pk.view(), k.view()])?;
                v = tract_ndarray::concatenate(Axis(2), &[pv.view(), v.view()])?;
                Some(len)
            }
            _ => None,
        };
        let (kv_heads, kv_len, v_size) = (k.dim().1, k.dim().2, v.dim().3);
        ensure!(
            kv_heads > 0 && q_heads % kv_heads == 0,
            "Attention: {q_heads} query heads do not group over {kv_heads} key/value heads"
        );
        let nonpad: Option<Vec<i64>> = match self.input(&inputs, NONPAD) {
            Some(t) => {
                let t = t.cast_to::<i64>()?;
                let n: Vec<i64> = t.to_plain_array_view::<i64>()?.iter().copied().collect();
                ensure!(n.len() == batch, "Attention: nonpad_kv_seqlen has {} values for a batch of {batch}", n.len());
                Some(n)
            }
            None => None,
        };

        let mask = match self.input(&inputs, MASK) {
            Some(m) => Some(additive_mask(m, kv_len)?),
            None => None,
        };
        let bias = Bias {
            mask: mask.as_ref().map(|m| broadcast4(m, [batch, q_heads, q_len, kv_len])).transpose()?,
            causal: self.causal,
            window: self.window,
            past,
            nonpad: nonpad.as_deref(),
            q_len,
            kv_len,
        };
        let scale = self.scale.map(f32::from_bits).unwrap_or(1.0 / (head as f32).sqrt());
        let root = round_to(scale.sqrt(), dt);
        let softcap = f32::from_bits(self.softcap);
        let group = q_heads / kv_heads;
        // Scaled once, not once per query head of a group (present_key keeps the unscaled K).
        let k_scaled = k.mapv(|x| round_to(x * root, dt));
        let mut y = Array4::<f32>::zeros((batch, q_heads, q_len, v_size));
        // Allocated only when asked for: it is batch × heads × queries × keys.
        let mut qk_out = self.outputs[3].map(|_| Array4::<f32>::zeros((batch, q_heads, q_len, kv_len)));
        for b in 0..batch {
            for h in 0..q_heads {
                let (kh, qs) = (h / group, q.slice(s![b, h, .., ..]).mapv(|x| round_to(x * root, dt)));
                let mut scores = rows_dot(qs.view(), k_scaled.slice(s![b, kh, .., ..]));
                if softcap > 0.0 {
                    scores.mapv_inplace(|x| (x / softcap).tanh() * softcap);
                }
                let row_bias = bias.at(b, h);
                let with_bias = &scores + &row_bias;
                let probs = softmax_rows(with_bias.view(), row_bias.view());
                if let Some(qk) = qk_out.as_mut() {
                    let out = match self.qk_mode {
                        0 | 1 => &scores,
                        2 => &with_bias,
                        _ => &probs,
                    };
                    qk.slice_mut(s![b, h, .., ..]).assign(out);
                }
                let probs = probs.mapv(|x| round_to(x, dt));
                weighted_rows(probs.view(), v.slice(s![b, kh, .., ..]), y.slice_mut(s![b, h, .., ..]));
            }
        }
        let y = if rank3 {
            let t = y.permuted_axes([0, 2, 1, 3]);
            t.as_standard_layout().to_shape((batch, q_len, q_heads * v_size))?.into_owned().into_dyn()
        } else {
            y.into_dyn()
        };
        let all = [Some(y), Some(k.into_dyn()), Some(v.into_dyn()), qk_out.map(|a| a.into_dyn())];
        let mut out = tvec![];
        for (a, o) in all.into_iter().zip(self.outputs) {
            if let (Some(a), Some(_)) = (a, o) {
                out.push(a.into_tensor().cast_to_dt(dt)?.into_owned().into_tvalue());
            }
        }
        Ok(out)
    }
}

/// `x` rounded to the input's float type: the reference computes in it, so f16 inputs round
/// between steps as it does.
fn round_to(x: f32, dt: DatumType) -> f32 {
    if dt == DatumType::F16 {
        f16::from_f32(x).to_f32()
    } else {
        x
    }
}
