//! A batch of vector × matrix products whose matrices are a run's values, not weights: attention
//! over a key/value cache (Whisper's decoder step: per head, one query against the 1,500 keys of
//! the encoder's output, then the softmax's weights over as many values). tract cut each matrix
//! out of the cache with a `Slice` (a copy), then packed it for its kernel (a second copy) at
//! every run, and only then read it: for a decoder step, 24 MB copied twice. Here each matrix is
//! read once, where it lies in the tensor the slice was cut from: as dot products of its rows
//! when they run along the contracted axis (keys), as a sum of its rows scaled when they run along
//! the output's (values). The output is split between the pool's threads; each output's sum is
//! taken in one order whatever the split, so the answers do not depend on the thread count.
//!
//! `layout` (the einsums it takes, and the slices it reads through) is in
//! `vector_by_matrix_layout.rs`.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;

use super::lanes::V4;

#[derive(Debug, Clone, Hash, PartialEq, Eq)]
pub struct VectorByMatrix {
    /// Products, the contracted length and the output length of each.
    pub(super) batch: usize,
    pub(super) c: usize,
    pub(super) f: usize,
    /// Element strides of the vectors' input along the batch and the contracted axis.
    pub(super) a_strides: [usize; 2],
    /// Where the first matrix starts in the matrices' input, and its strides along the batch, the
    /// contracted and the output axis (one of the last two is 1).
    pub(super) b_offset: usize,
    pub(super) b_strides: [usize; 3],
    /// The replaced einsum's output shape: `batch × f` values, the batch's axis first.
    pub(super) out_shape: TVec<usize>,
}

impl VectorByMatrix {
    /// Whether the matrices' rows run along the contracted axis (each output one dot product).
    fn rows_along_c(&self) -> bool {
        self.b_strides[1] == 1
    }

    /// The outputs `first..first + out.len()` (in the output's order: batch, then `f`).
    fn outputs(&self, first: usize, out: &mut [f32], vectors: &[f32], matrices: &[f32]) {
        let (c, f) = (self.c, self.f);
        let (mut at, mut rest) = (first, out);
        while !rest.is_empty() {
            let (item, f0) = (at / f, at % f);
            let n = (f - f0).min(rest.len());
            let (run, tail) = std::mem::take(&mut rest).split_at_mut(n);
            let v = &vectors[item * c..][..c];
            let m = &matrices[item * self.b_strides[0]..];
            if self.rows_along_c() {
                dots(v, m, self.b_strides[2], f0, run);
            } else {
                scaled_rows(v, m, self.b_strides[1], f0, run);
            }
            at += run.len();
            rest = tail;
        }
    }
}

/// `out[j] = v · m[(f0 + j) * stride..][..v.len()]`, four rows at a time sharing the vector's
/// loads; every row sums its lanes, then its tail, in the same order.
fn dots(v: &[f32], m: &[f32], stride: usize, f0: usize, out: &mut [f32]) {
    let c = v.len();
    let c4 = c / 4 * 4;
    let row = |j: usize| &m[(f0 + j) * stride..][..c];
    let finish = |acc: V4, r: &[f32]| (c4..c).fold(acc.sum(), |s, k| s + v[k] * r[k]);
    let mut j = 0;
    while j + 4 <= out.len() {
        let rows = [row(j), row(j + 1), row(j + 2), row(j + 3)];
        let mut acc = [V4::splat(0.0); 4];
        for k in (0..c4).step_by(4) {
            let x = V4::at(v, k);
            for (a, r) in acc.iter_mut().zip(&rows) {
                *a = *a + x * V4::at(r, k);
            }
        }
        for (i, (a, r)) in acc.into_iter().zip(rows).enumerate() {
            out[j + i] = finish(a, r);
        }
        j += 4;
    }
    for (j, o) in out.iter_mut().enumerate().skip(j) {
        let r = row(j);
        let mut acc = V4::splat(0.0);
        for k in (0..c4).step_by(4) {
            acc = acc + V4::at(v, k) * V4::at(r, k);
        }
        *o = finish(acc, r);
    }
}

/// `out = Σ_k v[k] · m[k * stride + f0..][..out.len()]`, four rows a pass (one read and write of
/// `out` per four rows); every output takes the rows in the same grouping.
fn scaled_rows(v: &[f32], m: &[f32], stride: usize, f0: usize, out: &mut [f32]) {
    let n = out.len();
    let n4 = n / 4 * 4;
    let row = |k: usize| &m[k * stride + f0..][..n];
    out.fill(0.0);
    let mut k = 0;
    while k + 4 <= v.len() {
        let (r0, r1, r2, r3) = (row(k), row(k + 1), row(k + 2), row(k + 3));
        let (s0, s1, s2, s3) = (v[k], v[k + 1], v[k + 2], v[k + 3]);
        for j in (0..n4).step_by(4) {
            let four = (s0 * V4::at(r0, j) + s1 * V4::at(r1, j)) + (s2 * V4::at(r2, j) + s3 * V4::at(r3, j));
            (V4::at(out, j) + four).put(out, j);
        }
        for j in n4..n {
            out[j] += (s0 * r0[j] + s1 * r1[j]) + (s2 * r2[j] + s3 * r3[j]);
        }
        k += 4;
    }
    for (k, &s) in v.iter().enumerate().skip(k) {
        for (o, &x) in out.iter_mut().zip(row(k)) {
            *o += s * x;
        }
    }
}

