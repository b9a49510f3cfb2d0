//! Hostile feed *values* for models whose behaviour depends on them: indices (Gather,
//! GatherElements, GatherND, ScatterElements, ScatterND, OneHot), integer divisors (Div, Mod),
//! TopK's k, Range's bounds and step, and shapes given at run time (Reshape, Expand, Tile,
//! ConstantOfShape, Slice). Every run must end in a result or a typed error that says what is
//! wrong with the input: `INTERNAL` (a panic caught by the guard) is a finding, and so are an
//! abort, a hang or an allocation over the budget (libFuzzer's -rss_limit_mb).
#![no_main]

#[path = "../../tests/common/onnx.rs"]
#[allow(dead_code)]
mod onnx;

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use onnx::{f32_init, i64_init, int, model, node, value_info, F32, I64};
use shopfloor::{BackendChoice, ErrorCode, HostTensor, LoadOptions, Model, TensorData};

const I32: i32 = 6;

/// One model under test: its bytes and its inputs (name, ONNX element type, dims; a negative dim
/// is symbolic, its size taken from the fuzz input).
struct Case {
    bytes: Vec<u8>,
    inputs: Vec<(&'static str, i32, Vec<i64>)>,
}

fn cases() -> Vec<Case> {
    let vi = value_info;
    let mut out = vec![];
    let mut add = |bytes: Vec<u8>, inputs: Vec<(&'static str, i32, Vec<i64>)>| out.push(Case { bytes, inputs });
    let data53 = |name: &str| f32_init(name, &[5, 3], &(0..15).map(|i| i as f32).collect::<Vec<_>>());
    // Gather on either axis, indices from the feed.
    for axis in [0, 1] {
        add(
            model(vec![node("Gather", &["d", "i"], &["y"], vec![int("axis", axis)])], vec![vi("i", I64, &[-1])], vec![vi("y", F32, &[])], |g| {
                g.initializer.push(data53("d"))
            }),
            vec![("i", I64, vec![-1])],
        );
    }
    add(
        model(vec![node("GatherElements", &["d", "i"], &["y"], vec![int("axis", 0)])], vec![vi("i", I64, &[2, 3])], vec![vi("y", F32, &[])], |g| {
            g.initializer.push(data53("d"))
        }),
        vec![("i", I64, vec![2, 3])],
    );
    add(
        model(vec![node("GatherND", &["d", "i"], &["y"], vec![])], vec![vi("i", I64, &[-1, 2])], vec![vi("y", F32, &[])], |g| {
            g.initializer.push(data53("d"))
        }),
        vec![("i", I64, vec![-1, 2])],
    );
    add(
        model(
            vec![node("ScatterElements", &["d", "i", "u"], &["y"], vec![int("axis", 1)])],
            vec![vi("d", F32, &[5, 3]), vi("i", I64, &[2, 3]), vi("u", F32, &[2, 3])],
            vec![vi("y", F32, &[])],
            |_| {},
        ),
        vec![("d", F32, vec![5, 3]), ("i", I64, vec![2, 3]), ("u", F32, vec![2, 3])],
    );
    add(
        model(
            vec![node("ScatterND", &["d", "i", "u"], &["y"], vec![])],
            vec![vi("d", F32, &[5, 3]), vi("i", I64, &[2, 1]), vi("u", F32, &[2, 3])],
            vec![vi("y", F32, &[])],
            |_| {},
        ),
        vec![("d", F32, vec![5, 3]), ("i", I64, vec![2, 1]), ("u", F32, vec![2, 3])],
    );
    for elem in [I64, I32] {
        add(
            model(vec![node("Div", &["a", "b"], &["y"], vec![])], vec![vi("a", elem, &[-1]), vi("b", elem, &[-1])], vec![vi("y", elem, &[])], |_| {}),
            vec![("a", elem, vec![-1]), ("b", elem, vec![-1])],
        );
        add(
            model(vec![node("Mod", &["a", "b"], &["y"], vec![])], vec![vi("a", elem, &[4]), vi("b", elem, &[1])], vec![vi("y", elem, &[])], |_| {}),
            vec![("a", elem, vec![4]), ("b", elem, vec![1])],
        );
    }
    add(
        model(vec![node("TopK", &["x", "k"], &["v", "ix"], vec![])], vec![vi("x", F32, &[6]), vi("k", I64, &[1])], vec![vi("v", F32, &[]), vi("ix", I64, &[])], |_| {}),
        vec![("x", F32, vec![6]), ("k", I64, vec![1])],
    );
    for elem in [I64, F32] {
        add(
            model(
                vec![node("Range", &["s", "l", "d"], &["y"], vec![])],
                vec![vi("s", elem, &[]), vi("l", elem, &[]), vi("d", elem, &[])],
                vec![vi("y", elem, &[])],
                |_| {},
            ),
            vec![("s", elem, vec![]), ("l", elem, vec![]), ("d", elem, vec![])],
        );
    }
    add(
        model(vec![node("OneHot", &["i", "depth", "vals"], &["y"], vec![])], vec![vi("i", I64, &[-1])], vec![vi("y", F32, &[])], |g| {
            g.initializer.push(i64_init("depth", &[], &[4]));
            g.initializer.push(f32_init("vals", &[2], &[0.0, 1.0]));
        }),
        vec![("i", I64, vec![-1])],
    );
    // Shapes from the feed: loaded if tract can, refused with a typed error otherwise.
    for (op, extra) in [("Reshape", None), ("Expand", None), ("Tile", None), ("ConstantOfShape", Some(()))] {
        let (ins, inputs): (Vec<&str>, Vec<(&'static str, i32, Vec<i64>)>) = if extra.is_some() {
            (vec!["s"], vec![("s", I64, vec![2])])
        } else {
            (vec!["x", "s"], vec![("x", F32, vec![2, 3]), ("s", I64, vec![2])])
        };
        let vis = inputs.iter().map(|(n, e, d)| vi(n, *e, d)).collect();
        add(model(vec![node(op, &ins, &["y"], vec![])], vis, vec![vi("y", F32, &[])], |_| {}), inputs);
    }
    // More values compiled into per-value plans: pads, Resize's sizes, OneHot's depth, CumSum's
    // and CumProd's axis, a shift amount, and an If on an input.
    for (op, ins, inputs) in [
        ("Pad", vec!["x", "p"], vec![("x", F32, vec![2, 3]), ("p", I64, vec![4])]),
        ("Resize", vec!["x", "", "", "s"], vec![("x", F32, vec![1, 1, 2, 3]), ("s", I64, vec![4])]),
        ("OneHot", vec!["i", "d", "vals"], vec![("i", I64, vec![3]), ("d", I64, vec![1])]),
        ("CumSum", vec!["x", "a"], vec![("x", F32, vec![2, 3]), ("a", I64, vec![])]),
        ("CumProd", vec!["x", "a"], vec![("x", F32, vec![2, 3]), ("a", I64, vec![])]),
        ("BitShift", vec!["x", "n"], vec![("x", I64, vec![4]), ("n", I64, vec![4])]),
    ] {
        let attrs = if op == "BitShift" { vec![onnx::string("direction", "LEFT")] } else { vec![] };
        let vis = inputs.iter().map(|(n, e, d)| vi(n, *e, d)).collect();
        add(
            model(vec![node(op, &ins, &["y"], attrs)], vis, vec![vi("y", F32, &[])], |g| {
                g.initializer.push(f32_init("vals", &[2], &[0.0, 1.0]))
            }),
            inputs,
        );
    }
    add(
        model(
            vec![
                node("Equal", &["c", "one"], &["b"], vec![]),
                node("If", &["b"], &["y"], vec![onnx::graph_attr("then_branch", onnx::one_node("Reshape", &["x", "s"])), onnx::graph_attr("else_branch", onnx::one_node("Tile", &["x", "s"]))]),
            ],
            vec![vi("c", I64, &[]), vi("x", F32, &[2, 3]), vi("s", I64, &[2])],
            vec![vi("y", F32, &[])],
            |g| g.initializer.push(i64_init("one", &[], &[1])),
        ),
        vec![("c", I64, vec![]), ("x", F32, vec![2, 3]), ("s", I64, vec![2])],
    );
    add(
        model(
            vec![node("Slice", &["x", "st", "en"], &["y"], vec![])],
            vec![vi("x", F32, &[5, 3]), vi("st", I64, &[1]), vi("en", I64, &[1])],
            vec![vi("y", F32, &[])],
            |_| {},
        ),
        vec![("x", F32, vec![5, 3]), ("st", I64, vec![1]), ("en", I64, vec![1])],
    );
    out
}

thread_local! {
    /// Each case's model, loaded once (or its load error, which must itself be typed).
    static MODELS: Vec<(Option<std::cell::RefCell<Model>>, Vec<(&'static str, i32, Vec<i64>)>)> = cases()
        .into_iter()
        .map(|c| {
            let opts = LoadOptions { backend: BackendChoice::Cpu, max_tensor_bytes: 1 << 20, plan_cache_size: 4, ..Default::default() };
            let m = match Model::load(&c.bytes, &opts) {
                Ok(m) => Some(std::cell::RefCell::new(m)),
                Err(e) => {
                    assert_ne!(e.code(), ErrorCode::Internal, "load: {e}");
                    None
                }
            };
            (m, c.inputs)
        })
        .collect();
}

/// Values that hit the edges more often than uniform bytes would.
fn value(b: &[u8]) -> i64 {
    let raw = i64::from_le_bytes(b.try_into().unwrap());
    match b[0] % 8 {
        0 => raw,
        1 => i64::MIN + (b[1] as i64 % 2),
        2 => i64::MAX - (b[1] as i64 % 2),
        3 => (b[1] % 16) as i64 - 8,
        _ => (b[1] as i8) as i64,
    }
}

fuzz_target!(|data: &[u8]| {
    let [which, sym, rest @ ..] = data else { return };
    MODELS.with(|models| {
        let (model, inputs) = &models[*which as usize % models.len()];
        let Some(model) = model else { return };
        let mut words = rest.chunks_exact(8).map(value);
        let mut feeds = HashMap::new();
        for (name, elem, dims) in inputs {
            let dims: Vec<usize> = dims.iter().map(|&d| if d < 0 { (*sym % 9) as usize } else { d as usize }).collect();
            let n: usize = dims.iter().product();
            let vals: Vec<i64> = (0..n).map(|_| words.next().unwrap_or(1)).collect();
            let data = match *elem {
                F32 => TensorData::F32(vals.iter().map(|&v| if v % 7 == 0 { f32::NAN } else { (v % 1000) as f32 / 7.0 }).collect()),
                I32 => TensorData::I32(vals.iter().map(|&v| v as i32).collect()),
                _ => TensorData::I64(vals),
            };
            feeds.insert(name.to_string(), HostTensor::new(dims, data).unwrap());
        }
        if let Err(e) = model.borrow_mut().run(feeds) {
            assert_ne!(e.code(), ErrorCode::Internal, "{e}");
        }
    });
});
