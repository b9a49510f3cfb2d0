//! `ChannelChain` (steps by constants that vary along one axis, or by scalars) against tract's
//! ops, to the bit, and the chains it must leave alone left alone.

use shopfloor::backend::cpu_kernels::fuse_element_wise;
use shopfloor::backend::optimise::{codegen, decluttered, optimized};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn;

use super::{random_tensor, run, Lcg};

/// A constant for a step on a tensor of `shape`: one value, or values along `axis` (ones on every
/// other axis).
fn constant(rng: &mut Lcg, shape: &[usize], axis: Option<usize>) -> Tensor {
    let mut dims = vec![1; shape.len()];
    if let Some(a) = axis {
        dims[a] = shape[a];
    }
    let n: usize = dims.iter().product();
    let values: Vec<f32> = (0..n).map(|_| rng.f32() * 0.3 + 0.05).collect();
    tract_ndarray::ArrayD::from_shape_vec(dims, values).unwrap().into_tensor()
}

/// `x → sigmoid → steps`, each by a scalar or by values along `axis`, the constant on either side.
fn chain(rng: &mut Lcg, shape: &[usize], axis: Option<usize>, steps: usize) -> (TypedModel, String) {
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact(shape)).unwrap();
    // The chain starts after a node tract keeps.
    let mut y = model.wire_node("start", nn::sigmoid(), &[x]).unwrap()[0];
    let mut what = format!("{shape:?} along {axis:?}:");
    for i in 0..steps {
        let by = if rng.below(3) == 0 { None } else { axis };
        let k = constant(rng, shape, by);
        let s = model.add_const(format!("k{i}"), k).unwrap();
        let (op, name) = match rng.below(6) {
            0 => (math::add(), "add"),
            1 => (math::mul(), "mul"),
            2 => (math::sub(), "sub"),
            3 => (math::max(), "max"),
            4 => (math::min(), "min"),
            _ => (math::sub(), "subfrom"),
        };
        let ins = if name == "subfrom" || (name != "sub" && rng.below(2) == 0) { [s, y] } else { [y, s] };
        what += &format!(" {name}({})", if by.is_some() { "axis" } else { "scalar" });
        y = model.wire_node(format!("s{i}"), op, &ins).unwrap()[0];
    }
    model.select_output_outlets(&[y]).unwrap();
    (model, what)
}

fn ours(model: TypedModel) -> (TypedModel, usize) {
    let mut d = decluttered(model).unwrap();
    let n = fuse_element_wise(&mut d).unwrap();
    (codegen(d).unwrap(), n)
}

fn same_bits(want: &Tensor, got: &Tensor, what: &str) {
    assert_eq!(got.shape(), want.shape(), "{what}");
    let (w, g) = (want.to_plain_array_view::<f32>().unwrap(), got.to_plain_array_view::<f32>().unwrap());
    for (a, b) in w.iter().zip(g.iter()) {
        assert!(a.to_bits() == b.to_bits() || a.is_nan() && b.is_nan(), "{what}: {b} against tract's {a}");
    }
}

#[test]
fn channel_chains_fuse_into_one_op_with_tracts_answers_to_the_bit() {
    let mut rng = Lcg(0xc4a1);
    let mut fused = 0;
    for case in 0..300 {
        let rank = rng.in_range(1, 4);
        // Planes from one value to a few blocks; some channels-last (the axis is the last).
        let shape: Vec<usize> =
            (0..rank).map(|i| if i == rank - 1 { rng.in_range(1, 70) } else { rng.in_range(1, 12) }).collect();
        let axis = if rng.below(5) == 0 { None } else { Some(rng.below(rank)) };
        let steps = rng.in_range(1, 5);
        let (model, what) = chain(&mut rng, &shape, axis, steps);
        let what = format!("case {case}: {what}");
        let tract = optimized(model.clone()).unwrap();
        let (ours, n) = ours(model);
        fused += n.min(1);
        let mut input = random_tensor(&mut rng, &shape);
        // Infinities and NaNs go through as tract's steps take them.
        if let Ok(mut v) = input.to_plain_array_view_mut::<f32>() {
            let len = v.len();
            let specials = [f32::NAN, f32::INFINITY, f32::NEG_INFINITY, -0.0];
            for (i, s) in specials.iter().enumerate().take(len.min(4)) {
                v.as_slice_mut().unwrap()[(i * 7) % len] = *s;
            }
        }
        same_bits(&run(tract, &input), &run(ours, &input), &what);
    }
    eprintln!("{fused} of 300 chains fused");
    // The rest are single steps by a scalar, or steps tract's declutter removed.
    assert!(fused >= 200, "only {fused} of 300 chains fused");
}

