//! `DepthwiseConv`, `DirectConv` (with its epilogue) and `PointwiseConv` against tract's
//! convolution.

use shopfloor::backend::cpu_kernels::substitute_convolutions;
use shopfloor::backend::optimise::{codegen, decluttered, optimized};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::{conv_plans, full_conv_plans, pool_spec, random_tensor, run, worst_and_scale, Lcg};

#[test]
fn depthwise_conv_matches_tract_on_random_shapes_strides_and_padding() {
    let mut rng = Lcg(0xd3e9);
    for case in 0..800 {
        let format = [DataFormat::NCHW, DataFormat::CHW, DataFormat::NHWC, DataFormat::HWC][case % 4];
        let kernel = [rng.in_range(1, 5), rng.in_range(1, 5)];
        let strides = [rng.in_range(1, 3), rng.in_range(1, 3)];
        // Channels last: whole vectors of four and a tail.
        let (n, c) = (rng.in_range(1, 2), rng.in_range(2, if format.c_is_last() { 13 } else { 9 }));
        // Rows from one kernel to past a few vectors, so SIMD bodies and scalar tails both run.
        let (h, w) = (rng.in_range(kernel[0], 14), rng.in_range(kernel[1], 29));
        let pad = |rng: &mut Lcg| tvec!(rng.below(kernel[0]), rng.below(kernel[1]));
        let padding = match rng.below(4) {
            0 => PaddingSpec::Valid,
            1 => PaddingSpec::Explicit(pad(&mut rng), pad(&mut rng)),
            2 => PaddingSpec::SameUpper,
            _ => PaddingSpec::SameLower,
        };
        let shape: Vec<usize> = match format {
            DataFormat::NCHW => vec![n, c, h, w],
            DataFormat::CHW => vec![c, h, w],
            DataFormat::NHWC => vec![n, h, w, c],
            DataFormat::HWC => vec![h, w, c],
        };
        let spec = pool_spec(format, kernel, strides, padding.clone(), c);
        let weights = random_tensor(&mut rng, &[c, 1, kernel[0], kernel[1]]);
        let (tract, ours, replaced) = conv_plans(spec, c, weights, &shape);
        let what = format!("case {case}: {format:?} {kernel:?} strides {strides:?} {padding:?} {shape:?}");
        assert_eq!(replaced, 1, "{what} was not replaced");
        assert!(ours.nodes().iter().any(|n| n.op.name() == "DepthwiseConv"), "{what}");
        let input = random_tensor(&mut rng, &shape);
        let (want, got) = (run(tract, &input), run(ours, &input));
        let (worst, scale) = worst_and_scale(&want, &got, &what);
        // Only the order of the sums may differ.
        assert!(worst <= 1e-5 * scale, "{what}: off by {worst} (scale {scale})");
    }
}

#[test]
fn depthwise_conv_leaves_other_convolutions_to_tract() {
    let mut rng = Lcg(7);
    let spec = |c_in: usize, c_out: usize, dilations: Option<TVec<usize>>| PoolSpec {
        dilations,
        input_channels: c_in,
        output_channels: c_out,
        ..pool_spec(DataFormat::NCHW, [3, 3], [1, 1], PaddingSpec::Valid, c_in)
    };
    let cases = [
        ("a full convolution", spec(4, 4, None), 1, [4, 4, 3, 3]),
        ("grouped, two channels a group", spec(4, 4, None), 2, [4, 2, 3, 3]),
        ("a channel multiplier of two", spec(4, 8, None), 4, [8, 1, 3, 3]),
        ("dilated", spec(4, 4, Some(tvec!(2, 2))), 4, [4, 1, 3, 3]),
    ];
    for (what, spec, group, kernel) in cases {
        let (_, ours, replaced) = conv_plans(spec, group, random_tensor(&mut rng, &kernel), &[1, 4, 9, 9]);
        assert_eq!(replaced, 0, "{what}");
        assert!(!ours.nodes().iter().any(|n| n.op.name() == "DepthwiseConv"), "{what}");
    }
}

