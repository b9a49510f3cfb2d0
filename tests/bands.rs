//! Row bands (src/backend/bands/): a graph cut into two bands of its input's rows and the rest
//! gives the whole graph's outputs, on real models through the SDK and on random chains of
//! convolutions, pools, pads, residual adds and concatenations built with tract.

mod common;

use std::collections::HashMap;

use common::*;
use shopfloor::backend::bands::{run_split, split, Part, Split};
use shopfloor::backend::optimise::{decluttered, optimized};
use shopfloor::{HostTensor, LoadOptions, Model};
use tract_onnx::prelude::*;
use tract_onnx::tract_core::ops::array::{Pad, PadMode, TypedConcat};
use tract_onnx::tract_core::ops::change_axes::AxisOp;
use tract_onnx::tract_core::ops::cnn::{Conv, KernelFormat, MaxPool, PaddingSpec, PoolSpec, SumPool};
use tract_onnx::tract_core::ops::math;
use tract_onnx::tract_core::ops::nn::{DataFormat, Reduce, Reducer};

/// A model's outputs run whole and in bands, within 1e-5 of each output's scale; whether it split.
fn bands_match_whole(rel: &str, dims: &[usize]) -> bool {
    let Some(path) = cached(rel) else { return true };
    let mut model = Model::load(&std::fs::read(path).unwrap(), &LoadOptions::default()).unwrap();
    let input = model.inputs()[0].name.clone();
    let mut rng = 1u64;
    let data = (0..dims.iter().product::<usize>())
        .map(|_| {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            ((rng >> 40) as f32 / (1u64 << 24) as f32) * 2.0 - 1.0
        })
        .collect();
    let x = HostTensor::f32(dims.to_vec(), data).unwrap();
    let whole = model.run(HashMap::from([(input.clone(), x.clone())])).unwrap();
    let Some(banded) = model.run_in_bands(HashMap::from([(input, x)])).unwrap() else { return false };
    assert_eq!(whole.len(), banded.len());
    for ((name, want), (_, got)) in whole.iter().zip(&banded) {
        let err = relative_error(got, want);
        println!("{rel} {name}: relative error {err:.2e}");
        assert!(err <= 1e-5, "{rel} output {name}: relative error {err:.2e}");
    }
    true
}

#[test]
fn blazeface_splits_and_its_bands_give_its_outputs() {
    assert!(bands_match_whole("blazeface/face_detection_front_128.onnx", &[1, 128, 128, 3]), "BlazeFace has a split");
}

#[test]
fn the_openwakeword_embedding_in_bands_gives_its_outputs() {
    bands_match_whole("openwakeword/embedding_model.onnx", &[1, 76, 32, 1]);
}

#[test]
fn larger_cnns_in_bands_give_their_outputs() {
    bands_match_whole("efficientnet/efficientnet_lite0.onnx", &[1, 3, 224, 224]);
    bands_match_whole("ppocr/ppocrv4_det.onnx", &[1, 3, 96, 160]);
    bands_match_whole("ppocr/ppocrv4_rec.onnx", &[1, 3, 48, 320]);
}

/// Architectures the cut was not tuned on: a 1-D spectrogram front end, a small classifier, and
/// the ONNX zoo's grouped convolutions with channel shuffles (ShuffleNet), concatenated branches
/// (GoogLeNet) and fire modules (SqueezeNet). Whichever of them split must give their outputs.
#[test]
fn other_architectures_in_bands_give_their_outputs() {
    bands_match_whole("openwakeword/melspectrogram.onnx", &[1, 1760]);
    bands_match_whole("ppocr/ppocr_cls.onnx", &[1, 3, 48, 192]);
    for light in ["light_shufflenet", "light_inception_v1", "light_squeezenet"] {
        bands_match_whole(&format!("onnx-tests/light/{light}.onnx"), &[1, 3, 224, 224]);
    }
}

/// A small deterministic generator.
struct Lcg(u64);

impl Lcg {
    fn below(&mut self, n: usize) -> usize {
        self.0 = self.0.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        ((self.0 >> 33) % n as u64) as usize
    }
    fn tensor(&mut self, shape: &[usize]) -> Tensor {
        let data: Vec<f32> = (0..shape.iter().product()).map(|_| (self.below(2001) as f32 - 1000.0) / 1000.0).collect();
        tract_ndarray::ArrayD::from_shape_vec(shape.to_vec(), data).unwrap().into_tensor()
    }
}