#[test]
fn a_batch_normalisation_before_a_layer_becomes_one_chain() {
    // x·s + t then ReLU over [1, C, H, W], s and t per channel: DenseNet's pre-activation.
    let mut rng = Lcg(7);
    let shape = [1, 6, 5, 9];
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact(shape)).unwrap();
    let y = model.wire_node("start", nn::sigmoid(), &[x]).unwrap()[0];
    let s = model.add_const("s", constant(&mut rng, &shape, Some(1))).unwrap();
    let t = model.add_const("t", constant(&mut rng, &shape, Some(1))).unwrap();
    let zero = model.add_const("zero", tensor4(&[[[[0f32]]]])).unwrap();
    let y = model.wire_node("mul", math::mul(), &[y, s]).unwrap()[0];
    let y = model.wire_node("add", math::add(), &[y, t]).unwrap()[0];
    let y = model.wire_node("relu", math::max(), &[y, zero]).unwrap()[0];
    model.select_output_outlets(&[y]).unwrap();
    let tract = optimized(model.clone()).unwrap();
    let (ours, n) = ours(model);
    assert_eq!(n, 1);
    let names: Vec<String> = ours.nodes().iter().map(|n| n.op.name().to_string()).collect();
    assert!(names.iter().any(|n| n == "ChannelChain"), "{names:?}");
    assert!(!names.iter().any(|n| n.contains("Bin")), "no step left to tract: {names:?}");
    let input = random_tensor(&mut rng, &shape);
    same_bits(&run(tract, &input), &run(ours, &input), "batch norm");
}

#[test]
fn chains_tract_folds_or_keeps_are_left_alone() {
    let names = |m: &TypedModel| m.nodes().iter().map(|n| n.op.name().to_string()).collect::<Vec<_>>();
    // A scale, a bias and a ReLU right after a matrix product: tract's codegen folds them into it
    // (none of them, not only the first, is ours).
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([4, 8])).unwrap();
    let w = model.add_const("w", tensor2(&[[0.5f32; 3]; 8])).unwrap();
    let y = model.wire_node("mm", math::mul(), &[x, x]).unwrap()[0];
    let p = model
        .wire_node(
            "einsum",
            tract_onnx::tract_core::ops::einsum::EinSum::new("mk,kn->mn".parse().unwrap(), f32::datum_type()),
            &[y, w],
        )
        .unwrap()[0];
    let scale = model.add_const("scale", tensor2(&[[1.5f32, 0.5, 2.0]])).unwrap();
    let p = model.wire_node("scaled", math::mul(), &[p, scale]).unwrap()[0];
    let b = model.add_const("b", tensor2(&[[0.1f32, 0.2, 0.3]])).unwrap();
    let zero = model.add_const("zero", tensor2(&[[0f32]])).unwrap();
    let p = model.wire_node("bias", math::add(), &[p, b]).unwrap()[0];
    let p = model.wire_node("relu", math::max(), &[p, zero]).unwrap()[0];
    model.select_output_outlets(&[p]).unwrap();
    let (plan, n) = ours(model);
    assert_eq!(n, 0, "{:?}", names(&plan));
    // A NaN constant in a max (the kernels' select would keep it), and a single scalar step.
    for (konst, steps) in [(f32::NAN, 2), (0.5, 1)] {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([2, 3, 20])).unwrap();
        let mut y = model.wire_node("start", nn::sigmoid(), &[x]).unwrap()[0];
        for i in 0..steps {
            let k = model.add_const(format!("k{i}"), tensor3(&[[[konst]]])).unwrap();
            y = model.wire_node(format!("max{i}"), math::max(), &[y, k]).unwrap()[0];
        }
        model.select_output_outlets(&[y]).unwrap();
        let (plan, n) = ours(model);
        assert_eq!(n, 0, "{konst} × {steps}: {:?}", names(&plan));
    }
}
