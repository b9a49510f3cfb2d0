//! Folds element-wise tails into the conv/matmul step that feeds them: up to three adds or
//! multiplies by broadcast tensors (folded BatchNorm, a bias, a residual shortcut), then a clamp
//! (ReLU, ReLU6, Clip), run in the producer's epilogue, so `conv → mul → add → add → relu` is one
//! dispatch. Runs on the finished program, before memory planning.

use super::kernels::{EwOp, Kernel, EPILOGUE_AT, EPILOGUE_OPS, IMM};
use super::program::{f, Program, Step, Storage};

/// Where the clamp bounds live in each producer's parameter words.
fn clamp_words(kernel: Kernel) -> Option<(usize, usize)> {
    match kernel {
        Kernel::Matmul => Some((24, 25)),
        Kernel::Conv | Kernel::Depthwise => Some((25, 26)),
        _ => None,
    }
}

/// An element-wise step's program as [op, dst, src1, src2] with its input count and result register.
struct Ew<'a> {
    n_inputs: usize,
    result: u32,
    program: Vec<[u32; 4]>,
    plain: Vec<bool>,
    step: &'a Step,
}

fn parse(step: &Step) -> Option<Ew<'_>> {
    if step.kernel != Kernel::Elementwise {
        return None;
    }
    let p = &step.params;
    let (n_inputs, n_instr) = (p[1] as usize, p[2] as usize);
    let program = (0..n_instr).map(|i| [p[52 + 4 * i], p[53 + 4 * i], p[54 + 4 * i], p[55 + 4 * i]]).collect();
    let plain = (0..n_inputs).map(|k| p[10 + 7 * k] == 1).collect();
    Some(Ew { n_inputs, result: p[3], program, plain, step })
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
    for &[op, dst, a, b] in &ew.program {
        let tensor_op = op == EwOp::Add as u32 || op == EwOp::Mul as u32;
        if tensor_op && (a == cur) != (b == cur) && !clamped(lo, hi) && ops.len() < EPILOGUE_OPS {
            let other = (if a == cur { b } else { a }) as usize;
            if other >= ew.n_inputs {
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
    (cur == ew.result).then_some((ops, lo, hi))
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
        let mut fused = prog.steps[s].clone();
        let (lo_w, hi_w) = clamp_words(fused.kernel).expect("conv or matmul");
        fused.params[lo_w] = f(lo);
        fused.params[hi_w] = f(hi);
        fused.params[EPILOGUE_AT + 6] = ops.len() as u32;
        fused.inputs.resize(3, fused.inputs[0]);
        for (i, &(op, input)) in ops.iter().enumerate() {
            let at = EPILOGUE_AT + 7 + 8 * i;
            fused.params[at] = op;
            // [plain, strides x 6] as the element-wise step had them for this input.
            fused.params[at + 1..at + 8].copy_from_slice(&tail.params[10 + 7 * input..17 + 7 * input]);
            fused.inputs.push(tail.inputs[input]);
        }
        fused.output = out;
        fused.node = format!("{} + {}", fused.node, tail.node);
        // The fused step runs where the tail ran: the residual is computed by then.
        prog.steps[e] = fused;
        prog.steps.remove(s);
        e = e.max(1) - 1;
    }
}

/// For element-wise step `e`: the producer step it can fold into, with the epilogue.
fn candidate(prog: &Program, readers: &[usize], e: usize) -> Option<(usize, Vec<Operation>, f32, f32, usize)> {
    let ew = parse(&prog.steps[e])?;
    for (k, &v) in ew.step.inputs.iter().enumerate() {
        let root = prog.root(v);
        if readers[root] != 1 || !matches!(prog.values[root].storage, Storage::Temp) || !ew.plain[k] {
            continue;
        }
        let Some(s) = prog.steps[..e].iter().rposition(|st| prog.root(st.output) == root) else { continue };
        let producer = &prog.steps[s];
        let Some((lo_w, hi_w)) = clamp_words(producer.kernel) else { continue };
        let untouched = producer.params[EPILOGUE_AT + 6] == 0
            && f32::from_bits(producer.params[lo_w]) == f32::NEG_INFINITY
            && f32::from_bits(producer.params[hi_w]) == f32::INFINITY;
        if !untouched || prog.values[root].shape.iter().product::<usize>() != prog.values[ew.step.output].elements() {
            continue;
        }
        if let Some((ops, lo, hi)) = as_epilogue(&ew, k) {
            return Some((s, ops, lo, hi, ew.step.output));
        }
    }
    None
}
