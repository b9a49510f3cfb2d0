//! `WinogradConv` (3×1 and 1×3 convolutions by F(2, 3) and F(4, 3), 3×3 by F(2×2, 3×3)) against
//! tract's convolution.

use shopfloor::backend::cpu_kernels::substitute_convolutions;
use shopfloor::backend::optimise::{codegen, decluttered, optimized};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::{conv_plans, full_conv_plans, pool_spec, random_tensor, run, worst_and_scale, Lcg};

/// Winograd's transforms round where a direct sum would not (F(4, 3)'s filters are scaled by 1/6
/// and 1/24, its outputs gather products scaled by up to 8), yet stay within the bound the other
/// kernels meet: under 1e-6 of the largest output over the cases below.
const BOUND: f32 = 1e-5;

#[test]
fn winograd_conv_matches_tract_on_random_shapes_and_padding() {
    let mut rng = Lcg(0x3a1);
    let mut worst_seen = 0f32;
    for case in 0..450 {
        let format = [DataFormat::NCHW, DataFormat::CHW][case % 2];
        let kernel = [[3, 1], [1, 3], [3, 3]][(case / 2) % 3];
        // Channels past a block of 4 and between blocks; lines from two outputs (F(2, 3)) to many
        // tiles with a partial last one, planes of odd and even sides; tiles over several chunks.
        let (n, c, m) = (rng.in_range(1, 2), rng.in_range(8, 20), rng.in_range(1, 11));
        let pad = |rng: &mut Lcg, k: usize| if k == 3 { rng.below(3) } else { 0 };
        let (before, after) = (
            [pad(&mut rng, kernel[0]), pad(&mut rng, kernel[1])],
            [pad(&mut rng, kernel[0]), pad(&mut rng, kernel[1])],
        );
        let padding = match rng.below(4) {
            0 => PaddingSpec::Valid,
            1 => PaddingSpec::Explicit(tvec!(before[0], before[1]), tvec!(after[0], after[1])),
            2 => PaddingSpec::SameUpper,
            _ => PaddingSpec::SameLower,
        };
        // At least 2 outputs along a line's taps, 4 each way on planes (where F(2×2, 3×3) gains).
        let least = |k: usize| {
            if kernel == [3, 3] {
                6
            } else if k == 3 {
                4
            } else {
                1
            }
        };
        let (mut h, mut w) = (rng.in_range(least(kernel[0]), 40), rng.in_range(least(kernel[1]), 30));
        // A line of 5 outputs takes 12 points for 15 taps: too few to gain (`choose`).
        let pads = pool_spec(format, kernel, [1, 1], padding.clone(), c).computed_padding(&[h, w]);
        if kernel == [3, 1] && pads[0].convoluted == 5 {
            h += 1;
        } else if kernel == [1, 3] && pads[1].convoluted == 5 {
            w += 1;
        }
        let shape: Vec<usize> = if format == DataFormat::NCHW { vec![n, c, h, w] } else { vec![c, h, w] };
        let spec = pool_spec(format, kernel, [1, 1], padding.clone(), c);
        let (tract, ours, replaced) = full_conv_plans(spec, m, &mut rng, &shape);
        let what = format!("case {case}: {format:?} {kernel:?} {padding:?} {shape:?} → {m}");
        assert_eq!(replaced, 1, "{what} was not replaced");
        assert!(ours.nodes().iter().any(|n| n.op.name() == "WinogradConv"), "{what}");
        let input = random_tensor(&mut rng, &shape);
        let (want, got) = (run(tract, &input), run(ours, &input));
        let (worst, scale) = worst_and_scale(&want, &got, &what);
        assert!(worst <= BOUND * scale, "{what}: off by {worst} (scale {scale})");
        worst_seen = worst_seen.max(worst / scale);
    }
    eprintln!("worst difference, relative to the largest output: {worst_seen:e}");
}

/// Filters too large to stay in cache beside a chunk (130 × 130: 66 KiB a point) take chunks of
/// 64 tiles or more; the answers stay tract's.
#[test]
fn winograd_conv_matches_tract_with_filters_past_the_cache() {
    let mut rng = Lcg(0x3a3);
    for (kernel, shape) in [([3, 3], [1, 130, 21, 26]), ([3, 1], [1, 130, 30, 9]), ([1, 3], [1, 130, 5, 70])] {
        let spec = pool_spec(DataFormat::NCHW, kernel, [1, 1], PaddingSpec::SameUpper, 130);
        let (tract, ours, _) = full_conv_plans(spec, 130, &mut rng, &shape);
        let what = format!("{kernel:?} {shape:?}");
        assert!(ours.nodes().iter().any(|n| n.op.name() == "WinogradConv"), "{what}");
        let input = random_tensor(&mut rng, &shape);
        let (want, got) = (run(tract, &input), run(ours, &input));
        let (worst, scale) = worst_and_scale(&want, &got, &what);
        assert!(worst <= BOUND * scale, "{what}: off by {worst} (scale {scale})");
    }
}

