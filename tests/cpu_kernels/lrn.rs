//! `ChannelLrn` against tract's ONNX `Lrn`.

use shopfloor::backend::cpu_kernels::substitute;
use shopfloor::backend::optimise::optimized;
use tract_onnx::prelude::*;
use tract_onnx_opl::lrn::Lrn;

use super::{random_tensor, run, Lcg};

/// tract's optimised plan for one LRN, and that plan after `substitute` with how many nodes it
/// replaced.
fn plans(op: Lrn, dt: DatumType, shape: &[usize]) -> (TypedModel, TypedModel, usize) {
    let mut model = TypedModel::default();
    let x = model.add_source("x", dt.fact(shape)).unwrap();
    let y = model.wire_node("lrn", op, &[x]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let tract = optimized(model).unwrap();
    let mut ours = tract.clone();
    let replaced = substitute(&mut ours).unwrap();
    (tract, ours, replaced)
}

/// Largest |a − b| / max(|b|, tiny) over the two tensors; NaNs must sit in the same places.
fn max_rel_diff(got: &Tensor, want: &Tensor) -> f32 {
    let (g, w) = (got.to_plain_array_view::<f32>().unwrap(), want.to_plain_array_view::<f32>().unwrap());
    g.iter().zip(w.iter()).fold(0f32, |worst, (&a, &b)| {
        assert_eq!(a.is_nan(), b.is_nan(), "{a} against tract's {b}");
        if a.is_nan() || a == b {
            worst
        } else {
            worst.max((a - b).abs() / b.abs().max(1e-30))
        }
    })
}

#[test]
fn channel_lrn_matches_tract_on_random_shapes_and_parameters() {
    let mut rng = Lcg(0x1e4);
    for case in 0..400 {
        let rank = rng.in_range(2, 5);
        let mut shape = vec![rng.in_range(1, 2), rng.in_range(1, 13)];
        for _ in 2..rank {
            shape.push(rng.in_range(1, 9));
        }
        let beta = [0.75, 0.5, 1.0, 0.6, 1.3][rng.below(5)];
        let op = Lrn {
            alpha: [1e-4, 2e-5, 0.3, 1.0][rng.below(4)],
            beta,
            bias: [1.0, 2.0, 0.5][rng.below(3)],
            // Odd and even windows, some wider than the channels.
            size: rng.in_range(1, 7),
        };
        let what = format!("case {case}: {op:?} {shape:?}");
        let (tract, ours, replaced) = plans(op, f32::datum_type(), &shape);
        assert_eq!(replaced, 1, "{what} was not replaced");
        assert!(ours.nodes().iter().any(|n| n.op.name() == "ChannelLrn"), "{what}");
        let input = random_tensor(&mut rng, &shape);
        let (want, got) = (run(tract, &input), run(ours, &input));
        assert_eq!(got.shape(), want.shape(), "{what}");
        // The sums are tract's to the bit; the roots stand in for powf within a few ulps.
        let diff = max_rel_diff(&got, &want);
        assert!(diff <= 1e-6, "{what}: max rel. diff {diff:e}");
    }
}

#[test]
fn channel_lrn_keeps_tracts_answer_at_zero_and_non_finite_values() {
    // bias 0 and an all-zero window: 0 / 0 (NaN), as tract; infinities and NaNs pass through.
    let op = Lrn { alpha: 1.0, beta: 0.75, bias: 0.0, size: 3 };
    let shape = [1, 4, 2];
    let (tract, ours, _) = plans(op, f32::datum_type(), &shape);
    let data = vec![0.0, 1.0, 0.0, f32::INFINITY, 0.0, f32::NAN, 0.0, -2.0];
    let input = tract_ndarray::ArrayD::from_shape_vec(shape.to_vec(), data).unwrap().into_tensor();
    let (want, got) = (run(tract, &input), run(ours, &input));
    assert_eq!(max_rel_diff(&got, &want), 0.0);
}

#[test]
fn channel_lrn_leaves_other_types_to_tract() {
    let op = Lrn { alpha: 1e-4, beta: 0.75, bias: 1.0, size: 5 };
    let (_, ours, replaced) = plans(op, f64::datum_type(), &[1, 6, 3, 3]);
    assert_eq!(replaced, 0);
    assert!(ours.nodes().iter().all(|n| n.op.name() != "ChannelLrn"));
}
