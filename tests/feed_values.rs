//! Feeds whose *values* would crash or exhaust a naive runtime (out-of-range indices, integer
//! division by zero, TopK's k past its axis, Range without end) are refused with a typed error
//! that names the input, never a panic (`INTERNAL`) or a silent answer; the model keeps working.
//! The models are built here and kept in tests/fixtures/values (make_value_models.py) for the
//! browser test; the fuzz target `feed_values` covers the same families with random values.

use std::collections::HashMap;
use std::path::PathBuf;

mod common;

use shopfloor::{BackendChoice, ErrorCode, HostTensor, LoadOptions, Model, TensorData};

fn load(name: &str, max_tensor_bytes: u64) -> Model {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("tests/fixtures/values/{name}.onnx"));
    let opts = LoadOptions { backend: BackendChoice::Cpu, max_tensor_bytes, ..Default::default() };
    Model::load(&std::fs::read(path).unwrap(), &opts).unwrap_or_else(|e| panic!("{name}: {e}"))
}

fn i64s(dims: &[usize], v: &[i64]) -> HostTensor {
    HostTensor::new(dims.to_vec(), TensorData::I64(v.to_vec())).unwrap()
}

fn f32s(dims: &[usize], v: &[f32]) -> HostTensor {
    HostTensor::new(dims.to_vec(), TensorData::F32(v.to_vec())).unwrap()
}

fn run(m: &mut Model, feeds: Vec<(&str, HostTensor)>) -> shopfloor::Result<Vec<(String, HostTensor)>> {
    m.run(feeds.into_iter().map(|(k, v)| (k.to_string(), v)).collect::<HashMap<_, _>>())
}

/// Expects `code`, with a message that names `input` and contains `says`.
fn refused(r: shopfloor::Result<Vec<(String, HostTensor)>>, code: ErrorCode, input: &str, says: &str) {
    let e = r.expect_err("must be refused");
    assert_eq!(e.code(), code, "{e}");
    let msg = e.to_string();
    assert!(msg.contains(&format!("\"{input}\"")) || code == ErrorCode::ResourceLimit, "{msg}");
    assert!(msg.contains(says), "{msg}");
}

#[test]
fn gather_indices_out_of_range_are_input_mismatch() {
    let mut m = load("gather", 1 << 30);
    for bad in [5, -6, i64::MAX, i64::MIN] {
        refused(
            run(&mut m, vec![("i", i64s(&[2], &[0, bad]))]),
            ErrorCode::InputMismatch,
            "i",
            &format!("got index {bad}"),
        );
    }
    // In range (negative from the end) still answers, right after the refusals.
    let out = run(&mut m, vec![("i", i64s(&[2], &[4, -5]))]).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![12.0, 13.0, 14.0, 0.0, 1.0, 2.0]));
}

#[test]
fn integer_division_by_zero_and_overflow_are_input_mismatch() {
    let mut m = load("div_i64", 1 << 30);
    refused(
        run(&mut m, vec![("a", i64s(&[4], &[1, 2, 3, 4])), ("b", i64s(&[4], &[1, 0, 1, 1]))]),
        ErrorCode::InputMismatch,
        "b",
        "by zero",
    );
    refused(
        run(&mut m, vec![("a", i64s(&[4], &[i64::MIN, 2, 3, 4])), ("b", i64s(&[4], &[-1, 1, 1, 1]))]),
        ErrorCode::InputMismatch,
        "b",
        "overflows",
    );
    let out = run(&mut m, vec![("a", i64s(&[4], &[7, -7, 9, 4])), ("b", i64s(&[4], &[2, 2, -3, 4]))]).unwrap();
    assert_eq!(out[0].1.data, TensorData::I64(vec![3, -3, -3, 1]));
}

#[test]
fn topk_k_past_its_axis_is_input_mismatch_not_zeros() {
    let mut m = load("topk", 1 << 30);
    let x = || f32s(&[6], &[3.0, 1.0, 4.0, 1.5, 9.0, 2.0]);
    for k in [7, -1, i64::MAX] {
        refused(run(&mut m, vec![("x", x()), ("k", i64s(&[1], &[k]))]), ErrorCode::InputMismatch, "k", "top");
    }
    let out = run(&mut m, vec![("x", x()), ("k", i64s(&[1], &[2]))]).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![9.0, 4.0]));
}

#[test]
fn range_without_end_or_over_the_budget_is_refused() {
    let mut m = load("range_i64", 1 << 20);
    let s = |v: i64| i64s(&[], &[v]);
    refused(run(&mut m, vec![("s", s(0)), ("l", s(10)), ("d", s(0))]), ErrorCode::InputMismatch, "d", "step of 0");
    refused(
        run(&mut m, vec![("s", s(0)), ("l", s(i64::MAX)), ("d", s(1))]),
        ErrorCode::ResourceLimit,
        "l",
        "maxTensorBytes",
    );
    let out = run(&mut m, vec![("s", s(2)), ("l", s(11)), ("d", s(3))]).unwrap();
    assert_eq!(out[0].1.data, TensorData::I64(vec![2, 5, 8]));
    // Ending near the type's edge: the step after the last element would overflow (the fuzzer's
    // third finding, input `0bc6 c6c6 …`).
    for (start, limit, step) in [(1 << 62, 3 << 61, 1 << 62), (-(3 << 61), -(7 << 60), -(1 << 62))] {
        refused(
            run(&mut m, vec![("s", s(start)), ("l", s(limit)), ("d", s(step))]),
            ErrorCode::InputMismatch,
            "d",
            "past the range of I64",
        );
    }
    // Bounds past 2^53, where tract's floating-point length would be wrong, are refused too.
    refused(
        run(&mut m, vec![("s", s(i64::MAX - 2)), ("l", s(i64::MAX)), ("d", s(1))]),
        ErrorCode::InputMismatch,
        "d",
        "lose precision",
    );
    let big = 1 << 52;
    let out = run(&mut m, vec![("s", s(big)), ("l", s(big + 3)), ("d", s(1))]).unwrap();
    assert_eq!(out[0].1.data, TensorData::I64(vec![big, big + 1, big + 2]));
}

