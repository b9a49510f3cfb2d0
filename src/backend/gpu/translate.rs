//! tract's decluttered `TypedModel` (concrete shapes) → a GPU `Program`. One `try_*` function per
//! op family, tried in turn; element-wise nodes are grouped into fused register programs first.
//! A node no family takes makes the whole translation fail with the reason: the caller then runs
//! the model on the CPU rather than bouncing tensors between the GPU and the CPU.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{MultiBroadcastTo, Pad, PadMode, Slice, TypedConcat};
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::cast::Cast;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::cnn::{Conv, Deconv, MaxPool, PaddingSpec, PoolSpec, SumPool};
use tract_onnx::tract_core::ops::downsample::Downsample;
use tract_onnx::tract_core::ops::einsum::EinSum;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn::{self as tnn, DataFormat, Reduce, Reducer, RmsNorm, Softmax, SoftmaxKind};
use tract_onnx::tract_core::ops::source::TypedSource;

use super::kernels::{
    EwOp, Kernel, PoolMode, RowsMode, EPILOGUE_AT, EPILOGUE_OPS, EW_INPUTS, EW_REGISTERS, IMM, IMM_RDIV, IMM_RPOW,
    IMM_RSUB, MAX_RANK,
};
use super::program::{f, grid_1d, strides, Program, Step, Storage, ValueId};

/// Why a model cannot run on the GPU.
#[derive(Debug, Clone)]
pub struct Unsupported {
    pub op: String,
    pub node: String,
    pub why: String,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, fm: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(fm, "{} (node \"{}\"): {}", self.op, self.node, self.why)
    }
}

/// Why one node has no GPU kernel (it becomes `Unsupported::why`).
#[derive(Debug)]
struct Why(String);

impl From<String> for Why {
    fn from(s: String) -> Self {
        Why(s)
    }
}

impl From<&str> for Why {
    fn from(s: &str) -> Self {
        Why(s.into())
    }
}

macro_rules! why {
    ($($t:tt)*) => { Why(format!($($t)*)) };
}

type R<T> = std::result::Result<T, Why>;

struct Translator<'m> {
    model: &'m TypedModel,
    prog: Program,
    values: HashMap<OutletId, ValueId>,
    order: HashMap<usize, usize>,
    /// Element-wise nodes folded into a consumer's program (not materialised).
    fused: HashSet<usize>,
}

pub fn translate(model: &TypedModel) -> std::result::Result<Program, Unsupported> {
    let order = model.eval_order().map_err(|e| Unsupported { op: "-".into(), node: "-".into(), why: e.to_string() })?;
    let mut t = Translator {
        model,
        prog: Program::default(),
        values: HashMap::new(),
        order: order.iter().enumerate().map(|(i, &n)| (n, i)).collect(),
        fused: HashSet::new(),
    };
    for &o in model.input_outlets().map_err(|e| Unsupported { op: "-".into(), node: "-".into(), why: e.to_string() })? {
        let fact = t.fact(o);
        if fact.datum_type != f32::datum_type() {
            let node = &model.node(o.node).name;
            return Err(Unsupported {
                op: "input".into(),
                node: node.clone(),
                why: format!("type {:?} (the GPU path takes f32 inputs)", fact.datum_type),
            });
        }
    }
    t.plan_fusion(&order);
    for &id in &order {
        let node = model.node(id);
        t.node(node).map_err(|Why(why)| Unsupported {
            op: node.op.name().to_string(),
            node: node.name.clone(),
            why,
        })?;
    }
    let out_err = |why: String| Unsupported { op: "output".into(), node: "-".into(), why };
    for o in model.output_outlets().map_err(|e| out_err(e.to_string()))? {
        let v = t.value(*o).map_err(|Why(why)| out_err(why))?;
        t.prog.outputs.push(v);
    }
    super::epilogue::fuse(&mut t.prog);
    Ok(t.prog)
}

fn concrete(fact: &TypedFact) -> R<Vec<usize>> {
    let shape = fact.shape.as_concrete().ok_or_else(|| format!("symbolic shape {:?}", fact.shape))?;
    if shape.len() > MAX_RANK {
        return Err(why!("rank {} (the GPU kernels take up to {MAX_RANK})", shape.len()));
    }
    Ok(shape.to_vec())
}

fn f32_data(t: &Tensor) -> R<Vec<f32>> {
    let t = t.cast_to::<f32>().map_err(|e| format!("constant of type {:?}: {e}", t.datum_type()))?;
    let view = t.to_plain_array_view::<f32>().map_err(|e| e.to_string())?;
    Ok(view.iter().copied().collect())
}

fn pad_to_rank(shape: &[usize], fill: usize) -> Vec<usize> {
    let mut v = vec![fill; MAX_RANK - shape.len()];
    v.extend_from_slice(shape);
    v
}

