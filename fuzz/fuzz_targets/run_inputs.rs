//! Hostile feeds for a real (tiny, symbolic-shape) model: any names, dtypes, dims and data,
//! NaN and infinities included. The input checks must answer with a typed error or the model
//! must run; never a panic inside tract.
#![no_main]

use std::cell::RefCell;
use std::collections::HashMap;

use libfuzzer_sys::fuzz_target;
use shopfloor::{BackendChoice, HostTensor, LoadOptions, Model, TensorData};

thread_local! {
    static MODEL: RefCell<Model> = RefCell::new(
        Model::load(
            include_bytes!("../models/tiny_cnn.onnx"),
            &LoadOptions { backend: BackendChoice::Cpu, max_tensor_bytes: 8 << 20, plan_cache_size: 4, ..Default::default() },
        )
        .expect("the committed model loads"),
    );
}

fuzz_target!(|data: &[u8]| {
    let [name, dtype, rank, rest @ ..] = data else { return };
    let rank = (*rank % 6) as usize;
    if rest.len() < rank {
        return;
    }
    let (dims, payload) = rest.split_at(rank);
    // Dims up to 64 (0 included): plans for odd shapes get compiled, some of them absurd.
    let dims: Vec<usize> = dims.iter().map(|&d| (d % 65) as usize).collect();
    let floats = || payload.chunks_exact(4).map(|c| f32::from_le_bytes(c.try_into().unwrap())).collect::<Vec<_>>();
    let data = match dtype % 4 {
        0 | 1 => TensorData::F32(floats()),
        2 => TensorData::I64(payload.chunks_exact(8).map(|c| i64::from_le_bytes(c.try_into().unwrap())).collect()),
        _ => TensorData::U8(payload.to_vec()),
    };
    // Mostly the right name; sometimes another.
    let input = if name % 8 == 0 { "y".to_string() } else { "x".to_string() };
    // Short data is stretched to the dims' size so the run path is reached, not only the check.
    let data = match (data, dims.iter().product::<usize>()) {
        (TensorData::F32(mut v), n) if dtype % 4 == 1 && !v.is_empty() && n <= 1 << 16 => {
            let fill = v[0];
            v.resize(n, fill);
            TensorData::F32(v)
        }
        (d, _) => d,
    };
    let Ok(t) = HostTensor::new(dims, data) else { return };
    MODEL.with(|m| {
        let _ = m.borrow_mut().run(HashMap::from([(input, t)]));
    });
});
