//! Bytes → model (the ONNX loader, tract's analysis and plan compilation), then one run on zero
//! inputs when the model has small fixed-shape f32 inputs. Any outcome but a panic, an abort or a
//! hang is fine: errors must be typed.
#![no_main]

use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use shopfloor::model::Dim;
use shopfloor::{BackendChoice, DType, HostTensor, LoadOptions, Model, TensorData};

fuzz_target!(|data: &[u8]| {
    // A tight budget: libFuzzer's own memory limit is 2 GiB, and the loader must refuse more
    // than it allows before allocating.
    let opts = LoadOptions { backend: BackendChoice::Cpu, max_tensor_bytes: 16 << 20, ..Default::default() };
    let Ok(mut model) = Model::load(data, &opts) else { return };
    let mut feeds = HashMap::new();
    for input in model.inputs() {
        let Some(shape) = &input.shape else { return };
        let dims: Option<Vec<usize>> = shape.iter().map(Dim::fixed).collect();
        let Some(dims) = dims else { return };
        let n: usize = dims.iter().product();
        if input.dtype != Some(DType::F32) || n > 1 << 16 {
            return;
        }
        feeds.insert(input.name.clone(), HostTensor::new(dims, TensorData::F32(vec![0.0; n])).unwrap());
    }
    let _ = model.run(feeds);
});