/// Leaky ReLU and `max` after it fold in as they do after `DirectConv`.
#[test]
fn winograd_conv_folds_the_element_wise_steps_after_it() {
    use tract_onnx::tract_core::ops::{element_wise::ElementWiseOp, math, nn};
    let mut rng = Lcg(0x3a2);
    let (c, m, shape) = (6, 9, [1, 6, 12, 17]);
    let spec = PoolSpec { output_channels: m, ..pool_spec(DataFormat::NCHW, [3, 1], [1, 1], PaddingSpec::Valid, c) };
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact(shape)).unwrap();
    let k = model.add_const("k", random_tensor(&mut rng, &[m, c, 3, 1])).unwrap();
    let b = model.add_const("b", random_tensor(&mut rng, &[m])).unwrap();
    let conv = Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group: 1, q_params: None };
    let y = model.wire_node("conv", conv, &[x, k, b]).unwrap();
    let y = model.wire_node("leaky", nn::leaky_relu(0.2), &y).unwrap()[0];
    let floor = model.add_const("floor", tract_ndarray::ArrayD::from_elem(vec![1; 4], -0.4f32).into_tensor()).unwrap();
    let y = model.wire_node("max", math::max(), &[y, floor]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let tract = optimized(model.clone()).unwrap();
    let mut ours = decluttered(model).unwrap();
    assert_eq!(substitute_convolutions(&mut ours).unwrap(), 1);
    assert!(!ours.nodes().iter().any(|n| n.op_is::<ElementWiseOp>() || n.op.name().contains("Max")));
    let input = random_tensor(&mut rng, &shape);
    let (want, got) = (run(tract, &input), run(codegen(ours).unwrap(), &input));
    let (worst, scale) = worst_and_scale(&want, &got, "leaky + max");
    assert!(worst <= BOUND * scale, "off by {worst} (scale {scale})");
}

#[test]
fn winograd_conv_leaves_what_it_does_not_cover() {
    let mut rng = Lcg(17);
    let spec = |kernel: [usize; 2], strides: [usize; 2], padding: PaddingSpec| {
        pool_spec(DataFormat::NCHW, kernel, strides, padding, 8)
    };
    let spec7 = |kernel: [usize; 2], padding: PaddingSpec| pool_spec(DataFormat::NCHW, kernel, [1, 1], padding, 7);
    let cases = [
        ("seven input channels", spec7([3, 3], PaddingSpec::Valid), [1, 7, 9, 20]),
        ("a line of one output", spec([3, 1], [1, 1], PaddingSpec::Valid), [1, 8, 3, 9]),
        ("a plane one output high", spec([3, 3], [1, 1], PaddingSpec::Valid), [1, 8, 3, 40]),
        ("3 × 3 outputs: 4 tiles of 16 points against 81 taps", spec([3, 3], [1, 1], PaddingSpec::Valid), [1, 8, 5, 5]),
        ("stride 2", spec([3, 1], [2, 1], PaddingSpec::Valid), [1, 8, 20, 9]),
        (
            "padding across the taps",
            spec([1, 3], [1, 1], PaddingSpec::Explicit(tvec!(1, 1), tvec!(1, 1))),
            [1, 8, 9, 20],
        ),
        ("a 2×3 kernel", spec([2, 3], [1, 1], PaddingSpec::Valid), [1, 8, 9, 20]),
        ("five taps", spec([5, 1], [1, 1], PaddingSpec::Valid), [1, 8, 20, 9]),
        (
            "dilated",
            PoolSpec { dilations: Some(tvec!(2, 2)), ..spec([3, 3], [1, 1], PaddingSpec::Valid) },
            [1, 8, 20, 9],
        ),
        (
            "channels last",
            PoolSpec { data_format: DataFormat::NHWC, ..spec([3, 1], [1, 1], PaddingSpec::Valid) },
            [1, 20, 9, 8],
        ),
    ];
    for (what, spec, shape) in cases {
        let (_, ours, _) = full_conv_plans(spec, 6, &mut rng, &shape);
        assert!(!ours.nodes().iter().any(|n| n.op.name() == "WinogradConv"), "{what}");
    }
    // One point's filters past the budget: 520 × 520 f32, 1.03 MiB.
    for kernel in [[3, 1], [3, 3]] {
        let big = pool_spec(DataFormat::NCHW, kernel, [1, 1], PaddingSpec::Valid, 520);
        let (_, ours, _) = full_conv_plans(big, 520, &mut rng, &[1, 520, 6, 6]);
        assert!(!ours.nodes().iter().any(|n| n.op.name() == "WinogradConv"), "{kernel:?} filters past the budget");
    }
    // Grouped: two groups of four channels.
    let grouped = spec([3, 1], [1, 1], PaddingSpec::Valid);
    let (_, ours, _) = conv_plans(grouped, 2, random_tensor(&mut rng, &[8, 4, 3, 1]), &[1, 8, 20, 9]);
    assert!(!ours.nodes().iter().any(|n| n.op.name() == "WinogradConv"), "grouped");
}
