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

// --- Attention (our own op): shapes and cache lengths that do not fit ---------------------------

/// Attention over (batch 1, 2 heads, any length, head size `head`), with an optional bool mask and
/// `nonpad_kv_seqlen`, causal when asked.
fn attention(mask: bool, nonpad: bool, causal: bool, attrs: Vec<tract_onnx::pb::AttributeProto>) -> Model {
    use common::onnx::*;
    let mut inputs = vec![
        value_info("q", F32, &[1, 2, -1, -3]),
        value_info("k", F32, &[1, 2, -2, -4]),
        value_info("v", F32, &[1, 2, -2, -3]),
    ];
    let mut names = vec!["q", "k", "v"];
    if mask {
        inputs.push(value_info("mask", BOOL, &[-1, -5]));
        names.push("mask");
    } else if nonpad {
        names.push("");
    }
    if nonpad {
        names.extend(["", "", "nonpad"]);
        inputs.push(value_info("nonpad", I64, &[1]));
    }
    let mut attrs = attrs;
    attrs.push(int("is_causal", i64::from(causal)));
    let bytes = model(vec![node("Attention", &names, &["y"], attrs)], inputs, vec![value_info("y", F32, &[])], |_| {});
    Model::load(&bytes, &LoadOptions { backend: BackendChoice::Cpu, ..Default::default() }).unwrap()
}

fn qkv(q_len: usize, kv_len: usize, head: usize, k_head: usize) -> Vec<(&'static str, HostTensor)> {
    let ramp = |n: usize| (0..n).map(|i| ((i % 7) as f32 - 3.0) / 4.0).collect::<Vec<_>>();
    vec![
        ("q", f32s(&[1, 2, q_len, head], &ramp(2 * q_len * head))),
        ("k", f32s(&[1, 2, kv_len, k_head], &ramp(2 * kv_len * k_head))),
        ("v", f32s(&[1, 2, kv_len, head], &ramp(2 * kv_len * head))),
    ]
}

#[test]
fn attention_refuses_shapes_that_do_not_fit_and_takes_any_cache_length() {
    let mut m = attention(false, true, true, vec![]);
    // K's head size differs from Q's.
    let mut feeds = qkv(3, 5, 4, 3);
    feeds.push(("nonpad", i64s(&[1], &[5])));
    let e = run(&mut m, feeds).expect_err("a K head size unlike Q's must be refused");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    // Cache lengths past either end: every key valid, or none (rows of zeros, never NaN).
    for n in [i64::MAX, i64::MIN, -5, 0, 5, 99] {
        let mut feeds = qkv(3, 5, 4, 4);
        feeds.push(("nonpad", i64s(&[1], &[n])));
        let out = run(&mut m, feeds).unwrap_or_else(|e| panic!("nonpad_kv_seqlen {n}: {e}"));
        let TensorData::F32(y) = &out[0].1.data else { panic!("f32 out") };
        assert!(y.iter().all(|x| x.is_finite()), "nonpad_kv_seqlen {n}: {y:?}");
        if n <= 0 {
            assert!(y.iter().all(|&x| x == 0.0), "no valid key: zeros, got {y:?}");
        }
    }
    // The model keeps answering.
    let mut feeds = qkv(2, 2, 4, 4);
    feeds.push(("nonpad", i64s(&[1], &[2])));
    run(&mut m, feeds).unwrap();
}

#[test]
fn attention_refuses_a_mask_longer_than_the_keys_and_a_bad_head_count() {
    let mut m = attention(true, false, false, vec![]);
    let mut feeds = qkv(3, 4, 4, 4);
    feeds.push(("mask", HostTensor::new(vec![3, 6], TensorData::Bool(vec![1; 18])).unwrap()));
    let e = run(&mut m, feeds).expect_err("a mask over 6 keys with 4 keys must be refused");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    assert!(e.to_string().contains("attn_mask"), "{e}");
    let mut feeds = qkv(3, 4, 4, 4);
    feeds.push(("mask", HostTensor::new(vec![5, 4], TensorData::Bool(vec![1; 20])).unwrap()));
    let e = run(&mut m, feeds).expect_err("a mask over 5 queries with 3 queries must be refused");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    // A shorter mask leaves the keys past it masked: the answer is finite.
    let mut feeds = qkv(3, 4, 4, 4);
    feeds.push(("mask", HostTensor::new(vec![3, 2], TensorData::Bool(vec![1; 6])).unwrap()));
    run(&mut m, feeds).unwrap();

    use common::onnx::*;
    let bytes = model(
        vec![node("Attention", &["q", "k", "v"], &["y"], vec![int("q_num_heads", 0), int("kv_num_heads", 1)])],
        vec![value_info("q", F32, &[1, 3, 8]), value_info("k", F32, &[1, 3, 8]), value_info("v", F32, &[1, 3, 8])],
        vec![value_info("y", F32, &[])],
        |_| {},
    );
    let e = Model::load(&bytes, &LoadOptions::default()).err().expect("zero heads must be refused");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    assert!(e.to_string().contains("q_num_heads"), "{e}");
}

// --- our other own ops: values and shapes that do not fit ---------------------------------------

