//! Each kernel family's parameters exist twice, as a Rust struct that writes them (`ops/`) and
//! as the WGSL struct that reads them: these tests hold the two to the same size, so a field
//! added on one side only fails here rather than shifting every later field on the GPU.

use super::kernels::MAX_RANK;
use super::ops::conv::{ConvParams, Geometry};
use super::ops::copy::CopyParams;
use super::ops::elementwise::ElementwiseParams;
use super::ops::epilogue::Epilogue;
use super::ops::lrn::LrnParams;
use super::ops::matmul::MatmulParams;
use super::ops::pool::PoolParams;
use super::ops::rows::RowsParams;
use super::program::StepParams;

const WGSL: &[&str] = &[
    include_str!("kernels/conv_params.wgsl"),
    include_str!("kernels/epilogue_params.wgsl"),
    include_str!("kernels/matmul_common.wgsl"),
    include_str!("kernels/copy.wgsl"),
    include_str!("kernels/elementwise.wgsl"),
    include_str!("kernels/pool.wgsl"),
    include_str!("kernels/rows.wgsl"),
    include_str!("kernels/lrn.wgsl"),
    include_str!("kernels/frame.wgsl"),
];

/// The 4-byte words WGSL struct `name` declares: scalars 1, `vec4` 4, `array<T, N>` N × T, other
/// structs by their fields; a runtime-sized array (the element-wise program) counts 0.
fn struct_words(name: &str) -> usize {
    let head = format!("struct {name} {{");
    let src = WGSL.iter().find(|s| s.contains(&head)).unwrap_or_else(|| panic!("no WGSL struct {name}"));
    let body = &src[src.find(&head).unwrap() + head.len()..];
    let body = &body[..body.find('}').unwrap()];
    body.lines()
        .map(|l| l.split("//").next().unwrap().trim())
        .filter(|l| !l.is_empty())
        .map(|l| type_words(l.split_once(':').unwrap().1.trim().trim_end_matches(',')))
        .sum()
}

fn type_words(ty: &str) -> usize {
    match ty {
        "u32" | "i32" | "f32" => 1,
        t if t.starts_with("vec4<") => 4,
        t if t.starts_with("array<") => {
            let inner = &t["array<".len()..t.len() - 1];
            match inner.rsplit_once(',') {
                Some((elem, n)) => type_words(elem.trim()) * n.trim().parse::<usize>().unwrap(),
                None => 0,
            }
        }
        t => struct_words(t),
    }
}

fn geometry() -> Geometry {
    Geometry {
        n: 1,
        c_out: 8,
        in_hw: [9, 9],
        in_hw_raw: vec![9, 9],
        out_hw: [9, 9],
        k: [3, 3],
        stride: [1, 1],
        dil: [1, 1],
        pad: [1, 1],
        x_strides: [648, 81, 9, 1],
        y_strides: [648, 81, 9, 1],
    }
}

#[test]
fn every_rust_parameter_struct_writes_what_its_wgsl_struct_reads() {
    let epilogue = Epilogue::new([1; MAX_RANK]);
    let conv = |epilogue| ConvParams {
        geo: geometry(),
        out_per_group: 8,
        k: 72,
        in_per_group: 8,
        bias: false,
        invocations: 648,
        channels: 8,
        epilogue,
    };
    let matmul = MatmulParams {
        m: 4,
        n: 4,
        k: 4,
        a: [4, 1],
        b: [4, 1],
        c: [4, 1],
        batch: [1; 3],
        a_batch: [0; 3],
        b_batch: [0; 3],
        c_batch: [0; 3],
        a_offset: 0,
        b_offset: 0,
        epilogue: epilogue.clone(),
    };
    let elementwise =
        ElementwiseParams { n: 4, out_shape: [1, 1, 1, 1, 1, 4], inputs: vec![], program: vec![], result: 0 };
    let cases: Vec<(&str, Box<dyn StepParams>)> = vec![
        ("ConvParams", Box::new(conv(Some(epilogue.clone())))),
        ("ConvParams", Box::new(conv(None))),
        ("MatmulParams", Box::new(matmul)),
        ("CopyParams", Box::new(CopyParams::plain(&[2, 3], &[3, 1], &[2, 3]))),
        ("ElementwiseParams", Box::new(elementwise)),
        ("PoolParams", Box::new(PoolParams { geo: geometry() })),
        ("RowsParams", Box::new(RowsParams { outer: 1, len: 4, inner: 1, eps: 0.0 })),
        (
            "LrnParams",
            Box::new(LrnParams { total: 8, channels: 8, inner: 1, size: 3, alpha: 1.0, beta: 0.75, bias: 1.0 }),
        ),
    ];
    for (name, params) in cases {
        assert_eq!(params.words().len(), struct_words(name), "{name}: Rust writes a different size than WGSL reads");
    }
    assert_eq!(super::frame::PARAM_WORDS, struct_words("FrameParams"));
    // The element-wise program follows the fixed part, 4 words per instruction.
    let with_program = ElementwiseParams {
        n: 4,
        out_shape: [1, 1, 1, 1, 1, 4],
        inputs: vec![],
        program: vec![[32, 0, 0, 0]; 3],
        result: 0,
    };
    assert_eq!(with_program.words().len(), struct_words("ElementwiseParams") + 12);
}
