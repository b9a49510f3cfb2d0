//! `WindowMaxPool` against tract's max pool.

use shopfloor::backend::cpu_kernels::substitute;
use shopfloor::backend::optimise::optimized;
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::cnn::{MaxPool, PaddingSpec, PoolSpec};
use tract_onnx::tract_core::ops::nn::DataFormat;

use super::{pool_spec, run, Lcg};

/// tract's optimised plan for one max pool, and that plan after `substitute` with how many nodes
/// it replaced.
fn plans(
    spec: PoolSpec,
    with_index: Option<DatumType>,
    dt: DatumType,
    shape: &[usize],
) -> (TypedModel, TypedModel, usize) {
    let mut model = TypedModel::default();
    let x = model.add_source("x", dt.fact(shape)).unwrap();
    let y = model.wire_node("pool", MaxPool { pool_spec: spec, with_index_outputs: with_index }, &[x]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let tract = optimized(model).unwrap();
    let mut ours = tract.clone();
    let replaced = substitute(&mut ours).unwrap();
    (tract, ours, replaced)
}

#[test]
fn window_max_pool_matches_tract_on_random_shapes_and_both_layouts() {
    let mut rng = Lcg(0x5eed);
    for case in 0..300 {
        let format = [DataFormat::NCHW, DataFormat::NHWC, DataFormat::CHW, DataFormat::HWC][case % 4];
        let kernel = [rng.in_range(1, 3), rng.in_range(1, 3)];
        let (n, c) = (rng.in_range(1, 2), rng.in_range(1, 11));
        // Sides from one window to five and a bit: some not a multiple of the window.
        let (h, w) = (rng.in_range(kernel[0], 5 * kernel[0] + 2), rng.in_range(kernel[1], 9 * kernel[1] + 3));
        let padding = [
            PaddingSpec::Valid,
            PaddingSpec::Explicit(tvec!(0, 0), tvec!(0, 0)),
            PaddingSpec::ExplicitOnnxPool(tvec!(0, 0), tvec!(0, 0), false),
        ][rng.below(3)]
        .clone();
        let shape: Vec<usize> = match format {
            DataFormat::NCHW => vec![n, c, h, w],
            DataFormat::NHWC => vec![n, h, w, c],
            DataFormat::CHW => vec![c, h, w],
            DataFormat::HWC => vec![h, w, c],
        };
        let spec = pool_spec(format, kernel, kernel, padding.clone(), c);
        let (tract, ours, replaced) = plans(spec, None, f32::datum_type(), &shape);
        assert_eq!(replaced, 1, "case {case}: {format:?} {kernel:?} {padding:?} {shape:?} was not replaced");
        assert!(ours.nodes().iter().any(|n| n.op.name() == "WindowMaxPool"));
        let len: usize = shape.iter().product();
        let data: Vec<f32> = (0..len).map(|_| rng.f32()).collect();
        let input = tract_ndarray::ArrayD::from_shape_vec(shape.clone(), data).unwrap().into_tensor();
        let (want, got) = (run(tract, &input), run(ours, &input));
        assert_eq!(got.shape(), want.shape(), "case {case}: {format:?} {kernel:?} {shape:?}");
        assert_eq!(
            got.to_plain_array_view::<f32>().unwrap(),
            want.to_plain_array_view::<f32>().unwrap(),
            "case {case}: {format:?} {kernel:?} {shape:?}"
        );
    }
}

/// Overlapping, strided and padded windows (explicit, same, ONNX's with ceil mode), both layouts:
/// tract's answers to the bit, zeros' signs included (ties resolve in tract's tap order).
#[test]
fn window_max_pool_matches_tract_on_any_window_stride_and_padding() {
    let mut rng = Lcg(0x9001);
    for case in 0..600 {
        let format = [DataFormat::NCHW, DataFormat::NHWC, DataFormat::CHW, DataFormat::HWC][case % 4];
        let kernel = [rng.in_range(1, 5), rng.in_range(1, 5)];
        let strides = [rng.in_range(1, 3), rng.in_range(1, 3)];
        let pad = |rng: &mut Lcg, k: usize| rng.below(k);
        let (before, after) = (
            [pad(&mut rng, kernel[0]), pad(&mut rng, kernel[1])],
            [pad(&mut rng, kernel[0]), pad(&mut rng, kernel[1])],
        );
        let padding = match rng.below(5) {
            0 => PaddingSpec::Valid,
            1 => PaddingSpec::Explicit(tvec!(before[0], before[1]), tvec!(after[0], after[1])),
            2 => PaddingSpec::SameUpper,
            3 => PaddingSpec::SameLower,
            _ => {
                PaddingSpec::ExplicitOnnxPool(tvec!(before[0], before[1]), tvec!(after[0], after[1]), rng.below(2) == 0)
            }
        };
        let (n, c) = (rng.in_range(1, 2), rng.in_range(1, 11));
        // At least one window's worth of rows and columns, up to a few vectors of outputs.
        let (h, w) = (rng.in_range(kernel[0], kernel[0] + 12), rng.in_range(kernel[1], kernel[1] + 40));
        let shape: Vec<usize> = match format {
            DataFormat::NCHW => vec![n, c, h, w],
            DataFormat::NHWC => vec![n, h, w, c],
            DataFormat::CHW => vec![c, h, w],
            DataFormat::HWC => vec![h, w, c],
        };
        let what = format!("case {case}: {format:?} {kernel:?}/{strides:?} {padding:?} {shape:?}");
        let spec = pool_spec(format, kernel, strides, padding, c);
        let (tract, ours, replaced) = plans(spec, None, f32::datum_type(), &shape);
        assert_eq!(replaced, 1, "{what} was not replaced");
        let len: usize = shape.iter().product();
        let data: Vec<f32> = (0..len)
            .map(|_| {
                let v = rng.f32();
                if v == 0.0 && rng.below(2) == 0 {
                    -0.0
                } else {
                    v
                }
            })
            .collect();
        let input = tract_ndarray::ArrayD::from_shape_vec(shape.clone(), data).unwrap().into_tensor();
        let (want, got) = (run(tract, &input), run(ours, &input));
        assert_eq!(got.shape(), want.shape(), "{what}");
        let bits = |t: &Tensor| t.to_plain_array_view::<f32>().unwrap().iter().map(|v| v.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&got), bits(&want), "{what}");
    }
}

