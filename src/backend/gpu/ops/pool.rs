//! MaxPool, AveragePool (with or without the padding counted), SumPool and the global pools
//! (pool.wgsl, its mode an override constant).

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::PoolSpec;

use super::super::kernels::{Kernel, PoolMode};
use super::super::program::{grid_1d, StepParams, Storage};
use super::builder::{Builder, R};
use super::conv::Geometry;

/// pool.wgsl's words: [0] outputs, [1] channels, [2, 3] window h, w, [4, 5] output h, w, [6, 7]
/// input h, w, [8, 9] strides, [10, 11] dilations, [12, 13] pads before, [14..18) input strides
/// (n, c, h, w), [18..22) output strides. Mirrored by `struct PoolParams` in kernels/pool.wgsl.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolParams {
    pub geo: Geometry,
}

impl PoolParams {
    pub fn outputs(&self) -> usize {
        self.geo.out_positions() * self.geo.c_out
    }
}

impl StepParams for PoolParams {
    fn words(&self) -> Vec<u32> {
        let g = &self.geo;
        let mut p = vec![self.outputs(), g.c_out, g.k[0], g.k[1], g.out_hw[0], g.out_hw[1], g.in_hw[0], g.in_hw[1]];
        p.extend([g.stride[0], g.stride[1], g.dil[0], g.dil[1], g.pad[0], g.pad[1]]);
        p.extend(g.x_strides);
        p.extend(g.y_strides);
        p.iter().map(|&v| v as u32).collect()
    }
}

pub fn pool(b: &mut Builder, node: &TypedNode, spec: &PoolSpec, mode: PoolMode) -> R<()> {
    let params = PoolParams { geo: Geometry::new(b, node, spec)? };
    let x = b.input(node, 0)?;
    let out = b.output(node, Storage::Temp)?;
    let total = params.outputs();
    b.step(Kernel::Pool(mode), out, vec![x], params, grid_1d(total, 256), node);
    Ok(())
}