#[test]
fn scatter_indices_out_of_range_are_input_mismatch() {
    let mut m = load("scatter_elements", 1 << 30);
    let d = || f32s(&[5, 3], &[0.0; 15]);
    let u = || f32s(&[2, 3], &[1.0; 6]);
    refused(
        run(&mut m, vec![("d", d()), ("i", i64s(&[2, 3], &[0, 1, 3, 0, 0, 0])), ("u", u())]),
        ErrorCode::InputMismatch,
        "i",
        "got index 3",
    );
    assert!(run(&mut m, vec![("d", d()), ("i", i64s(&[2, 3], &[0, 1, 2, -1, -2, -3])), ("u", u())]).is_ok());
}

/// GatherND and ScatterND take index tuples that count from the end (ONNX: `-s..s`); tract's
/// kernels read them unsigned (GatherND panicked on -1: the `feed_values` fuzzer's first
/// finding, `fuzz/artifacts` input `fa0a ff…`), so they are wrapped before it sees them.
#[test]
fn nd_index_tuples_from_the_end_are_the_same_as_from_the_start() {
    use common::onnx::{f32_init, model, node, value_info, F32, I64};
    let opts = LoadOptions { backend: BackendChoice::Cpu, ..Default::default() };
    let data: Vec<f32> = (0..15).map(|i| i as f32).collect();
    let gather = model(
        vec![node("GatherND", &["d", "i"], &["y"], vec![])],
        vec![value_info("i", I64, &[-1, 2])],
        vec![value_info("y", F32, &[])],
        |g| g.initializer.push(f32_init("d", &[5, 3], &data)),
    );
    let mut m = Model::load(&gather, &opts).unwrap();
    let from_end = run(&mut m, vec![("i", i64s(&[2, 2], &[-1, -1, -5, 1]))]).unwrap();
    let from_start = run(&mut m, vec![("i", i64s(&[2, 2], &[4, 2, 0, 1]))]).unwrap();
    assert_eq!(from_end[0].1.data, TensorData::F32(vec![14.0, 1.0]));
    assert_eq!(from_end, from_start);
    refused(run(&mut m, vec![("i", i64s(&[1, 2], &[-6, 0]))]), ErrorCode::InputMismatch, "i", "got index -6");

    let scatter = model(
        vec![node("ScatterND", &["d", "i", "u"], &["y"], vec![])],
        vec![value_info("d", F32, &[5, 3]), value_info("i", I64, &[2, 1]), value_info("u", F32, &[2, 3])],
        vec![value_info("y", F32, &[])],
        |_| {},
    );
    let mut m = Model::load(&scatter, &opts).unwrap();
    let feeds =
        |i: &[i64]| vec![("d", f32s(&[5, 3], &data)), ("i", i64s(&[2, 1], i)), ("u", f32s(&[2, 3], &[-1.0; 6]))];
    let from_end = run(&mut m, feeds(&[-1, -5])).unwrap();
    assert_eq!(from_end, run(&mut m, feeds(&[4, 0])).unwrap());
    let TensorData::F32(y) = &from_end[0].1.data else { panic!() };
    assert_eq!((&y[..3], &y[12..]), (&[-1.0; 3][..], &[-1.0; 3][..]));
}

/// OneHot indices outside `-depth..depth` made tract index past its output (the fuzzer's second
/// finding, input `6c5b 9393 …`); ONNX (and onnxruntime) answer them with an all-off row.
#[test]
fn one_hot_indices_past_the_depth_give_all_off_rows() {
    use common::onnx::{f32_init, i64_init, int, model, node, value_info, F32, I64};
    for axis in [-1, 0] {
        let bytes = model(
            vec![node("OneHot", &["i", "depth", "vals"], &["y"], vec![int("axis", axis)])],
            vec![value_info("i", I64, &[-1])],
            vec![value_info("y", F32, &[])],
            |g| {
                g.initializer.push(i64_init("depth", &[], &[3]));
                g.initializer.push(f32_init("vals", &[2], &[-1.0, 5.0]));
            },
        );
        let mut m = Model::load(&bytes, &LoadOptions { backend: BackendChoice::Cpu, ..Default::default() }).unwrap();
        let out = run(&mut m, vec![("i", i64s(&[5], &[1, 3, -1, i64::MIN, (1 << 32) + 1]))]).unwrap();
        let rows = [[-1.0, 5.0, -1.0], [-1.0; 3], [-1.0, -1.0, 5.0], [-1.0; 3], [-1.0; 3]];
        let want: Vec<f32> =
            if axis == -1 { rows.concat() } else { (0..3).flat_map(|d| rows.iter().map(move |r| r[d])).collect() };
        assert_eq!(out[0].1.data, TensorData::F32(want), "axis {axis}");
    }
}
