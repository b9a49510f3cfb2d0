//! Every GPU kernel family against tract's CPU result on the same random inputs, over randomised
//! shapes and attributes (odd sizes, 1x1 spatial, sizes off the 64-wide tiles, asymmetric padding,
//! every broadcast rank combination). Each case is a one-op ONNX model loaded twice: backend
//! "cpu" and backend "webgpu". Natively the GPU is Vulkan (Mesa's lavapipe in CI).

mod common;

use std::collections::HashMap;

use common::onnx::*;
use common::{gpu_expected, relative_error};
use shopfloor::{BackendChoice, BackendKind, ErrorCode, HostTensor, LoadOptions, Model};
use tract_onnx::pb;

const TOLERANCE: f64 = 1e-4;

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// Uniform in lo..=hi.
    fn int(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo + 1) as u64) as usize
    }
    fn f(&mut self) -> f32 {
        (self.next() % 20001) as f32 / 5000.0 - 2.0
    }
    fn vec(&mut self, n: usize) -> Vec<f32> {
        (0..n).map(|_| self.f()).collect()
    }
    fn pick<T: Copy>(&mut self, v: &[T]) -> T {
        v[self.int(0, v.len() - 1)]
    }
}

fn any_f32(name: &str) -> pb::ValueInfoProto {
    pb::ValueInfoProto {
        name: name.into(),
        r#type: Some(pb::TypeProto {
            value: Some(pb::type_proto::Value::TensorType(pb::type_proto::Tensor { elem_type: F32, shape: None })),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// A graph of `nodes` whose inputs are `inputs` (name, shape) and whose output is "out".
fn graph(nodes: Vec<pb::NodeProto>, inputs: &[(&str, Vec<usize>)], inits: Vec<pb::TensorProto>) -> Vec<u8> {
    let ins =
        inputs.iter().map(|(n, s)| value_info(n, F32, &s.iter().map(|&d| d as i64).collect::<Vec<_>>())).collect();
    model(nodes, ins, vec![any_f32("out")], |g| g.initializer = inits)
}

/// Loads on both backends, runs on the same random inputs, compares. Returns false (skipped)
/// when this machine has no GPU and none is expected.
fn compare(what: &str, bytes: &[u8], inputs: &[(&str, Vec<usize>)], rng: &mut Rng) -> bool {
    // Which case a hung or crashed GPU run was in.
    if std::env::var_os("SHOPFLOOR_TRACE_CASES").is_some() {
        eprintln!("case: {what}");
    }
    let cpu_opts = LoadOptions { backend: BackendChoice::Cpu, ..Default::default() };
    let mut cpu = Model::load(bytes, &cpu_opts).unwrap_or_else(|e| panic!("{what}: cpu load: {} {e}", e.code()));
    let gpu_opts = LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() };
    let mut gpu = match Model::load(bytes, &gpu_opts) {
        Ok(m) => m,
        Err(e) if e.code() == ErrorCode::BackendUnavailable && !gpu_expected() && e.to_string().contains("adapter") => {
            eprintln!("{what}: skipped, no GPU: {e}");
            return false;
        }
        Err(e) => panic!("{what}: webgpu load: {} {e}", e.code()),
    };
    assert_eq!(gpu.info().backend, BackendKind::Webgpu);
    assert_matmul_path(what, &gpu);
    let feeds: HashMap<String, HostTensor> = inputs
        .iter()
        .map(|(n, s)| (n.to_string(), HostTensor::f32(s.clone(), rng.vec(s.iter().product())).unwrap()))
        .collect();
    let want = cpu.run(feeds.clone()).unwrap_or_else(|e| panic!("{what}: cpu run: {e}"));
    let got = gpu.run(feeds).unwrap_or_else(|e| panic!("{what}: gpu run: {e}"));
    assert_eq!(gpu.info().backend, BackendKind::Webgpu, "{what}: {}", gpu.info().backend_reason);
    for ((name, w), (_, g)) in want.iter().zip(&got) {
        assert_eq!(g.dims, w.dims, "{what}: output {name} shape");
        let err = relative_error(g, w);
        assert!(err <= TOLERANCE, "{what}: output {name} relative error {err:.2e}");
    }
    true
}

fn conv_case(rng: &mut Rng, spatial: usize, depthwise: bool) -> (String, Vec<u8>, Vec<usize>) {
    let n = rng.int(1, 2);
    let (cin, group, cout) = if depthwise {
        let c = rng.int(1, 70);
        (c, c, c * rng.int(1, 2))
    } else {
        let group = rng.pick(&[1, 1, 1, 2, 3]);
        (group * rng.int(1, 24), group, group * rng.int(1, 70))
    };
    let k: Vec<usize> = (0..spatial).map(|_| rng.pick(&[1, 2, 3, 5])).collect();
    let stride: Vec<usize> = (0..spatial).map(|_| rng.int(1, 2)).collect();
    let dil: Vec<usize> = (0..spatial).map(|_| rng.pick(&[1, 1, 2])).collect();
    let pads: Vec<usize> = (0..2 * spatial).map(|_| rng.int(0, 2)).collect();
    let size: Vec<usize> = (0..spatial)
        .map(|i| {
            let min = (k[i] - 1) * dil[i] + 1;
            rng.int(min.saturating_sub(pads[i] + pads[i + spatial]).max(1), min + 14)
        })
        .collect();
    let mut x = vec![n, cin];
    x.extend(&size);
    let mut wdims = vec![cout as i64, (cin / group) as i64];
    wdims.extend(k.iter().map(|&v| v as i64));
    let wlen: i64 = wdims.iter().product();
    let mut inits = vec![f32_init("w", &wdims, &rng.vec(wlen as usize))];
    let mut ins = vec!["x", "w"];
    if rng.int(0, 1) == 1 {
        inits.push(f32_init("b", &[cout as i64], &rng.vec(cout)));
        ins.push("b");
    }
    let attrs = vec![
        int("group", group as i64),
        ints("kernel_shape", &k.iter().map(|&v| v as i64).collect::<Vec<_>>()),
        ints("strides", &stride.iter().map(|&v| v as i64).collect::<Vec<_>>()),
        ints("dilations", &dil.iter().map(|&v| v as i64).collect::<Vec<_>>()),
        ints("pads", &pads.iter().map(|&v| v as i64).collect::<Vec<_>>()),
    ];
    let what = format!("Conv x{x:?} w{wdims:?} group {group} stride {stride:?} dil {dil:?} pads {pads:?}");
    (what, graph(vec![node("Conv", &ins, &["out"], attrs)], &[("x", x.clone())], inits), x)
}

#[test]
fn conv_2d_random() {
    let mut rng = Rng(0x9E3779B97F4A7C15);
    for _ in 0..14 {
        let (what, bytes, x) = conv_case(&mut rng, 2, false);
        if !compare(&what, &bytes, &[("x", x)], &mut rng) {
            return;
        }
    }
}

#[test]
fn conv_1d_and_depthwise_random() {
    let mut rng = Rng(0xD1B54A32D192ED03);
    for i in 0..14 {
        let (what, bytes, x) = if i % 2 == 0 { conv_case(&mut rng, 1, false) } else { conv_case(&mut rng, 2, true) };
        if !compare(&what, &bytes, &[("x", x)], &mut rng) {
            return;
        }
    }
}

#[test]
fn conv_transpose_random() {
    let mut rng = Rng(0x94D049BB133111EB);
    for _ in 0..10 {
        let group = rng.pick(&[1, 1, 2]);
        let (cin, cout_g) = (group * rng.int(1, 8), rng.int(1, 8));
        let k = [rng.int(1, 4), rng.int(1, 4)];
        let s = [rng.int(1, 3), rng.int(1, 3)];
        let pads: Vec<i64> = (0..4).map(|i| rng.int(0, k[i % 2] - 1) as i64).collect();
        let outpad: Vec<i64> = (0..2).map(|i| rng.int(0, s[i] - 1) as i64).collect();
        let x = vec![1, cin, rng.int(1, 9), rng.int(1, 9)];
        let wdims = [cin as i64, cout_g as i64, k[0] as i64, k[1] as i64];
        let attrs = vec![
            int("group", group as i64),
            ints("strides", &[s[0] as i64, s[1] as i64]),
            ints("pads", &pads),
            ints("output_padding", &outpad),
        ];
        let inits = vec![
            f32_init("w", &wdims, &rng.vec(wdims.iter().product::<i64>() as usize)),
            f32_init("b", &[(group * cout_g) as i64], &rng.vec(group * cout_g)),
        ];
        let what =
            format!("ConvTranspose x{x:?} w{wdims:?} group {group} strides {s:?} pads {pads:?} outpad {outpad:?}");
        let bytes = graph(vec![node("ConvTranspose", &["x", "w", "b"], &["out"], attrs)], &[("x", x.clone())], inits);
        if !compare(&what, &bytes, &[("x", x)], &mut rng) {
            return;
        }
    }
}

/// `make test` runs the matmul and conv cases once per GEMM kernel pair
/// (`SHOPFLOOR_GPU_GEMM=tiled|subgroup`) and once with every product on the 128x128 kernel
/// (`wide`): check the plan really uses the one asked for (lavapipe has fixed 8-wide subgroups).
fn assert_matmul_path(what: &str, gpu: &Model) {
    let Ok(path) = std::env::var("SHOPFLOOR_GPU_GEMM") else { return };
    let info = gpu.info();
    let kernels = &info.gpu.as_ref().expect("a WebGPU model reports its plan").kernels;
    let tiled = kernels.keys().any(|k| k == "matmul" || k == "conv" || k.starts_with("matmul/vec4"));
    let subgroup = kernels.keys().any(|k| k.contains("/subgroup"));
    match path.as_str() {
        "tiled" => assert!(!subgroup, "{what}: asked for the tiled kernels, plan has {kernels:?}"),
        "wide" => {
            let other = kernels.keys().any(|k| k.starts_with("matmul") && k != "matmul/wide");
            assert!(!other, "{what}: asked for the 128x128 product everywhere, plan has {kernels:?}");
        }
        "subgroup" if gpu_expected() => assert!(!tiled, "{what}: asked for the subgroup kernels, plan has {kernels:?}"),
        _ => {}
    }
}

#[test]
fn matmul_and_gemm_random() {
    let mut rng = Rng(0xBF58476D1CE4E5B9);
    for _ in 0..10 {
        let (m, k, n) = (rng.int(1, 130), rng.int(1, 100), rng.int(1, 130));
        let batch: Vec<usize> = (0..rng.int(0, 2)).map(|_| rng.int(1, 4)).collect();
        let mut a = batch.iter().map(|&b| if rng.int(0, 2) == 0 { 1 } else { b }).collect::<Vec<_>>();
        let mut b = batch.clone();
        a.extend([m, k]);
        b.extend([k, n]);
        let what = format!("MatMul {a:?} x {b:?}");
        let bytes =
            graph(vec![node("MatMul", &["a", "b"], &["out"], vec![])], &[("a", a.clone()), ("b", b.clone())], vec![]);
        if !compare(&what, &bytes, &[("a", a), ("b", b)], &mut rng) {
            return;
        }
        let (ta, tb) = (rng.int(0, 1), rng.int(0, 1));
        let a = if ta == 1 { vec![k, m] } else { vec![m, k] };
        let wdims = if tb == 1 { [n as i64, k as i64] } else { [k as i64, n as i64] };
        let inits = vec![f32_init("w", &wdims, &rng.vec(k * n)), f32_init("c", &[n as i64], &rng.vec(n))];
        let attrs = vec![int("transA", ta as i64), int("transB", tb as i64), float("alpha", 0.5), float("beta", 2.0)];
        let what = format!("Gemm a{a:?} transA {ta} transB {tb}");
        let bytes = graph(vec![node("Gemm", &["a", "w", "c"], &["out"], attrs)], &[("a", a.clone())], inits);
        compare(&what, &bytes, &[("a", a)], &mut rng);
    }
}

/// The tiled product's vec4 loads (matmul_vec4.wgsl), in each orientation a graph can give it:
/// A and B each contiguous along k or along m / n, batched, with tails that are not a multiple of
/// the 64-wide tile; operands that are not aligned in runs of 4 keep the scalar kernel.
#[test]
fn matmul_vec4_loads_every_orientation() {
    let mut rng = Rng(0x94D049BB133111EB);
    let (m, k, n) = (68, 36, 132);
    let mut cases = vec![];
    for (ta, tb) in [(0, 0), (0, 1), (1, 0), (1, 1)] {
        let a = if ta == 1 { vec![k, m] } else { vec![m, k] };
        let b = if tb == 1 { vec![n, k] } else { vec![k, n] };
        let mut attrs = vec![int("transA", ta), int("transB", tb)];
        attrs.push(float("alpha", 1.0));
        let bytes =
            graph(vec![node("Gemm", &["a", "b"], &["out"], attrs)], &[("a", a.clone()), ("b", b.clone())], vec![]);
        let kernel = format!("matmul/vec4-{}{}", ["k", "m"][ta as usize], ["n", "k"][tb as usize]);
        cases.push((format!("Gemm transA {ta} transB {tb}"), bytes, vec![("a", a), ("b", b)], kernel));
    }
    let (a, b) = (vec![3, 20, 44], vec![3, 44, 12]);
    let bytes =
        graph(vec![node("MatMul", &["a", "b"], &["out"], vec![])], &[("a", a.clone()), ("b", b.clone())], vec![]);
    cases.push(("batched MatMul".into(), bytes, vec![("a", a), ("b", b)], "matmul/vec4-kn".into()));
    let (a, b) = (vec![20, 37], vec![37, 12]);
    let bytes =
        graph(vec![node("MatMul", &["a", "b"], &["out"], vec![])], &[("a", a.clone()), ("b", b.clone())], vec![]);
    cases.push(("MatMul with k = 37".into(), bytes, vec![("a", a), ("b", b)], "matmul".into()));
    let tiled = std::env::var("SHOPFLOOR_GPU_GEMM").is_ok_and(|v| v == "tiled");
    for (what, bytes, inputs, kernel) in cases {
        let inputs: Vec<(&str, Vec<usize>)> = inputs;
        if !compare(&what, &bytes, &inputs, &mut rng) {
            return;
        }
        let opts = LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() };
        let kernels = Model::load(&bytes, &opts).unwrap().info().gpu.unwrap().kernels;
        // The kernel family is the device's measured choice unless `make test` forces one.
        if tiled {
            assert_eq!(kernels.keys().collect::<Vec<_>>(), [&kernel], "{what}");
        }
    }
}

