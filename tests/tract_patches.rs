//! What `vendor/tract-core` changes in tract's optimiser (its PATCHED.md): a constant folded
//! through a chain of axis changes in one pass, in place where only the axes' labels change, and
//! weights two layers share left as one tensor. And what `vendor/tract-core` and
//! `vendor/tract-nnef` leave as it was natively: model transforms registered by name (the wasm
//! build leaves them out). And the load-time shortcuts of its PATCHED.md: uniform values remembered
//! per tensor, equal uniform constants shared without comparing them whole.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::konst::Const;
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::optim::Optimizer;

fn f32s(shape: &[usize], values: impl Fn(usize) -> f32) -> Tensor {
    let n = shape.iter().product();
    tract_ndarray::ArrayD::from_shape_vec(shape, (0..n).map(values).collect()).unwrap().into_tensor()
}

/// The graph's constants, after tract's `declutter`.
fn decluttered_consts(model: &mut TypedModel) -> Vec<Arc<Tensor>> {
    Optimizer::declutter().optimize(model).unwrap();
    model.nodes().iter().filter_map(|n| n.op_as::<Const>()).map(|c| c.val().clone()).collect()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.to_plain_array_view::<f32>().unwrap().iter().copied().collect()
}

fn run(model: TypedModel, x: Tensor) -> Vec<f32> {
    let out = model.into_runnable().unwrap().run(tvec!(x.into_tvalue())).unwrap();
    values(&out[0])
}

#[test]
fn a_constant_through_axis_changes_folds_to_their_value() {
    // [1, 2, 3, 1] → drop axis 0 → drop the last → [2, 3] → reshape to [3, 2] → add to x.
    let w = f32s(&[1, 2, 3, 1], |i| i as f32 * 0.5 - 1.0);
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([3, 2])).unwrap();
    let mut k = model.add_const("w", w.clone()).unwrap();
    for (ix, op) in
        [AxisOp::Rm(0), AxisOp::Rm(2), AxisOp::Reshape(0, tvec!(2.into(), 3.into()), tvec!(3.into(), 2.into()))]
            .into_iter()
            .enumerate()
    {
        k = model.wire_node(format!("axes.{ix}"), op, &[k]).unwrap()[0];
    }
    let sum = model.wire_node("sum", math::add(), &[x, k]).unwrap();
    model.select_output_outlets(&sum).unwrap();

    let consts = decluttered_consts(&mut model);
    let folded = consts.iter().find(|t| t.volume() == 6).expect("the folded weights");
    assert_eq!(folded.shape(), &[3, 2]);
    assert_eq!(values(folded), values(&w), "a relabelling keeps the data as it lies");
    assert!(model.nodes().iter().all(|n| !n.op_is::<AxisOp>()), "every axis change went into the constant");

    let x = f32s(&[3, 2], |i| i as f32);
    let expected: Vec<f32> = (0..6).map(|i| i as f32 + (i as f32 * 0.5 - 1.0)).collect();
    assert_eq!(run(model, x), &expected[..]);
}

#[test]
fn a_constant_moved_across_axes_is_transposed_by_its_fold() {
    // A move reorders the data: the fold must evaluate it, not relabel it.
    let w = f32s(&[1, 2, 3], |i| i as f32);
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([3, 2])).unwrap();
    let k = model.add_const("w", w).unwrap();
    let k = model.wire_node("rm", AxisOp::Rm(0), &[k]).unwrap()[0];
    let k = model.wire_node("move", AxisOp::Move(1, 0), &[k]).unwrap()[0];
    let sum = model.wire_node("sum", math::add(), &[x, k]).unwrap();
    model.select_output_outlets(&sum).unwrap();

    Optimizer::declutter().optimize(&mut model).unwrap();
    // w as [2, 3] is [[0, 1, 2], [3, 4, 5]]; moved, [[0, 3], [1, 4], [2, 5]].
    let zeros = f32s(&[3, 2], |_| 0.0);
    assert_eq!(run(model, zeros), &[0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
}

#[test]
fn weights_two_convolutions_share_stay_one_tensor() {
    // Tied weights (one initializer read by two layers, as the ONNX zoo's light models have
    // them): tract's declutter rules put axis changes between them and each product, and folding
    // each reader's changes into a copy of its own would double them in memory. tract's earlier
    // fold (before those rules run) copies shared constants only up to its 4 MiB allowance.
    use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, PaddingSpec, PoolSpec};
    use tract_onnx::tract_core::ops::nn::DataFormat;
    let c = 16;
    let conv = Conv {
        pool_spec: PoolSpec {
            data_format: DataFormat::NCHW,
            kernel_shape: tvec!(1, 1),
            padding: PaddingSpec::Valid,
            dilations: None,
            strides: None,
            input_channels: c,
            output_channels: c,
        },
        kernel_fmt: KernelFormat::OIHW,
        group: 1,
        q_params: None,
    };
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([1, c, 8, 8])).unwrap();
    let w = model.add_const("w", f32s(&[c, c, 1, 1], |i| ((i * 7) % 13) as f32 / 13.0 - 0.5)).unwrap();
    let b = model.add_const("b", f32s(&[c], |i| i as f32 / 16.0)).unwrap();
    let one = model.wire_node("one", conv.clone(), &[x, w, b]).unwrap()[0];
    let two = model.wire_node("two", conv, &[one, w, b]).unwrap();
    model.select_output_outlets(&two).unwrap();
    let input = || f32s(&[1, c, 8, 8], |i| ((i * 5) % 17) as f32 / 17.0);
    let expected = run(model.clone(), input());

    let consts = decluttered_consts(&mut model);
    assert_eq!(consts.iter().filter(|t| t.volume() == c * c).count(), 1, "{model}");
    let got = run(model, input());
    assert!(got.iter().zip(&expected).all(|(a, b)| (a - b).abs() <= 1e-5 * b.abs().max(1.0)));
}

