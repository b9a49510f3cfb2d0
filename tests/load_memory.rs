//! How much memory a load needs beside the file it reads: the heap's high-water mark while a
//! model of 16 MiB of weights loads. tract copies each weight into its own tensor; the loader
//! must not keep the decoded file's copy beside it (wasm memory never shrinks, so a page pays
//! a load's peak for as long as it lives). One test per file: the counter is the process's.

use std::alloc::{GlobalAlloc, Layout, System};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

mod common;
use common::onnx::*;
use shopfloor::{HostTensor, LoadOptions, Model, TensorData};
use tract_onnx::pb;

struct Peak;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

unsafe impl GlobalAlloc for Peak {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            PEAK.fetch_max(LIVE.fetch_add(layout.size(), Relaxed) + layout.size(), Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Relaxed);
    }
}

#[global_allocator]
static GLOBAL: Peak = Peak;

const N: usize = 1 << 18; // one weight: 1 MiB of f32
const WEIGHTS: usize = 16;

/// `y = x + w0 + w1 + … + w15`, each `w` a distinct 1-MiB initializer in `raw_data`.
fn chain_of_adds() -> Vec<u8> {
    let mut nodes = vec![];
    let mut inits = vec![];
    for k in 0..WEIGHTS {
        let from = if k == 0 { "x".to_string() } else { format!("s{k}") };
        let to = if k + 1 == WEIGHTS { "y".to_string() } else { format!("s{}", k + 1) };
        let w = format!("w{k}");
        nodes.push(node("Add", &[&from, &w], &[&to], vec![]));
        let values: Vec<u8> = (0..N).flat_map(|i| ((i % 7) as f32 + k as f32).to_le_bytes()).collect();
        inits.push(pb::TensorProto {
            name: w,
            data_type: F32,
            dims: vec![N as i64],
            raw_data: values,
            ..Default::default()
        });
    }
    model(nodes, vec![value_info("x", F32, &[N as i64])], vec![value_info("y", F32, &[N as i64])], |g| {
        g.initializer = inits
    })
}

#[test]
fn a_load_holds_the_weights_once_beside_the_file() {
    let bytes = chain_of_adds();
    let weights = WEIGHTS * N * 4;
    let before = LIVE.load(Relaxed);
    PEAK.store(before, Relaxed);
    let mut m = Model::load(&bytes, &LoadOptions::default()).unwrap();
    let extra = PEAK.load(Relaxed) - before;
    eprintln!("load peak beside the file: {:.1} MiB for {} MiB of weights", extra as f64 / 1048576.0, weights >> 20);
    // The model's own copy of the weights, one weight being converted, tract's graphs and plan.
    assert!(extra < weights * 3 / 2, "a load took {extra} bytes beside the file for {weights} bytes of weights");

    // And the weights are the file's.
    let out = m.run(HashMap::from([("x".to_string(), HostTensor::f32(vec![N], vec![1.0; N]).unwrap())])).unwrap();
    let TensorData::F32(y) = &out[0].1.data else { panic!("f32 output") };
    let base: f32 = (0..WEIGHTS).map(|k| k as f32).sum();
    for (i, v) in y.iter().enumerate().step_by(997) {
        assert_eq!(*v, 1.0 + base + WEIGHTS as f32 * (i % 7) as f32, "y[{i}]");
    }
}