#[test]
fn direct_conv_matches_tract_on_random_shapes_strides_and_padding() {
    let mut rng = Lcg(0x5eed);
    let mut strided = 0;
    for case in 0..400 {
        let format = [DataFormat::NCHW, DataFormat::CHW][case % 2];
        let kernel = [rng.in_range(1, 5), rng.in_range(1, 5)];
        let strides = [rng.in_range(1, 3), rng.in_range(1, 3)];
        // 1×1 is `PointwiseConv`'s; at stride 1, 3×1, 1×3 and 3×3 are `WinogradConv`'s (winograd.rs).
        let winograd = kernel == [1, 3] || kernel == [3, 1] || kernel == [3, 3];
        if kernel == [1, 1] || (winograd && strides == [1, 1]) {
            continue;
        }
        // Output channels past a block of 4 and between blocks; rows wide enough for the kernel
        // to take them (its wide rows waste at most a quarter), the first and last rows and
        // columns of a stride's remainders among them.
        let (n, c, m) = (rng.in_range(1, 2), rng.in_range(1, 9), rng.in_range(1, 11));
        let h = rng.in_range(kernel[0], 12 * strides[0]);
        let w = rng.in_range(5 * kernel[1] * strides[1], 40 * strides[1]);
        let pad = |rng: &mut Lcg| tvec!(rng.below(kernel[0]), rng.below(kernel[1]));
        let padding = match rng.below(4) {
            0 => PaddingSpec::Valid,
            1 => PaddingSpec::Explicit(pad(&mut rng), pad(&mut rng)),
            2 => PaddingSpec::SameUpper,
            _ => PaddingSpec::SameLower,
        };
        let shape: Vec<usize> = if format == DataFormat::NCHW { vec![n, c, h, w] } else { vec![c, h, w] };
        let spec = pool_spec(format, kernel, strides, padding.clone(), c);
        let (tract, ours, replaced) = full_conv_plans(spec, m, &mut rng, &shape);
        let what = format!("case {case}: {format:?} {kernel:?} strides {strides:?} {padding:?} {shape:?} → {m}");
        assert_eq!(replaced, 1, "{what} was not replaced");
        assert!(ours.nodes().iter().any(|n| n.op.name() == "DirectConv"), "{what}");
        let input = random_tensor(&mut rng, &shape);
        let (want, got) = (run(tract, &input), run(ours, &input));
        let (worst, scale) = worst_and_scale(&want, &got, &what);
        assert!(worst <= 1e-5 * scale, "{what}: off by {worst} (scale {scale})");
        strided += usize::from(strides != [1, 1]);
    }
    assert!(strided >= 150, "{strided} strided cases");
}