/// Natively every transform is still found by name: tract-core's own (through either of its
/// registration macros or directly), tract-nnef's (whose default build refuses: it needs a body)
/// and tract-transformers'. Only wasm builds leave the registrations out.
#[test]
fn model_transforms_stay_registered_natively() {
    use tract_onnx::tract_core::transform::get_transform;
    for name in ["f32_to_f16", "set_symbols", "conv_nhwc", "detect_apply_rope"] {
        assert!(matches!(get_transform(name), Ok(Some(_))), "{name} is not registered");
    }
    match get_transform("patch") {
        Err(refused) => assert!(format!("{refused}").contains("body"), "{refused}"),
        Ok(found) => {
            panic!("tract-nnef's patch transform should refuse a build without a body (found: {})", found.is_some())
        }
    }
    assert!(matches!(get_transform("no_such_transform"), Ok(None)));
}

/// Large constants' uniform values are remembered per tensor (`TypedFact::try_from`): each new
/// tensor, even one that takes a dropped one's place in memory, gets its own.
#[test]
fn a_large_constants_uniform_value_is_its_own_every_time() {
    let len = 1 << 15; // 128 KiB: past the size from which the value is remembered
    for round in 0..40 {
        let value = round as f32 * 0.5;
        let mut v = vec![value; len];
        if round % 3 == 2 {
            v[len - 1] = -1.0;
        }
        let t = Arc::new(tract_ndarray::Array1::from_vec(v).into_tensor());
        let want = (round % 3 != 2).then(|| tensor0(value));
        for _ in 0..2 {
            let fact = TypedFact::try_from(t.clone()).unwrap();
            assert_eq!(fact.uniform.as_deref().cloned(), want, "round {round}");
            fact.consistent().unwrap();
        }
    }
}

/// `add_const` gives an equal constant's node back, uniform or not, and only an equal one's.
#[test]
fn add_const_shares_equal_constants_only() {
    let mut model = TypedModel::default();
    let uniform = |shape: &[usize], v: f32| f32s(shape, move |_| v);
    let big = [64usize, 64, 3, 3];
    let a = model.add_const("a", uniform(&big, 0.02)).unwrap();
    assert_eq!(model.add_const("b", uniform(&big, 0.02)).unwrap(), a, "the same value, another tensor");
    assert_ne!(model.add_const("c", uniform(&big, 0.03)).unwrap(), a, "another value");
    assert_ne!(model.add_const("d", uniform(&[64, 64, 9, 1], 0.02)).unwrap(), a, "another shape");
    let zeros = model.add_const("z", uniform(&big, 0.0)).unwrap();
    let signed = f32s(&big, |i| if i % 2 == 0 { -0.0 } else { 0.0 });
    assert_eq!(model.add_const("s", signed).unwrap(), zeros, "-0 beside 0 equals 0");
    let nans = model.add_const("n", uniform(&big, f32::NAN)).unwrap();
    // tract's tensors compare NaN equal to NaN.
    assert_eq!(model.add_const("n2", uniform(&big, f32::NAN)).unwrap(), nans, "NaNs as tract compares them");
    assert_ne!(model.add_const("n3", f32s(&big, |i| if i == 7 { 1.0 } else { f32::NAN })).unwrap(), nans);
    let ramp = model.add_const("r", f32s(&big, |i| i as f32)).unwrap();
    assert_eq!(model.add_const("r2", f32s(&big, |i| i as f32)).unwrap(), ramp);
    let mut off = f32s(&big, |i| i as f32);
    off.try_as_plain_ram_mut().unwrap().as_slice_mut::<f32>().unwrap()[100] = -1.0;
    assert_ne!(model.add_const("r3", off).unwrap(), ramp);
}
