//! How a kernel reads an operand against its output's index: the same layout, or broadcast by
//! strides (elementwise.wgsl's inputs and epilogue.wgsl's operands share it).

use super::super::kernels::MAX_RANK;
use super::super::layout::{rank6, strides};

/// [plain, stride x 6]: `plain` when the operand has the output's shape (read at the output's
/// index), else its strides right-aligned to the output, 0 on broadcast axes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Broadcast {
    pub plain: bool,
    pub strides: [u32; MAX_RANK],
}

impl Broadcast {
    /// `shape` broadcast to `out` (right-aligned).
    pub fn of(shape: &[usize], out: &[usize]) -> Broadcast {
        let s = rank6(shape, 1);
        let o = rank6(out, 1);
        let st = strides(&s.map(|d| d as usize));
        let mut strides = [0u32; MAX_RANK];
        for d in 0..MAX_RANK {
            strides[d] = if s[d] == 1 && o[d] != 1 { 0 } else { st[d] as u32 };
        }
        Broadcast { plain: shape == out, strides }
    }

    pub fn words(&self) -> [u32; 1 + MAX_RANK] {
        let mut w = [0u32; 1 + MAX_RANK];
        w[0] = self.plain as u32;
        w[1..].copy_from_slice(&self.strides);
        w
    }
}