/// A random chain of row-local layers ending in a reduction over the image, and its input.
fn random_chain(rng: &mut Lcg) -> (TypedModel, Tensor) {
    let nchw = rng.below(2) == 0;
    let format = if nchw { DataFormat::NCHW } else { DataFormat::NHWC };
    let (h, w, c) = (24 + rng.below(60), 5 + rng.below(14), 1 + rng.below(6));
    let shape = |c: usize, h: usize, w: usize| if nchw { vec![1, c, h, w] } else { vec![1, h, w, c] };
    let (ha, wa, ca) = if nchw { (2, 3, 1) } else { (1, 2, 3) };
    let mut model = TypedModel::default();
    let input = rng.tensor(&shape(c, h, w));
    let mut x = model.add_source("x", f32::fact(input.shape())).unwrap();
    for layer in 0..4 + rng.below(8) {
        let fact = model.outlet_fact(x).unwrap().shape.as_concrete().unwrap().to_vec();
        let (h, w, c) = (fact[ha], fact[wa], fact[ca]);
        let name = |what: &str| format!("{what}{layer}");
        let spec = |k: usize, s: usize, d: usize, padding: PaddingSpec, out: usize| PoolSpec {
            data_format: format,
            kernel_shape: tvec!(k, k),
            padding,
            dilations: Some(tvec!(d, d)),
            strides: Some(tvec!(s, s)),
            input_channels: c,
            output_channels: out,
        };
        let choice = rng.below(7);
        x = if choice <= 2 && h >= 7 && w >= 7 {
            // A convolution: full or depthwise, any padding, strided or dilated.
            let (k, s) = ([1, 3, 5][rng.below(3)], 1 + rng.below(2));
            let d = if s == 1 && k == 3 { 1 + rng.below(2) } else { 1 };
            let field = (k - 1) * d;
            let padding = match rng.below(4) {
                0 => PaddingSpec::Valid,
                1 => PaddingSpec::SameUpper,
                2 => PaddingSpec::SameLower,
                _ => PaddingSpec::Explicit(
                    tvec!(rng.below(field + 1), rng.below(field + 1)),
                    tvec!(rng.below(field + 1), rng.below(field + 1)),
                ),
            };
            let group = if rng.below(3) == 0 { c } else { 1 };
            let out = if group == c { c } else { 1 + rng.below(8) };
            let kernel = model.add_const(name("k"), rng.tensor(&[out, c / group, k, k])).unwrap();
            let bias = model.add_const(name("b"), rng.tensor(&[out])).unwrap();
            let op =
                Conv { pool_spec: spec(k, s, d, padding, out), kernel_fmt: KernelFormat::OIHW, group, q_params: None };
            model.wire_node(name("conv"), op, &[x, kernel, bias]).unwrap()[0]
        } else if choice == 3 && h >= 4 && w >= 4 {
            let (k, s) = (2 + rng.below(2), 1 + rng.below(2));
            let padding = match rng.below(3) {
                0 => PaddingSpec::SameUpper,
                1 => PaddingSpec::ExplicitOnnxPool(tvec!(rng.below(k), 0), tvec!(0, rng.below(k)), rng.below(2) == 0),
                _ => PaddingSpec::Valid,
            };
            if rng.below(2) == 0 {
                let op = MaxPool { pool_spec: spec(k, s, 1, padding, c), with_index_outputs: None };
                model.wire_node(name("max"), op, &[x]).unwrap()[0]
            } else {
                let op = SumPool {
                    pool_spec: spec(k, s, 1, padding, c),
                    count_include_pad: rng.below(2) == 0,
                    normalize: true,
                };
                model.wire_node(name("avg"), op, &[x]).unwrap()[0]
            }
        } else if choice == 4 && h >= 3 {
            let mut pads = vec![(0, 0); 4];
            pads[ha] = (rng.below(3), rng.below(3));
            pads[wa] = (rng.below(2), rng.below(2));
            let mode = if rng.below(2) == 0 { PadMode::Reflect } else { PadMode::Constant(Arc::new(0.5f32.into())) };
            model.wire_node(name("pad"), Pad { pads, mode }, &[x]).unwrap()[0]
        } else if choice == 5 {
            // A residual: the input plus a same-size convolution of it, then a ReLU.
            let kernel = model.add_const(name("rk"), rng.tensor(&[c, c, 3, 3])).unwrap();
            let bias = model.add_const(name("rb"), rng.tensor(&[c])).unwrap();
            let op = Conv {
                pool_spec: spec(3, 1, 1, PaddingSpec::SameUpper, c),
                kernel_fmt: KernelFormat::OIHW,
                group: 1,
                q_params: None,
            };
            let y = model.wire_node(name("rconv"), op, &[x, kernel, bias]).unwrap()[0];
            let sum = model.wire_node(name("add"), math::add(), &[x, y]).unwrap()[0];
            let zero = model.add_const(name("zero"), tensor4(&[[[[0f32]]]])).unwrap();
            model.wire_node(name("relu"), math::max(), &[sum, zero]).unwrap()[0]
        } else {
            // Concatenated along the channels with a scaled copy of itself.
            let scale = model.add_const(name("s"), tensor4(&[[[[0.5f32]]]])).unwrap();
            let y = model.wire_node(name("mul"), math::mul(), &[x, scale]).unwrap()[0];
            model.wire_node(name("cat"), TypedConcat { axis: ca }, &[x, y]).unwrap()[0]
        };
    }
    let op = Reduce { axes: tvec!(ha, wa), reducer: Reducer::Sum };
    let y = model.wire_node("sum", op, &[x]).unwrap();
    model.select_output_outlets(&y).unwrap();
    (decluttered(model).unwrap(), input)
}