impl<'m> Translator<'m> {
    fn fact(&self, o: OutletId) -> &'m TypedFact {
        &self.model.node(o.node).outputs[o.slot].fact
    }

    fn is_output(&self, o: OutletId) -> bool {
        self.model.output_outlets().map(|outs| outs.contains(&o)).unwrap_or(false)
    }

    /// The value holding outlet `o`; constants are uploaded on first use.
    fn value(&mut self, o: OutletId) -> R<ValueId> {
        if let Some(&v) = self.values.get(&o) {
            return Ok(v);
        }
        let fact = self.fact(o);
        if let Some(k) = &fact.konst {
            let data = f32_data(k)?;
            let v = self.prog.add(k.shape().to_vec(), Storage::Const(Arc::new(data)));
            self.values.insert(o, v);
            return Ok(v);
        }
        Err(why!("input {o:?} was not computed on the GPU"))
    }

    fn input(&mut self, node: &TypedNode, ix: usize) -> R<ValueId> {
        self.value(node.inputs[ix])
    }

    fn output(&mut self, node: &TypedNode, storage: Storage) -> R<ValueId> {
        let fact = &node.outputs[0].fact;
        if fact.datum_type != f32::datum_type() {
            return Err(why!("output type {:?} (the GPU path computes f32)", fact.datum_type));
        }
        let v = self.prog.add(concrete(fact)?, storage);
        self.values.insert(node.id.into(), v);
        Ok(v)
    }

    fn step(
        &mut self,
        kernel: Kernel,
        output: ValueId,
        inputs: Vec<ValueId>,
        params: Vec<u32>,
        wg: [u32; 3],
        node: &TypedNode,
    ) {
        self.prog.steps.push(Step { kernel, output, inputs, params, workgroups: wg, node: node.name.clone() });
    }

    fn node(&mut self, node: &TypedNode) -> R<()> {
        if node.op_as::<TypedSource>().is_some() {
            let fact = &node.outputs[0].fact;
            if fact.datum_type != f32::datum_type() {
                return Err(why!("input of type {:?} (the GPU path takes f32 inputs)", fact.datum_type));
            }
            let outlets = self.model.input_outlets().map_err(|e| e.to_string())?;
            let ix = outlets.iter().position(|o| o.node == node.id).ok_or("a source that is not a model input")?;
            let v = self.output(node, Storage::Input(ix))?;
            self.prog.inputs.push(v);
            return Ok(());
        }
        if node.op_as::<Const>().is_some() {
            return Ok(()); // uploaded when a step reads it
        }
        if node.outputs[0].fact.konst.is_some() && !self.is_output(node.id.into()) {
            return Ok(()); // folded by tract: a constant, not a computation
        }
        if ew_op(node).is_some() {
            if self.fused.contains(&node.id) {
                return Ok(());
            }
            return self.elementwise_group(node);
        }
        if let Some(op) = node.op_as::<AxisOp>() {
            return self.axis_op(node, op);
        }
        if let Some(op) = node.op_as::<Cast>() {
            if op.to == f32::datum_type() && self.fact(node.inputs[0]).datum_type == f32::datum_type() {
                let src = self.input(node, 0)?;
                self.output(node, Storage::Alias(src))?;
                return Ok(());
            }
            return Err(why!("cast to {:?}", op.to));
        }
        if let Some(op) = node.op_as::<EinSum>() {
            return self.einsum(node, op);
        }
        if let Some(op) = node.op_as::<Conv>() {
            return self.conv(node, op);
        }
        if let Some(op) = node.op_as::<Deconv>() {
            return self.deconv(node, op);
        }
        if let Some(op) = node.op_as::<MaxPool>() {
            if op.with_index_outputs.is_some() {
                return Err("MaxPool with indices".into());
            }
            return self.pool(node, &op.pool_spec, PoolMode::Max);
        }
        if let Some(op) = node.op_as::<SumPool>() {
            let mode = match (op.normalize, op.count_include_pad) {
                (false, _) => PoolMode::Sum,
                (true, false) => PoolMode::Average,
                (true, true) => PoolMode::AverageCountPad,
            };
            return self.pool(node, &op.pool_spec, mode);
        }
        if let Some(op) = node.op_as::<Reduce>() {
            return self.reduce(node, op);
        }
        if let Some(op) = node.op_as::<Softmax>() {
            if op.quant_output_dt.is_some() {
                return Err("quantised softmax".into());
            }
            let mode = if op.kind == SoftmaxKind::LogSoftmax { RowsMode::LogSoftmax } else { RowsMode::Softmax };
            return self.rows(node, &op.axes, mode, 0.0);
        }
        if let Some(op) = node.op_as::<RmsNorm>() {
            let eps = op.eps.cast_to_scalar::<f32>().map_err(|e| e.to_string())?;
            return self.rows(node, &[op.axis], RowsMode::RmsNorm, eps);
        }
        if let Some(op) = node.op_as::<tract_onnx_opl::lrn::Lrn>() {
            return self.lrn(node, op);
        }
        if let Some(op) = node.op_as::<TypedConcat>() {
            return self.concat(node, op.axis);
        }
        if let Some(op) = node.op_as::<Slice>() {
            let start = op.start.to_i64().map_err(|e| e.to_string())? as usize;
            let in_shape = concrete(self.fact(node.inputs[0]))?;
            let out_shape = concrete(&node.outputs[0].fact)?;
            let in_strides = strides(&in_shape);
            let src = self.input(node, 0)?;
            let out = self.output(node, Storage::Temp)?;
            let map = IndexMap {
                in_offset: start * in_strides[op.axis],
                ..IndexMap::plain(&out_shape, &in_strides, &in_shape)
            };
            return self.copy(node, out, src, map);
        }
        if let Some(op) = node.op_as::<Pad>() {
            let PadMode::Constant(v) = &op.mode else { return Err(why!("pad mode {:?}", op.mode)) };
            let value = v.cast_to_scalar::<f32>().map_err(|e| e.to_string())?;
            let in_shape = concrete(self.fact(node.inputs[0]))?;
            let out_shape = concrete(&node.outputs[0].fact)?;
            let src = self.input(node, 0)?;
            let out = self.output(node, Storage::Temp)?;
            let mut map = IndexMap::plain(&out_shape, &strides(&in_shape), &in_shape);
            map.before = op.pads.iter().map(|p| p.0 as i64).collect();
            map.pad = value;
            return self.copy(node, out, src, map);
        }
        if node.op_as::<MultiBroadcastTo>().is_some() {
            let in_shape = concrete(self.fact(node.inputs[0]))?;
            let out_shape = concrete(&node.outputs[0].fact)?;
            let mut in_shape_r = vec![1; out_shape.len() - in_shape.len()];
            in_shape_r.extend(&in_shape);
            let in_strides: Vec<usize> =
                strides(&in_shape_r).iter().zip(&in_shape_r).map(|(&s, &d)| if d == 1 { 0 } else { s }).collect();
            let in_dim: Vec<usize> = out_shape.clone();
            let src = self.input(node, 0)?;
            let out = self.output(node, Storage::Temp)?;
            return self.copy(node, out, src, IndexMap::plain(&out_shape, &in_strides, &in_dim));
        }
        if let Some(op) = node.op_as::<tnn::resize::NearestUpsample>() {
            let in_shape = concrete(self.fact(node.inputs[0]))?;
            let out_shape = concrete(&node.outputs[0].fact)?;
            let src = self.input(node, 0)?;
            let out = self.output(node, Storage::Temp)?;
            let mut map = IndexMap::plain(&out_shape, &strides(&in_shape), &in_shape);
            map.div = op.scales.to_vec();
            return self.copy(node, out, src, map);
        }
        if let Some(op) = node.op_as::<Downsample>() {
            if op.stride <= 0 {
                return Err("negative stride".into());
            }
            let in_shape = concrete(self.fact(node.inputs[0]))?;
            let out_shape = concrete(&node.outputs[0].fact)?;
            let src = self.input(node, 0)?;
            let out = self.output(node, Storage::Temp)?;
            let mut map = IndexMap::plain(&out_shape, &strides(&in_shape), &in_shape);
            map.mul[op.axis] = op.stride as usize;
            map.before[op.axis] = -(op.modulo as i64);
            return self.copy(node, out, src, map);
        }
        Err("no GPU kernel for this op".into())
    }

    // --- element-wise fusion -----------------------------------------------------------------

    /// Marks element-wise nodes whose single consumer is an element-wise node of the same output
    /// shape: they become instructions of that consumer's program. Groups over the program limits
    /// are split by materialising a producer.
    fn plan_fusion(&mut self, order: &[usize]) {
        let model = self.model;
        let fusable = |id: usize| -> bool {
            let node = model.node(id);
            if ew_op(node).is_none() || node.outputs.len() != 1 {
                return false;
            }
            let o = OutletId::new(id, 0);
            let succ = model.outlet_successors(o);
            if succ.len() != 1 || self.is_output(o) {
                return false;
            }
            let consumer = model.node(succ[0].node);
            ew_op(consumer).is_some() && consumer.outputs[0].fact.shape == node.outputs[0].fact.shape
        };
        let mut candidates: HashSet<usize> = order.iter().copied().filter(|&id| fusable(id)).collect();
        for &id in order.iter().rev() {
            if ew_op(model.node(id)).is_none() || candidates.contains(&id) {
                continue;
            }
            // `id` is a group root; shrink its group until it fits the program limits.
            loop {
                let (members, externals) = self.collect_group(id, &candidates);
                if externals.len() <= EW_INPUTS && externals.len() + members.len() <= EW_REGISTERS {
                    self.fused.extend(members.into_iter().skip(1));
                    break;
                }
                let victim = *members.last().expect("the root is a member");
                candidates.remove(&victim); // materialised: a root of its own, visited later
            }
        }
    }

    /// The root, then the producers folded into it (in discovery order), and its external inputs.
    fn collect_group(&self, root: usize, candidates: &HashSet<usize>) -> (Vec<usize>, Vec<OutletId>) {
        let mut members = vec![root];
        let mut externals = vec![];
        let mut i = 0;
        while i < members.len() {
            for &inp in &self.model.node(members[i]).inputs {
                if candidates.contains(&inp.node) {
                    if !members.contains(&inp.node) {
                        members.push(inp.node);
                    }
                } else if !is_scalar_const(self.fact(inp)) && !externals.contains(&inp) {
                    externals.push(inp);
                }
            }
            i += 1;
        }
        (members, externals)
    }

    fn elementwise_group(&mut self, root: &TypedNode) -> R<()> {
        // Members in execution order.
        let mut members = vec![root.id];
        let mut i = 0;
        while i < members.len() {
            for inp in &self.model.node(members[i]).inputs {
                if self.fused.contains(&inp.node) && !members.contains(&inp.node) {
                    members.push(inp.node);
                }
            }
            i += 1;
        }
        members.sort_by_key(|id| self.order[id]);
        let out_shape = concrete(&root.outputs[0].fact)?;
        // External inputs take the first registers.
        let mut externals: Vec<OutletId> = vec![];
        for &m in &members {
            for &inp in &self.model.node(m).inputs {
                if !members.contains(&inp.node) && !is_scalar_const(self.fact(inp)) && !externals.contains(&inp) {
                    externals.push(inp);
                }
            }
        }
        if externals.len() > EW_INPUTS || externals.len() + members.len() > EW_REGISTERS {
            return Err("element-wise group over the program limits".into());
        }
        let mut reg: HashMap<OutletId, u32> = HashMap::new();
        let mut inputs = vec![];
        let mut input_words = vec![];
        for (k, &e) in externals.iter().enumerate() {
            reg.insert(e, k as u32);
            let shape = concrete(self.fact(e))?;
            inputs.push(self.value(e)?);
            input_words.extend(broadcast_words(&shape, &out_shape));
        }
        let mut program = vec![];
        for (ix, &m) in members.iter().enumerate() {
            let node = self.model.node(m);
            let dst = (externals.len() + ix) as u32;
            let (op, param) = ew_op(node).ok_or("not element-wise")?;
            let operand = |o: &OutletId| -> R<Operand> {
                if let Some(&r) = reg.get(o) {
                    return Ok(Operand::Reg(r));
                }
                let k = self.fact(*o).konst.as_ref().ok_or("operand not computed")?;
                Ok(Operand::Imm(k.cast_to_scalar::<f32>().map_err(|e| e.to_string())?))
            };
            let instr = if (op as u32) < IMM {
                let a = operand(&node.inputs[0])?;
                let b = operand(&node.inputs[1])?;
                match (a, b) {
                    (Operand::Reg(a), Operand::Reg(b)) => [op as u32, dst, a, b],
                    (Operand::Reg(a), Operand::Imm(b)) => [op as u32 + IMM, dst, a, f(b)],
                    (Operand::Imm(a), Operand::Reg(b)) => {
                        let code = match op {
                            EwOp::Sub => IMM_RSUB,
                            EwOp::Div => IMM_RDIV,
                            EwOp::Pow => IMM_RPOW,
                            _ => op as u32 + IMM, // commutative
                        };
                        [code, dst, b, f(a)]
                    }
                    (Operand::Imm(_), Operand::Imm(_)) => return Err("two constant operands".into()),
                }
            } else {
                let Operand::Reg(a) = operand(&node.inputs[0])? else { return Err("constant unary operand".into()) };
                [op as u32, dst, a, f(param)]
            };
            program.extend(instr);
            reg.insert(OutletId::new(m, 0), dst);
        }
        let n = out_shape.iter().product::<usize>();
        let mut params =
            vec![n as u32, externals.len() as u32, members.len() as u32, (externals.len() + members.len() - 1) as u32];
        params.extend(pad_to_rank(&out_shape, 1).iter().map(|&d| d as u32));
        input_words.resize(EW_INPUTS * 7, 0);
        params.extend(input_words);
        params.extend(program);
        let out = self.output(root, Storage::Temp)?;
        self.step(Kernel::Elementwise, out, inputs, params, grid_1d(n, 256), root);
        Ok(())
    }

    // --- layout ------------------------------------------------------------------------------

    fn axis_op(&mut self, node: &TypedNode, op: &AxisOp) -> R<()> {
        let src = self.input(node, 0)?;
        if let AxisOp::Move(from, to) = op {
            let in_shape = concrete(self.fact(node.inputs[0]))?;
            let mut perm: Vec<usize> = (0..in_shape.len()).collect();
            let a = perm.remove(*from);
            perm.insert(*to, a);
            // Moving only size-1 axes keeps the bytes in order.
            let moved: Vec<usize> = perm.iter().copied().filter(|&p| in_shape[p] > 1).collect();
            if moved.windows(2).all(|w| w[0] < w[1]) {
                self.output(node, Storage::Alias(src))?;
                return Ok(());
            }
            let in_strides = strides(&in_shape);
            let out_shape: Vec<usize> = perm.iter().map(|&p| in_shape[p]).collect();
            let map = IndexMap::plain(&out_shape, &perm.iter().map(|&p| in_strides[p]).collect::<Vec<_>>(), &out_shape);
            let out = self.output(node, Storage::Temp)?;
            return self.copy(node, out, src, map);
        }
        self.output(node, Storage::Alias(src))?;
        Ok(())
    }

    fn concat(&mut self, node: &TypedNode, axis: usize) -> R<()> {
        let out_shape = concrete(&node.outputs[0].fact)?;
        let out_strides = strides(&out_shape);
        let out = self.output(node, Storage::Temp)?;
        let mut offset = 0;
        for ix in 0..node.inputs.len() {
            let shape = concrete(self.fact(node.inputs[ix]))?;
            let src = self.input(node, ix)?;
            let mut map = IndexMap::plain(&shape, &strides(&shape), &shape);
            map.out_strides = out_strides.clone();
            map.out_offset = offset * out_strides[axis];
            offset += shape[axis];
            if shape.iter().product::<usize>() > 0 {
                self.copy(node, out, src, map)?;
            }
        }
        Ok(())
    }

    fn copy(&mut self, node: &TypedNode, out: ValueId, src: ValueId, map: IndexMap) -> R<()> {
        let n = map.shape.iter().product::<usize>();
        let params = map.words();
        self.step(Kernel::Copy, out, vec![src], params, grid_1d(n, 256), node);
        Ok(())
    }

    // --- linear algebra ----------------------------------------------------------------------

    fn einsum(&mut self, node: &TypedNode, op: &EinSum) -> R<()> {
        if op.q_params.is_some() || op.operating_dt != f32::datum_type() || node.inputs.len() != 2 {
            return Err("only two-input f32 einsums".into());
        }
        let sa = concrete(self.fact(node.inputs[0]))?;
        let sb = concrete(self.fact(node.inputs[1]))?;
        let sc = concrete(&node.outputs[0].fact)?;
        let (ta, tb, tc) = (strides(&sa), strides(&sb), strides(&sc));
        // Per axis: size and stride in A, B, C (0 where absent or broadcast).
        #[derive(Clone, Copy)]
        struct Ax {
            size: usize,
            a: usize,
            b: usize,
            c: usize,
        }
        let (mut batch, mut ms, mut ns, mut ks) = (vec![], vec![], vec![], vec![]);
        for axis in op.axes.iter_all_axes() {
            let pos = |v: &TVec<usize>| -> R<Option<usize>> {
                match v.len() {
                    0 => Ok(None),
                    1 => Ok(Some(v[0])),
                    _ => Err("an axis repeated in one operand".into()),
                }
            };
            let (pa, pb, pc) = (pos(&axis.inputs[0])?, pos(&axis.inputs[1])?, pos(&axis.outputs[0])?);
            let da = pa.map_or(1, |p| sa[p]);
            let db = pb.map_or(1, |p| sb[p]);
            let dc = pc.map_or(1, |p| sc[p]);
            let size = da.max(db).max(dc);
            if size == 1 {
                continue;
            }
            let st = |p: Option<usize>, d: usize, s: &[usize]| p.filter(|_| d != 1).map_or(0, |p| s[p]);
            let ax = Ax { size, a: st(pa, da, &ta), b: st(pb, db, &tb), c: st(pc, dc, &tc) };
            match (pa.is_some(), pb.is_some(), pc.is_some()) {
                (true, true, true) | (false, false, true) => batch.push((pc, ax)),
                (true, false, true) => ms.push((pc, ax)),
                (false, true, true) => ns.push((pc, ax)),
                (true, true, false) if da == db => ks.push((pa, ax)),
                _ => return Err("an axis summed in one operand only".into()),
            }
        }
        fn collapse(mut v: Vec<(Option<usize>, Ax)>) -> Vec<Ax> {
            v.sort_by_key(|x| x.0);
            let mut out: Vec<Ax> = vec![];
            for (_, x) in v {
                if let Some(last) = out.last_mut() {
                    let fits = |outer: usize, inner: usize| outer == inner * x.size;
                    if fits(last.a, x.a) && fits(last.b, x.b) && fits(last.c, x.c) {
                        *last = Ax { size: last.size * x.size, ..x };
                        continue;
                    }
                }
                out.push(x);
            }
            out
        }
        let one = Ax { size: 1, a: 0, b: 0, c: 0 };
        let single = |v: Vec<(Option<usize>, Ax)>, what: &str| -> R<Ax> {
            let c = collapse(v);
            match c.len() {
                0 => Ok(one),
                1 => Ok(c[0]),
                _ => Err(why!("{what} axes that do not collapse into one")),
            }
        };
        let m = single(ms, "row")?;
        let n = single(ns, "column")?;
        let k = single(ks, "reduction")?;
        let mut b = collapse(batch);
        if b.len() > 3 {
            return Err("more than 3 batch axes".into());
        }
        while b.len() < 3 {
            b.insert(0, one);
        }
        let batch_total: usize = b.iter().map(|x| x.size).product();
        let a_in = self.input(node, 0)?;
        let b_in = self.input(node, 1)?;
        let out = self.output(node, Storage::Temp)?;
        let mut p = vec![m.size, n.size, k.size, 0, m.a, k.a, k.b, n.b, m.c, n.c, 0, 0];
        p.extend(b.iter().map(|x| x.size));
        p.extend(b.iter().map(|x| x.a));
        p.extend(b.iter().map(|x| x.b));
        p.extend(b.iter().map(|x| x.c));
        let mut params: Vec<u32> = p.iter().map(|&x| x as u32).collect();
        params.extend([f(f32::NEG_INFINITY), f(f32::INFINITY), 0, 0]);
        let params = with_epilogue(params, &sc);
        let wg = [m_groups(n.size), m_groups(m.size), batch_total as u32];
        self.step(Kernel::Matmul, out, vec![a_in, b_in, a_in], params, wg, node);
        Ok(())
    }

    fn conv(&mut self, node: &TypedNode, op: &Conv) -> R<()> {
        if op.q_params.is_some() {
            return Err("quantised convolution".into());
        }
        let kernel = self.fact(node.inputs[1]).konst.clone().ok_or("weights computed at run time")?;
        let weights = op.kernel_fmt.kernel_as_group_o_ihw(&kernel, op.group).map_err(|e| e.to_string())?;
        let (g, og, k) = (weights.shape()[0], weights.shape()[1], weights.shape()[2]);
        let ig = op.pool_spec.input_channels / op.group;
        let geo = Geometry::new(self, node, &op.pool_spec)?;
        let mut data = f32_data(&weights)?;
        // The GEMM kernels read each output channel's weights as whole vec4s: rows padded with
        // zeros to a multiple of 4 (conv.wgsl). Depthwise reads them tap by tap, unpadded.
        let row = if ig == 1 { k } else { k.next_multiple_of(4) };
        if row != k {
            data = data.chunks(k).flat_map(|r| r.iter().copied().chain(std::iter::repeat_n(0.0, row - k))).collect();
        }
        let w = self.prog.add(vec![g, og, row], Storage::Const(Arc::new(data)));
        let bias = self.bias(node, 2, g * og)?;
        let x = self.input(node, 0)?;
        let out = self.output(node, Storage::Temp)?;
        let mut params = geo.words(og, k, ig, bias.is_some());
        // Depthwise: an invocation per 4 consecutive output columns (depthwise.wgsl).
        let invocations = if ig == 1 {
            geo.n * g * og * geo.out_hw[0] * geo.out_hw[1].div_ceil(4)
        } else {
            geo.n * g * og * geo.out_hw[0] * geo.out_hw[1]
        };
        params.extend([invocations as u32, (g * og) as u32]);
        let params = with_epilogue(params, &concrete(&node.outputs[0].fact)?);
        let inputs = vec![x, w, bias.unwrap_or(w)];
        if ig == 1 {
            self.step(Kernel::Depthwise, out, inputs, params, grid_1d(invocations, 256), node);
        } else {
            let n_cols = geo.n * geo.out_hw[0] * geo.out_hw[1];
            let wg = [m_groups(n_cols), m_groups(og), g as u32];
            self.step(Kernel::Conv, out, inputs, params, wg, node);
        }
        Ok(())
    }

    fn deconv(&mut self, node: &TypedNode, op: &Deconv) -> R<()> {
        let kernel = self.fact(node.inputs[1]).konst.clone().ok_or("weights computed at run time")?;
        let weights = op.kernel_format.kernel_as_group_o_i_hw(&kernel, op.group).map_err(|e| e.to_string())?;
        let (g, og, ig) = (weights.shape()[0], weights.shape()[1], weights.shape()[2]);
        let mut geo = Geometry::new(self, node, &op.pool_spec)?;
        // The padding of a transposed convolution is computed from its input side.
        let hw = geo.in_hw_raw.clone();
        let details = op
            .pool_spec
            .padding
            .compute_for_deconv(
                &hw,
                &op.pool_spec.kernel_shape,
                &op.pool_spec.dilations(),
                &op.pool_spec.strides(),
                &op.adjustments,
            )
            .map_err(|e| e.to_string())?;
        let pads: Vec<usize> = details.iter().map(|d| d.pad_before).collect();
        geo.pad = if pads.len() == 1 { [0, pads[0]] } else { [pads[0], pads[1]] };
        let w = self.prog.add(weights.shape().to_vec(), Storage::Const(Arc::new(f32_data(&weights)?)));
        let bias = self.bias(node, 2, g * og)?;
        let x = self.input(node, 0)?;
        let out = self.output(node, Storage::Temp)?;
        let mut params = geo.words(og, 0, ig, bias.is_some());
        let total = geo.n * g * og * geo.out_hw[0] * geo.out_hw[1];
        params.extend([total as u32, (g * og) as u32]);
        self.step(Kernel::Deconv, out, vec![x, w, bias.unwrap_or(w)], params, grid_1d(total, 256), node);
        Ok(())
    }

    /// A per-output-channel bias from a constant input (scalar or vector); None when all zero.
    fn bias(&mut self, node: &TypedNode, ix: usize, channels: usize) -> R<Option<ValueId>> {
        let Some(t) = node.inputs.get(ix).and_then(|&i| self.fact(i).konst.clone()) else {
            return Err("bias computed at run time".into());
        };
        let mut data = f32_data(&t)?;
        if data.iter().all(|&v| v == 0.0) {
            return Ok(None);
        }
        if data.len() == 1 {
            data = vec![data[0]; channels];
        }
        if data.len() != channels {
            return Err(why!("bias of {} values for {channels} channels", data.len()));
        }
        Ok(Some(self.prog.add(vec![channels], Storage::Const(Arc::new(data)))))
    }

    fn pool(&mut self, node: &TypedNode, spec: &PoolSpec, mode: PoolMode) -> R<()> {
        let geo = Geometry::new(self, node, spec)?;
        let c = geo.c_out;
        let x = self.input(node, 0)?;
        let out = self.output(node, Storage::Temp)?;
        let total = geo.n * c * geo.out_hw[0] * geo.out_hw[1];
        let mut p = vec![total, c, geo.k[0], geo.k[1], geo.out_hw[0], geo.out_hw[1], geo.in_hw[0], geo.in_hw[1]];
        p.extend([geo.stride[0], geo.stride[1], geo.dil[0], geo.dil[1], geo.pad[0], geo.pad[1]]);
        p.extend(geo.x_strides);
        p.extend(geo.y_strides);
        let params = p.iter().map(|&v| v as u32).collect();
        self.step(Kernel::Pool(mode), out, vec![x], params, grid_1d(total, 256), node);
        Ok(())
    }

    // --- along an axis -----------------------------------------------------------------------

    fn reduce(&mut self, node: &TypedNode, op: &Reduce) -> R<()> {
        let mode = match op.reducer {
            Reducer::Sum => RowsMode::Sum,
            Reducer::Max => RowsMode::Max,
            Reducer::Min => RowsMode::Min,
            Reducer::Prod => RowsMode::Prod,
            Reducer::MeanOfSquares => RowsMode::MeanOfSquares,
            r => return Err(why!("reducer {r:?}")),
        };
        self.rows(node, &op.axes, mode, 0.0)
    }

    /// `axes` must be consecutive: the tensor is viewed as [outer, axes..., inner].
    fn rows(&mut self, node: &TypedNode, axes: &[usize], mode: RowsMode, eps: f32) -> R<()> {
        let shape = concrete(self.fact(node.inputs[0]))?;
        let mut axes = axes.to_vec();
        axes.sort();
        if axes.is_empty() || axes.windows(2).any(|w| w[1] != w[0] + 1) {
            return Err(why!("axes {axes:?} are not consecutive"));
        }
        let (first, last) = (axes[0], *axes.last().unwrap());
        let outer: usize = shape[..first].iter().product();
        let len: usize = shape[first..=last].iter().product();
        let inner: usize = shape[last + 1..].iter().product();
        let x = self.input(node, 0)?;
        let out = self.output(node, Storage::Temp)?;
        let rows = outer * inner;
        let params = vec![outer as u32, len as u32, inner as u32, f(eps)];
        let x_groups = rows.clamp(1, 65535);
        let wg = [x_groups as u32, rows.div_ceil(x_groups).max(1) as u32, 1];
        self.step(Kernel::Rows(mode), out, vec![x], params, wg, node);
        Ok(())
    }

    fn lrn(&mut self, node: &TypedNode, op: &tract_onnx_opl::lrn::Lrn) -> R<()> {
        let shape = concrete(self.fact(node.inputs[0]))?;
        if shape.len() < 2 {
            return Err("LRN needs [N, C, ...]".into());
        }
        let total: usize = shape.iter().product();
        let inner: usize = shape[2..].iter().product();
        let x = self.input(node, 0)?;
        let out = self.output(node, Storage::Temp)?;
        let params =
            vec![total as u32, shape[1] as u32, inner as u32, op.size as u32, f(op.alpha), f(op.beta), f(op.bias)];
        self.step(Kernel::Lrn, out, vec![x], params, grid_1d(total, 256), node);
        Ok(())
    }
}