#[test]
fn elementwise_binary_broadcasting_every_rank_combination() {
    let mut rng = Rng(0x2545F4914F6CDD1D);
    let ops = ["Add", "Sub", "Mul", "Div", "Max", "Min"];
    for ra in 1..=4 {
        for rb in 1..=4 {
            let full: Vec<usize> = (0..ra.max(rb)).map(|_| rng.int(2, 7)).collect();
            let shape = |r: usize, rng: &mut Rng| -> Vec<usize> {
                full[full.len() - r..].iter().map(|&d| if rng.int(0, 2) == 0 { 1 } else { d }).collect()
            };
            let (a, b) = (shape(ra, &mut rng), shape(rb, &mut rng));
            let op = ops[(ra * 4 + rb) % ops.len()];
            let what = format!("{op} {a:?} with {b:?}");
            let bytes =
                graph(vec![node(op, &["a", "b"], &["out"], vec![])], &[("a", a.clone()), ("b", b.clone())], vec![]);
            if !compare(&what, &bytes, &[("a", a), ("b", b)], &mut rng) {
                return;
            }
        }
    }
}

#[test]
fn elementwise_unary_chains_fuse_into_one_program() {
    let mut rng = Rng(0x853C49E6748FEA9B);
    let shape = vec![2, 3, 17, 5];
    // Positive-domain ops read Abs(x) + 0.5.
    let nodes = vec![
        node("Abs", &["x"], &["ax"], vec![]),
        node("Add", &["ax", "half"], &["pos"], vec![]),
        node("Log", &["pos"], &["l"], vec![]),
        node("Sqrt", &["pos"], &["s"], vec![]),
        node("Reciprocal", &["pos"], &["r"], vec![]),
        node("Pow", &["pos", "x"], &["p"], vec![]),
        node("Sigmoid", &["x"], &["sg"], vec![]),
        node("Tanh", &["x"], &["th"], vec![]),
        node("Exp", &["x"], &["ex"], vec![]),
        node("Erf", &["x"], &["er"], vec![]),
        node("HardSwish", &["x"], &["hs"], vec![]),
        node("LeakyRelu", &["x"], &["lr"], vec![float("alpha", 0.1)]),
        node("HardSigmoid", &["x"], &["hsg"], vec![float("alpha", 0.2), float("beta", 0.5)]),
        node("Clip", &["x", "lo", "hi"], &["cl"], vec![]),
        node("Relu", &["x"], &["re"], vec![]),
        node("Neg", &["x"], &["ng"], vec![]),
        node("Floor", &["x"], &["fl"], vec![]),
        node("Sum", &["l", "s", "r", "p", "sg", "th", "ex", "er"], &["s1"], vec![]),
        node("Sum", &["hs", "lr", "hsg", "cl", "re", "ng", "fl"], &["s2"], vec![]),
        node("Mul", &["s1", "s2"], &["out"], vec![]),
    ];
    let inits = vec![f32_init("half", &[], &[0.5]), f32_init("lo", &[], &[-0.7]), f32_init("hi", &[], &[1.2])];
    let bytes = graph(nodes, &[("x", shape.clone())], inits);
    compare("unary chains", &bytes, &[("x", shape)], &mut rng);
}

