//! Loading: every error code from a real bad input, the loader fixes for real-world exports, and
//! the model still working after each failure.

mod common;

use std::collections::HashMap;

use common::onnx::*;
use common::*;
use shopfloor::{ErrorCode, HostTensor, LoadOptions, Model, TensorData};
use tract_onnx::pb;

fn blazeface() -> Option<Vec<u8>> {
    cached("blazeface/face_detection_front_128.onnx").map(|p| std::fs::read(p).unwrap())
}

fn code_of(r: shopfloor::Result<Model>) -> (ErrorCode, String) {
    match r {
        Ok(_) => panic!("expected an error, the model loaded"),
        Err(e) => (e.code(), e.to_string()),
    }
}

fn face_input(v: f32) -> HashMap<String, HostTensor> {
    HashMap::from([("input:0".into(), HostTensor::f32(vec![1, 128, 128, 3], vec![v; 128 * 128 * 3]).unwrap())])
}

/// After any error, loading and running a good model still works.
fn still_works(bytes: &[u8]) {
    let mut m = Model::load(bytes, &LoadOptions::default()).unwrap();
    let out = m.run(face_input(0.5)).unwrap();
    assert_eq!(out[0].1.dims, vec![1, 512, 1]);
}

// --- tiny hand-built models -------------------------------------------------------------------

fn scalar_bool(name: &str, v: bool) -> pb::TensorProto {
    pb::TensorProto { name: name.into(), data_type: BOOL, raw_data: vec![u8::from(v)], ..Default::default() }
}

fn run1(bytes: &[u8], name: &str, t: HostTensor) -> shopfloor::Result<Vec<(String, HostTensor)>> {
    Model::load(bytes, &LoadOptions::default())?.run(HashMap::from([(name.to_string(), t)]))
}

// --- MODEL_INVALID ------------------------------------------------------------------------------