/// Element-wise steps after a direct convolution (leaky ReLU, `max` / `min` with a constant, in
/// any order and operand order, hard swish) fold into it, the answers staying tract's; folding stops where a
/// value is also a model output or another node's input.
#[test]
fn convolutions_fold_the_element_wise_steps_after_them() {
    use tract_onnx::tract_core::ops::{binary::TypedBinOp, element_wise::ElementWiseOp, math, nn};
    let mut rng = Lcg(0xe91);
    for case in 0..225 {
        // `DirectConv` (2×3), `WinogradConv` (3×3, 8 channels or more) and `DepthwiseConv` (3×3,
        // channels first or last) fold the same steps.
        let (kernel, c) = match case % 3 {
            1 => ([2, 3], rng.in_range(1, 6)),
            2 => ([3, 3], rng.in_range(8, 12)),
            _ => ([3, 3], rng.in_range(2, 11)),
        };
        let depthwise = case % 3 == 0;
        let m = if depthwise { c } else { rng.in_range(1, 9) };
        let (h, w) = (rng.in_range(4, 9), rng.in_range(15, 30));
        let format = if depthwise && rng.below(2) == 0 { DataFormat::NHWC } else { DataFormat::NCHW };
        let shape = if format == DataFormat::NHWC { [1, h, w, c] } else { [1, c, h, w] };
        let spec = PoolSpec { output_channels: m, ..pool_spec(format, kernel, [1, 1], PaddingSpec::SameUpper, c) };
        let (group, per_group) = if depthwise { (c, 1) } else { (1, c) };
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(shape)).unwrap();
        let k = model.add_const("k", random_tensor(&mut rng, &[m, per_group, kernel[0], kernel[1]])).unwrap();
        let b = model.add_const("b", random_tensor(&mut rng, &[m])).unwrap();
        let conv = Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group, q_params: None };
        let mut y = model.wire_node("conv", conv, &[x, k, b]).unwrap()[0];
        let mut outputs = vec![];
        let steps = rng.in_range(1, 4);
        // Every fifth case: the value after the first step is also a model output; every seventh,
        // also another node's input.
        let (exposed, shared) = (case % 5 == 0, case % 7 == 0);
        let mut what = format!("case {case}: {kernel:?} group {group} {shape:?} → {m}");
        for step in 0..steps {
            let name = format!("step{step}");
            let value = rng.f32() * 0.2;
            y = match rng.below(5) {
                0 => model.wire_node(&name, nn::leaky_relu(value.abs()), &[y]).unwrap()[0],
                4 => {
                    // Hard swish, x · min(max(x + 3, 0), 6) · (1/6): a branch that meets again.
                    let k = |m: &mut TypedModel, n: String, v: f32| {
                        m.add_const(n, tract_ndarray::ArrayD::from_elem(vec![1; 4], v).into_tensor()).unwrap()
                    };
                    let (three, zero, six) = (
                        k(&mut model, format!("{name}.3"), 3.0),
                        k(&mut model, format!("{name}.0"), 0.0),
                        k(&mut model, format!("{name}.6"), 6.0),
                    );
                    let mut h = model.wire_node(format!("{name}.add"), math::add(), &[y, three]).unwrap()[0];
                    h = model.wire_node(format!("{name}.max"), math::max(), &[h, zero]).unwrap()[0];
                    h = model.wire_node(format!("{name}.min"), math::min(), &[six, h]).unwrap()[0];
                    h = model.wire_node(format!("{name}.mul"), math::mul(), &[h, y]).unwrap()[0];
                    let sixth = k(&mut model, format!("{name}.s"), 1.0 / 6.0);
                    model.wire_node(&name, math::mul(), &[h, sixth]).unwrap()[0]
                }
                r => {
                    let op = if r == 2 { math::min() } else { math::max() };
                    let konst = if r == 3 { 0.0 } else { value };
                    let t = tract_ndarray::ArrayD::from_elem(vec![1; 4], konst).into_tensor();
                    let s = model.add_const(format!("{name}.s"), t).unwrap();
                    let ins = if rng.below(2) == 0 { [y, s] } else { [s, y] };
                    model.wire_node(&name, op, &ins).unwrap()[0]
                }
            };
            what += &format!(" {}", model.node(y.node).op.name());
            if step == 0 && exposed {
                outputs.push(y);
            }
            if step == 0 && shared {
                // A slope no step has (they are multiples of 0.05): tract would merge equal nodes.
                let other = model.wire_node("other", nn::leaky_relu(0.33), &[y]).unwrap()[0];
                outputs.push(other);
            }
        }
        outputs.insert(0, y);
        model.select_output_outlets(&outputs).unwrap();
        let tract = optimized(model.clone()).unwrap();
        let mut ours = decluttered(model).unwrap();
        assert_eq!(substitute_convolutions(&mut ours).unwrap(), 1, "{what}");
        let left = ours.nodes().iter().filter(|n| n.op_is::<ElementWiseOp>() || n.op_is::<TypedBinOp>()).count();
        if !exposed && !shared {
            assert_eq!(left, 0, "{what}: every step folds in");
        } else {
            assert!(left >= steps - 1, "{what}: folding stops at the first step's value");
        }
        let input = random_tensor(&mut rng, &shape);
        let want = tract.into_runnable().unwrap().run(tvec!(input.clone().into_tvalue())).unwrap();
        let got = codegen(ours).unwrap().into_runnable().unwrap().run(tvec!(input.into_tvalue())).unwrap();
        assert_eq!(want.len(), got.len(), "{what}");
        for (want, got) in want.iter().zip(got.iter()) {
            let (worst, scale) = worst_and_scale(want, got, &what);
            assert!(worst <= 1e-5 * scale, "{what}: off by {worst} (scale {scale})");
        }
    }
}

