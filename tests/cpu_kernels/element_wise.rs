//! `ElementwiseChain` (element-wise steps that branch and meet again, `x · f(x)`) against tract's
//! ops, and the chains it must leave alone left alone.

use shopfloor::backend::cpu_kernels::{fuse_element_wise, ElementwiseChain};
use shopfloor::backend::optimise::{codegen, decluttered, optimized};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::binary::TypedBinOp;
use tract_onnx::tract_core::ops::element_wise::ElementWiseOp;
use tract_onnx::tract_core::ops::{math, nn};

use super::{random_tensor, worst_and_scale, Lcg};

/// One random step after `y` (a constant on either side where the op allows it), its name.
fn random_step(model: &mut TypedModel, rng: &mut Lcg, y: OutletId, name: &str) -> OutletId {
    let value = rng.f32() * 0.3;
    let rank = model.outlet_fact(y).unwrap().rank();
    let mut konst = |v: f32| {
        let t = tract_ndarray::ArrayD::from_elem(vec![1; rank], v).into_tensor();
        model.add_const(format!("{name}.s"), t).unwrap()
    };
    // Sub and Div with the chain first (`s − x` and `s / x` are other ops to tract).
    let (op, s, either_side) = match rng.below(7) {
        0 => return model.wire_node(name, nn::leaky_relu(value.abs() + 0.05), &[y]).unwrap()[0],
        1 => (math::max(), konst(value), true),
        2 => (math::min(), konst(value), true),
        3 => (math::add(), konst(value), true),
        4 => (math::mul(), konst(value), true),
        5 => (math::sub(), konst(value), false),
        _ => (math::div(), konst(if value == 0.0 { 3.0 } else { value }), false),
    };
    let ins = if either_side && rng.below(2) == 0 { [s, y] } else { [y, s] };
    model.wire_node(name, op, &ins).unwrap()[0]
}

/// `x → pre steps → x · f(x) → post steps` with hard swish's or random steps in `f`: one
/// `ElementwiseChain` in the plan, no step left after the branch, tract's answers.
#[test]
fn branching_chains_fuse_into_one_op_with_tracts_answers() {
    let mut rng = Lcg(0x5e1);
    for case in 0..150 {
        let rank = rng.in_range(1, 4);
        let shape: Vec<usize> = (0..rank).map(|_| rng.in_range(1, 40)).collect();
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact(&shape)).unwrap();
        // The chain starts after a node tract keeps: a sigmoid.
        let mut y = model.wire_node("start", nn::sigmoid(), &[x]).unwrap()[0];
        let mut what = format!("case {case}: {shape:?}");
        for i in 0..rng.below(3) {
            y = random_step(&mut model, &mut rng, y, &format!("pre{i}"));
            what += &format!(" {}", model.node(y.node).op.name());
        }
        let branch = y;
        if case % 3 == 0 {
            // Hard swish as PP-OCR's graphs spell it: x · min(max(x + 3, 0), 6) / 6.
            what += " hardswish";
            let k = |m: &mut TypedModel, n: &str, v: f32| {
                m.add_const(n, tract_ndarray::ArrayD::from_elem(vec![1; rank], v).into_tensor()).unwrap()
            };
            let (three, zero, six) =
                (k(&mut model, "three", 3.0), k(&mut model, "zero", 0.0), k(&mut model, "six", 6.0));
            y = model.wire_node("hs.add", math::add(), &[branch, three]).unwrap()[0];
            y = model.wire_node("hs.max", math::max(), &[y, zero]).unwrap()[0];
            y = model.wire_node("hs.min", math::min(), &[y, six]).unwrap()[0];
            y = model.wire_node("hs.mul", math::mul(), &[branch, y]).unwrap()[0];
            let six2 = k(&mut model, "six2", 6.0);
            y = model.wire_node("hs.div", math::div(), &[y, six2]).unwrap()[0];
        } else {
            what += " branch(";
            for i in 0..rng.in_range(1, 4) {
                y = random_step(&mut model, &mut rng, y, &format!("in{i}"));
                what += &format!(" {}", model.node(y.node).op.name());
            }
            what += " )";
            let ins = if rng.below(2) == 0 { [branch, y] } else { [y, branch] };
            y = model.wire_node("product", math::mul(), &ins).unwrap()[0];
        }
        for i in 0..rng.below(3) {
            y = random_step(&mut model, &mut rng, y, &format!("post{i}"));
            what += &format!(" {}", model.node(y.node).op.name());
        }
        model.select_output_outlets(&[y]).unwrap();
        let tract = optimized(model.clone()).unwrap();
        let mut ours = decluttered(model).unwrap();
        // The steps before the branch may become a `ChannelChain` of their own.
        let replaced = fuse_element_wise(&mut ours).unwrap();
        let chains = ours.nodes().iter().filter(|n| n.op_is::<ElementwiseChain>()).count();
        assert_eq!(chains, 1, "{what}: {replaced} replaced");
        let chain = ours.nodes().iter().position(|n| n.op_is::<ElementwiseChain>()).unwrap();
        let after = ours.eval_order().unwrap().into_iter().skip_while(|&id| id != chain).skip(1);
        let left: Vec<_> = after
            .filter(|&id| ours.node(id).op_is::<ElementWiseOp>() || ours.node(id).op_is::<TypedBinOp>())
            .map(|id| ours.node(id).to_string())
            .collect();
        assert!(left.is_empty(), "{what}: every step after the branch folds in, left {left:?}");
        let input = random_tensor(&mut rng, &shape);
        let want = tract.into_runnable().unwrap().run(tvec!(input.clone().into_tvalue())).unwrap();
        let got = codegen(ours).unwrap().into_runnable().unwrap().run(tvec!(input.into_tvalue())).unwrap();
        let (worst, scale) = worst_and_scale(&want[0].clone().into_tensor(), &got[0].clone().into_tensor(), &what);
        assert!(worst <= 1e-6 * scale, "{what}: off by {worst} (scale {scale})");
    }
}

/// Branches that do not meet again in a product of the two, or whose values another node or
/// the model's caller also reads, stay tract's.
#[test]
fn other_branches_stay_tracts() {
    let k = |m: &mut TypedModel, n: &str, v: f32| m.add_const(n, tensor1(&[v])).unwrap();
    for variant in 0..4 {
        let mut model = TypedModel::default();
        let x = model.add_source("x", f32::fact([37])).unwrap();
        let start = model.wire_node("start", nn::sigmoid(), &[x]).unwrap()[0];
        let three = k(&mut model, "three", 3.0);
        let inner = model.wire_node("inner", math::add(), &[start, three]).unwrap()[0];
        let meet = if variant == 0 { math::add() } else { math::mul() };
        let y = model.wire_node("meet", meet, &[start, inner]).unwrap()[0];
        let outputs = match variant {
            0 => vec![y],
            // The branch's inner value is also the caller's.
            1 => vec![y, inner],
            // So is the value before the branch.
            2 => vec![y, start],
            // A third reader.
            _ => {
                let other = model.wire_node("other", nn::leaky_relu(0.1), &[start]).unwrap()[0];
                vec![y, other]
            }
        };
        model.select_output_outlets(&outputs).unwrap();
        let mut ours = decluttered(model).unwrap();
        assert_eq!(fuse_element_wise(&mut ours).unwrap(), 0, "variant {variant}");
    }
}