/// Padding to `EPILOGUE_AT`, then epilogue.wgsl's words with no operation yet (epilogue.rs adds them).
fn epilogue_words(out_shape: &[usize]) -> Vec<u32> {
    let mut w: Vec<u32> = vec![];
    w.extend(pad_to_rank(out_shape, 1).iter().map(|&d| d as u32));
    w.push(0);
    w.resize(7 + 8 * EPILOGUE_OPS, 0);
    w
}

/// Appends the epilogue words at `EPILOGUE_AT`.
fn with_epilogue(mut params: Vec<u32>, out_shape: &[usize]) -> Vec<u32> {
    params.resize(EPILOGUE_AT, 0);
    params.extend(epilogue_words(out_shape));
    params
}

fn m_groups(n: usize) -> u32 {
    n.div_ceil(64).max(1) as u32
}

enum Operand {
    Reg(u32),
    Imm(f32),
}

fn is_scalar_const(fact: &TypedFact) -> bool {
    fact.konst.as_ref().is_some_and(|k| k.len() == 1)
}

/// The element-wise op a node computes (f32 in and out), with its parameter.
fn ew_op(node: &TypedNode) -> Option<(EwOp, f32)> {
    let f32t = f32::datum_type();
    if node.outputs.len() != 1
        || node.outputs[0].fact.datum_type != f32t
        || node.outputs[0].fact.shape.as_concrete().is_none()
    {
        return None;
    }
    if let Some(op) = node.op_as::<TypedBinOp>() {
        let m = &op.0;
        let code = if m.is::<math::Add>() {
            EwOp::Add
        } else if m.is::<math::Sub>() {
            EwOp::Sub
        } else if m.is::<math::Mul>() {
            EwOp::Mul
        } else if m.is::<math::Div>() {
            EwOp::Div
        } else if m.is::<math::Max>() {
            EwOp::Max
        } else if m.is::<math::Min>() {
            EwOp::Min
        } else if m.is::<math::Pow>() {
            EwOp::Pow
        } else {
            return None;
        };
        return Some((code, 0.0));
    }
    let op = node.op_as::<ElementWiseOp>()?;
    let m = &op.0;
    if let Some(l) = m.downcast_ref::<tnn::LeakyRelu>() {
        return Some((EwOp::LeakyRelu, l.alpha));
    }
    let table: [(bool, EwOp); 20] = [
        (m.is::<tnn::Sigmoid>(), EwOp::Sigmoid),
        (m.is::<tnn::Silu>(), EwOp::Silu),
        (m.is::<math::Ln>(), EwOp::Ln),
        (m.is::<math::Exp>(), EwOp::Exp),
        (m.is::<math::Square>(), EwOp::Square),
        (m.is::<math::Sqrt>(), EwOp::Sqrt),
        (m.is::<math::Rsqrt>(), EwOp::Rsqrt),
        (m.is::<math::Recip>(), EwOp::Recip),
        (m.is::<math::Abs>(), EwOp::Abs),
        (m.is::<math::Neg>(), EwOp::Neg),
        (m.is::<math::Tanh>(), EwOp::Tanh),
        (m.is::<math::Erf>(), EwOp::Erf),
        (m.is::<tnn::HardSwish>(), EwOp::HardSwish),
        (m.is::<math::Floor>(), EwOp::Floor),
        (m.is::<math::Ceil>(), EwOp::Ceil),
        (m.is::<math::RoundHalfToEven>(), EwOp::Round),
        (m.is::<math::Sin>(), EwOp::Sin),
        (m.is::<math::Cos>(), EwOp::Cos),
        (m.is::<math::Sign>(), EwOp::Sign),
        (m.is::<tnn::GeluExact>(), EwOp::GeluExact),
    ];
    table.iter().find(|(hit, _)| *hit).map(|&(_, code)| (code, 0.0))
}