/// A network's first layer (3 channels, 3×3 taps at stride 2) reads 27 rows of the product per
/// tile, so it takes an input past the scratch budget of many-channel layers: EfficientNet-Lite0's
/// 224², as the model gives it.
#[test]
fn direct_conv_takes_a_first_layer_that_reads_few_rows_on_a_larger_input() {
    let mut rng = Lcg(0xf1257);
    let spec = pool_spec(DataFormat::NCHW, [3, 3], [2, 2], PaddingSpec::SameUpper, 3);
    let shape = [1, 3, 224, 224];
    let (tract, ours, replaced) = full_conv_plans(spec, 32, &mut rng, &shape);
    assert_eq!(replaced, 1);
    assert!(ours.nodes().iter().any(|n| n.op.name() == "DirectConv"));
    let input = random_tensor(&mut rng, &shape);
    let (want, got) = (run(tract, &input), run(ours, &input));
    let (worst, scale) = worst_and_scale(&want, &got, "224² first layer");
    assert!(worst <= 1e-5 * scale, "off by {worst} (scale {scale})");
}

#[test]
fn direct_conv_leaves_what_it_does_not_cover_to_tract() {
    let mut rng = Lcg(11);
    let spec = |kernel: [usize; 2], strides: [usize; 2], padding: PaddingSpec| {
        pool_spec(DataFormat::NCHW, kernel, strides, padding, 4)
    };
    let same = PaddingSpec::SameUpper;
    let cases = [
        ("rows too narrow: 4 wide columns for 2 outputs", spec([2, 3], [1, 1], same.clone()), [1, 4, 9, 2]),
        ("strided rows too narrow: 5 wide columns for 3 outputs", spec([5, 5], [2, 2], same.clone()), [1, 4, 9, 6]),
        (
            "channels last",
            PoolSpec { data_format: DataFormat::NHWC, ..spec([3, 3], [1, 1], same.clone()) },
            [1, 9, 40, 4],
        ),
        (
            "dilated",
            PoolSpec { dilations: Some(tvec!(2, 2)), ..spec([3, 3], [1, 1], PaddingSpec::Valid) },
            [1, 4, 9, 40],
        ),
    ];
    for (what, spec, shape) in cases {
        let (_, ours, replaced) = full_conv_plans(spec, 6, &mut rng, &shape);
        assert_eq!(replaced, 0, "{what}");
        assert!(!ours.nodes().iter().any(|n| n.op.name() == "DirectConv"), "{what}");
    }
    // Filters past the kernel's cache budget (64 × 64 × 5 × 5 f32, 400 KiB).
    let big = pool_spec(DataFormat::NCHW, [5, 5], [1, 1], PaddingSpec::SameUpper, 64);
    let (_, _, replaced) = full_conv_plans(big, 64, &mut rng, &[1, 64, 9, 40]);
    assert_eq!(replaced, 0, "filters past the cache budget");
    // An input past the kernel's cache budget (64 planes of 40 × 40, padded to 41 × 42: 430 KiB).
    let wide = pool_spec(DataFormat::NCHW, [2, 3], [1, 1], PaddingSpec::SameUpper, 64);
    let (_, _, replaced) = full_conv_plans(wide, 8, &mut rng, &[1, 64, 40, 40]);
    assert_eq!(replaced, 0, "an input past the cache budget");
    // A first layer that reads few rows of the product, on an input past even its larger budget
    // (3 planes of 600², 4.1 MiB).
    let first = pool_spec(DataFormat::NCHW, [3, 3], [2, 2], PaddingSpec::SameUpper, 3);
    let (_, _, replaced) = full_conv_plans(first, 16, &mut rng, &[1, 3, 600, 600]);
    assert_eq!(replaced, 0, "a first layer past the few rows' budget");
    // Grouped: two groups of two channels.
    let grouped = spec([2, 3], [1, 1], same);
    let (_, _, replaced) = conv_plans(grouped, 2, random_tensor(&mut rng, &[4, 2, 2, 3]), &[1, 4, 9, 40]);
    assert_eq!(replaced, 0, "grouped");
}