fn load_built(bytes: &[u8]) -> shopfloor::Result<Model> {
    Model::load(bytes, &LoadOptions { backend: BackendChoice::Cpu, ..Default::default() })
}

#[test]
fn center_crop_pad_sizes_are_checked_before_the_plan_is_compiled() {
    use common::onnx::*;
    let bytes = model(
        vec![node("CenterCropPad", &["x", "shape"], &["y"], vec![ints("axes", &[0, 1])])],
        vec![value_info("x", F32, &[-1, -2]), value_info("shape", I64, &[2])],
        vec![value_info("y", F32, &[])],
        |_| {},
    );
    let mut m = load_built(&bytes).unwrap();
    let x = || f32s(&[3, 4], &(0..12).map(|i| i as f32).collect::<Vec<_>>());
    // Crop one axis, pad the other: centred, the odd element at the end.
    let out = run(&mut m, vec![("x", x()), ("shape", i64s(&[2], &[1, 7]))]).unwrap();
    assert_eq!(out[0].1.dims, vec![1, 7]);
    let TensorData::F32(y) = &out[0].1.data else { panic!("f32 out") };
    assert_eq!(y, &[0.0, 4.0, 5.0, 6.0, 7.0, 0.0, 0.0]);
    refused(run(&mut m, vec![("x", x()), ("shape", i64s(&[2], &[-1, 4]))]), ErrorCode::InputMismatch, "shape", "-1");
    let e = run(&mut m, vec![("x", x()), ("shape", i64s(&[2], &[1 << 40, 1 << 40]))])
        .expect_err("a huge pad must be refused");
    assert_eq!(e.code(), ErrorCode::ResourceLimit, "{e}");
    run(&mut m, vec![("x", x()), ("shape", i64s(&[2], &[3, 4]))]).unwrap();
}

#[test]
fn bit_cast_between_widths_and_bad_states_are_typed_errors() {
    use common::onnx::*;
    // f32 to i64: not the same width.
    let bytes = model(
        vec![node("BitCast", &["x"], &["y"], vec![int("to", 7)])],
        vec![value_info("x", F32, &[2])],
        vec![value_info("y", I64, &[])],
        |_| {},
    );
    let e = load_built(&bytes).err().expect("f32 to i64 must be refused");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    assert!(e.to_string().contains("widths"), "{e}");

    // CausalConvWithState with a past state of the wrong length.
    let bytes = model(
        vec![node("CausalConvWithState", &["x", "w", "", "past"], &["y", "state"], vec![])],
        vec![value_info("x", F32, &[1, 2, -1]), value_info("w", F32, &[2, 1, 3]), value_info("past", F32, &[1, 2, -2])],
        vec![value_info("y", F32, &[]), value_info("state", F32, &[])],
        |_| {},
    );
    let mut m = load_built(&bytes).unwrap();
    let w = f32s(&[2, 1, 3], &[1.0, 2.0, 3.0, -1.0, 0.5, 0.25]);
    let x = f32s(&[1, 2, 4], &[1.0; 8]);
    let e = run(&mut m, vec![("x", x.clone()), ("w", w.clone()), ("past", f32s(&[1, 2, 5], &[0.0; 10]))])
        .expect_err("a 5-long state for k = 3");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    let out = run(&mut m, vec![("x", x), ("w", w), ("past", f32s(&[1, 2, 2], &[0.0; 4]))]).unwrap();
    assert_eq!(out[1].1.dims, vec![1, 2, 2], "the next state: the last k-1 inputs");

    // LinearAttention whose key heads do not match the query's head size.
    let bytes = model(
        vec![node(
            "LinearAttention",
            &["q", "k", "v"],
            &["y"],
            vec![int("q_num_heads", 2), int("kv_num_heads", 2), string("update_rule", "linear")],
        )],
        vec![value_info("q", F32, &[1, -1, 8]), value_info("k", F32, &[1, -1, -2]), value_info("v", F32, &[1, -1, 8])],
        vec![value_info("y", F32, &[])],
        |_| {},
    );
    let mut m = load_built(&bytes).unwrap();
    let e = run(
        &mut m,
        vec![
            ("q", f32s(&[1, 2, 8], &[0.5; 16])),
            ("k", f32s(&[1, 2, 6], &[0.5; 12])),
            ("v", f32s(&[1, 2, 8], &[0.5; 16])),
        ],
    )
    .expect_err("key head size 3 against the query's 4");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    run(
        &mut m,
        vec![
            ("q", f32s(&[1, 2, 8], &[0.5; 16])),
            ("k", f32s(&[1, 2, 8], &[0.5; 16])),
            ("v", f32s(&[1, 2, 8], &[0.5; 16])),
        ],
    )
    .unwrap();
}