/// Strides of an input broadcast to `out` (right-aligned; 0 on broadcast axes), as the 7 words
/// elementwise.wgsl reads: [plain, stride x 6].
fn broadcast_words(shape: &[usize], out: &[usize]) -> Vec<u32> {
    let plain = shape == out;
    let s = pad_to_rank(shape, 1);
    let o = pad_to_rank(out, 1);
    let st = strides(&s);
    let mut w = vec![plain as u32];
    w.extend(s.iter().zip(&o).zip(&st).map(|((&d, &od), &stride)| if d == 1 && od != 1 { 0 } else { stride as u32 }));
    w
}

/// Parameters of copy.wgsl.
struct IndexMap {
    shape: Vec<usize>,
    out_strides: Vec<usize>,
    in_strides: Vec<usize>,
    mul: Vec<usize>,
    before: Vec<i64>,
    div: Vec<usize>,
    in_dim: Vec<usize>,
    out_offset: usize,
    in_offset: usize,
    pad: f32,
}

impl IndexMap {
    fn plain(shape: &[usize], in_strides: &[usize], in_dim: &[usize]) -> IndexMap {
        let r = shape.len();
        IndexMap {
            shape: shape.to_vec(),
            out_strides: strides(shape),
            in_strides: in_strides.to_vec(),
            mul: vec![1; r],
            before: vec![0; r],
            div: vec![1; r],
            in_dim: in_dim.to_vec(),
            out_offset: 0,
            in_offset: 0,
            pad: 0.0,
        }
    }