#[test]
fn pointwise_conv_matches_tract_on_random_shapes() {
    let mut rng = Lcg(0x1a1);
    for case in 0..300 {
        let format = [DataFormat::NCHW, DataFormat::CHW][case % 2];
        // Channels past a block of 4 and between blocks; planes from one column tile to several,
        // with and without a partial last tile.
        let (n, c, m) = (rng.in_range(1, 2), rng.in_range(1, 20), rng.in_range(1, 11));
        let (h, w) = (rng.in_range(1, 9), rng.in_range(8, 30));
        let shape: Vec<usize> = if format == DataFormat::NCHW { vec![n, c, h, w] } else { vec![c, h, w] };
        let spec = pool_spec(format, [1, 1], [1, 1], PaddingSpec::Valid, c);
        let (tract, ours, replaced) = full_conv_plans(spec, m, &mut rng, &shape);
        let what = format!("case {case}: {format:?} {shape:?} → {m}");
        // One input channel sums nothing: tract drops that axis and the product is no einsum of
        // ours (the answer is still compared).
        if c > 1 {
            assert_eq!(replaced, 1, "{what} was not replaced");
            assert!(ours.nodes().iter().any(|n| n.op.name() == "PointwiseConv"), "{what}");
            // The bias `Add` went into the kernel's accumulators.
            assert!(!ours.nodes().iter().any(|n| n.op.name().contains("Add")), "{what}: the bias was not folded in");
        }
        let input = random_tensor(&mut rng, &shape);
        let (want, got) = (run(tract, &input), run(ours, &input));
        let (worst, scale) = worst_and_scale(&want, &got, &what);
        assert!(worst <= 1e-5 * scale, "{what}: off by {worst} (scale {scale})");
    }
}