#[test]
fn affine_grid_and_col2im_sizes_are_checked_before_the_plan_is_compiled() {
    use common::onnx::*;
    let grid = model(
        vec![node("AffineGrid", &["theta", "size"], &["grid"], vec![])],
        vec![value_info("theta", F32, &[-1, 2, 3]), value_info("size", I64, &[4])],
        vec![value_info("grid", F32, &[])],
        |_| {},
    );
    let mut m = load_built(&grid).unwrap();
    let identity = || f32s(&[1, 2, 3], &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0]);
    // The identity transform gives the base grid: pixel centres in [-1, 1], x along the width.
    let out = run(&mut m, vec![("theta", identity()), ("size", i64s(&[4], &[1, 1, 1, 2]))]).unwrap();
    assert_eq!(out[0].1.dims, vec![1, 1, 2, 2]);
    assert_eq!(out[0].1.data, TensorData::F32(vec![-0.5, 0.0, 0.5, 0.0]));
    refused(
        run(&mut m, vec![("theta", identity()), ("size", i64s(&[4], &[1, 1, -3, 2]))]),
        ErrorCode::InputMismatch,
        "size",
        "-3",
    );
    let e = run(&mut m, vec![("theta", identity()), ("size", i64s(&[4], &[1, 1, 1 << 31, 1 << 31]))])
        .expect_err("a huge grid");
    assert_eq!(e.code(), ErrorCode::ResourceLimit, "{e}");
    // A batch of 2 in `size` for a theta of 1.
    let e = run(&mut m, vec![("theta", identity()), ("size", i64s(&[4], &[2, 1, 2, 2]))]).expect_err("batch mismatch");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");

    let col2im = model(
        vec![node("Col2Im", &["x", "image", "block"], &["y"], vec![])],
        vec![value_info("x", F32, &[1, -1, -2]), value_info("image", I64, &[2]), value_info("block", I64, &[2])],
        vec![value_info("y", F32, &[])],
        |_| {},
    );
    let mut m = load_built(&col2im).unwrap();
    // 2 × 2 blocks over a 3 × 3 image: 4 blocks; the centre pixel is in all four.
    let out = run(
        &mut m,
        vec![("x", f32s(&[1, 4, 4], &[1.0; 16])), ("image", i64s(&[2], &[3, 3])), ("block", i64s(&[2], &[2, 2]))],
    )
    .unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![1.0, 2.0, 1.0, 2.0, 4.0, 2.0, 1.0, 2.0, 1.0]));
    // A block larger than the image, and a column count the shapes do not make.
    let e = run(
        &mut m,
        vec![("x", f32s(&[1, 16, 1], &[1.0; 16])), ("image", i64s(&[2], &[3, 3])), ("block", i64s(&[2], &[4, 4]))],
    )
    .expect_err("block > image");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    let e = run(
        &mut m,
        vec![("x", f32s(&[1, 4, 5], &[1.0; 20])), ("image", i64s(&[2], &[3, 3])), ("block", i64s(&[2], &[2, 2]))],
    )
    .expect_err("5 columns for 4 blocks");
    assert_ne!(e.code(), ErrorCode::Internal, "{e}");
    let e = run(
        &mut m,
        vec![
            ("x", f32s(&[1, 4, 4], &[1.0; 16])),
            ("image", i64s(&[2], &[1 << 31, 1 << 31])),
            ("block", i64s(&[2], &[2, 2])),
        ],
    )
    .expect_err("a huge image");
    assert_eq!(e.code(), ErrorCode::ResourceLimit, "{e}");
}

#[test]
fn cum_prod_wraps_integers_as_numpy_does_and_keeps_floats() {
    use common::onnx::*;
    let cumprod = |elem: i32| {
        model(
            vec![node("CumProd", &["x", "axis"], &["y"], vec![int("reverse", 1)])],
            vec![value_info("x", elem, &[3]), value_info("axis", I64, &[])],
            vec![value_info("y", elem, &[])],
            |_| {},
        )
    };
    const I32: i32 = 6;
    let mut m = load_built(&cumprod(I32)).unwrap();
    let x = HostTensor::new(vec![3], TensorData::I32(vec![3, 65536, 65536])).unwrap();
    let out = run(&mut m, vec![("x", x), ("axis", i64s(&[], &[0]))]).unwrap();
    // Reversed: 65536, 65536² (2^32 wraps to 0 in i32), 0.
    assert_eq!(out[0].1.data, TensorData::I32(vec![0, 0, 65536]));
    let x = HostTensor::new(vec![3], TensorData::I32(vec![-2, 3, -7])).unwrap();
    let out = run(&mut m, vec![("x", x), ("axis", i64s(&[], &[0]))]).unwrap();
    assert_eq!(out[0].1.data, TensorData::I32(vec![42, -21, -7]));
    let mut m = load_built(&cumprod(I64)).unwrap();
    let x = HostTensor::new(vec![3], TensorData::I64(vec![i64::MAX, 2, -1])).unwrap();
    let out = run(&mut m, vec![("x", x), ("axis", i64s(&[], &[0]))]).unwrap();
    assert_eq!(out[0].1.data, TensorData::I64(vec![i64::MAX.wrapping_mul(-2), -2, -1]));
    let mut m = load_built(&cumprod(F32)).unwrap();
    let out = run(&mut m, vec![("x", f32s(&[3], &[0.5, -4.0, 1.5])), ("axis", i64s(&[], &[0]))]).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![-3.0, -6.0, 1.5]));
}
