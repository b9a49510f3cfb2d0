//! Element-wise nodes (arithmetic with broadcasting, the unary ops) fused into register programs
//! (elementwise.wgsl): every chain of element-wise nodes whose intermediate results nothing else
//! reads becomes one dispatch.

use std::collections::{HashMap, HashSet};

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn as tnn;

use super::super::kernels::{EwOp, Kernel, EW_INPUTS, EW_REGISTERS, IMM, IMM_RDIV, IMM_RPOW, IMM_RSUB, MAX_RANK};
use super::super::program::{f, grid_1d, StepParams, Storage};
use super::builder::{concrete, rank6, Builder, R};
use super::operand::Broadcast;

/// elementwise.wgsl's words: [0] elements, [1] inputs, [2] instructions, [3] result register,
/// [4..10) output shape, [10..52) per input (up to `EW_INPUTS`) [plain, stride x 6], then the
/// program, 4 words per instruction. Mirrored by `struct ElementwiseParams` in
/// kernels/elementwise.wgsl.
#[derive(Debug, Clone, PartialEq)]
pub struct ElementwiseParams {
    pub n: u32,
    pub out_shape: [u32; MAX_RANK],
    /// The external inputs, in registers 0..inputs.len().
    pub inputs: Vec<Broadcast>,
    /// [op, dst, a, b]: below `IMM` both operands are registers; `IMM..` the second is an
    /// immediate (f32 bits); unary ops from 32 take their parameter in `b`.
    pub program: Vec<[u32; 4]>,
    pub result: u32,
}

impl StepParams for ElementwiseParams {
    fn words(&self) -> Vec<u32> {
        let mut w = vec![self.n, self.inputs.len() as u32, self.program.len() as u32, self.result];
        w.extend(self.out_shape);
        for b in &self.inputs {
            w.extend(b.words());
        }
        w.resize(4 + MAX_RANK + EW_INPUTS * (1 + MAX_RANK), 0);
        w.extend(self.program.iter().flatten());
        w
    }
}

/// Marks element-wise nodes whose single consumer is an element-wise node of the same output
/// shape: they become instructions of that consumer's program. Groups over the program limits
/// are split by materialising a producer.
pub fn plan_fusion(b: &mut Builder, order: &[usize]) {
    let model = b.model;
    let fusable = |id: usize| -> bool {
        let node = model.node(id);
        if ew_op(node).is_none() || node.outputs.len() != 1 {
            return false;
        }
        let o = OutletId::new(id, 0);
        let succ = model.outlet_successors(o);
        if succ.len() != 1 || b.is_output(o) {
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
            let (members, externals) = collect_group(b, id, &candidates);
            if externals.len() <= EW_INPUTS && externals.len() + members.len() <= EW_REGISTERS {
                b.fused.extend(members.into_iter().skip(1));
                break;
            }
            let victim = *members.last().expect("the root is a member");
            candidates.remove(&victim); // materialised: a root of its own, visited later
        }
    }
}

/// The root, then the producers folded into it (in discovery order), and its external inputs.
fn collect_group(b: &Builder, root: usize, candidates: &HashSet<usize>) -> (Vec<usize>, Vec<OutletId>) {
    let mut members = vec![root];
    let mut externals = vec![];
    let mut i = 0;
    while i < members.len() {
        for &inp in &b.model.node(members[i]).inputs {
            if candidates.contains(&inp.node) {
                if !members.contains(&inp.node) {
                    members.push(inp.node);
                }
            } else if !is_scalar_const(b.fact(inp)) && !externals.contains(&inp) {
                externals.push(inp);
            }
        }
        i += 1;
    }
    (members, externals)
}

/// The dispatch of the group rooted at `root` (its fused members were marked by `plan_fusion`).
pub fn group(b: &mut Builder, root: &TypedNode) -> R<()> {
    // Members in execution order.
    let mut members = vec![root.id];
    let mut i = 0;
    while i < members.len() {
        for inp in &b.model.node(members[i]).inputs {
            if b.fused.contains(&inp.node) && !members.contains(&inp.node) {
                members.push(inp.node);
            }
        }
        i += 1;
    }
    members.sort_by_key(|id| b.order[id]);
    let out_shape = concrete(&root.outputs[0].fact)?;
    // External inputs take the first registers.
    let mut externals: Vec<OutletId> = vec![];
    for &m in &members {
        for &inp in &b.model.node(m).inputs {
            if !members.contains(&inp.node) && !is_scalar_const(b.fact(inp)) && !externals.contains(&inp) {
                externals.push(inp);
            }
        }
    }
    if externals.len() > EW_INPUTS || externals.len() + members.len() > EW_REGISTERS {
        return Err("element-wise group over the program limits".into());
    }
    let mut reg: HashMap<OutletId, u32> = HashMap::new();
    let mut inputs = vec![];
    let mut layouts = vec![];
    for (k, &e) in externals.iter().enumerate() {
        reg.insert(e, k as u32);
        let shape = concrete(b.fact(e))?;
        inputs.push(b.value(e)?);
        layouts.push(Broadcast::of(&shape, &out_shape));
    }
    let mut program = vec![];
    for (ix, &m) in members.iter().enumerate() {
        let node = b.model.node(m);
        let dst = (externals.len() + ix) as u32;
        let (op, param) = ew_op(node).ok_or("not element-wise")?;
        let operand = |o: &OutletId| -> R<Operand> {
            if let Some(&r) = reg.get(o) {
                return Ok(Operand::Reg(r));
            }
            let k = b.fact(*o).konst.as_ref().ok_or("operand not computed")?;
            Ok(Operand::Imm(k.cast_to_scalar::<f32>().map_err(|e| e.to_string())?))
        };
        let instr = if (op as u32) < IMM {
            let x = operand(&node.inputs[0])?;
            let y = operand(&node.inputs[1])?;
            match (x, y) {
                (Operand::Reg(x), Operand::Reg(y)) => [op as u32, dst, x, y],
                (Operand::Reg(x), Operand::Imm(y)) => [op as u32 + IMM, dst, x, f(y)],
                (Operand::Imm(x), Operand::Reg(y)) => {
                    let code = match op {
                        EwOp::Sub => IMM_RSUB,
                        EwOp::Div => IMM_RDIV,
                        EwOp::Pow => IMM_RPOW,
                        _ => op as u32 + IMM, // commutative
                    };
                    [code, dst, y, f(x)]
                }
                (Operand::Imm(_), Operand::Imm(_)) => return Err("two constant operands".into()),
            }
        } else {
            let Operand::Reg(x) = operand(&node.inputs[0])? else { return Err("constant unary operand".into()) };
            [op as u32, dst, x, f(param)]
        };
        program.push(instr);
        reg.insert(OutletId::new(m, 0), dst);
    }
    let n = out_shape.iter().product::<usize>();
    let result = (externals.len() + members.len() - 1) as u32;
    let params = ElementwiseParams { n: n as u32, out_shape: rank6(&out_shape, 1), inputs: layouts, program, result };
    let out = b.output(root, Storage::Temp)?;
    b.step(Kernel::Elementwise, out, inputs, params, grid_1d(n, 256), root);
    Ok(())
}

enum Operand {
    Reg(u32),
    Imm(f32),
}

fn is_scalar_const(fact: &TypedFact) -> bool {
    fact.konst.as_ref().is_some_and(|k| k.len() == 1)
}

/// The element-wise op a node computes (f32 in and out), with its parameter.
pub fn ew_op(node: &TypedNode) -> Option<(EwOp, f32)> {
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