#[test]
fn random_bytes_are_model_invalid() {
    let mut state = 0x2545F4914F6CDD1Du64;
    for len in [0usize, 1, 7, 100, 4096, 100_000] {
        let bytes: Vec<u8> = (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        let (code, msg) = code_of(Model::load(&bytes, &LoadOptions::default()));
        assert_eq!(code, ErrorCode::ModelInvalid, "{len} bytes: {msg}");
    }
}

#[test]
fn truncated_real_model_is_model_invalid() {
    let Some(bytes) = blazeface() else { return };
    for cut in [bytes.len() / 2, bytes.len() - 1, 10] {
        let (code, msg) = code_of(Model::load(&bytes[..cut], &LoadOptions::default()));
        assert_eq!(code, ErrorCode::ModelInvalid, "cut at {cut}: {msg}");
    }
    still_works(&bytes);
}

#[test]
fn output_that_nothing_produces_is_model_invalid() {
    let bytes = model(
        vec![node("Relu", &["x"], &["y"], vec![])],
        vec![value_info("x", F32, &[2])],
        vec![value_info("nope", F32, &[2])],
        |_| {},
    );
    let (code, msg) = code_of(Model::load(&bytes, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid);
    assert!(msg.contains("nope"), "{msg}");
}

/// A sub-graph (here a Scan body) may read a value of the enclosing graph, but its outputs must be
/// made inside it: tract's parser indexes them by name and panics otherwise (the fuzzer's second
/// finding), which in the browser would abort the wasm instance.
#[test]
fn subgraph_output_that_nothing_inside_produces_is_model_invalid() {
    let scan = |body_out: &str| {
        let body = pb::GraphProto {
            name: "body".into(),
            node: vec![
                node("Add", &["acc", "step"], &["acc_next"], vec![]),
                node("Mul", &["acc_next", "outer"], &["scaled"], vec![]),
            ],
            input: vec![value_info("acc", F32, &[2]), value_info("step", F32, &[2])],
            output: vec![value_info(body_out, F32, &[2]), value_info("scaled", F32, &[2])],
            ..Default::default()
        };
        let attr = pb::AttributeProto { name: "body".into(), r#type: 5, g: Some(body), ..Default::default() };
        model(
            vec![node("Scan", &["init", "xs"], &["last", "ys"], vec![attr, int("num_scan_inputs", 1)])],
            vec![value_info("init", F32, &[2]), value_info("xs", F32, &[3, 2]), value_info("outer", F32, &[2])],
            vec![value_info("last", F32, &[2]), value_info("ys", F32, &[3, 2])],
            |_| {},
        )
    };
    let (code, msg) = code_of(Model::load(&scan("acc_typo"), &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    assert!(msg.contains("acc_typo") && msg.contains("Scan"), "{msg}");
    // The same body with its output spelled right loads and runs (reading `outer` from outside).
    let mut m = Model::load(&scan("acc_next"), &LoadOptions::default()).expect("a well-formed Scan loads");
    let f = |dims: Vec<usize>, v: Vec<f32>| HostTensor::new(dims, TensorData::F32(v)).unwrap();
    let out = m
        .run(HashMap::from([
            ("init".to_string(), f(vec![2], vec![0.0, 0.0])),
            ("xs".to_string(), f(vec![3, 2], vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0])),
            ("outer".to_string(), f(vec![2], vec![10.0, 100.0])),
        ]))
        .unwrap();
    let last = out.iter().find(|(n, _)| n == "last").map(|(_, t)| t.data.clone());
    assert!(matches!(last, Some(TensorData::F32(v)) if v == [9.0, 12.0]));
}

/// The loader hands the file's large weights to tract itself, one at a time (`model/weights.rs`):
/// equal weights, weights read inside a sub-graph and a weight that is also a graph input must
/// reach the plan as the file gives them.
#[test]
fn large_weights_reach_tract_as_the_file_gives_them() {
    const N: usize = 1024; // 4 KiB of f32: large enough to be taken out of the file
    let raw = |name: &str, v: &[f32]| pb::TensorProto {
        name: name.into(),
        data_type: F32,
        dims: vec![v.len() as i64],
        raw_data: v.iter().flat_map(|x| x.to_le_bytes()).collect(),
        ..Default::default()
    };
    let a: Vec<f32> = (0..N).map(|i| (i % 5) as f32).collect();
    let c: Vec<f32> = (0..N).map(|i| i as f32 * 0.5).collect();
    let f = |dims: Vec<usize>, v: Vec<f32>| HostTensor::new(dims, TensorData::F32(v)).unwrap();
    // y = (x + a) * a - c, with `a` given twice under two names and `c` also declared an input.
    let bytes = model(
        vec![
            node("Add", &["x", "wa"], &["s1"], vec![]),
            node("Mul", &["s1", "wb"], &["s2"], vec![]),
            node("Sub", &["s2", "wc"], &["y"], vec![]),
        ],
        vec![value_info("x", F32, &[N as i64]), value_info("wc", F32, &[N as i64])],
        vec![value_info("y", F32, &[N as i64])],
        |g| g.initializer = vec![raw("wa", &a), raw("wb", &a), raw("wc", &c)],
    );
    let mut m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    let x: Vec<f32> = (0..N).map(|i| 1.0 - i as f32).collect();
    let out = m.run(HashMap::from([("x".to_string(), f(vec![N], x.clone()))])).unwrap();
    let TensorData::F32(y) = &out[0].1.data else { panic!("f32 output") };
    for i in 0..N {
        assert_eq!(y[i], (x[i] + a[i]) * a[i] - c[i], "y[{i}]");
    }

    // A Scan body that reads a large weight of the enclosing graph.
    let body = pb::GraphProto {
        name: "body".into(),
        node: vec![
            node("Add", &["acc", "step"], &["acc_next"], vec![]),
            node("Mul", &["acc_next", "outer"], &["scaled"], vec![]),
        ],
        input: vec![value_info("acc", F32, &[N as i64]), value_info("step", F32, &[N as i64])],
        output: vec![value_info("acc_next", F32, &[N as i64]), value_info("scaled", F32, &[N as i64])],
        ..Default::default()
    };
    let attr = pb::AttributeProto { name: "body".into(), r#type: 5, g: Some(body), ..Default::default() };
    let bytes = model(
        vec![node("Scan", &["init", "xs"], &["last", "ys"], vec![attr, int("num_scan_inputs", 1)])],
        vec![value_info("init", F32, &[N as i64]), value_info("xs", F32, &[2, N as i64])],
        vec![value_info("last", F32, &[N as i64]), value_info("ys", F32, &[2, N as i64])],
        |g| g.initializer = vec![raw("outer", &c)],
    );
    let mut m = Model::load(&bytes, &LoadOptions::default()).expect("a Scan reading an outer weight loads");
    let xs: Vec<f32> = (0..2 * N).map(|i| (i % 3) as f32).collect();
    let out = m
        .run(HashMap::from([
            ("init".to_string(), f(vec![N], vec![0.0; N])),
            ("xs".to_string(), f(vec![2, N], xs.clone())),
        ]))
        .unwrap();
    let ys = out.iter().find(|(n, _)| n == "ys").map(|(_, t)| t.data.clone());
    let Some(TensorData::F32(ys)) = ys else { panic!("f32 ys") };
    for i in 0..N {
        assert_eq!(ys[i], xs[i] * c[i], "ys[0][{i}]");
        assert_eq!(ys[N + i], (xs[i] + xs[N + i]) * c[i], "ys[1][{i}]");
    }

    // A name nothing defines is still refused, with the weights taken out beside it.
    let bytes = model(
        vec![node("Add", &["x", "wa"], &["s1"], vec![]), node("Add", &["s1", "ghost"], &["y"], vec![])],
        vec![value_info("x", F32, &[N as i64])],
        vec![value_info("y", F32, &[N as i64])],
        |g| g.initializer = vec![raw("wa", &a)],
    );
    let (code, msg) = code_of(Model::load(&bytes, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    assert!(msg.contains("ghost"), "{msg}");
}

/// QLinearMatMul clamps to its output zero point's range; tract's codegen panics on a zero point
/// that has none (bool, string: fuzz findings), so those are refused at load. A uint8 one runs.
#[test]
fn quantized_matmul_needs_an_integer_zero_point() {
    let raw = |name: &str, data_type: i32, dims: &[i64], raw_data: Vec<u8>| pb::TensorProto {
        name: name.into(),
        data_type,
        dims: dims.to_vec(),
        raw_data,
        ..Default::default()
    };
    let qmatmul = |y_zero_point: pb::TensorProto| {
        model(
            vec![node("QLinearMatMul", &["a", "s", "z", "b", "s", "z", "s", "yz"], &["y"], vec![])],
            vec![value_info("a", 2, &[2, 2])],
            vec![value_info("y", y_zero_point.data_type, &[2, 2])],
            |g| {
                g.initializer = vec![
                    f32_init("s", &[], &[1.0]),
                    raw("z", 2, &[], vec![0]),
                    raw("b", 2, &[2, 2], vec![5, 6, 7, 8]),
                    pb::TensorProto { name: "yz".into(), ..y_zero_point },
                ]
            },
        )
    };
    for (what, dt, data) in [("bool", BOOL, vec![0u8]), ("string", 8, vec![])] {
        let zp =
            pb::TensorProto { data_type: dt, raw_data: data, string_data: vec![b"0".to_vec()], ..Default::default() };
        let zp = if dt == 8 { zp } else { pb::TensorProto { string_data: vec![], ..zp } };
        let (code, msg) = code_of(Model::load(&qmatmul(zp), &LoadOptions::default()));
        assert_eq!(code, ErrorCode::ModelInvalid, "{what}: {msg}");
        assert!(msg.contains("zero point"), "{what}: {msg}");
    }
    let mut m =
        Model::load(&qmatmul(raw("yz", 2, &[], vec![0])), &LoadOptions::default()).expect("uint8 zero point loads");
    let out = m.run(HashMap::from([(
        "a".to_string(),
        HostTensor::new(vec![2, 2], TensorData::U8(vec![1, 2, 3, 4])).unwrap(),
    )]));
    assert!(matches!(&out.unwrap()[0].1.data, TensorData::U8(v) if v == &[19, 22, 43, 50]));
}

/// A window needs one entry per spatial axis of its input, which only analysis knows: a 2-d
/// kernel over a 1-d signal made tract index past its padding (a fuzz finding).
#[test]
fn window_rank_must_match_the_input() {
    let pool = |kernel: &[i64]| {
        model(
            vec![node("MaxPool", &["x"], &["y"], vec![ints("kernel_shape", kernel)])],
            vec![value_info("x", F32, &[1, 2, 4])],
            vec![value_info("y", F32, &[])],
            |_| {},
        )
    };
    let (code, msg) = code_of(Model::load(&pool(&[2, 2]), &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    assert!(msg.contains("2-d window") && msg.contains("rank-3"), "{msg}");
    // The same over an intermediate tensor, whose rank only analysis knows (a fuzz finding: a
    // 1-d window over a rank-4 input panicked in tract's padding arithmetic).
    let relu_pool = model(
        vec![node("Relu", &["x"], &["r"], vec![]), node("MaxPool", &["r"], &["y"], vec![ints("kernel_shape", &[2])])],
        vec![value_info("x", F32, &[1, 1, 4, 4])],
        vec![value_info("y", F32, &[])],
        |_| {},
    );
    let (code, msg) = code_of(Model::load(&relu_pool, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    assert!(msg.contains("a 1-d window over a rank-4 input") && !msg.contains("panicked"), "{msg}");
    let mut m = Model::load(&pool(&[2]), &LoadOptions::default()).expect("a 1-d pool over a 1-d signal loads");
    let x = HostTensor::new(vec![1, 2, 4], TensorData::F32(vec![1.0, 5.0, 2.0, 3.0, 0.0, -1.0, 4.0, 2.0])).unwrap();
    let out = m.run(HashMap::from([("x".to_string(), x)])).unwrap();
    assert!(matches!(&out[0].1.data, TensorData::F32(v) if v == &[5.0, 5.0, 3.0, 0.0, 4.0, 4.0]));
}

/// Without `kernel_shape` a Conv's window rank is in its weights: 3 pads for a 2-d window made
/// tract index past them (a fuzz finding).
#[test]
fn conv_pads_are_checked_against_the_weights_rank() {
    let conv = |pads: &[i64]| {
        model(
            vec![node("Conv", &["x", "w"], &["y"], vec![ints("pads", pads)])],
            vec![value_info("x", F32, &[1, 1, 3, 3])],
            vec![value_info("y", F32, &[])],
            |g| g.initializer = vec![f32_init("w", &[1, 1, 3, 3], &[1.0; 9])],
        )
    };
    let (code, msg) = code_of(Model::load(&conv(&[0, 0, 0]), &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    assert!(msg.contains("pads has 3 values, a 2-d window (the rank-4 weights) needs 4"), "{msg}");
    let mut m = Model::load(&conv(&[1, 1, 1, 1]), &LoadOptions::default()).expect("4 pads load");
    let x = HostTensor::new(vec![1, 1, 3, 3], TensorData::F32(vec![1.0; 9])).unwrap();
    let out = m.run(HashMap::from([("x".to_string(), x)])).unwrap();
    assert!(matches!(&out[0].1.data, TensorData::F32(v) if v[..3] == [4.0, 6.0, 4.0] && v[4] == 9.0));
}

/// Counts (block sizes, groups) are checked: tract divided by a SpaceToDepth blocksize of 0 (a
/// fuzz finding).
#[test]
fn counting_attributes_must_be_positive() {
    let s2d = |b: i64| {
        model(
            vec![node("SpaceToDepth", &["x"], &["y"], vec![int("blocksize", b)])],
            vec![value_info("x", F32, &[1, 1, 2, 2])],
            vec![value_info("y", F32, &[])],
            |_| {},
        )
    };
    let (code, msg) = code_of(Model::load(&s2d(0), &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    assert!(msg.contains("blocksize is 0, it must be a count from 1 to 65536"), "{msg}");
    let out = run1(&s2d(2), "x", HostTensor::new(vec![1, 1, 2, 2], TensorData::F32(vec![1.0, 2.0, 3.0, 4.0])).unwrap());
    assert_eq!(out.unwrap()[0].1.dims, vec![1, 4, 1, 1]);
}

/// Scan's `num_scan_inputs` splits its body's inputs: more than the body has made tract subtract
/// past zero while parsing (a fuzz finding).
#[test]
fn scan_counts_must_fit_its_body() {
    let body = pb::GraphProto {
        name: "body".into(),
        node: vec![node("Identity", &["s"], &["s_out"], vec![])],
        input: vec![value_info("s", F32, &[2])],
        output: vec![value_info("s_out", F32, &[2])],
        ..Default::default()
    };
    let scan = model(
        vec![node("Scan", &["initial", "x"], &["y"], vec![int("num_scan_inputs", 2), graph_attr("body", body)])],
        vec![value_info("initial", F32, &[2]), value_info("x", F32, &[3, 2])],
        vec![value_info("y", F32, &[])],
        |_| {},
    );
    let (code, msg) = code_of(Model::load(&scan, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    assert!(msg.contains("num_scan_inputs is 2, its body has 1 inputs"), "{msg}");
}

/// ConvTranspose's `output_shape` sets the output padding to `output_shape + pads − natural size`;
/// tract subtracts unsigned, so a shape below the natural one overflowed (a fuzz finding). An
/// absurd `axis` (LayerNormalization, -3.6e16) made tract loop for ever (another).
#[test]
fn conv_transpose_output_shape_and_absurd_axes_are_checked() {
    let deconv = |output_shape: &[i64]| {
        model(
            vec![node(
                "ConvTranspose",
                &["x", "w"],
                &["y"],
                vec![ints("strides", &[2, 2]), ints("output_shape", output_shape)],
            )],
            vec![value_info("x", F32, &[1, 1, 3, 3])],
            vec![value_info("y", F32, &[])],
            |g| g.initializer = vec![f32_init("w", &[1, 1, 3, 3], &[1.0; 9])],
        )
    };
    // Natural size: 2 * (3 - 1) + 3 = 7.
    let (code, msg) = code_of(Model::load(&deconv(&[6, 7]), &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    assert!(msg.contains("smaller on axis 0 than the 7"), "{msg}");
    let mut m = Model::load(&deconv(&[8, 7]), &LoadOptions::default()).expect("output padding of 1 loads");
    let x = HostTensor::new(vec![1, 1, 3, 3], TensorData::F32(vec![1.0; 9])).unwrap();
    assert_eq!(m.run(HashMap::from([("x".to_string(), x)])).unwrap()[0].1.dims, vec![1, 1, 8, 7]);

    let norm = model(
        vec![node("LayerNormalization", &["x", "s"], &["y"], vec![int("axis", -36028797018963971)])],
        vec![value_info("x", F32, &[2, 3])],
        vec![value_info("y", F32, &[2, 3])],
        |g| g.initializer = vec![f32_init("s", &[3], &[1.0; 3])],
    );
    let (code, msg) = code_of(Model::load(&norm, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    assert!(msg.contains("outside any tensor's rank"), "{msg}");
}

/// Axes are checked against the rank inferred during analysis, not only a declared one: tract's
/// shape rules index with them and panicked (fuzz findings: Unsqueeze axes past the output rank,
/// a Reduce axis of -137438953473, both on intermediate tensors whose rank no proto declares).
#[test]
fn axes_past_an_intermediate_tensors_rank_are_model_invalid() {
    // x -> Relu -> r -> op -> y, with the axes as an initializer input or an attribute.
    let graph = |op: &str, axes_input: Option<&[i64]>, attrs: Vec<pb::AttributeProto>| {
        let inputs: &[&str] = if axes_input.is_some() { &["r", "axes"] } else { &["r"] };
        model(
            vec![node("Relu", &["x"], &["r"], vec![]), node(op, inputs, &["y"], attrs)],
            vec![value_info("x", F32, &[2, 3])],
            vec![value_info("y", F32, &[])],
            |g| g.initializer = axes_input.map(|a| vec![i64_init("axes", &[a.len() as i64], a)]).unwrap_or_default(),
        )
    };
    let x = || HostTensor::new(vec![2, 3], TensorData::F32(vec![1.0, -2.0, 3.0, 4.0, 5.0, -6.0])).unwrap();
    type Case<'a> = (&'a str, Option<&'a [i64]>, Vec<pb::AttributeProto>, &'a str);
    let cases: [Case; 4] = [
        ("Unsqueeze", Some(&[3]), vec![], "axis 3 is outside -3..2 for its rank-2 input"),
        ("ReduceSum", Some(&[-137438953473]), vec![], "axis -137438953473 is outside -2..1"),
        ("ArgMax", None, vec![int("axis", 2)], "axis 2 is outside -2..1"),
        ("Squeeze", Some(&[-3]), vec![], "axis -3 is outside -2..1"),
    ];
    for (op, axes, attrs, expected) in cases {
        let (code, msg) = code_of(Model::load(&graph(op, axes, attrs), &LoadOptions::default()));
        assert_eq!(code, ErrorCode::ModelInvalid, "{op}: {msg}");
        assert!(msg.contains(expected) && msg.contains(&format!("{op}_y")), "{op}: {msg}");
        assert!(!msg.contains("panicked"), "{op}: {msg}");
    }
    // The in-range neighbours load and compute what ONNX says.
    let out = run1(&graph("Unsqueeze", Some(&[-1]), vec![]), "x", x()).unwrap();
    assert_eq!(out[0].1.dims, vec![2, 3, 1]);
    let out = run1(&graph("ReduceSum", Some(&[-2]), vec![]), "x", x()).unwrap();
    assert!(matches!(&out[0].1.data, TensorData::F32(v) if v == &[5.0, 5.0, 3.0]), "{:?}", out[0].1.data);
    let out = run1(&graph("ArgMax", None, vec![int("axis", -1), int("keepdims", 0)]), "x", x()).unwrap();
    assert!(matches!(&out[0].1.data, TensorData::I64(v) if v == &[2, 1]), "{:?}", out[0].1.data);
}

#[test]
fn initializer_shorter_than_its_dims_is_model_invalid() {
    let bytes = model(
        vec![node("Add", &["x", "w"], &["y"], vec![])],
        vec![value_info("x", F32, &[4])],
        vec![value_info("y", F32, &[4])],
        |g| {
            g.initializer.push(pb::TensorProto {
                name: "w".into(),
                dims: vec![4],
                data_type: F32,
                raw_data: vec![0; 8],
                ..Default::default()
            })
        },
    );
    let (code, msg) = code_of(Model::load(&bytes, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
}

#[test]
fn a_decoded_model_owns_its_weights_and_names() {
    // `proto::decode` lends prost the caller's bytes without copying them: what it returns must
    // not point into them (it would, were a field of tract's protobuf types a `Bytes`).
    let weights: Vec<u8> = (0..64).collect();
    let mut bytes = model(
        vec![node("Add", &["x", "w"], &["y"], vec![])],
        vec![value_info("x", F32, &[16])],
        vec![value_info("y", F32, &[16])],
        |g| {
            g.initializer.push(pb::TensorProto {
                name: "w".into(),
                dims: vec![16],
                data_type: F32,
                raw_data: weights.clone(),
                ..Default::default()
            })
        },
    );
    let proto = shopfloor::model::proto::decode(&bytes).unwrap();
    bytes.fill(0xff);
    drop(bytes);
    let graph = proto.graph.unwrap();
    assert_eq!((graph.initializer[0].name.as_str(), &graph.initializer[0].raw_data), ("w", &weights));
    assert_eq!(graph.node[0].op_type, "Add");
}

#[test]
fn a_constants_uniform_value_is_found_as_tract_finds_it() {
    use tract_onnx::prelude::*;
    use tract_onnx::tract_core::internal::f16;
    let uniform = |t: Tensor| TypedFact::try_from(std::sync::Arc::new(t)).unwrap().uniform.map(|u| (*u).clone());
    let f32s = |v: Vec<f32>| tract_ndarray::Array1::from_vec(v).into_tensor();
    // Lengths around the 16-byte steps of the scan, so its tail is covered too.
    for len in [2usize, 3, 4, 5, 7, 8, 9, 33, 1000] {
        assert_eq!(uniform(f32s(vec![0.5; len])), Some(tensor0(0.5f32)), "{len} halves");
        // One value off, anywhere: not uniform.
        for at in [0, len / 2, len - 1] {
            let mut v = vec![0.5; len];
            v[at] = 0.25;
            assert_eq!(uniform(f32s(v)), None, "{len} values, one off at {at}");
        }
        // Equal values with other bits (-0 beside 0): uniform, by tract's own comparison.
        let mut v = vec![0.0f32; len];
        v[len - 1] = -0.0;
        assert!(uniform(f32s(v)).is_some_and(|u| u.cast_to_scalar::<f32>().unwrap() == 0.0), "{len} zeros");
        // NaNs equal nothing: never uniform.
        assert_eq!(uniform(f32s(vec![f32::NAN; len])), None, "{len} NaNs");
        assert_eq!(uniform(tract_ndarray::Array1::from_vec(vec![7i64; len]).into_tensor()), Some(tensor0(7i64)));
        assert_eq!(uniform(tract_ndarray::Array1::from_vec(vec![true; len]).into_tensor()), Some(tensor0(true)));
        let halves = tract_ndarray::Array1::from_vec(vec![f16::from_f32(1.5); len]).into_tensor();
        assert_eq!(uniform(halves), Some(tensor0(f16::from_f32(1.5))), "{len} f16");
        let nans = tract_ndarray::Array1::from_vec(vec![f16::NAN; len]).into_tensor();
        assert_eq!(uniform(nans), None, "{len} f16 NaNs");
    }
    // Types the byte scan leaves to tract's.
    let strings = tract_ndarray::Array1::from_vec(vec!["a".to_string(); 5]).into_tensor();
    assert_eq!(uniform(strings), Some(tensor0("a".to_string())));
}

// --- UNSUPPORTED_OP -----------------------------------------------------------------------------

#[test]
fn unknown_op_names_the_op_and_node() {
    let bytes = model(
        vec![node("FrobnicateQuux", &["x"], &["y"], vec![])],
        vec![value_info("x", F32, &[2])],
        vec![value_info("y", F32, &[2])],
        |_| {},
    );
    let (code, msg) = code_of(Model::load(&bytes, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::UnsupportedOp);
    assert!(msg.contains("FrobnicateQuux") && msg.contains("FrobnicateQuux_y"), "{msg}");
}

/// Attention runs (tract's, scaled dot-product); a part of it tract lacks (softcap) is
/// UNSUPPORTED_OP naming the node and the part, not MODEL_INVALID: the file is valid ONNX.
#[test]
fn attention_runs_and_a_part_we_lack_is_unsupported_op() {
    let io = || {
        let q = ["q", "k", "v"].map(|n| value_info(n, F32, &[1, 2, 3, 4]));
        q.to_vec()
    };
    let out = || vec![value_info("y", F32, &[1, 2, 3, 4])];
    let plain = model(vec![node("Attention", &["q", "k", "v"], &["y"], vec![])], io(), out(), |_| {});
    let mut m = Model::load(&plain, &LoadOptions::default()).unwrap();
    let ones = || HostTensor::f32(vec![1, 2, 3, 4], vec![1.0; 24]).unwrap();
    let feeds = HashMap::from([("q".into(), ones()), ("k".into(), ones()), ("v".into(), ones())]);
    // Equal keys: every query attends evenly, and V is all ones.
    assert_eq!(m.run(feeds).unwrap()[0].1.data, TensorData::F32(vec![1.0; 24]));
    // softcap (which tract refused) runs: equal keys stay equal after capping.
    let capped =
        model(vec![node("Attention", &["q", "k", "v"], &["y"], vec![float("softcap", 2.0)])], io(), out(), |_| {});
    let mut m = Model::load(&capped, &LoadOptions::default()).unwrap();
    let feeds = HashMap::from([("q".into(), ones()), ("k".into(), ones()), ("v".into(), ones())]);
    assert_eq!(m.run(feeds).unwrap()[0].1.data, TensorData::F32(vec![1.0; 24]));
    // A valid node using a part of its op we lack: UNSUPPORTED_OP naming the node, not MODEL_INVALID.
    let strings = model(
        vec![node("BitCast", &["q"], &["y"], vec![int("to", 8)])],
        vec![value_info("q", F32, &[1, 2, 3, 4])],
        vec![value_info("y", 8, &[1, 2, 3, 4])],
        |g| g.node[0].name = "cast".into(),
    );
    let (code, msg) = code_of(Model::load(&strings, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::UnsupportedOp, "{msg}");
    assert!(msg.contains("BitCast") && msg.contains("\"cast\"") && msg.contains("String"), "{msg}");
}

#[test]
fn real_model_with_an_op_removed_from_the_registry() {
    let Some(bytes) = blazeface() else { return };
    let mut onnx = tract_onnx::onnx();
    onnx.op_register.0.remove("Conv");
    let (code, msg) = code_of(Model::load_with(&bytes, &LoadOptions::default(), onnx));
    assert_eq!(code, ErrorCode::UnsupportedOp);
    assert!(msg.contains("Conv") && msg.contains("node"), "{msg}");
    still_works(&bytes);
}

// --- INTEGRITY_MISMATCH, BACKEND_UNAVAILABLE, RESOURCE_LIMIT -------------------------------------

#[test]
fn sha256_pinning() {
    let Some(bytes) = blazeface() else { return };
    let right = shopfloor::model::integrity::sha256_hex(&bytes);
    let ok = LoadOptions { sha256: Some(right.clone()), ..Default::default() };
    assert_eq!(Model::load(&bytes, &ok).unwrap().info().sha256, right);
    let wrong = LoadOptions { sha256: Some("0".repeat(64)), ..Default::default() };
    let (code, msg) = code_of(Model::load(&bytes, &wrong));
    assert_eq!(code, ErrorCode::IntegrityMismatch);
    assert!(msg.contains(&right), "{msg}");
    still_works(&bytes);
}

#[test]
fn a_digest_computed_by_the_caller_is_used_and_still_checked_against_the_pin() {
    let Some(bytes) = blazeface() else { return };
    let right = shopfloor::model::integrity::sha256_hex(&bytes);
    // Given (upper case too): reported as is, and a pin is checked against it.
    let given = LoadOptions { digest: Some(right.to_uppercase()), sha256: Some(right.clone()), ..Default::default() };
    assert_eq!(Model::load(&bytes, &given).unwrap().info().sha256, right);
    let pinned_wrong = LoadOptions { digest: Some(right.clone()), sha256: Some("0".repeat(64)), ..Default::default() };
    assert_eq!(code_of(Model::load(&bytes, &pinned_wrong)).0, ErrorCode::IntegrityMismatch);
    // Not a digest: the bytes are hashed here.
    for bad in ["", "xyz", &"g".repeat(64)] {
        let opts = LoadOptions { digest: Some(bad.to_string()), ..Default::default() };
        assert_eq!(Model::load(&bytes, &opts).unwrap().info().sha256, right, "{bad:?}");
    }
}

#[test]
fn weights_over_the_budget_are_refused_before_loading() {
    let Some(bytes) = blazeface() else { return };
    let opts = LoadOptions { max_tensor_bytes: 4096, ..Default::default() };
    let (code, msg) = code_of(Model::load(&bytes, &opts));
    assert_eq!(code, ErrorCode::ResourceLimit, "{msg}");
    still_works(&bytes);
}

#[test]
fn absurd_declared_initializer_is_refused_without_allocating() {
    let bytes = model(
        vec![node("Add", &["x", "w"], &["y"], vec![])],
        vec![value_info("x", F32, &[4])],
        vec![value_info("y", F32, &[4])],
        |g| {
            g.initializer.push(pb::TensorProto {
                name: "w".into(),
                dims: vec![1 << 20, 1 << 20, 1 << 10],
                data_type: F32,
                ..Default::default()
            })
        },
    );
    let (code, _) = code_of(Model::load(&bytes, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ResourceLimit);
}

/// A model whose graph holds `n` empty nodes: 2 bytes each in the file, ~160 once decoded.
fn empty_nodes(n: usize) -> Vec<u8> {
    let mut graph = Vec::with_capacity(2 * n);
    for _ in 0..n {
        graph.extend([0x0a, 0x00]);
    }
    [vec![0x08, 0x08], field(7, &graph)].concat() // ir_version 8, graph
}

fn field(number: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![(number << 3) | 2];
    let mut len = body.len();
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        out.push(if len == 0 { b } else { b | 0x80 });
        if len == 0 {
            break;
        }
    }
    out.extend(body);
    out
}

#[test]
fn a_file_that_would_decode_into_gigabytes_is_refused_before_decoding() {
    // 16 MiB of empty nodes would take ~1.3 GiB decoded (measured before this check: a 40 MB
    // file took 3.4 GB and a minute).
    let bytes = empty_nodes(8 << 20);
    // Decoded, this file is an UNSUPPORTED_OP (nodes without an op type) after gigabytes.
    let (code, msg) = code_of(Model::load(&bytes, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ResourceLimit, "{msg}");
    assert!(msg.contains("8388608 graph entries"), "{msg}");
    // Subgraphs nested 40 deep (If inside If…): refused, no stack overflow.
    let mut g = field(1, b"");
    for _ in 0..40 {
        g = field(1, &field(5, &field(6, &g)));
    }
    let nested: Vec<u8> = field(7, &g);
    let (code, msg) = code_of(Model::load(&nested, &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid, "{msg}");
    if let Some(bytes) = blazeface() {
        still_works(&bytes);
    }
}

#[test]
fn input_over_the_budget_is_a_resource_limit() {
    let bytes = model(
        vec![node("Relu", &["x"], &["y"], vec![])],
        vec![value_info("x", F32, &[-1])],
        vec![value_info("y", F32, &[-1])],
        |_| {},
    );
    let opts = LoadOptions { max_tensor_bytes: 1024, ..Default::default() };
    let mut m = Model::load(&bytes, &opts).unwrap();
    let big = HostTensor::f32(vec![1000], vec![1.0; 1000]).unwrap();
    let e = m.run(HashMap::from([("x".to_string(), big)])).unwrap_err();
    assert_eq!(e.code(), ErrorCode::ResourceLimit);
    let small = HostTensor::f32(vec![3], vec![-1.0, 0.0, 2.0]).unwrap();
    let out = m.run(HashMap::from([("x".to_string(), small)])).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![0.0, 0.0, 2.0]));
}

// --- INPUT_MISMATCH -----------------------------------------------------------------------------

#[test]
fn input_mismatches_name_the_input_and_say_what_was_expected() {
    let Some(bytes) = blazeface() else { return };
    let mut m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    let good = HostTensor::f32(vec![1, 128, 128, 3], vec![0.5; 49152]).unwrap();
    let cases: Vec<(HashMap<String, HostTensor>, &str)> = vec![
        (HashMap::from([("image".into(), good.clone())]), "no such input"),
        (HashMap::new(), "missing"),
        (
            HashMap::from([(
                "input:0".into(),
                HostTensor::new(vec![1, 128, 128, 3], TensorData::I32(vec![0; 49152])).unwrap(),
            )]),
            "expected dtype f32, got i32",
        ),
        (
            HashMap::from([("input:0".into(), HostTensor::f32(vec![1, 128, 128], vec![0.5; 16384]).unwrap())]),
            "expected rank 4",
        ),
        (
            HashMap::from([("input:0".into(), HostTensor::f32(vec![1, 3, 128, 128], vec![0.5; 49152]).unwrap())]),
            "axis 1 must be 128",
        ),
    ];
    for (feeds, expect) in cases {
        let e = m.run(feeds).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InputMismatch, "{e}");
        assert!(e.to_string().contains(expect), "{e} (wanted \"{expect}\")");
        assert!(e.to_string().contains("input"), "{e}");
    }
    // The same model instance still runs.
    assert_eq!(m.run(face_input(0.5)).unwrap().len(), 4);
}

#[test]
fn non_finite_inputs_are_refused_unless_allowed() {
    let Some(bytes) = blazeface() else { return };
    let mut m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    for (at, bad) in [(0, f32::NAN), (777, f32::INFINITY), (49151, f32::NEG_INFINITY)] {
        let mut v = vec![0.5; 49152];
        v[at] = bad;
        let feeds = HashMap::from([("input:0".into(), HostTensor::f32(vec![1, 128, 128, 3], v).unwrap())]);
        let e = m.run(feeds).unwrap_err();
        assert_eq!(e.code(), ErrorCode::InputMismatch, "{e}");
        assert!(
            e.to_string().contains(&format!("element {at} is {bad}")) && e.to_string().contains("allowNonFinite"),
            "{e}"
        );
    }
    assert_eq!(m.run(face_input(0.5)).unwrap().len(), 4);
    let mut lenient = Model::load(&bytes, &LoadOptions { allow_non_finite: true, ..Default::default() }).unwrap();
    assert_eq!(lenient.run(face_input(f32::NAN)).unwrap().len(), 4);
}

#[test]
fn a_symbol_shared_by_two_inputs_must_agree() {
    let Some(path) = cached("silero/silero_vad_op18_ifless.onnx") else { return };
    let mut m = Model::load(&std::fs::read(path).unwrap(), &LoadOptions::default()).unwrap();
    let feeds = |batch_state: usize| {
        HashMap::from([
            ("input".to_string(), HostTensor::f32(vec![1, 512], vec![0.0; 512]).unwrap()),
            ("sr".to_string(), HostTensor::new(vec![], TensorData::I64(vec![16000])).unwrap()),
            ("state".to_string(), HostTensor::f32(vec![2, batch_state, 128], vec![0.0; 256 * batch_state]).unwrap()),
        ])
    };
    let e = m.run(feeds(2)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InputMismatch, "{e}");
    assert!(e.to_string().contains("batch"), "{e}");
    let out = m.run(feeds(1)).unwrap();
    assert_eq!(out[1].1.dims, vec![2, 1, 128]);
}

// --- loader fixes ---------------------------------------------------------------------------------

#[test]
fn constant_of_shape_without_value_is_float32_zero() {
    let shape =
        pb::TensorProto { name: "s".into(), dims: vec![1], data_type: 7, int64_data: vec![3], ..Default::default() };
    let bytes = model(
        vec![node("ConstantOfShape", &["s"], &["z"], vec![]), node("Add", &["x", "z"], &["y"], vec![])],
        vec![value_info("x", F32, &[3])],
        vec![value_info("y", F32, &[3])],
        |g| g.initializer.push(shape),
    );
    let m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    assert!(m.info().loader_fixes.iter().any(|f| f.contains("ConstantOfShape")));
    let out = run1(&bytes, "x", HostTensor::f32(vec![3], vec![1.0, -2.0, 3.5]).unwrap()).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![1.0, -2.0, 3.5]));
}

#[test]
fn blazeface_needs_and_gets_the_constant_of_shape_fix() {
    let Some(bytes) = blazeface() else { return };
    let info = Model::load(&bytes, &LoadOptions::default()).unwrap().info();
    assert!(info.loader_fixes.iter().any(|f| f.contains("ConstantOfShape")), "{:?}", info.loader_fixes);
    assert_eq!(info.plan, "static");
    assert!(info.parameter_count > 100_000);
    assert!(info.ops["Conv"].count > 10);
}

/// then: y = Relu(x); else: a branch whose Reshape to a 7-element shape cannot analyse. The
/// condition is a constant, or (None) the bool graph input "c".
fn if_model(cond: Option<bool>) -> Vec<u8> {
    let then_g = pb::GraphProto {
        name: "then".into(),
        node: vec![node("Relu", &["x"], &["t_out"], vec![])],
        output: vec![value_info("t_out", F32, &[2, 3])],
        ..Default::default()
    };
    let else_g = pb::GraphProto {
        name: "else".into(),
        node: vec![node("Reshape", &["x", "bad_shape"], &["e_out"], vec![])],
        initializer: vec![i64_init("bad_shape", &[1], &[7])],
        output: vec![value_info("e_out", F32, &[7])],
        ..Default::default()
    };
    let mut inputs = vec![value_info("x", F32, &[2, 3])];
    if cond.is_none() {
        inputs.push(value_info("c", BOOL, &[]));
    }
    model(
        vec![node("If", &["c"], &["y"], vec![graph_attr("then_branch", then_g), graph_attr("else_branch", else_g)])],
        inputs,
        vec![value_info("y", F32, &[2, 3])],
        |g| g.initializer.extend(cond.map(|c| scalar_bool("c", c))),
    )
}

#[test]
fn if_with_a_constant_condition_is_folded_before_analysis() {
    let bytes = if_model(Some(true));
    let m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    assert!(m.info().loader_fixes.iter().any(|f| f.contains("If")), "{:?}", m.info().loader_fixes);
    let out = run1(&bytes, "x", HostTensor::f32(vec![2, 3], vec![-1.0, 2.0, -3.0, 4.0, -5.0, 6.0]).unwrap()).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![0.0, 2.0, 0.0, 4.0, 0.0, 6.0]));
}

#[test]
fn if_taking_the_broken_branch_is_still_an_error_not_a_panic() {
    let (code, _) = code_of(Model::load(&if_model(Some(false)), &LoadOptions::default()));
    assert_eq!(code, ErrorCode::ModelInvalid);
}

#[test]
fn if_on_an_input_compiles_the_branch_each_value_takes() {
    let mut m = Model::load(&if_model(None), &LoadOptions::default()).unwrap();
    assert_eq!(m.info().plan, "per-value");
    let feeds = |c: bool| {
        HashMap::from([
            ("x".to_string(), HostTensor::f32(vec![2, 3], vec![-1.0, 2.0, -3.0, 4.0, -5.0, 6.0]).unwrap()),
            ("c".to_string(), HostTensor::new(vec![], TensorData::Bool(vec![u8::from(c)])).unwrap()),
        ])
    };
    let out = m.run(feeds(true)).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![0.0, 2.0, 0.0, 4.0, 0.0, 6.0]));
    // The other value takes the branch that cannot run at this shape: a typed refusal that says
    // why, and the model still answers the first value.
    let e = m.run(feeds(false)).unwrap_err();
    assert_eq!(e.code(), ErrorCode::InputMismatch, "{e}");
    assert!(e.to_string().contains("Reshape") || e.to_string().contains("reshape"), "{e}");
    assert_eq!(m.run(feeds(true)).unwrap()[0].1.data, out[0].1.data);
    assert_eq!(m.info().cached_plans, 1);
}

/// PyTorch's export of `x.squeeze(0)`: `If(Shape(x)[0] == 1, Squeeze(x, 0), x)`. The squeezing
/// branch cannot be analysed when the axis is not 1, so only the branch taken at each shape is.
#[test]
fn if_on_a_shape_analyses_only_the_branch_taken_at_each_shape() {
    let then_g = pb::GraphProto {
        name: "then".into(),
        node: vec![node("Squeeze", &["x", "zero"], &["t_out"], vec![])],
        output: vec![value_info("t_out", F32, &[-2])],
        ..Default::default()
    };
    let else_g = pb::GraphProto {
        name: "else".into(),
        node: vec![node("Identity", &["x"], &["e_out"], vec![])],
        output: vec![value_info("e_out", F32, &[-1, -2])],
        ..Default::default()
    };
    let bytes = model(
        vec![
            node("Shape", &["x"], &["s"], vec![]),
            node("Gather", &["s", "zero_scalar"], &["n"], vec![int("axis", 0)]),
            node("Equal", &["n", "one"], &["c"], vec![]),
            node("If", &["c"], &["y"], vec![graph_attr("then_branch", then_g), graph_attr("else_branch", else_g)]),
        ],
        vec![value_info("x", F32, &[-1, 3])],
        vec![value_info("y", F32, &[])],
        |g| {
            g.initializer.push(i64_init("zero", &[1], &[0]));
            g.initializer.push(i64_init("zero_scalar", &[], &[0]));
            g.initializer.push(i64_init("one", &[], &[1]));
        },
    );
    let mut m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    assert_eq!(m.info().plan, "per-shape");
    for n in [1usize, 2, 1, 4] {
        let x = HostTensor::f32(vec![n, 3], (0..3 * n).map(|v| v as f32).collect()).unwrap();
        let out = m.run(HashMap::from([("x".to_string(), x)])).unwrap();
        let want = if n == 1 { vec![3] } else { vec![n, 3] };
        assert_eq!(out[0].1.dims, want, "at n = {n}");
    }
}

#[test]
fn contradicting_value_info_is_ignored() {
    // value_info claims the intermediate has shape [5, 5]; the inputs say [2, 3].
    let bytes = model(
        vec![node("Relu", &["x"], &["h"], vec![]), node("Neg", &["h"], &["y"], vec![])],
        vec![value_info("x", F32, &[2, 3])],
        vec![value_info("y", F32, &[2, 3])],
        |g| g.value_info.push(value_info("h", F32, &[5, 5])),
    );
    let m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    assert!(m.info().loader_fixes.iter().any(|f| f.contains("value_info")), "{:?}", m.info().loader_fixes);
    let out = run1(&bytes, "x", HostTensor::f32(vec![2, 3], vec![1.0, -1.0, 2.0, -2.0, 3.0, -3.0]).unwrap()).unwrap();
    assert_eq!(out[0].1.data, TensorData::F32(vec![-1.0, 0.0, -2.0, 0.0, -3.0, 0.0]));
}

#[test]
fn pinned_shapes_compile_a_static_plan_and_are_checked() {
    let Some(path) = cached("ppocr/ppocrv4_rec.onnx") else { return };
    let bytes = std::fs::read(path).unwrap();
    let opts = LoadOptions { input_shapes: vec![("x".into(), vec![1, 3, 48, 320])], ..Default::default() };
    let m = Model::load(&bytes, &opts).unwrap();
    assert_eq!(m.info().plan, "static");
    assert_eq!(m.inputs()[0].shape_string(), "[1, 3, 48, 320]");
    let bad = LoadOptions { input_shapes: vec![("nope".into(), vec![1])], ..Default::default() };
    assert_eq!(code_of(Model::load(&bytes, &bad)).0, ErrorCode::InvalidArgument);
    let bad_rank = LoadOptions { input_shapes: vec![("x".into(), vec![1, 3])], ..Default::default() };
    assert_eq!(code_of(Model::load(&bytes, &bad_rank)).0, ErrorCode::InvalidArgument);
}

#[test]
fn signature_reports_symbolic_dims_by_name() {
    let Some(path) = cached("silero/silero_vad_op18_ifless.onnx") else { return };
    let m = Model::load(&std::fs::read(path).unwrap(), &LoadOptions::default()).unwrap();
    let names: Vec<_> = m.inputs().iter().map(|i| (i.name.as_str(), i.shape_string())).collect();
    assert_eq!(
        names,
        vec![
            ("input", "[batch, sequence]".to_string()),
            ("sr", "[]".to_string()),
            ("state", "[2, batch, 128]".to_string())
        ]
    );
    assert_eq!(m.inputs()[1].dtype, Some(shopfloor::DType::I64));
}

/// Inputs the fuzzer (`make fuzz`) found crashing, kept and replayed: each must be refused as
/// MODEL_INVALID by our checks, before tract: natively `guard` would turn tract's panic into an
/// INTERNAL error, but in the browser (panic = abort) it kills the wasm instance.
#[test]
fn fuzz_findings_are_typed_errors() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/fuzz");
    let mut seen = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        let bytes = std::fs::read(&path).unwrap();
        let opts =
            LoadOptions { backend: shopfloor::BackendChoice::Cpu, max_tensor_bytes: 16 << 20, ..Default::default() };
        match Model::load(&bytes, &opts) {
            Err(e) => {
                assert_eq!(e.code(), ErrorCode::ModelInvalid, "{}: {e}", path.display());
                // Natively `guard` turns a tract panic into an error; in wasm it aborts.
                assert!(!e.to_string().contains("panicked"), "{}: {e}", path.display());
            }
            Ok(_) => panic!("{} loads: it should be refused", path.display()),
        }
        seen += 1;
    }
    assert!(seen >= 1, "the findings are committed under {}", dir.display());
}