impl Op for VectorByMatrix {
    fn name(&self) -> StaticName {
        "VectorByMatrix".into()
    }

    fn info(&self) -> TractResult<Vec<String>> {
        let rows = if self.rows_along_c() { "rows along the contracted axis" } else { "rows along the output's" };
        Ok(vec![format!("{} × ({} → {}), matrices from element {}, {rows}", self.batch, self.c, self.f, self.b_offset)])
    }

    op_as_typed_op!();
}

impl EvalOp for VectorByMatrix {
    op_out_of_plan!();

    fn eval(&self, _: &EvalContext, inputs: TVec<TValue>) -> TractResult<TVec<TValue>> {
        let (a, b) = args_2!(inputs);
        let a = a.try_as_plain_ram()?;
        let a = a.as_slice::<f32>()?;
        let b = b.try_as_plain_ram()?;
        let b = b.as_slice::<f32>()?;
        let (batch, c, f) = (self.batch, self.c, self.f);
        let [bs, cs, fs] = self.b_strides;
        if batch * c * f > 0 {
            let last = self.b_offset + (batch - 1) * bs + (c - 1) * cs + (f - 1) * fs;
            let a_last = (batch - 1) * self.a_strides[0] + (c - 1) * self.a_strides[1];
            ensure!(
                last < b.len() && a_last < a.len(),
                "VectorByMatrix: inputs of {} and {} values, too few for {batch} products of {c} → {f}",
                a.len(),
                b.len()
            );
        }
        // The vectors contiguous, one after another: a few hundred values at most.
        let [sa_batch, sa_c] = self.a_strides;
        let vectors: Vec<f32> = (0..batch).flat_map(|i| (0..c).map(move |k| a[i * sa_batch + k * sa_c])).collect();
        let matrices = b.get(self.b_offset..).unwrap_or_default();
        // SAFETY: `outputs` writes every value before the tensor is read.
        let mut out = unsafe { Tensor::uninitialized::<f32>(&self.out_shape)? };
        {
            let mut plain = out.try_as_plain_ram_mut()?;
            let o = plain.as_slice_mut::<f32>()?;
            ensure!(o.len() == batch * f, "VectorByMatrix: an output of {:?} for {batch} × {f}", self.out_shape);
            tract_linalg::multithread::par_chunks_mut(o, 1, batch * c * f, |first, chunk| {
                self.outputs(first, chunk, &vectors, matrices);
                Ok(())
            })?;
        }
        Ok(tvec!(out.into_tvalue()))
    }
}

impl TypedOp for VectorByMatrix {
    fn output_facts(&self, _: &[&TypedFact]) -> TractResult<TVec<TypedFact>> {
        Ok(tvec!(f32::fact(&*self.out_shape)))
    }

    as_op!();
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Whatever the split of the outputs between threads, the same bits.
    #[test]
    fn outputs_do_not_depend_on_the_split() {
        let mut seed = 7u32;
        let mut next = move || {
            seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
            (seed >> 8) as f32 / (1 << 24) as f32 - 0.5
        };
        for (batch, c, f, along_c) in [(3, 37, 29, true), (3, 37, 29, false), (2, 64, 130, false), (1, 9, 5, true)] {
            let b_strides = if along_c { [f * c, 1, c] } else { [c * f, f, 1] };
            let op =
                VectorByMatrix { batch, c, f, a_strides: [c, 1], b_offset: 0, b_strides, out_shape: tvec![batch, f] };
            let vectors: Vec<f32> = (0..batch * c).map(|_| next()).collect();
            let matrices: Vec<f32> = (0..batch * c * f).map(|_| next()).collect();
            let mut whole = vec![0f32; batch * f];
            op.outputs(0, &mut whole, &vectors, &matrices);
            for chunk in [1, 3, 4, 7, 64] {
                let mut split = vec![0f32; batch * f];
                for (i, part) in split.chunks_mut(chunk).enumerate() {
                    op.outputs(i * chunk, part, &vectors, &matrices);
                }
                let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(bits(&split), bits(&whole), "{batch}×{c}→{f} along_c {along_c}, chunks of {chunk}");
            }
        }
    }
}