/// Exact GELU written out as transformer exports write it (tract fuses it into one op).
#[test]
fn gelu_exact_runs_on_the_gpu() {
    let mut rng = Rng(0x2545F4914F6CDD1D);
    let shape = vec![1, 7, 33];
    let nodes = vec![
        node("Mul", &["x", "inv_sqrt2"], &["xs"], vec![]),
        node("Erf", &["xs"], &["e"], vec![]),
        node("Add", &["e", "one"], &["e1"], vec![]),
        node("Mul", &["x", "e1"], &["xe"], vec![]),
        node("Mul", &["xe", "half"], &["out"], vec![]),
    ];
    let inits = vec![
        f32_init("inv_sqrt2", &[], &[std::f32::consts::FRAC_1_SQRT_2]),
        f32_init("one", &[], &[1.0]),
        f32_init("half", &[], &[0.5]),
    ];
    let bytes = graph(nodes, &[("x", shape.clone())], inits);
    compare("gelu", &bytes, &[("x", shape)], &mut rng);
}

#[test]
fn pools_random() {
    let mut rng = Rng(0xA0761D6478BD642F);
    for i in 0..12 {
        let x = vec![rng.int(1, 2), rng.int(1, 9), rng.int(1, 12), rng.int(1, 12)];
        let k = [rng.int(1, 3.min(x[2])), rng.int(1, 3.min(x[3]))];
        let s = [rng.int(1, 2), rng.int(1, 2)];
        let pads: Vec<i64> = (0..4).map(|j| rng.int(0, k[j % 2] - 1) as i64).collect();
        let (op, mut attrs) = match i % 4 {
            0 => ("MaxPool", vec![]),
            1 => ("AveragePool", vec![int("count_include_pad", 0)]),
            2 => ("AveragePool", vec![int("count_include_pad", 1)]),
            _ => (if rng.int(0, 1) == 0 { "GlobalAveragePool" } else { "GlobalMaxPool" }, vec![]),
        };
        if !op.starts_with("Global") {
            attrs.extend([
                ints("kernel_shape", &[k[0] as i64, k[1] as i64]),
                ints("strides", &[s[0] as i64, s[1] as i64]),
                ints("pads", &pads),
            ]);
        }
        let what = format!("{op} x{x:?} k{k:?} s{s:?} pads {pads:?}");
        let bytes = graph(vec![node(op, &["x"], &["out"], attrs)], &[("x", x.clone())], vec![]);
        if !compare(&what, &bytes, &[("x", x)], &mut rng) {
            return;
        }
    }
}

