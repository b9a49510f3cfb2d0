//! `VectorByMatrix` against tract's einsum: attention's products over a key/value cache, cut by a
//! slice or appended to by a concat, in every operand order and layout it takes, and the
//! products it must leave to tract left alone.

use shopfloor::backend::cpu_kernels::substitute_vector_products;
use shopfloor::backend::optimise::{codegen, decluttered, optimized};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{Slice, TypedConcat};
use tract_onnx::tract_core::ops::einsum::EinSum;

use super::{random_tensor, worst_and_scale, Lcg};

/// tract's plan for `model`, ours, and how many products ours took.
fn plans(model: TypedModel) -> (TypedModel, TypedModel, usize) {
    let tract = optimized(model.clone()).unwrap();
    let mut ours = decluttered(model).unwrap();
    let replaced = substitute_vector_products(&mut ours).unwrap();
    (tract, codegen(ours).unwrap(), replaced)
}

fn run_all(model: &TypedModel, inputs: &[Tensor]) -> Tensor {
    let plan = model.clone().into_runnable().unwrap();
    let out = plan.run(inputs.iter().map(|t| t.clone().into_tvalue()).collect()).unwrap();
    out[0].clone().into_tensor()
}

fn einsum(expr: &str) -> EinSum {
    EinSum::new(expr.parse().unwrap(), f32::datum_type())
}

/// How the matrices reach the einsum.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// A model input as it is.
    Whole,
    /// One layer of a stack of `layers` (a `Slice` on the first axis), as a decoder's cache.
    Layer { layers: usize, layer: usize },
    /// A layer, with `extra` rows appended along the output axis by a `Concat`.
    LayerAndRows { layers: usize, layer: usize, extra: usize },
}

/// One product `expr` (vectors first unless `swapped`) over inputs of these shapes; the matrices'
/// shape is the einsum's, its first axis the layer when `feed` cuts one. Checks ours against
/// tract's and returns how many products ours took.
fn check(rng: &mut Lcg, expr: &str, vectors: &[usize], matrices: &[usize], feed: Feed, swapped: bool) -> usize {
    let what = format!("{expr} {vectors:?} {matrices:?} {feed:?}");
    let mut model = TypedModel::default();
    let v = model.add_source("v", f32::fact(vectors)).unwrap();
    let mut source_shape = matrices.to_vec();
    let mut inputs = vec![random_tensor(rng, vectors)];
    let m = match feed {
        Feed::Whole => {
            inputs.push(random_tensor(rng, matrices));
            model.add_source("m", f32::fact(matrices)).unwrap()
        }
        Feed::Layer { layers, layer } | Feed::LayerAndRows { layers, layer, .. } => {
            source_shape[0] = layers;
            inputs.push(random_tensor(rng, &source_shape));
            let cache = model.add_source("cache", f32::fact(&source_shape)).unwrap();
            let slice = Slice::new(0, layer, layer + 1);
            let cut = model.wire_node("layer", slice, &[cache]).unwrap()[0];
            match feed {
                Feed::LayerAndRows { extra, .. } => {
                    // The output axis of the matrices: the one of theirs missing from the vectors.
                    let (ins, _) = einsum(expr).axes.to_strs();
                    let (vs, ms) = if swapped { (&ins[1], &ins[0]) } else { (&ins[0], &ins[1]) };
                    let axis = ms.chars().position(|c| !vs.contains(c) && c != 'a').unwrap();
                    let mut rows_shape = matrices.to_vec();
                    rows_shape[axis] = extra;
                    inputs.push(random_tensor(rng, &rows_shape));
                    let rows = model.add_source("rows", f32::fact(&rows_shape)).unwrap();
                    model.wire_node("append", TypedConcat { axis }, &[cut, rows]).unwrap()[0]
                }
                _ => cut,
            }
        }
    };
    let operands = if swapped { [m, v] } else { [v, m] };
    let y = model.wire_node("product", einsum(expr), &operands).unwrap();
    model.select_output_outlets(&y).unwrap();
    let (tract, ours, replaced) = plans(model);
    let kernels: Vec<&TypedNode> = ours.nodes().iter().filter(|n| n.op.name() == "VectorByMatrix").collect();
    assert_eq!(kernels.is_empty(), replaced == 0, "{what}");
    if replaced > 0 && !matches!(feed, Feed::Whole) {
        // The layer is read where it lies in the cache: no slice copies it out first.
        let reads_cache = kernels.iter().any(|n| ours.node(n.inputs[1].node).name == "cache");
        assert!(reads_cache, "{what}: the layer was copied out of the cache");
    }
    let (want, got) = (run_all(&tract, &inputs), run_all(&ours, &inputs));
    let (worst, scale) = worst_and_scale(&want, &got, &what);
    assert!(worst <= 2e-6 * scale.max(1.0) * 64.0, "{what}: off by {worst} (scale {scale})");
    replaced
}

