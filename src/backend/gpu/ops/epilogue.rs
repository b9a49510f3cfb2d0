//! The epilogue's parameters (epilogue.wgsl, appended to conv.wgsl, depthwise.wgsl and the
//! matmul kernels): up to `EPILOGUE_OPS` adds or multiplies by tensors, then a clamp, applied to
//! each output before it is stored. Filled in by the fusion pass (`gpu::epilogue`), which edits
//! these fields, never word offsets.

use super::super::kernels::{EPILOGUE_OPS, MAX_RANK};
use super::operand::Broadcast;

/// Mirrored by `struct Epilogue` in kernels/epilogue_params.wgsl.
#[derive(Debug, Clone, PartialEq)]
pub struct Epilogue {
    /// The clamp (ReLU: [0, ∞), ReLU6: [0, 6]); [-∞, ∞] when none. Its words sit in the
    /// producer's own parameters (`MatmulParams`, `ConvParams` place them).
    pub lo: f32,
    pub hi: f32,
    /// The output's shape, right-aligned to rank 6.
    pub out_shape: [u32; MAX_RANK],
    pub ops: Vec<EpilogueOp>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpilogueOp {
    pub mul: bool,
    pub operand: EpiOperand,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub enum EpiOperand {
    /// Read at the output's index (layout 1) or broadcast by strides (layout 0).
    Broadcast(Broadcast),
    /// The output zero-padded on one axis, read from the unpadded tensor (layout 2): a
    /// channel-padded shortcut without its copy step.
    ZeroPadded { inner: u32, dim: u32, kept: u32, before: u32 },
}

impl Epilogue {
    pub fn new(out_shape: [u32; MAX_RANK]) -> Epilogue {
        Epilogue { lo: f32::NEG_INFINITY, hi: f32::INFINITY, out_shape, ops: vec![] }
    }

    /// Nothing fused yet: no operation and no clamp.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty() && self.lo == f32::NEG_INFINITY && self.hi == f32::INFINITY
    }

    /// The words from `EPILOGUE_AT`: [0..6) output shape, [6] count, then per operation
    /// [op (0 add, 1 mul), layout, 6 layout words].
    pub fn words(&self) -> Vec<u32> {
        let mut w: Vec<u32> = self.out_shape.to_vec();
        w.push(self.ops.len() as u32);
        for op in &self.ops {
            let mut e = [0u32; 8];
            e[0] = op.mul as u32;
            match op.operand {
                EpiOperand::Broadcast(b) => e[1..].copy_from_slice(&b.words()),
                EpiOperand::ZeroPadded { inner, dim, kept, before } => {
                    e[1] = 2;
                    e[2..6].copy_from_slice(&[inner, dim, kept, before]);
                }
            }
            w.extend(e);
        }
        w.resize(7 + 8 * EPILOGUE_OPS, 0);
        w
    }
}