#[test]
fn reductions_softmax_and_lrn() {
    let mut rng = Rng(0xE7037ED1A0B428DB);
    for i in 0..10 {
        let x: Vec<usize> = vec![rng.int(1, 3), rng.int(1, 70), rng.int(1, 9), rng.int(1, 300)];
        let axis = rng.int(0, 3);
        let (op, attrs) = match i % 5 {
            0 => ("ReduceMean", vec![ints("axes", &[axis as i64]), int("keepdims", 1)]),
            1 => ("ReduceMax", vec![ints("axes", &[axis as i64, (axis + 1).min(3) as i64]), int("keepdims", 0)]),
            2 => ("ReduceMin", vec![ints("axes", &[axis as i64]), int("keepdims", 1)]),
            3 => ("Softmax", vec![int("axis", axis as i64)]),
            _ => (
                "LRN",
                vec![
                    int("size", rng.pick(&[3, 5]) as i64),
                    float("alpha", 1e-3),
                    float("beta", 0.75),
                    float("bias", 1.0),
                ],
            ),
        };
        let what = format!("{op} x{x:?} {attrs:?}");
        let bytes = graph(vec![node(op, &["x"], &["out"], attrs)], &[("x", x.clone())], vec![]);
        if !compare(&what, &bytes, &[("x", x)], &mut rng) {
            return;
        }
    }
    let x = vec![2, 5, 40];
    let nodes = vec![node("ReduceSum", &["x", "axes"], &["out"], vec![int("keepdims", 1)])];
    let bytes = graph(nodes, &[("x", x.clone())], vec![i64_init("axes", &[2], &[1, 2])]);
    compare("ReduceSum over two axes", &bytes, &[("x", x)], &mut rng);
}

