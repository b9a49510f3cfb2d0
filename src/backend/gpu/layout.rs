//! Shape arithmetic every part of the GPU backend shares: row-major strides and shapes
//! right-aligned to the kernels' fixed rank.

use super::kernels::MAX_RANK;

/// Row-major strides of a shape, in elements.
pub fn strides(shape: &[usize]) -> Vec<usize> {
    let mut s = vec![1; shape.len()];
    for i in (0..shape.len().saturating_sub(1)).rev() {
        s[i] = s[i + 1] * shape[i + 1];
    }
    s
}

/// `shape` right-aligned to the kernels' rank, `fill` in front.
pub fn rank6(shape: &[usize], fill: u32) -> [u32; MAX_RANK] {
    let mut v = [fill; MAX_RANK];
    for (d, &s) in v[MAX_RANK - shape.len()..].iter_mut().zip(shape) {
        *d = s as u32;
    }
    v
}
