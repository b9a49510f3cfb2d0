//! A native shift: models created, run and freed over and over on lavapipe (WebGPU path) and the
//! CPU; the GPU buffers held by live plans return to their baseline and the process's resident
//! memory stops growing. Its own test binary: the buffer count is process-wide.

mod common;

use std::collections::HashMap;

use common::onnx::*;
use shopfloor::backend::gpu::session::live_buffers;
use shopfloor::{BackendChoice, ErrorCode, HostTensor, LoadOptions, Model};

const F32: i32 = 1;

/// Conv 3×3 (8 → 16 channels) + Relu + global average pool: every buffer kind a plan holds.
fn small_cnn() -> Vec<u8> {
    let w: Vec<f32> = (0..16 * 8 * 9).map(|i| ((i * 37 % 101) as f32 - 50.0) / 500.0).collect();
    let nodes = vec![
        node("Conv", &["x", "w"], &["c"], vec![ints("kernel_shape", &[3, 3]), ints("pads", &[1, 1, 1, 1])]),
        node("Relu", &["c"], &["r"], vec![]),
        node("GlobalAveragePool", &["r"], &["out"], vec![]),
    ];
    let out = value_info("out", F32, &[1, 16, 1, 1]);
    model(nodes, vec![value_info("x", F32, &[1, 8, 24, 24])], vec![out], |g| {
        g.initializer = vec![f32_init("w", &[16, 8, 3, 3], &w)]
    })
}

fn resident_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap_or_default();
    statm.split_whitespace().nth(1).and_then(|p| p.parse::<u64>().ok()).unwrap_or(0) * 4096
}

fn cycle(bytes: &[u8], backend: BackendChoice, runs: usize) -> shopfloor::Result<()> {
    let mut m = Model::load(bytes, &LoadOptions { backend, ..Default::default() })?;
    for i in 0..runs {
        let x = HostTensor::f32(vec![1, 8, 24, 24], vec![(i % 13) as f32 / 13.0; 8 * 24 * 24]).unwrap();
        m.run(HashMap::from([("x".to_string(), x)]))?;
    }
    Ok(())
}

/// GPU pre-processing keeps its own frame buffers, regrown for larger frames: they are counted
/// and destroyed with the plan.
fn frames_through_a_plan_return_their_buffers(baseline: usize) {
    use shopfloor::vision::preprocess::{Fit, InputSpec};
    let bytes = model(
        vec![node("Mul", &["x", "two"], &["out"], vec![])],
        vec![value_info("x", F32, &[1, 3, 32, 32])],
        vec![value_info("out", F32, &[1, 3, 32, 32])],
        |g| g.initializer = vec![f32_init("two", &[], &[2.0])],
    );
    let mut m = Model::load(&bytes, &LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() }).unwrap();
    let plan_buffers = live_buffers();
    let spec = InputSpec {
        name: None,
        width: 32,
        height: 32,
        layout: Default::default(),
        colour: Default::default(),
        mean: [0.0; 3],
        std: [1.0; 3],
        fit: Fit::Letterbox,
    };
    for (w, h) in [(64, 48), (640, 480), (320, 240), (1280, 720), (64, 48)] {
        let rgba = vec![7u8; w * h * 4];
        let t = spec.frame_transform(&spec.geometry(w, h), h);
        let out = pollster::block_on(m.run_frame_async("x", &rgba, (w as u32, h as u32), &t)).unwrap();
        assert!(out.is_some(), "{w}×{h}: not run on the GPU");
    }
    assert_eq!(
        live_buffers(),
        plan_buffers + shopfloor::backend::gpu::frame::BUFFERS,
        "frame buffers are replaced, not added"
    );
    drop(m);
    assert_eq!(live_buffers(), baseline, "frame buffers leaked");
}

#[test]
fn create_run_free_cycles_return_gpu_buffers_and_stop_growing() {
    let bytes = small_cnn();
    match cycle(&bytes, BackendChoice::Webgpu, 2) {
        Err(e) if e.code() == ErrorCode::BackendUnavailable && std::env::var_os("SHOPFLOOR_EXPECT_GPU").is_none() => {
            eprintln!("skipped, no GPU: {e}");
            return;
        }
        r => r.unwrap(),
    }
    cycle(&bytes, BackendChoice::Cpu, 2).unwrap();
    let buffers = live_buffers();
    let held = Model::load(&bytes, &LoadOptions { backend: BackendChoice::Webgpu, ..Default::default() }).unwrap();
    assert!(live_buffers() > buffers, "a live GPU model holds buffers");
    drop(held);
    assert_eq!(live_buffers(), buffers);
    frames_through_a_plan_return_their_buffers(buffers);

    let t0 = std::time::Instant::now();
    let mut rss = vec![];
    for _ in 0..40 {
        cycle(&bytes, BackendChoice::Webgpu, 50).unwrap(); // 2,000 GPU runs in all
        cycle(&bytes, BackendChoice::Cpu, 50).unwrap(); // and 2,000 on the CPU
        rss.push(resident_bytes());
    }
    let mib = |b: u64| b as f64 / 1048576.0;
    eprintln!(
        "40 cycles (2,000 GPU + 2,000 CPU runs) in {:.1} s; GPU buffers {} -> {}; resident {:.1} MiB after cycle 1, {:.1} MiB after cycle 40",
        t0.elapsed().as_secs_f64(),
        buffers,
        live_buffers(),
        mib(rss[0]),
        mib(rss[39])
    );
    assert_eq!(live_buffers(), buffers, "GPU buffers leaked");
    // Allocators keep some memory; a leak grows with every cycle.
    assert!(
        rss[39] < rss[0] + 32 * 1048576,
        "resident memory kept growing: {:.1} -> {:.1} MiB",
        mib(rss[0]),
        mib(rss[39])
    );
}