/// Grouped 1×1 convolutions (ShuffleNet's): each group's outputs from its own inputs, with the
/// bias and the element-wise steps after it folded in.
#[test]
fn grouped_pointwise_conv_matches_tract_on_random_shapes() {
    let mut rng = Lcg(0x96);
    for case in 0..200 {
        let format = [DataFormat::NCHW, DataFormat::CHW][case % 2];
        let groups = rng.in_range(2, 4);
        let (n, kg, mg) = (rng.in_range(1, 2), rng.in_range(1, 9), rng.in_range(1, 9));
        let (c, m) = (kg * groups, mg * groups);
        let (h, w) = (rng.in_range(1, 6), rng.in_range(8, 30));
        let shape: Vec<usize> = if format == DataFormat::NCHW { vec![n, c, h, w] } else { vec![c, h, w] };
        let spec = PoolSpec { output_channels: m, ..pool_spec(format, [1, 1], [1, 1], PaddingSpec::Valid, c) };
        let kernel = random_tensor(&mut rng, &[m, kg, 1, 1]);
        let (tract, mut ours) = {
            let mut model = TypedModel::default();
            let x = model.add_source("x", f32::fact(&shape)).unwrap();
            let k = model.add_const("k", kernel).unwrap();
            let b = model.add_const("b", random_tensor(&mut rng, &[m])).unwrap();
            let op = Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group: groups, q_params: None };
            let mut y = model.wire_node("conv", op, &[x, k, b]).unwrap()[0];
            if case % 3 == 0 {
                let zero = model.add_const("zero", tensor0(0f32).broadcast_into_rank(shape.len()).unwrap()).unwrap();
                y = model.wire_node("relu", tract_onnx::tract_core::ops::math::max(), &[y, zero]).unwrap()[0];
            }
            model.select_output_outlets(&[y]).unwrap();
            (optimized(model.clone()).unwrap(), decluttered(model).unwrap())
        };
        let replaced = substitute_convolutions(&mut ours).unwrap();
        let what = format!("case {case}: {format:?} {shape:?} → {m} in {groups} groups");
        assert_eq!(replaced, 1, "{what} was not replaced");
        let ours = codegen(ours).unwrap();
        let names: Vec<String> = ours.nodes().iter().map(|n| n.op.name().to_string()).collect();
        // One channel a group each way is a depthwise convolution, `DepthwiseConv`'s.
        let kernel = if kg == 1 && mg == 1 { "DepthwiseConv" } else { "PointwiseConv" };
        assert!(names.iter().any(|n| n == kernel), "{what}: {names:?}");
        assert!(!names.iter().any(|n| n.contains("Max") || n.contains("Add")), "{what}: a step left: {names:?}");
        let input = random_tensor(&mut rng, &shape);
        let (want, got) = (run(tract, &input), run(ours, &input));
        let (worst, scale) = worst_and_scale(&want, &got, &what);
        assert!(worst <= 1e-5 * scale, "{what}: off by {worst} (scale {scale})");
    }
}

#[test]
fn pointwise_conv_leaves_what_it_does_not_cover_to_tract() {
    let mut rng = Lcg(13);
    let spec = |format: DataFormat, c: usize| pool_spec(format, [1, 1], [1, 1], PaddingSpec::Valid, c);
    let cases: [(&str, PoolSpec, usize, Vec<usize>); 3] = [
        ("channels last", spec(DataFormat::NHWC, 4), 6, vec![1, 9, 40, 4]),
        ("planes smaller than a column tile", spec(DataFormat::NCHW, 4), 6, vec![1, 4, 2, 3]),
        // 200 × 200 f32 filters: 156 KiB, past the kernel's cache budget.
        ("filters past the cache budget", spec(DataFormat::NCHW, 200), 200, vec![1, 200, 4, 8]),
    ];
    for (what, spec, m, shape) in cases {
        let (_, ours, replaced) = full_conv_plans(spec, m, &mut rng, &shape);
        assert_eq!(replaced, 0, "{what}");
        assert!(!ours.nodes().iter().any(|n| n.op.name() == "PointwiseConv"), "{what}");
    }
    // A matrix product by constant weights is no convolution: rows of 8 features, [8, 3] weights.
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([16, 8])).unwrap();
    let w = model.add_const("w", random_tensor(&mut rng, &[3, 8])).unwrap();
    let op = tract_onnx::tract_core::ops::einsum::EinSum::new("nk,mk->nm".parse().unwrap(), f32::datum_type());
    let y = model.wire_node("matmul", op, &[x, w]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let mut ours = decluttered(model).unwrap();
    assert_eq!(substitute_convolutions(&mut ours).unwrap(), 0, "a matrix product");
}

