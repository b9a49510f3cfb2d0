//! The arithmetic of `attention.rs`: the additive bias (masks, causal frontier, sliding window,
//! padding), the row-wise products and the softmax that zeroes fully masked rows.

use tract_onnx::tract_hir::internal::*;
use tract_onnx::tract_hir::tract_ndarray::{s, Array2, Array4, ArrayView2, ArrayView4, ArrayViewMut2, Ix4};

/// `m` broadcast (numpy's rule) to `shape`, without copying.
pub fn broadcast4(m: &Array4<f32>, shape: [usize; 4]) -> TractResult<ArrayView4<'_, f32>> {
    m.broadcast(shape)
        .with_context(|| format!("Attention: attn_mask of shape {:?} does not broadcast to {shape:?}", m.shape()))
}

/// The additive bias of each (batch, head): the mask (padded to the keys with -inf: a mask shorter
/// than a cache that grew leaves the rest masked) broadcast without copying, then -inf where the
/// causal frontier (bottom-right: after `past`, or after each batch's `nonpad` valid keys), the
/// sliding window or `nonpad`'s padding rule a key out.
pub struct Bias<'a> {
    pub mask: Option<ArrayView4<'a, f32>>,
    pub causal: bool,
    pub window: (i64, i64),
    pub past: Option<usize>,
    pub nonpad: Option<&'a [i64]>,
    pub q_len: usize,
    pub kv_len: usize,
}

impl Bias<'_> {
    pub fn at(&self, b: usize, h: usize) -> Array2<f32> {
        let mut bias = match &self.mask {
            Some(m) => m.slice(s![b, h, .., ..]).to_owned(),
            None => Array2::zeros((self.q_len, self.kv_len)),
        };
        let offset = match (self.past, self.nonpad) {
            (Some(p), _) => p as i64,
            (None, Some(n)) => n[b].saturating_sub(self.q_len as i64),
            (None, None) => 0,
        };
        let valid = self.nonpad.map(|n| n[b]);
        let (left, right) = self.window;
        for ((i, j), x) in bias.indexed_iter_mut() {
            let j = j as i64;
            let diff = (i as i64).saturating_add(offset).saturating_sub(j);
            let causal_out = self.causal && diff < 0;
            let window_out = (left >= 0 && diff > left) || (right >= 0 && diff.saturating_neg() > right);
            if causal_out || window_out || valid.is_some_and(|n| j >= n) {
                *x = f32::NEG_INFINITY;
            }
        }
        bias
    }
}

/// The mask as additive f32 (bool: 0 where true, -inf where false), padded to `kv_len` keys, with
/// leading axes of 1 up to rank 4 (right-aligned, as numpy broadcasts).
pub fn additive_mask(m: &Tensor, kv_len: usize) -> TractResult<Array4<f32>> {
    let rank = m.rank();
    ensure!((1..=4).contains(&rank), "Attention: attn_mask has rank {rank}, 1 to 4");
    // Plain vectors, not ndarray's generic slicing: this runs once per call, and the wasm is smaller.
    let values: Vec<f32> = if m.datum_type() == DatumType::Bool {
        m.as_bytes().iter().map(|&keep| if keep != 0 { 0.0 } else { f32::NEG_INFINITY }).collect()
    } else {
        m.cast_to::<f32>()?.to_plain_array_view::<f32>()?.iter().copied().collect()
    };
    let last = m.shape()[rank - 1];
    ensure!(last <= kv_len, "Attention: attn_mask covers {last} keys, there are {kv_len}");
    let mut padded = vec![f32::NEG_INFINITY; values.len() / last.max(1) * kv_len];
    if last > 0 {
        for (row, dst) in values.chunks(last).zip(padded.chunks_mut(kv_len)) {
            dst[..last].copy_from_slice(row);
        }
    }
    let mut shape = [1usize; 4];
    shape[4 - rank..].copy_from_slice(m.shape());
    shape[3] = kv_len;
    Ok(Array4::from_shape_vec(shape, padded)?)
}

/// `a · bᵀ` for row-major `a` (n × d) and `b` (m × d): each entry a dot product of two rows
/// (plain loops: ndarray's `dot` would bring matrixmultiply into the wasm bundle for this op).
pub fn rows_dot(a: ArrayView2<f32>, b: ArrayView2<f32>) -> Array2<f32> {
    Array2::from_shape_fn((a.nrows(), b.nrows()), |(i, j)| a.row(i).iter().zip(b.row(j)).map(|(x, y)| x * y).sum())
}

/// `out = p · v`: each output row the `p`-weighted sum of `v`'s rows.
pub fn weighted_rows(p: ArrayView2<f32>, v: ArrayView2<f32>, mut out: ArrayViewMut2<f32>) {
    for (prow, mut orow) in p.rows().into_iter().zip(out.rows_mut()) {
        orow.fill(0.0);
        for (&w, vrow) in prow.iter().zip(v.rows()) {
            if w != 0.0 {
                orow.zip_mut_with(&vrow, |o, x| *o += w * x);
            }
        }
    }
}

/// Softmax along each row; a row whose bias is all -inf (no key it may see) is all zeros, as
/// ONNX says, never NaN.
pub fn softmax_rows(x: ArrayView2<f32>, bias: ArrayView2<f32>) -> Array2<f32> {
    let mut out = x.to_owned();
    for (mut row, brow) in out.rows_mut().into_iter().zip(bias.rows()) {
        if brow.iter().all(|b| *b == f32::NEG_INFINITY) {
            row.fill(0.0);
            continue;
        }
        let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        let max = if max == f32::NEG_INFINITY { 0.0 } else { max };
        row.mapv_inplace(|v| (v - max).exp());
        let sum: f32 = row.sum();
        let sum = if sum == 0.0 { 1.0 } else { sum };
        row.mapv_inplace(|v| v / sum);
    }
    out
}

/// As f32 (batch, heads, sequence, head size): a rank-4 tensor as it is, a rank-3 (batch,
/// sequence, heads × size) one split into `heads` (Attention's and LinearAttention's layout).
pub fn split_heads(x: &Tensor, heads: usize) -> TractResult<Array4<f32>> {
    let x = x.cast_to::<f32>()?;
    let v = x.to_plain_array_view::<f32>()?;
    if v.ndim() == 4 {
        return Ok(v.into_dimensionality::<Ix4>()?.to_owned());
    }
    ensure!(v.ndim() == 3, "a rank-{} tensor where (batch, sequence, heads × size) was expected", v.ndim());
    let (b, s, hidden) = (v.shape()[0], v.shape()[1], v.shape()[2]);
    ensure!(heads > 0 && hidden % heads == 0, "a hidden size of {hidden} does not split into {heads} heads");
    let split = v.to_shape((b, s, heads, hidden / heads))?.to_owned();
    Ok(split.permuted_axes([0, 2, 1, 3]).as_standard_layout().to_owned())
}