    fn words(&self) -> Vec<u32> {
        let n: usize = self.shape.iter().product();
        let mut w = vec![n as u32, self.out_offset as u32, self.in_offset as u32, f(self.pad)];
        let lead = MAX_RANK - self.shape.len();
        let arr = |v: &[usize], fill: u32| -> Vec<u32> {
            let mut a = vec![fill; lead];
            a.extend(v.iter().map(|&x| x as u32));
            a
        };
        w.extend(arr(&self.shape, 1));
        w.extend(arr(&self.out_strides, 0));
        w.extend(arr(&self.in_strides, 0));
        w.extend(arr(&self.mul, 1));
        let mut b = vec![0u32; lead];
        b.extend(self.before.iter().map(|&x| x as i32 as u32));
        w.extend(b);
        w.extend(arr(&self.div, 1));
        w.extend(arr(&self.in_dim, 1));
        w
    }
}

/// Spatial geometry of a conv/pool node, 1-D or 2-D, in a canonical (n, c, h, w) view with strides.
struct Geometry {
    n: usize,
    c_out: usize,
    in_hw: [usize; 2],
    in_hw_raw: Vec<usize>,
    out_hw: [usize; 2],
    k: [usize; 2],
    stride: [usize; 2],
    dil: [usize; 2],
    pad: [usize; 2],
    x_strides: [usize; 4],
    y_strides: [usize; 4],
}

