//! Folds element-wise tails into the conv/matmul step that feeds them: up to three adds or
//! multiplies by broadcast tensors (folded BatchNorm, a bias, a residual shortcut), then a clamp
//! (ReLU, ReLU6, Clip), run in the producer's epilogue, so `conv → mul → add → add → relu` is one
//! dispatch. An added operand that is a zero pad of another tensor on one axis (BlazeFace's
//! channel-padded shortcuts) is read from the unpadded tensor, and the steps that padded it go.
//! Runs on the finished program, before memory planning.

use super::kernels::{EwOp, EPILOGUE_OPS, IMM, MAX_RANK};
use super::ops::builder::rank6;
use super::ops::copy::CopyParams;
use super::ops::elementwise::ElementwiseParams;
use super::ops::epilogue::{EpiOperand, EpilogueOp};
use super::ops::operand::Broadcast;
use super::program::{Program, Step, Storage};

/// An element-wise step and its program.
struct Ew<'a> {
    params: &'a ElementwiseParams,
    step: &'a Step,
}

fn parse(step: &Step) -> Option<Ew<'_>> {
    Some(Ew { params: step.params_as::<ElementwiseParams>()?, step })
}

/// An operation of the epilogue: 0 add, 1 mul, with the element-wise step's input index.
type Operation = (u32, usize);

/// What an element-wise program does to input `k`, if it is `(add|mul tensor)* (max|min imm)*`:
/// the operations and the clamp the max/min chain composes to (exactly: max(clamp(x, l, h), a)
/// = clamp(x, max(l, a), max(h, a)), and likewise for min).
fn as_epilogue(ew: &Ew, k: usize) -> Option<(Vec<Operation>, f32, f32)> {
    let mut cur = k as u32;
    let mut ops = vec![];
    let (mut lo, mut hi) = (f32::NEG_INFINITY, f32::INFINITY);
    let clamped = |lo: f32, hi: f32| lo != f32::NEG_INFINITY || hi != f32::INFINITY;
    for &[op, dst, a, b] in &ew.params.program {
        let tensor_op = op == EwOp::Add as u32 || op == EwOp::Mul as u32;
        if tensor_op && (a == cur) != (b == cur) && !clamped(lo, hi) && ops.len() < EPILOGUE_OPS {
            let other = (if a == cur { b } else { a }) as usize;
            if other >= ew.params.inputs.len() {
                return None;
            }
            ops.push((u32::from(op == EwOp::Mul as u32), other));
        } else if a == cur && op == EwOp::Max as u32 + IMM {
            let v = f32::from_bits(b);
            (lo, hi) = (lo.max(v), hi.max(v));
        } else if a == cur && op == EwOp::Min as u32 + IMM {
            let v = f32::from_bits(b);
            (lo, hi) = (lo.min(v), hi.min(v));
        } else {
            return None;
        }
        cur = dst;
    }
    (cur == ew.params.result).then_some((ops, lo, hi))
}

pub fn fuse(prog: &mut Program) {
    let mut readers = vec![0usize; prog.values.len()];
    for s in &prog.steps {
        for &i in &s.inputs {
            readers[prog.root(i)] += 1;
        }
    }
    for &o in &prog.outputs {
        readers[prog.root(o)] += 1;
    }
    let mut e = 0;
    while e < prog.steps.len() {
        let Some((s, ops, lo, hi, out)) = candidate(prog, &readers, e) else {
            e += 1;
            continue;
        };
        let tail = &prog.steps[e];
        let layouts = &tail.params_as::<ElementwiseParams>().expect("an element-wise tail").inputs;
        let mut fused = prog.steps[s].clone();
        fused.inputs.resize(3, fused.inputs[0]);
        let mut dropped = vec![];
        let mut epi_ops = vec![];
        for &(op, input) in &ops {
            let mul = op == 1;
            // The operand read as the element-wise step read it.
            let layout = layouts[input];
            let padded = if mul { None } else { zero_pad(prog, &readers, tail.inputs[input], &layout) };
            if let Some((makers, source, [inner, dim, kept, before])) = padded {
                epi_ops.push(EpilogueOp { mul, operand: EpiOperand::ZeroPadded { inner, dim, kept, before } });
                fused.inputs.push(source);
                dropped.extend(makers);
            } else {
                epi_ops.push(EpilogueOp { mul, operand: EpiOperand::Broadcast(layout) });
                fused.inputs.push(tail.inputs[input]);
            }
        }
        let epi = fused.params.epilogue_mut().expect("conv or matmul");
        (epi.lo, epi.hi, epi.ops) = (lo, hi, epi_ops);
        fused.output = out;
        fused.node = format!("{} + {}", fused.node, tail.node);
        // The fused step runs where the tail ran: the residual is computed by then.
        prog.steps[e] = fused;
        dropped.push(s);
        dropped.sort_unstable();
        for &d in dropped.iter().rev() {
            prog.steps.remove(d);
        }
        e = e.saturating_sub(dropped.len());
    }
}

