//! tract's binary ops after `vendor/tract-core`'s size patch (its PATCHED.md): f32 through a loop
//! per op, every other element type through one loop per type that calls the op's element
//! function. Each type, both ways (out of place, in place), same shapes and broadcast, against the
//! values computed here element by element.

use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::BinMiniOp;
use tract_onnx::tract_core::ops::logic;
use tract_onnx::tract_core::ops::logic as comparison;
use tract_onnx::tract_core::ops::math;

const FULL: [usize; 3] = [2, 3, 4];
/// Broadcast along the first and last axes.
const PART: [usize; 3] = [1, 3, 1];

/// Pairs of shapes that broadcast to `FULL` (after the same shapes and `FULL` against `PART`,
/// either way round): fewer axes, both sides broadcast, a scalar, a broadcast run innermost or
/// outermost, axes that merge into one run.
const PAIRS: [(&[usize], &[usize]); 9] = [
    (&FULL, &PART),
    (&PART, &FULL),
    (&FULL, &FULL),
    (&FULL, &[3, 4]),
    (&FULL, &[4]),
    (&[2, 1, 4], &[1, 3, 1]),
    (&[1, 1, 1], &FULL),
    (&FULL, &[2, 1, 1]),
    (&[2, 3, 1], &[1, 1, 4]),
];

/// A flat index into a tensor of `shape` broadcast to `FULL`, for `FULL`'s flat index `i`
/// (`shape`'s missing axes lead, as 1s).
fn index_in(shape: &[usize], i: usize) -> usize {
    let (mut rest, mut index, mut stride) = (i, 0, 1);
    let lead = FULL.len() - shape.len();
    for (axis, &n) in FULL.iter().enumerate().rev() {
        let coord = rest % n;
        rest /= n;
        let own = if axis >= lead { shape[axis - lead] } else { 1 };
        if own != 1 {
            index += coord * stride;
        }
        stride *= own;
    }
    index
}

fn tensor<T: Datum>(shape: &[usize], value: impl Fn(usize) -> T) -> Tensor {
    let n = shape.iter().product();
    tract_ndarray::ArrayD::from_shape_vec(shape, (0..n).map(value).collect()).unwrap().into_tensor()
}

fn values<T: Datum>(t: &Tensor) -> Vec<T> {
    t.to_plain_array_view::<T>().unwrap().iter().cloned().collect()
}

/// `op` on `a` and `b` out of place (each broadcast to the other, and at the same shape) and in
/// place where the types allow, against `expected(a[i], b[j])` at every element.
fn check<T: Datum + PartialEq + Copy, C: Datum + PartialEq + Copy>(
    op: &dyn BinMiniOp,
    a_at: impl Fn(usize) -> T,
    b_at: impl Fn(usize) -> T,
    expected: impl Fn(T, T) -> C,
) {
    for (a_shape, b_shape) in PAIRS {
        let (a, b) = (tensor(a_shape, &a_at), tensor(b_shape, &b_at));
        let want: Vec<C> = (0..FULL.iter().product())
            .map(|i| expected(a_at(index_in(a_shape, i)), b_at(index_in(b_shape, i))))
            .collect();
        let what = format!("{} on {:?}, {a_shape:?} and {b_shape:?}", op.name(), T::datum_type());
        let mut c = Tensor::zero_dt(C::datum_type(), &FULL).unwrap();
        op.eval_out_of_place(&mut c, &a, &b).unwrap();
        assert!(values::<C>(&c) == want, "{what}: out of place");
        if C::datum_type() == T::datum_type() && a_shape == FULL {
            let mut in_a = a.clone();
            op.eval_in_a(&mut in_a, &b).unwrap();
            assert!(values::<C>(&in_a) == want, "{what}: in place");
        }
    }
}

macro_rules! arithmetic {
    ($($t:ty),*) => {$(
        // `a` in 10..25, `b` in 1..6: no overflow (i8 too), no division by zero.
        let a = |i: usize| (10 + (i * 7) % 15) as $t;
        let b = |i: usize| (1 + (i * 3) % 5) as $t;
        check(&math::Add, a, b, |x: $t, y: $t| x + y);
        check(&math::Sub, a, b, |x: $t, y: $t| x - y);
        check(&math::Mul, a, b, |x: $t, y: $t| x * y);
        check(&math::Div, a, b, |x: $t, y: $t| x / y);
        check(&math::Min, a, b, |x: $t, y: $t| if x < y { x } else { y });
        check(&math::Max, a, b, |x: $t, y: $t| if x > y { x } else { y });
        check(&*comparison::comp_lt(), a, b, |x: $t, y: $t| x < y);
        check(&*comparison::comp_eq(), a, |i| a(i * 5), |x: $t, y: $t| x == y);
        check(&*comparison::comp_gte(), a, b, |x: $t, y: $t| x >= y);
    )*};
}

#[test]
fn arithmetic_and_comparisons_on_every_number_type_both_ways() {
    arithmetic!(f32, f64, i8, i16, i32, i64, u8, u16, u32, u64);
    // f16 through its own conversions (not `as`).
    use tract_onnx::tract_core::prelude::f16;
    let (a, b) = (|i: usize| f16::from_f32((i % 7) as f32 * 0.5), |i: usize| f16::from_f32(1.0 + (i % 3) as f32));
    check(&math::Mul, a, b, |x: f16, y: f16| x * y);
    check(&math::Sub, a, b, |x: f16, y: f16| x - y);
    check(&*comparison::comp_gt(), a, b, |x: f16, y: f16| x > y);
}

#[test]
fn logical_ops_on_booleans_both_ways() {
    let a = |i: usize| i.is_multiple_of(3);
    let b = |i: usize| i.is_multiple_of(2);
    check(&logic::And, a, b, |x: bool, y: bool| x && y);
    check(&logic::Or, a, b, |x: bool, y: bool| x || y);
    check(&logic::Xor, a, b, |x: bool, y: bool| x ^ y);
}

#[test]
fn shapes_as_tdims_add_and_multiply() {
    let a = |i: usize| TDim::from(i as i64);
    let b = |i: usize| TDim::from(2 + i as i64);
    let (a_shape, b_shape) = ([2usize, 3], [1usize, 3]);
    for op in [&math::Add as &dyn BinMiniOp, &math::Mul] {
        let c =
            op.eval(tensor(&a_shape, a).into_tvalue(), tensor(&b_shape, b).into_tvalue(), TDim::datum_type()).unwrap();
        let got: Vec<i64> = values::<TDim>(&c).iter().map(|d| d.to_i64().unwrap()).collect();
        let want: Vec<i64> = (0..6)
            .map(|i| {
                let (x, y) = (i as i64, 2 + (i % 3) as i64);
                if op.name() == "Add" {
                    x + y
                } else {
                    x * y
                }
            })
            .collect();
        assert_eq!(got, want, "{}", op.name());
    }
}

/// Shapes that do not broadcast are an error, not a panic (ndarray's `Zip` panicked on them).
#[test]
fn shapes_that_do_not_broadcast_are_an_error() {
    let a = tensor(&FULL, |i| i as f32);
    for b_shape in [&[5usize][..], &[3, 5], &[2, 3, 4, 1]] {
        let b = tensor(b_shape, |i| i as f32);
        let mut c = Tensor::zero::<f32>(&FULL).unwrap();
        assert!(math::Add.eval_out_of_place(&mut c, &a, &b).is_err(), "{b_shape:?}");
        let mut in_a = a.clone();
        assert!(math::Add.eval_in_a(&mut in_a, &b).is_err(), "{b_shape:?} in place");
    }
}