#[test]
fn layout_ops_random() {
    let mut rng = Rng(0x8EBC6AF09C88C6E3);
    for _ in 0..6 {
        let rank = rng.int(2, 5);
        let x: Vec<usize> = (0..rank).map(|_| rng.int(1, 6)).collect();
        let mut perm: Vec<i64> = (0..rank as i64).collect();
        for i in (1..rank).rev() {
            perm.swap(i, rng.int(0, i));
        }
        let what = format!("Transpose x{x:?} perm {perm:?}");
        // Sigmoid after the transpose so the graph computes something besides moving bytes.
        let nodes = vec![
            node("Transpose", &["x"], &["t"], vec![ints("perm", &perm)]),
            node("Sigmoid", &["t"], &["out"], vec![]),
        ];
        if !compare(&what, &graph(nodes, &[("x", x.clone())], vec![]), &[("x", x)], &mut rng) {
            return;
        }
    }
    let a = vec![2, 3, 5];
    let b = vec![2, 4, 5];
    let nodes = vec![node("Concat", &["a", "b", "a"], &["out"], vec![int("axis", 1)])];
    compare("Concat", &graph(nodes, &[("a", a.clone()), ("b", b.clone())], vec![]), &[("a", a), ("b", b)], &mut rng);

    let x = vec![3, 10, 9];
    let inits = vec![
        i64_init("starts", &[2], &[1, 2]),
        i64_init("ends", &[2], &[9, 8]),
        i64_init("axes", &[2], &[1, 2]),
        i64_init("steps", &[2], &[2, 1]),
    ];
    let nodes = vec![node("Slice", &["x", "starts", "ends", "axes", "steps"], &["out"], vec![])];
    compare("Slice with a step", &graph(nodes, &[("x", x.clone())], inits), &[("x", x)], &mut rng);

    let x = vec![1, 3, 4, 5];
    let inits = vec![i64_init("pads", &[8], &[0, 0, 1, 2, 0, 1, 3, 0]), f32_init("v", &[], &[0.25])];
    let nodes = vec![node("Pad", &["x", "pads", "v"], &["out"], vec![string("mode", "constant")])];
    compare("Pad", &graph(nodes, &[("x", x.clone())], inits), &[("x", x)], &mut rng);

    let x = vec![1, 2, 3, 4];
    let inits = vec![f32_init("scales", &[4], &[1.0, 1.0, 2.0, 3.0])];
    let nodes = vec![node("Resize", &["x", "", "scales"], &["out"], vec![string("mode", "nearest")])];
    compare("Resize nearest x2 x3", &graph(nodes, &[("x", x.clone())], inits), &[("x", x)], &mut rng);

    let x = vec![2, 6, 3];
    let nodes = vec![
        node("Split", &["x", "sizes"], &["p", "q"], vec![int("axis", 1)]),
        node("Sub", &["p", "q"], &["out"], vec![]),
    ];
    let bytes = graph(nodes, &[("x", x.clone())], vec![i64_init("sizes", &[2], &[3, 3])]);
    compare("Split", &bytes, &[("x", x)], &mut rng);
}