/// For element-wise step `e`: the producer step it can fold into, with the epilogue.
fn candidate(prog: &Program, readers: &[usize], e: usize) -> Option<(usize, Vec<Operation>, f32, f32, usize)> {
    let ew = parse(&prog.steps[e])?;
    for (k, &v) in ew.step.inputs.iter().enumerate() {
        let root = prog.root(v);
        if readers[root] != 1 || !matches!(prog.values[root].storage, Storage::Temp) || !ew.params.inputs[k].plain {
            continue;
        }
        let Some(s) = prog.steps[..e].iter().rposition(|st| prog.root(st.output) == root) else { continue };
        let producer = &prog.steps[s];
        let Some(epilogue) = producer.params.epilogue() else { continue };
        if !epilogue.is_empty()
            || prog.values[root].shape.iter().product::<usize>() != prog.values[ew.step.output].elements()
        {
            continue;
        }
        if let Some((ops, lo, hi)) = as_epilogue(&ew, k) {
            return Some((s, ops, lo, hi, ew.step.output));
        }
    }
    None
}

/// If `v` is another tensor zero-padded on one axis, nothing else reads it, and the epilogue
/// reads it in the output's layout: the steps that make it (to drop), the unpadded tensor, and
/// [inner size, padded dim, kept dim, zeros before] for epilogue.wgsl's layout 2. Two forms: a
/// Pad's copy step, or a Concat of the tensor with all-zero constants (how TensorFlow exports a
/// channel pad): one copy step per part.
fn zero_pad(prog: &Program, readers: &[usize], v: usize, layout: &Broadcast) -> Option<(Vec<usize>, usize, [u32; 4])> {
    let root = prog.root(v);
    if !layout.plain || readers[root] != 1 || !matches!(prog.values[root].storage, Storage::Temp) {
        return None;
    }
    let makers: Vec<usize> = (0..prog.steps.len()).filter(|&i| prog.root(prog.steps[i].output) == root).collect();
    let mut out_shape = vec![1u32; MAX_RANK - prog.values[root].shape.len()];
    out_shape.extend(prog.values[root].shape.iter().map(|&d| d as u32));
    let out_strides = contiguous(&out_shape);
    // Strides match `want` on every axis longer than 1.
    let laid_out = |shape: &[u32], st: &[u32], want: &[u32]| (0..MAX_RANK).all(|d| shape[d] == 1 || st[d] == want[d]);
    let zeros = |value: usize| match &prog.values[prog.root(value)].storage {
        Storage::Const(c) => c.iter().all(|&x| x == 0.0),
        _ => false,
    };
    let mut found = None;
    for &m in &makers {
        let step = &prog.steps[m];
        let c = step.params_as::<CopyParams>()?;
        if c.mul.iter().any(|&x| x != 1) || c.div.iter().any(|&x| x != 1) {
            return None;
        }
        if makers.len() > 1 && zeros(step.inputs[0]) {
            continue;
        }
        let (shape, in_dim) = (rank6(&c.shape, 1), rank6(&c.in_dim, 1));
        let (in_strides, out_strides_c) = (rank6(&c.in_strides, 0), rank6(&c.out_strides, 0));
        let mut before = [0i64; MAX_RANK];
        before[MAX_RANK - c.before.len()..].copy_from_slice(&c.before);
        let (shape, in_dim) = (&shape[..], &in_dim[..]);
        if found.is_some() || c.in_offset != 0 || c.pad != 0.0 || !laid_out(in_dim, &in_strides, &contiguous(in_dim)) {
            return None;
        }
        let out_offset = c.out_offset as u32;
        let axis = (0..MAX_RANK).find(|&d| in_dim[d] != out_shape[d])?;
        let others_whole = (0..MAX_RANK).all(|d| d == axis || in_dim[d] == out_shape[d]);
        let zeros_before = if makers.len() == 1 {
            // A Pad: the step covers the output; `before` shifts the source on the axis.
            let ok = shape == out_shape.as_slice()
                && out_offset == 0
                && laid_out(shape, &out_strides_c, &out_strides)
                && others_whole
                && (0..MAX_RANK).all(|d| d == axis || before[d] == 0);
            (ok && before[axis] >= 0).then_some(before[axis] as u32)?
        } else {
            // A Concat part: the step covers the tensor, written at an offset into the output.
            let ok = shape == in_dim
                && laid_out(shape, &out_strides_c, &out_strides)
                && before.iter().all(|&b| b == 0)
                && others_whole
                && out_offset.is_multiple_of(out_strides[axis]);
            ok.then_some(out_offset / out_strides[axis])?
        };
        if zeros_before as u64 + in_dim[axis] as u64 > out_shape[axis] as u64 {
            return None;
        }
        let inner: u32 = out_shape[axis + 1..].iter().product();
        found = Some((step.inputs[0], [inner, out_shape[axis], in_dim[axis], zeros_before]));
    }
    let (source, layout) = found?;
    Some((makers, source, layout))
}

/// Row-major strides of a rank-6 shape.
fn contiguous(shape: &[u32]) -> [u32; MAX_RANK] {
    let mut st = [1u32; MAX_RANK];
    for d in (0..MAX_RANK - 1).rev() {
        st[d] = st[d + 1] * shape[d + 1];
    }
    st
}
