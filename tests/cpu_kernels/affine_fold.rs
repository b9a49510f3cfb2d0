//! `fold_channel_affine`: per-channel scales and shifts after a convolution go into its filters
//! and bias, with tract's answers up to rounding; what it must leave alone stays.

use shopfloor::backend::cpu_kernels::fold_channel_affine;
use shopfloor::backend::optimise::{decluttered, optimized};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::{pool_spec, random_tensor, run, worst_and_scale, Lcg};

/// A constant of `rank` dims varying along `axis` only (`m` values), or one value.
fn per_channel(rng: &mut Lcg, rank: usize, axis: Option<(usize, usize)>) -> Tensor {
    let mut dims = vec![1; rank];
    if let Some((a, m)) = axis {
        dims[a] = m;
    }
    random_tensor(rng, &dims)
}

/// `conv → steps`: a convolution of random groups, kernel and layout, then `Mul`s and `Add`s by
/// per-channel constants or scalars (either operand order) and maybe a ReLU.
#[test]
fn scales_and_shifts_fold_into_the_convolution_with_tracts_answers() {
    let mut rng = Lcg(0xaff);
    let mut took = 0;
    for case in 0..150 {
        let format = [DataFormat::NCHW, DataFormat::NHWC, DataFormat::CHW][case % 3];
        let groups = [1, 1, 2, 3][rng.below(4)];
        let (kg, mg) = (rng.in_range(1, 5), rng.in_range(1, 5));
        let (c, m) = (kg * groups, mg * groups);
        let (kh, kw) = (rng.in_range(1, 3), rng.in_range(1, 3));
        let (h, w) = (rng.in_range(kh, 9), rng.in_range(kw, 12));
        let shape: Vec<usize> = match format {
            DataFormat::NCHW => vec![1, c, h, w],
            DataFormat::NHWC => vec![1, h, w, c],
            _ => vec![c, h, w],
        };
        let axis = match format {
            DataFormat::NCHW => 1,
            DataFormat::NHWC => 3,
            _ => 0,
        };
        let spec = PoolSpec { output_channels: m, ..pool_spec(format, [kh, kw], [1, 1], PaddingSpec::SameUpper, c) };
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(&shape)).unwrap();
        let k = model.add_const("k", random_tensor(&mut rng, &[m, kg, kh, kw])).unwrap();
        let bias = if rng.below(2) == 0 { tensor0(0.25f32) } else { random_tensor(&mut rng, &[m]) };
        let b = model.add_const("b", bias).unwrap();
        let op = Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group: groups, q_params: None };
        let mut y = model.wire_node("conv", op, &[x, k, b]).unwrap()[0];
        let steps = rng.in_range(1, 4);
        let mut what = format!("case {case}: {format:?} {shape:?} → {m} in {groups} groups, {kh}×{kw}:");
        for i in 0..steps {
            let along = if rng.below(4) == 0 { None } else { Some((axis, m)) };
            let s = model.add_const(format!("s{i}"), per_channel(&mut rng, shape.len(), along)).unwrap();
            let (op, name) = if rng.below(2) == 0 { (math::mul(), "mul") } else { (math::add(), "add") };
            let ins = if rng.below(2) == 0 { [y, s] } else { [s, y] };
            what += &format!(" {name}{}", if along.is_some() { "(channel)" } else { "" });
            y = model.wire_node(format!("step{i}"), op, &ins).unwrap()[0];
        }
        if rng.below(2) == 0 {
            let zero = model.add_const("zero", per_channel(&mut rng, shape.len(), None).into_tensor()).unwrap();
            y = model.wire_node("relu", math::max(), &[y, zero]).unwrap()[0];
            what += " max";
        }
        model.select_output_outlets(&[y]).unwrap();
        let tract = optimized(model.clone()).unwrap();
        let mut ours = decluttered(model).unwrap();
        // tract's declutter folds them itself into an ungrouped convolution (which a 1×1 one no
        // longer is: an einsum); a grouped one (depthwise too) keeps them.
        took += fold_channel_affine(&mut ours).unwrap();
        let left: Vec<String> = ours
            .nodes()
            .iter()
            .filter(|n| {
                (n.op.name() == "Mul" || n.op.name() == "Add")
                    && n.inputs.iter().any(|i| ours.node(i.node).op_is::<Conv>())
            })
            .map(|n| n.to_string())
            .collect();
        assert!(left.is_empty(), "{what}: left after the convolution {left:?}");
        let ours = optimized(ours).unwrap();
        let input = random_tensor(&mut rng, &shape);
        let (want, got) = (run(tract, &input), run(ours, &input));
        let (worst, scale) = worst_and_scale(&want, &got, &what);
        assert!(worst <= 1e-5 * scale, "{what}: off by {worst} (scale {scale})");
    }
    assert!(took >= 40, "only {took} of 150 convolutions took their steps");
}

#[test]
fn what_is_no_scale_or_shift_per_channel_stays() {
    let mut rng = Lcg(5);
    let shape = [1, 3, 6, 7];
    let spec =
        PoolSpec { output_channels: 4, ..pool_spec(DataFormat::NCHW, [3, 3], [1, 1], PaddingSpec::SameUpper, 3) };
    let build = |rng: &mut Lcg, second: Second| {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(shape)).unwrap();
        let k = model.add_const("k", random_tensor(rng, &[4, 3, 3, 3])).unwrap();
        let b = model.add_const("b", random_tensor(rng, &[4])).unwrap();
        let op = Conv { pool_spec: spec.clone(), kernel_fmt: KernelFormat::OIHW, group: 1, q_params: None };
        let y = model.wire_node("conv", op, &[x, k, b]).unwrap()[0];
        let z = second(&mut model, y, rng);
        model.select_output_outlets(&[z]).unwrap();
        decluttered(model).unwrap()
    };
    // A shift that varies along the rows, a product with the convolution itself.
    for (what, second) in [("a shift along the rows", along_rows as Second), ("a product of two tensors", squared)] {
        let mut model = build(&mut rng, second);
        assert_eq!(fold_channel_affine(&mut model).unwrap(), 0, "{what}");
    }
    // A scale, with the convolution read by the caller too.
    let mut model = build(&mut rng, scaled);
    let conv = model.node_id_by_name("conv").unwrap();
    let last = model.output_outlets().unwrap()[0];
    model.select_output_outlets(&[OutletId::new(conv, 0), last]).unwrap();
    assert_eq!(fold_channel_affine(&mut model).unwrap(), 0, "the convolution is an output too");
}

/// What follows the convolution in `what_is_no_scale_or_shift_per_channel_stays`.
type Second = fn(&mut TypedModel, OutletId, &mut Lcg) -> OutletId;

fn along_rows(m: &mut TypedModel, y: OutletId, rng: &mut Lcg) -> OutletId {
    let s = m.add_const("s", per_channel(rng, 4, Some((2, 6)))).unwrap();
    m.wire_node("add", math::add(), &[y, s]).unwrap()[0]
}

fn squared(m: &mut TypedModel, y: OutletId, _: &mut Lcg) -> OutletId {
    m.wire_node("mul", math::mul(), &[y, y]).unwrap()[0]
}

fn scaled(m: &mut TypedModel, y: OutletId, rng: &mut Lcg) -> OutletId {
    let s = m.add_const("s", per_channel(rng, 4, Some((1, 4)))).unwrap();
    m.wire_node("mul", math::mul(), &[y, s]).unwrap()[0]
}