#[test]
fn what_the_gpu_cannot_take_is_refused_with_the_reason() {
    // Symbolic dims without inputShapes: a GPU plan per shape, at the first run at each.
    let x = value_info("x", F32, &[-1, 3]);
    let bytes = model(vec![node("Relu", &["x"], &["out"], vec![])], vec![x], vec![any_f32("out")], |_| {});
    let opts = LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() };
    match Model::load(&bytes, &opts) {
        Ok(mut m) => {
            for n in [2, 5] {
                let x = HostTensor::f32(vec![n, 3], (0..3 * n).map(|i| i as f32 - 4.0).collect()).unwrap();
                let out = m.run(HashMap::from([("x".to_string(), x)])).unwrap();
                assert_eq!(out[0].1.dims, vec![n, 3]);
                assert_eq!(m.info().backend, BackendKind::Webgpu);
            }
        }
        Err(e) => assert!(!gpu_expected(), "{e}"),
    }
    // The same model with its shape pinned gets its plan at load.
    let pinned = LoadOptions { input_shapes: vec![("x".into(), vec![2, 3])], ..opts.clone() };
    match Model::load(&bytes, &pinned) {
        Ok(m) => assert!(m.info().backend == BackendKind::Webgpu && m.info().gpu.is_some()),
        Err(e) => assert!(!gpu_expected(), "{e}"),
    }
    // An op without a GPU kernel and symbolic dims: "webgpu" refuses the run at a new shape,
    // naming it, and keeps refusing (no quiet CPU run).
    let x = value_info("x", F32, &[-1, 3]);
    let bytes = model(vec![node("ArgMax", &["x"], &["out"], vec![int("axis", 1)])], vec![x], vec![], |g| {
        g.output = vec![value_info("out", I64, &[-1, 1])]
    });
    if let Ok(mut m) = Model::load(&bytes, &opts) {
        let x = HostTensor::f32(vec![2, 3], vec![0.0; 6]).unwrap();
        let e = m.run(HashMap::from([("x".to_string(), x)])).unwrap_err();
        assert_eq!(e.code(), ErrorCode::BackendUnavailable);
        assert!(e.to_string().contains("no GPU kernel") && e.to_string().contains("[2, 3]"), "{e}");
    }
    // An op with no GPU kernel (ArgMax): "webgpu" names it; "auto" keeps the whole graph on the CPU.
    let x = value_info("x", F32, &[2, 3]);
    let bytes = model(vec![node("ArgMax", &["x"], &["out"], vec![int("axis", 1)])], vec![x], vec![], |g| {
        g.output = vec![value_info("out", I64, &[2, 1])]
    });
    if gpu_expected() {
        let e = Model::load(&bytes, &opts).err().expect("refused");
        assert_eq!(e.code(), ErrorCode::BackendUnavailable);
        assert!(e.to_string().contains("no GPU kernel"), "{e}");
        let m = pollster::block_on(Model::load_async(&bytes, &LoadOptions::default())).unwrap();
        assert_eq!(m.info().backend, BackendKind::Cpu);
        assert!(m.info().backend_reason.contains("no GPU kernel"), "{}", m.info().backend_reason);
    }
}

#[test]
fn auto_measures_both_paths_and_says_which_won() {
    let Some(path) = common::cached("blazeface/face_detection_front_128.onnx") else { return };
    let bytes = std::fs::read(path).unwrap();
    let m = pollster::block_on(Model::load_async(&bytes, &LoadOptions::default())).unwrap();
    let info = m.info();
    let reason = &info.backend_reason;
    if gpu_expected() {
        assert!(reason.contains("measured") && reason.contains("ms"), "{reason}");
    }
    println!("auto chose {}: {reason}", info.backend.as_str());
}

#[test]
fn residual_and_activation_tails_fold_into_conv_and_matmul() {
    let mut rng = Rng(0x1B873593CC9E2D51);
    let x = vec![1, 8, 9, 7];
    let w = f32_init("w", &[8, 8, 3, 3], &rng.vec(8 * 8 * 9));
    let b = f32_init("b", &[8], &rng.vec(8));
    let lo = f32_init("lo", &[], &[0.0]);
    let hi = f32_init("hi", &[], &[6.0]);
    let nodes = vec![
        node("Conv", &["x", "w", "b"], &["c"], vec![ints("pads", &[1, 1, 1, 1])]),
        node("Add", &["c", "x"], &["r"], vec![]),
        node("Clip", &["r", "lo", "hi"], &["out"], vec![]),
    ];
    let bytes = graph(nodes, &[("x", x.clone())], vec![w, b, lo, hi]);
    if !compare("conv + residual + relu6", &bytes, &[("x", x.clone())], &mut rng) {
        return;
    }
    let opts = LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() };
    let gpu = Model::load(&bytes, &opts).unwrap().info().gpu.unwrap();
    assert_eq!(gpu.dispatches, 1, "{:?}", gpu.kernels);

    let a = vec![3, 40];
    let nodes = vec![node("MatMul", &["a", "w"], &["m"], vec![]), node("Relu", &["m"], &["out"], vec![])];
    let bytes = graph(nodes, &[("a", a.clone())], vec![f32_init("w", &[40, 70], &rng.vec(2800))]);
    compare("matmul + relu", &bytes, &[("a", a)], &mut rng);
    let gpu = Model::load(&bytes, &opts).unwrap().info().gpu.unwrap();
    assert_eq!(gpu.dispatches, 1, "{:?}", gpu.kernels);
}