impl Geometry {
    fn new(t: &Translator, node: &TypedNode, spec: &PoolSpec) -> R<Geometry> {
        let in_shape = concrete(t.fact(node.inputs[0]))?;
        let out_shape = concrete(&node.outputs[0].fact)?;
        let view = |shape: &[usize], fmt: DataFormat| -> R<(usize, usize, Vec<usize>, [usize; 4])> {
            let s = fmt.shape(shape.to_vec()).map_err(|e| e.to_string())?;
            let hw = s.hw_dims().to_vec();
            let hs = s.hw_strides().to_vec();
            let st = match hw.len() {
                1 => [s.n_stride().copied().unwrap_or(0), *s.c_stride(), 0, hs[0]],
                2 => [s.n_stride().copied().unwrap_or(0), *s.c_stride(), hs[0], hs[1]],
                r => return Err(why!("{r}-D spatial geometry (the GPU kernels take 1-D and 2-D)")),
            };
            Ok((s.n().copied().unwrap_or(1), *s.c(), hw, st))
        };
        let (n, _, in_hw, x_strides) = view(&in_shape, spec.data_format)?;
        let (_, c_out, out_hw, y_strides) = view(&out_shape, spec.data_format)?;
        let two = |v: &[usize], fill: usize| if v.len() == 1 { [fill, v[0]] } else { [v[0], v[1]] };
        let pad = match &spec.padding {
            PaddingSpec::Valid => vec![0; in_hw.len()],
            _ => spec.computed_padding(&in_hw).iter().map(|d| d.pad_before).collect(),
        };
        Ok(Geometry {
            n,
            c_out,
            in_hw: two(&in_hw, 1),
            in_hw_raw: in_hw.clone(),
            out_hw: two(&out_hw, 1),
            k: two(&spec.kernel_shape, 1),
            stride: two(&spec.strides(), 1),
            dil: two(&spec.dilations(), 1),
            pad: two(&pad, 0),
            x_strides,
            y_strides,
        })
    }

    /// The first 27 words of conv.wgsl / depthwise.wgsl / deconv.wgsl.
    fn words(&self, og: usize, k: usize, ig: usize, has_bias: bool) -> Vec<u32> {
        let cols = self.n * self.out_hw[0] * self.out_hw[1];
        let mut p = vec![og, cols, k, has_bias as usize, ig, self.k[0], self.k[1], self.out_hw[0], self.out_hw[1]];
        p.extend([self.in_hw[0], self.in_hw[1], self.stride[0], self.stride[1], self.dil[0], self.dil[1]]);
        p.extend([self.pad[0], self.pad[1]]);
        p.extend(self.x_strides);
        p.extend(self.y_strides);
        let mut w: Vec<u32> = p.iter().map(|&v| v as u32).collect();
        w.extend([f(f32::NEG_INFINITY), f(f32::INFINITY)]);
        w
    }
}