#[test]
fn window_max_pool_leaves_other_pools_to_tract() {
    let nchw = [1, 3, 8, 8];
    let cases: Vec<(&str, PoolSpec, Option<DatumType>, DatumType)> = vec![
        (
            "dilation",
            PoolSpec {
                dilations: Some(tvec!(2, 2)),
                ..pool_spec(DataFormat::NCHW, [2, 2], [1, 1], PaddingSpec::Valid, 3)
            },
            None,
            f32::datum_type(),
        ),
        (
            "index output",
            pool_spec(DataFormat::NCHW, [2, 2], [2, 2], PaddingSpec::Valid, 3),
            Some(i64::datum_type()),
            f32::datum_type(),
        ),
        ("integers", pool_spec(DataFormat::NCHW, [2, 2], [2, 2], PaddingSpec::Valid, 3), None, i32::datum_type()),
    ];
    for (what, spec, index, dt) in cases {
        let (_, ours, replaced) = plans(spec, index, dt, &nchw);
        assert_eq!(replaced, 0, "{what}");
        assert!(ours.nodes().iter().all(|n| n.op.name() != "WindowMaxPool"), "{what}");
    }
}

#[test]
fn window_max_pool_keeps_minus_infinity_and_nans_as_tract_would() {
    // A window of -inf only is -inf (tract's 2×2 path starts from f32::MIN; ONNX says -inf), and
    // a NaN folds as `acc < v ? v : acc` does.
    let spec = pool_spec(DataFormat::NCHW, [1, 2], [1, 2], PaddingSpec::Valid, 1);
    let (_, ours, replaced) = plans(spec, None, f32::datum_type(), &[1, 1, 1, 6]);
    assert_eq!(replaced, 1);
    let input = tensor1(&[f32::NEG_INFINITY, f32::NEG_INFINITY, 1.0, f32::NAN, f32::NAN, 2.0])
        .into_shape(&[1, 1, 1, 6])
        .unwrap();
    let out = run(ours, &input);
    let v: Vec<f32> = out.to_plain_array_view::<f32>().unwrap().iter().copied().collect();
    assert_eq!(v[0], f32::NEG_INFINITY);
    assert_eq!(v[1], 1.0);
    assert!(v[2].is_nan());
}

#[test]
fn padded_windows_keep_minus_infinity_and_nans_as_the_tiled_ones_do() {
    // 1×3 windows, stride 1, one column of padding each side, over [-inf, -inf, 1, NaN, 2]: a
    // window's first valid tap starts it, the others fold as `acc < v ? v : acc`.
    let pad = PaddingSpec::Explicit(tvec!(0, 1), tvec!(0, 1));
    let spec = pool_spec(DataFormat::NCHW, [1, 3], [1, 1], pad, 1);
    let (_, ours, replaced) = plans(spec, None, f32::datum_type(), &[1, 1, 1, 5]);
    assert_eq!(replaced, 1);
    let input = tensor1(&[f32::NEG_INFINITY, f32::NEG_INFINITY, 1.0, f32::NAN, 2.0]).into_shape(&[1, 1, 1, 5]).unwrap();
    let out = run(ours, &input);
    let v: Vec<f32> = out.to_plain_array_view::<f32>().unwrap().iter().copied().collect();
    assert_eq!(&v[..4], &[f32::NEG_INFINITY, 1.0, 1.0, 2.0]);
    assert!(v[4].is_nan(), "a window whose first tap is NaN stays NaN, as a tiled one does: {v:?}");
}
