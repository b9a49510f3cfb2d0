//! Matrix products: every `EinSum` tract produces from MatMul, Gemm and 1×1 convolutions, grouped
//! into ≤ 3 batch axes × m × n × k (matmul.wgsl, matmul_vec4.wgsl, matmul_subgroup.wgsl, with
//! matmul_common.wgsl and epilogue.wgsl), and which of those kernels a step runs on a device.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::einsum::EinSum;

use super::super::kernels::{Kernel, EPILOGUE_AT};
use super::super::program::{f, strides, StepParams, Storage};
use super::builder::{concrete, m_groups, rank6, why, Builder, R};
use super::epilogue::Epilogue;

/// matmul_common.wgsl's words: [0..3) m, n, k, [3] flags (bit 0: bias), [4] A's m stride, [5] A's
/// k stride, [6] B's k stride, [7] B's n stride, [8] C's m stride, [9] C's n stride, [10, 11] the
/// bias's m and n strides, [12..15) batch sizes, [15..18) A's, [18..21) B's, [21..24) C's batch
/// strides, [24] lo, [25] hi (the clamp, f32 bits), [26] A's offset, [27] B's offset; the
/// epilogue from `EPILOGUE_AT`. Mirrored by `struct MatmulParams` in kernels/matmul_common.wgsl.
#[derive(Debug, Clone, PartialEq)]
pub struct MatmulParams {
    pub m: u32,
    pub n: u32,
    pub k: u32,
    pub a: [u32; 2],
    pub b: [u32; 2],
    pub c: [u32; 2],
    pub batch: [u32; 3],
    pub a_batch: [u32; 3],
    pub b_batch: [u32; 3],
    pub c_batch: [u32; 3],
    pub a_offset: u32,
    pub b_offset: u32,
    pub epilogue: Epilogue,
}

impl StepParams for MatmulParams {
    fn words(&self) -> Vec<u32> {
        let mut w =
            vec![self.m, self.n, self.k, 0, self.a[0], self.a[1], self.b[0], self.b[1], self.c[0], self.c[1], 0, 0];
        for v in [self.batch, self.a_batch, self.b_batch, self.c_batch] {
            w.extend(v);
        }
        w.extend([f(self.epilogue.lo), f(self.epilogue.hi), self.a_offset, self.b_offset]);
        w.resize(EPILOGUE_AT, 0);
        w.extend(self.epilogue.words());
        w
    }

    fn epilogue(&self) -> Option<&Epilogue> {
        Some(&self.epilogue)
    }

    fn epilogue_mut(&mut self) -> Option<&mut Epilogue> {
        Some(&mut self.epilogue)
    }
}

impl MatmulParams {
    /// Whether the vec4 kernel can load A and B 4 at a time, and along which axes: (A along k,
    /// B along k), else along m / n; `None` when either operand is not in aligned runs of 4.
    pub fn vec4_orientation(&self) -> Option<(bool, bool)> {
        let (m, n, k) = (self.m, self.n, self.k);
        let x4 = |v: u32| v.is_multiple_of(4);
        let aligned = |offset: u32, batch: &[u32; 3]| {
            x4(offset) && batch.iter().zip(&self.batch).all(|(&stride, &dim)| dim == 1 || x4(stride))
        };
        // (unit stride, its axis length, the other stride) per orientation, contiguous-along-k first.
        let pick = |along_k: (u32, u32), along_mn: (u32, u32, u32)| {
            if along_k.0 == 1 && x4(k) && x4(along_k.1) {
                Some(true)
            } else if along_mn.0 == 1 && x4(along_mn.1) && x4(along_mn.2) {
                Some(false)
            } else {
                None
            }
        };
        let a_k = pick((self.a[1], self.a[0]), (self.a[0], m, self.a[1]))?;
        let b_k = pick((self.b[0], self.b[1]), (self.b[1], n, self.b[0]))?;
        (aligned(self.a_offset, &self.a_batch) && aligned(self.b_offset, &self.b_batch)).then_some((a_k, b_k))
    }

    pub fn batch_total(&self) -> u32 {
        self.batch.iter().product()
    }
}

/// Workgroups covering an M×N product `per` (rows, columns) at a time, `z` deep, or `None` when
/// a dimension would pass the adapter's limit.
pub fn gemm_grid(m: u32, n: u32, per: (u32, u32), z: u32, max: u32) -> Option<[u32; 3]> {
    let grid = [n.div_ceil(per.1).max(1), m.div_ceil(per.0).max(1), z.max(1)];
    grid.iter().all(|&g| g <= max).then_some(grid)
}

pub fn einsum(bld: &mut Builder, node: &TypedNode, op: &EinSum) -> R<()> {
    if op.q_params.is_some() || op.operating_dt != f32::datum_type() || node.inputs.len() != 2 {
        return Err("only two-input f32 einsums".into());
    }
    let sa = bld.input_shape(node, 0)?;
    let sb = bld.input_shape(node, 1)?;
    let sc = concrete(&node.outputs[0].fact)?;
    let (ta, tb, tc) = (strides(&sa), strides(&sb), strides(&sc));
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
    let mut bt = collapse(batch);
    if bt.len() > 3 {
        return Err("more than 3 batch axes".into());
    }
    while bt.len() < 3 {
        bt.insert(0, one);
    }
    let a_in = bld.input(node, 0)?;
    let b_in = bld.input(node, 1)?;
    let out = bld.output(node, Storage::Temp)?;
    let u = |x: usize| x as u32;
    let per = |get: fn(&Ax) -> usize| [u(get(&bt[0])), u(get(&bt[1])), u(get(&bt[2]))];
    let params = MatmulParams {
        m: u(m.size),
        n: u(n.size),
        k: u(k.size),
        a: [u(m.a), u(k.a)],
        b: [u(k.b), u(n.b)],
        c: [u(m.c), u(n.c)],
        batch: per(|x| x.size),
        a_batch: per(|x| x.a),
        b_batch: per(|x| x.b),
        c_batch: per(|x| x.c),
        a_offset: 0,
        b_offset: 0,
        epilogue: Epilogue::new(rank6(&sc, 1)),
    };
    let wg = [m_groups(n.size), m_groups(m.size), params.batch_total()];
    bld.step(Kernel::Matmul, out, vec![a_in, b_in, a_in], params, wg, node);
    Ok(())
}

/// One einsum axis: its size and its stride in A, B and C (0 where absent or broadcast).
#[derive(Clone, Copy)]
struct Ax {
    size: usize,
    a: usize,
    b: usize,
    c: usize,
}

/// Axes of one role in output order, merged where they are contiguous in all three operands.
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