/// BlazeFace's shortcut: the block's input zero-padded with channels (or padded on one other
/// axis), added to the conv's output. The padded tensor is read in the conv's epilogue straight
/// from the unpadded one, so conv + pad + add + relu is one dispatch; pads on two axes, a non-zero
/// pad value or a padded tensor read twice are not folded (and still agree with the CPU).
#[test]
fn zero_padded_shortcuts_fold_into_the_conv_epilogue() {
    let mut rng = Rng(0x5BD1E9955BD1E995);
    let opts = LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() };
    for case in 0..16 {
        // Not 1x1 spatially: tract folds an add of a [1, C, 1, 1] tensor into the conv's bias.
        let (n, c, h, w) = (rng.int(1, 2), rng.int(1, 9), rng.int(2, 9), rng.int(2, 9));
        // Which axis is padded (1 channels, 2 rows, 3 columns), by how much before and after.
        let axis = if case < 6 { 1 } else { rng.int(1, 3) };
        let (before, after) = (rng.pick(&[0, 0, 1, 3]), rng.int(1, 5));
        let mut pads = vec![0i64; 8];
        pads[axis] = before;
        pads[4 + axis] = after as i64;
        let (two_axes, value, read_twice) = match case % 4 {
            1 if case >= 8 => (true, 0.0, false),
            2 if case >= 8 => (false, 1.5, false),
            3 if case >= 8 => (false, 0.0, true),
            _ => (false, 0.0, false),
        };
        if two_axes {
            pads[if axis == 3 { 2 } else { 3 }] = 1;
        }
        let mut out = [n, c, h, w];
        for d in 0..4 {
            out[d] += (pads[d] + pads[4 + d]) as usize;
        }
        // A 3x3 conv maps x to the padded shape: its own padding adds what the pad adds.
        let (kh, kw) = (3, 3);
        let total = [out[2] - h + 2, out[3] - w + 2];
        let cp = [total[0] / 2, total[1] / 2, total[0] - total[0] / 2, total[1] - total[1] / 2].map(|v| v as i64);
        let mut inits = vec![
            f32_init("w", &[out[1] as i64, c as i64, kh as i64, kw as i64], &rng.vec(out[1] * c * kh * kw)),
            f32_init("b", &[out[1] as i64], &rng.vec(out[1])),
            i64_init("pads", &[8], &pads),
            f32_init("value", &[], &[value]),
        ];
        // Half the cases as TensorFlow exports a channel pad: a Concat with zero constants.
        let as_concat = case % 2 == 1 && !two_axes && value == 0.0;
        let pad = if as_concat {
            let mut parts = vec![];
            for (name, size) in [("z0", before as usize), ("z1", after)] {
                let mut dims = [n, c, h, w].map(|d| d as i64);
                dims[axis] = size as i64;
                if size > 0 {
                    inits.push(f32_init(name, &dims, &vec![0.0; dims.iter().product::<i64>() as usize]));
                    parts.push(name);
                }
            }
            parts.insert(usize::from(before > 0), "x");
            node("Concat", &parts, &["p"], vec![int("axis", axis as i64)])
        } else {
            node("Pad", &["x", "pads", "value"], &["p"], vec![])
        };
        let mut nodes = vec![
            pad,
            node("Conv", &["x", "w", "b"], &["c"], vec![ints("pads", &cp)]),
            node("Add", &["c", "p"], &["r"], vec![]),
        ];
        if read_twice {
            inits.push(f32_init("k", &[], &[0.5]));
            nodes.push(node("Mul", &["p", "k"], &["q"], vec![]));
            nodes.push(node("Add", &["r", "q"], &["s"], vec![]));
            nodes.push(node("Relu", &["s"], &["out"], vec![]));
        } else {
            nodes.push(node("Relu", &["r"], &["out"], vec![]));
        }
        let what =
            format!("x {:?} pads {pads:?} value {value} read twice {read_twice} concat {as_concat}", [n, c, h, w]);
        let bytes = graph(nodes, &[("x", vec![n, c, h, w])], inits);
        if !compare(&what, &bytes, &[("x", vec![n, c, h, w])], &mut rng) {
            return;
        }
        let gpu = Model::load(&bytes, &opts).unwrap().info().gpu.unwrap();
        if !two_axes && value == 0.0 && !read_twice {
            assert_eq!(gpu.dispatches, 1, "{what}: {:?}", gpu.kernels);
        } else {
            assert!(gpu.dispatches > 1, "{what}: {:?}", gpu.kernels);
        }
    }
}

