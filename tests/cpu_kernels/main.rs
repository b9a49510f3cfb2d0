//! Our CPU kernels (crates/cpu-kernels/src/) against the tract ops they replace: random shapes
//! and layouts, the same answers (up to the order of the sums; Winograd's within its own bound),
//! and the nodes they must leave alone left alone. One test binary; a file per kernel family.

use shopfloor::backend::cpu_kernels::substitute_convolutions;
use shopfloor::backend::optimise::{codegen, decluttered, optimized};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

mod affine_fold;
mod channel_chain;
mod convolutions;
mod element_wise;
mod lrn;
mod max_pool;
mod vector_by_matrix;
mod winograd;

/// A small deterministic generator (no test randomness from outside).
pub struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    pub fn in_range(&mut self, lo: usize, hi: usize) -> usize {
        lo + self.below(hi - lo + 1)
    }
    pub fn f32(&mut self) -> f32 {
        // Few distinct values, so windows hold ties; the sign varies.
        (self.below(41) as f32 - 20.0) * 0.25
    }
}

pub fn pool_spec(
    format: DataFormat,
    kernel: [usize; 2],
    strides: [usize; 2],
    padding: PaddingSpec,
    c: usize,
) -> PoolSpec {
    PoolSpec {
        data_format: format,
        kernel_shape: tvec!(kernel[0], kernel[1]),
        padding,
        dilations: None,
        strides: Some(tvec!(strides[0], strides[1])),
        input_channels: c,
        output_channels: c,
    }
}

pub fn run(model: TypedModel, input: &Tensor) -> Tensor {
    let out = model.into_runnable().unwrap().run(tvec!(input.clone().into_tvalue())).unwrap();
    out[0].clone().into_tensor()
}

/// One convolution: tract's optimised plan, and ours (depthwise substituted before codegen) with
/// how many nodes it replaced.
pub fn conv_plans(spec: PoolSpec, group: usize, kernel: Tensor, shape: &[usize]) -> (TypedModel, TypedModel, usize) {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact(shape)).unwrap();
    let k = model.add_const("k", kernel).unwrap();
    let c = spec.output_channels;
    let b =
        model.add_const("b", tract_ndarray::Array1::from_shape_fn(c, |i| i as f32 * 0.5 - 1.0).into_tensor()).unwrap();
    let op = Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group, q_params: None };
    let y = model.wire_node("conv", op, &[x, k, b]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let tract = optimized(model.clone()).unwrap();
    let mut ours = decluttered(model).unwrap();
    let replaced = substitute_convolutions(&mut ours).unwrap();
    (tract, codegen(ours).unwrap(), replaced)
}

pub fn random_tensor(rng: &mut Lcg, shape: &[usize]) -> Tensor {
    let data: Vec<f32> = (0..shape.iter().product()).map(|_| rng.f32()).collect();
    tract_ndarray::ArrayD::from_shape_vec(shape.to_vec(), data).unwrap().into_tensor()
}

/// A full convolution (one group) with `m` outputs: tract's plan and ours, as `conv_plans`.
pub fn full_conv_plans(spec: PoolSpec, m: usize, rng: &mut Lcg, shape: &[usize]) -> (TypedModel, TypedModel, usize) {
    let c = spec.input_channels;
    let kernel = random_tensor(rng, &[m, c, spec.kernel_shape[0], spec.kernel_shape[1]]);
    conv_plans(PoolSpec { output_channels: m, ..spec }, 1, kernel, shape)
}

/// The largest difference between two outputs of the same shape, and the largest magnitude of
/// the first (at least 1).
pub fn worst_and_scale(want: &Tensor, got: &Tensor, what: &str) -> (f32, f32) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    let (want, got) = (want.to_plain_array_view::<f32>().unwrap(), got.to_plain_array_view::<f32>().unwrap());
    let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
    let worst = want.iter().zip(got.iter()).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
    (worst, scale)
}