/// A residual `Add` after a 1×1 convolution (of another model input, or of the convolution's own
/// input, in either operand order), then a ReLU or a clamp, fold into `PointwiseConv`; a sum
/// whose other operand is computed from the convolution's own output stays.
#[test]
fn pointwise_conv_folds_a_residual_add_and_the_steps_after_it() {
    use tract_onnx::tract_core::ops::{binary::TypedBinOp, math};
    let mut rng = Lcg(0x1a2);
    for case in 0..80 {
        let c = rng.in_range(2, 20);
        // Every third case adds the convolution's own input: as many outputs as inputs.
        let own = case % 3 == 0;
        let m = if own { c } else { rng.in_range(1, 11) };
        let shape = [rng.in_range(1, 2), c, rng.in_range(1, 9), rng.in_range(8, 30)];
        let out = [shape[0], m, shape[2], shape[3]];
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(shape)).unwrap();
        let shortcut = if own { x } else { model.add_source("r", f32::fact(out)).unwrap() };
        let k = model.add_const("k", random_tensor(&mut rng, &[m, c, 1, 1])).unwrap();
        let b = model.add_const("b", random_tensor(&mut rng, &[m])).unwrap();
        let spec =
            PoolSpec { output_channels: m, ..pool_spec(DataFormat::NCHW, [1, 1], [1, 1], PaddingSpec::Valid, c) };
        let conv = Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group: 1, q_params: None };
        let y = model.wire_node("conv", conv, &[x, k, b]).unwrap()[0];
        let ins = if rng.below(2) == 0 { [y, shortcut] } else { [shortcut, y] };
        let mut y = model.wire_node("residual", math::add(), &ins).unwrap()[0];
        let steps = rng.below(3);
        for step in 0..steps {
            let t = tract_ndarray::ArrayD::from_elem(vec![1; 4], [0.0f32, 1.5][step]).into_tensor();
            let s = model.add_const(format!("s{step}"), t).unwrap();
            let op = if step == 0 { math::max() } else { math::min() };
            y = model.wire_node(format!("step{step}"), op, &[y, s]).unwrap()[0];
        }
        model.select_output_outlets(&[y]).unwrap();
        let what = format!("case {case}: {shape:?} → {m}, shortcut {}, {steps} steps", if own { "x" } else { "r" });
        let tract = optimized(model.clone()).unwrap();
        let mut ours = decluttered(model).unwrap();
        assert_eq!(substitute_convolutions(&mut ours).unwrap(), 1, "{what}");
        assert!(ours.nodes().iter().any(|n| n.op.name() == "PointwiseConv"), "{what}");
        assert!(!ours.nodes().iter().any(|n| n.op_is::<TypedBinOp>()), "{what}: a sum or step was left");
        let inputs: TVec<TValue> = ours
            .input_outlets()
            .unwrap()
            .iter()
            .map(|&i| random_tensor(&mut rng, ours.outlet_fact(i).unwrap().shape.as_concrete().unwrap()).into_tvalue())
            .collect();
        let want = tract.into_runnable().unwrap().run(inputs.clone()).unwrap();
        let got = codegen(ours).unwrap().into_runnable().unwrap().run(inputs).unwrap();
        let (worst, scale) = worst_and_scale(&want[0], &got[0], &what);
        assert!(worst <= 1e-5 * scale, "{what}: off by {worst} (scale {scale})");
    }
    // y + relu(y): the other operand needs the convolution's output.
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([1, 4, 3, 8])).unwrap();
    let k = model.add_const("k", random_tensor(&mut rng, &[4, 4, 1, 1])).unwrap();
    let b = model.add_const("b", random_tensor(&mut rng, &[4])).unwrap();
    let spec = pool_spec(DataFormat::NCHW, [1, 1], [1, 1], PaddingSpec::Valid, 4);
    let conv = Conv { pool_spec: spec, kernel_fmt: KernelFormat::OIHW, group: 1, q_params: None };
    let y = model.wire_node("conv", conv, &[x, k, b]).unwrap()[0];
    let half = model.add_const("half", tract_ndarray::ArrayD::from_elem(vec![1; 4], 0.5f32).into_tensor()).unwrap();
    let scaled = model.wire_node("scaled", math::mul(), &[y, half]).unwrap()[0];
    let sum = model.wire_node("sum", math::add(), &[y, scaled]).unwrap();
    model.select_output_outlets(&sum).unwrap();
    let mut ours = decluttered(model).unwrap();
    substitute_convolutions(&mut ours).unwrap();
    assert!(ours.nodes().iter().any(|n| n.op.name().contains("Add")), "a sum of the output with itself stays");
}
