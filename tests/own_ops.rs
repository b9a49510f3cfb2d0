//! Our own ONNX ops (src/model/own_ops/) on what the node suite does not cover: shapes that cannot
//! go together and values that would crash or exhaust a naive kernel are typed errors (never
//! `INTERNAL`), sizes fed as values are held to the budget, and a few results are checked by hand.

use std::collections::HashMap;

mod common;

use shopfloor::{BackendChoice, ErrorCode, HostTensor, LoadOptions, Model, TensorData};

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

/// One-cell LSTM over (seq 3, batch 1, 1 input), `direction` as given, `sequence_lens` optional.
fn lstm(direction: &str, with_lens: bool) -> Vec<u8> {
    use common::onnx::*;
    let w = f32_init("w", &[1, 4, 1], &[0.5, -0.3, 0.8, 0.2]);
    let r = f32_init("r", &[1, 4, 1], &[0.1, 0.4, -0.2, 0.3]);
    let mut inputs = vec!["x", "w", "r"];
    let mut io = vec![value_info("x", F32, &[3, 1, 1])];
    if with_lens {
        inputs.extend(["", "lens"]);
        io.push(value_info("lens", 6, &[1]));
    }
    model(
        vec![node("LSTM", &inputs, &["y", "y_h"], vec![int("hidden_size", 1), string("direction", direction)])],
        io,
        vec![value_info("y", F32, &[]), value_info("y_h", F32, &[])],
        |g| g.initializer.extend([w, r]),
    )
}

#[test]
fn a_reverse_lstm_is_the_forward_one_over_the_reversed_sequence() {
    let mut fwd = Model::load(&lstm("forward", false), &LoadOptions::default()).unwrap();
    let mut rev = Model::load(&lstm("reverse", false), &LoadOptions::default()).unwrap();
    assert!(rev.info().loader_fixes.iter().any(|f| f.contains("reverse")), "{:?}", rev.info().loader_fixes);
    let x = [0.9f32, -0.4, 0.3];
    let backwards: Vec<f32> = x.iter().rev().copied().collect();
    let f = run(&mut fwd, vec![("x", f32s(&[3, 1, 1], &backwards))]).unwrap();
    let r = run(&mut rev, vec![("x", f32s(&[3, 1, 1], &x))]).unwrap();
    let (TensorData::F32(yf), TensorData::F32(yr)) = (&f[0].1.data, &r[0].1.data) else { panic!("f32 outputs") };
    let yf_back: Vec<f32> = yf.iter().rev().copied().collect();
    assert_eq!(yr, &yf_back, "Y[t] of the reverse pass is Y[T-1-t] of the forward pass over the reversed input");
    assert_eq!(r[1].1.data, f[1].1.data, "Y_h: the state after the whole sequence");
    // Per-batch lengths would need each sequence reversed over its own length: refused, not wrong.
    let e = Model::load(&lstm("reverse", true), &LoadOptions::default()).err().expect("reverse with sequence_lens");
    assert_eq!(e.code(), ErrorCode::UnsupportedOp, "{e}");
    assert!(e.to_string().contains("sequence_lens"), "{e}");
}

// --- ConstantOfShape (our own op: the tensor made once) ------------------------------------------

fn filled(value: f32) -> tract_onnx::pb::AttributeProto {
    use common::onnx::*;
    let t = f32_init("", &[1], &[value]);
    tract_onnx::pb::AttributeProto { name: "value".into(), r#type: 4, t: Some(t), ..Default::default() }
}

#[test]
fn constant_of_shape_of_a_known_shape_keeps_each_node_its_own_value() {
    use common::onnx::*;
    // Two nodes of the same shape and different values, one of them read twice.
    let bytes = model(
        vec![
            node("ConstantOfShape", &["s"], &["a"], vec![filled(1.5)]),
            node("ConstantOfShape", &["s"], &["b"], vec![filled(-2.0)]),
            node("Add", &["x", "a"], &["xa"], vec![]),
            node("Mul", &["xa", "b"], &["xab"], vec![]),
            node("Sub", &["xab", "a"], &["y"], vec![]),
        ],
        vec![value_info("x", F32, &[2, 3])],
        vec![value_info("y", F32, &[2, 3])],
        |g| g.initializer.push(i64_init("s", &[2], &[2, 3])),
    );
    let mut m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    let x = [0.0f32, 1.0, -1.0, 2.5, 3.0, -0.5];
    let out = run(&mut m, vec![("x", f32s(&[2, 3], &x))]).unwrap();
    let want: Vec<f32> = x.iter().map(|v| (v + 1.5) * -2.0 - 1.5).collect();
    assert_eq!(out[0].1.data, TensorData::F32(want));
}

#[test]
fn constant_of_shape_of_a_symbolic_shape_follows_the_input() {
    use common::onnx::*;
    let bytes = model(
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("ConstantOfShape", &["s"], &["z"], vec![filled(2.5)]),
            node("Add", &["x", "z"], &["y"], vec![]),
        ],
        vec![value_info("x", F32, &[-1, 3])],
        vec![value_info("y", F32, &[-1, 3])],
        |_| {},
    );
    let mut m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    for rows in [1usize, 4, 2] {
        let x: Vec<f32> = (0..rows * 3).map(|i| i as f32).collect();
        let out = run(&mut m, vec![("x", f32s(&[rows, 3], &x))]).unwrap();
        assert_eq!(out[0].1.dims, vec![rows, 3]);
        assert_eq!(out[0].1.data, TensorData::F32(x.iter().map(|v| v + 2.5).collect()), "{rows} rows");
    }
}