#[test]
fn attention_over_a_cache_matches_tract_on_random_shapes() {
    let mut rng = Lcg(0xcafe);
    for case in 0..120 {
        let (h, c, f) = (rng.in_range(1, 7), rng.in_range(2, 70), rng.in_range(2, 130));
        let layers = rng.in_range(1, 4);
        let feed = match case % 3 {
            0 => Feed::Whole,
            1 => Feed::Layer { layers, layer: rng.below(layers) },
            _ => Feed::LayerAndRows { layers, layer: rng.below(layers), extra: rng.in_range(1, 3) },
        };
        let swapped = case % 5 == 4;
        // Keys (rows along the contracted axis): scores of one query per head.
        let keys = if swapped { "ahfc,hc->hf" } else { "hc,ahfc->hf" };
        let replaced = check(&mut rng, keys, &[h, c], &[1, h, f, c], feed, swapped);
        assert!(replaced >= 1, "case {case}: keys {h}×{c}→{f} {feed:?} were left to tract");
        // Values (rows along the output axis): the softmax's weights over the values.
        let values = if swapped { "ahcf,hc->hf" } else { "hc,ahcf->hf" };
        let replaced = check(&mut rng, values, &[h, c], &[1, h, c, f], feed, swapped);
        assert!(replaced >= 1, "case {case}: values {h}×{c}→{f} {feed:?} were left to tract");
    }
}

#[test]
fn single_products_and_axes_of_one_value_are_taken() {
    let mut rng = Lcg(0xbeef);
    for (expr, v, m) in [
        ("c,fc->f", vec![37], vec![53, 37]),
        ("c,cf->f", vec![37], vec![37, 53]),
        ("xc,cf->xf", vec![1, 64], vec![64, 1500]),
        ("hc,hfc->hf", vec![6, 64], vec![6, 1500, 64]),
        ("hc,hcf->hf", vec![6, 1500], vec![6, 1500, 64]),
        // The output keeps an axis of one value after the batch.
        ("hc,hfc->hyf", vec![3, 9], vec![3, 11, 9]),
    ] {
        assert_eq!(check(&mut rng, expr, &v, &m, Feed::Whole, false), 1, "{expr}");
    }
}

#[test]
fn products_it_does_not_cover_stay_tracts() {
    let mut rng = Lcg(0xf00d);
    // Several vectors per product (a matrix × matrix product), a batch axis after the output
    // axis, and a batch the vectors broadcast over.
    for (expr, v, m) in [
        ("hmc,hfc->hmf", vec![2, 3, 8], vec![2, 10, 8]),
        ("hc,hfc->fh", vec![3, 8], vec![3, 10, 8]),
        ("hc,hfc->hf", vec![1, 8], vec![3, 10, 8]),
    ] {
        assert_eq!(check(&mut rng, expr, &v, &m, Feed::Whole, false), 0, "{expr}");
    }
    // Matrices that are weights: tract packs them once, at load.
    let mut model = TypedModel::default();
    let v = model.add_source("v", f32::fact([1, 64])).unwrap();
    let w = model.add_const("w", random_tensor(&mut rng, &[64, 96])).unwrap();
    let y = model.wire_node("product", einsum("xc,cf->xf"), &[v, w]).unwrap();
    model.select_output_outlets(&y).unwrap();
    assert_eq!(plans(model).2, 0, "constant matrices");
}