/// Vision pre-processing on the GPU (frame.wgsl) against the CPU's (`InputSpec::apply`): a
/// "× 2" model receives the frame's tensor made on the GPU; its output must be twice the CPU
/// tensor, over random frame sizes (down- and upscaling, 1-pixel frames, odd sizes), every fit,
/// layout and colour order, and frames of changing size through the same plan.
#[test]
fn frame_preprocessing_matches_the_cpu() {
    use shopfloor::vision::preprocess::{ColourOrder, Fit, InputSpec, Layout};
    use shopfloor::vision::RgbaImage;
    let mut rng = Rng(0x5eed_f4a3e);
    let (mut cases, mut worst) = (0, 0f32);
    for (k, layout) in [Layout::Nchw, Layout::Nhwc, Layout::Nchw, Layout::Nhwc].into_iter().enumerate() {
        let (w, h) = (rng.int(1, 40), rng.int(1, 40));
        let dims = if layout == Layout::Nchw { vec![1, 3, h, w] } else { vec![1, h, w, 3] };
        let bytes = graph(
            vec![node("Mul", &["x", "two"], &["out"], vec![])],
            &[("x", dims.clone())],
            vec![f32_init("two", &[], &[2.0])],
        );
        let opts = LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() };
        let mut gpu = match Model::load(&bytes, &opts) {
            Ok(m) => m,
            Err(e) if e.code() == ErrorCode::BackendUnavailable && !gpu_expected() => {
                eprintln!("frame: skipped, no GPU: {e}");
                return;
            }
            Err(e) => panic!("frame model: {} {e}", e.code()),
        };
        for _ in 0..6 {
            let fit = match rng.int(0, 2) {
                0 => Fit::Stretch,
                1 => Fit::CenterCrop { fraction: [0.875, 1.0, 0.5][rng.int(0, 2)] },
                _ => Fit::Letterbox,
            };
            let colour = rng.pick(&[ColourOrder::Rgb, ColourOrder::Bgr]);
            let mean = [rng.f() * 60.0 + 120.0, rng.f() * 60.0 + 120.0, rng.f() * 60.0 + 120.0];
            let std = [rng.f().abs() * 30.0 + 1.0, rng.f().abs() * 30.0 + 1.0, rng.f().abs() * 30.0 + 1.0];
            let spec = InputSpec { name: None, width: w, height: h, layout, colour, mean, std, fit };
            let (iw, ih) = match rng.int(0, 3) {
                0 => (1, 1),
                1 => (rng.int(1, 9), rng.int(1, 9)),
                2 => (rng.int(30, 130), rng.int(30, 130)),
                _ => (rng.int(300, 700), rng.int(200, 500)),
            };
            let data: Vec<u8> = (0..iw * ih * 4).map(|_| rng.next() as u8).collect();
            let img = RgbaImage::new(iw, ih, data).unwrap();
            let (want, _) = spec.apply(&img).unwrap();
            let g = spec.geometry(iw, ih);
            let t = spec.frame_transform(&g, ih);
            let what = format!("{w}×{h} {layout:?} {colour:?} {fit:?} from {iw}×{ih}");
            let got = pollster::block_on(gpu.run_frame_async("x", &img.data, (iw as u32, ih as u32), &t))
                .unwrap_or_else(|e| panic!("{what}: {e}"))
                .unwrap_or_else(|| panic!("{what}: the GPU path was not taken: {}", gpu.info().backend_reason));
            let shopfloor::TensorData::F32(want) = want.data else { unreachable!() };
            let shopfloor::TensorData::F32(got) = &got[0].1.data else { panic!("f32 output") };
            let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
            let err = got.iter().zip(&want).map(|(g, w)| (g - 2.0 * w).abs()).fold(0f32, f32::max) / (2.0 * scale);
            assert!(err <= 1e-5, "{what}: max error {err:.2e} of the range");
            (cases, worst) = (cases + 1, worst.max(err));
        }
        assert_eq!(gpu.info().backend, BackendKind::Webgpu, "case set {k}: {}", gpu.info().backend_reason);
    }
    eprintln!("frame pre-processing: {cases} cases agree with the CPU, worst error {worst:.1e} of the range");
}

#[test]
fn gpu_profile_times_every_dispatch_and_refuses_a_cpu_model() {
    let bytes = graph(
        vec![node("MatMul", &["a", "b"], &["t"], vec![]), node("Relu", &["t"], &["out"], vec![])],
        &[("a", vec![33, 20]), ("b", vec![20, 70])],
        vec![],
    );
    let feeds: HashMap<String, HostTensor> = [("a", vec![33, 20]), ("b", vec![20, 70])]
        .into_iter()
        .map(|(n, s)| (n.to_string(), HostTensor::f32(s.clone(), vec![0.5; s.iter().product()]).unwrap()))
        .collect();
    let mut cpu = Model::load(&bytes, &LoadOptions { backend: BackendChoice::Cpu, ..Default::default() }).unwrap();
    let e = pollster::block_on(cpu.profile_gpu(feeds.clone())).unwrap_err();
    assert_eq!(e.code(), ErrorCode::BackendUnavailable);
    assert!(e.to_string().contains("on the CPU"), "{e}");
    let Ok(mut gpu) = Model::load(&bytes, &LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() }) else {
        assert!(!gpu_expected(), "no GPU");
        return;
    };
    let steps = pollster::block_on(gpu.profile_gpu(feeds)).unwrap();
    let plan = gpu.info().gpu.unwrap();
    assert_eq!(steps.len(), plan.dispatches, "{steps:?}");
    assert!(steps.iter().all(|s| s.ms > 0.0 && s.ms.is_finite()), "{steps:?}");
    assert!(steps.iter().all(|s| plan.kernels.contains_key(&s.op)), "{steps:?} vs {:?}", plan.kernels);
    // The relu is the matmul's epilogue: one dispatch, named for both nodes.
    assert_eq!(steps.len(), 1, "{steps:?}");
}