fn run_whole(model: &TypedModel, input: Tensor) -> Tensor {
    let plan = optimized(model.clone()).unwrap().into_runnable().unwrap();
    plan.run(tvec!(input.into_tvalue())).unwrap()[0].clone().into_tensor()
}

fn run_in_bands(s: Split, input: &Tensor) -> Tensor {
    let plans: Vec<_> =
        [s.top, s.bottom, s.rest].into_iter().map(|m| optimized(m).unwrap().into_runnable().unwrap()).collect();
    let run = |part: Part, v: TValue| plans[part as usize].run(tvec!(v));
    let join =
        |a: shopfloor::backend::bands::Band<TractError>, b: shopfloor::backend::bands::Band<TractError>| (a(), b());
    run_split(&s.geometry, input, run, join, |e| e).unwrap()[0].clone().into_tensor()
}

#[test]
fn random_chains_in_bands_give_the_whole_graphs_outputs() {
    let mut rng = Lcg(7);
    let mut split_count = 0;
    for case in 0..120 {
        let (model, input) = random_chain(&mut rng);
        let want = run_whole(&model, input.clone());
        let Some(s) = split(&model, f64::INFINITY).unwrap() else { continue };
        split_count += 1;
        let g = s.geometry.clone();
        let got = run_in_bands(s, &input);
        let (want, got) = (want.to_plain_array_view::<f32>().unwrap(), got.to_plain_array_view::<f32>().unwrap());
        assert_eq!(want.shape(), got.shape(), "case {case}");
        let scale = want.iter().fold(1f32, |m, v| m.max(v.abs()));
        let worst = want.iter().zip(got.iter()).fold(0f32, |m, (a, b)| m.max((a - b).abs()));
        assert!(worst <= 1e-5 * scale, "case {case}: {worst} against {scale}, {g:?}\n{model}");
    }
    assert!(split_count >= 60, "only {split_count} of 120 chains split");
}

#[test]
fn a_graph_that_mixes_rows_at_once_does_not_split() {
    // Flattened at once: no axis of the input keeps its rows apart.
    let mut model = TypedModel::default();
    let x = model.add_source("x", f32::fact([1, 4, 32, 32])).unwrap();
    let flat = AxisOp::Reshape(1, tvec!(4.into(), 32.into(), 32.into()), tvec!(4096.into()));
    let flat = model.wire_node("flat", flat, &[x]).unwrap();
    let one = model.add_const("one", tensor2(&[[1f32]])).unwrap();
    let y = model.wire_node("plus", math::add(), &[flat[0], one]).unwrap();
    model.select_output_outlets(&y).unwrap();
    let model = decluttered(model).unwrap();
    let s = split(&model, f64::INFINITY).unwrap();
    assert!(s.is_none(), "{model}\n{:?}", s.map(|s| s.geometry));
}
