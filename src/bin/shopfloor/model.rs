//! `info`, `run`, `bench`, `profile`, `bench-kernels`: any ONNX model, as the JS `Model` runs it.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use shopfloor::tract_ndarray::{ArrayD, IxDyn};
use shopfloor::{BackendChoice, Error, HostTensor, LoadOptions, Model, TensorData};

use crate::parse::{input_pair, positive, shape_pair, warmup};

#[derive(Clone, clap::Args)]
pub struct ModelArgs {
    /// The ONNX file.
    #[arg(value_name = "MODEL.onnx")]
    model: PathBuf,
    /// auto, cpu or webgpu (profile: cpu or webgpu).
    #[arg(long, default_value = "auto")]
    backend: BackendChoice,
    /// An input from a .npy file; inputs not given are fixed-seed random tensors.
    #[arg(long = "input", value_name = "NAME=FILE.npy", value_parser = input_pair)]
    inputs: Vec<(String, PathBuf)>,
    /// Pins an input's shape (symbolic dims become these numbers), as `inputShapes` does in JS.
    #[arg(long = "shape", value_name = "NAME=1x3x224x224", value_parser = shape_pair)]
    shapes: Vec<(String, Vec<usize>)>,
    /// run: the directory for each output as <name>.npy ('/' and ':' become '_') and the
    /// generated inputs as input_<name>.npy.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// bench, profile: timed runs.
    #[arg(long, default_value_t = 20, value_parser = positive)]
    runs: usize,
    /// bench: untimed runs after the first.
    #[arg(long, default_value_t = 3, value_parser = warmup)]
    warmup: usize,
    /// bench, profile: one JSON line.
    #[arg(long)]
    json: bool,
}

fn load(a: &ModelArgs) -> shopfloor::Result<Model> {
    let bytes =
        std::fs::read(&a.model).map_err(|e| Error::ModelInvalid(format!("reading {}: {e}", a.model.display())))?;
    // --shape pins the plan at load time, as `inputShapes` does in JS.
    let opts = LoadOptions { backend: a.backend, input_shapes: a.shapes.clone(), ..Default::default() };
    // The asynchronous load is the one that measures both backends for "auto".
    pollster::block_on(Model::load_async(bytes, &opts))
}

pub fn bench_kernels() -> shopfloor::Result<()> {
    let status = pollster::block_on(shopfloor::backend::probe()).webgpu;
    let Some(adapter) = status.adapter else {
        return Err(Error::BackendUnavailable { backend: "webgpu".into(), reason: status.reason.unwrap_or_default() });
    };
    println!("adapter: {} ({}, {})", adapter.name, adapter.device_type, adapter.api);
    let results = pollster::block_on(shopfloor::backend::gpu::bench::run_all()).map_err(Error::from)?;
    for r in results {
        println!("{:<28} {:>8.3} GFLOP  {:>9.2} ms  {:>8.1} GFLOP/s", r.name, r.gflop, r.ms, r.gflops);
    }
    Ok(())
}

pub fn info(a: &ModelArgs) -> shopfloor::Result<()> {
    let model = load(a)?;
    let info = model.info();
    println!("model     {} ({} bytes, sha256 {})", a.model.display(), info.byte_length, info.sha256);
    println!("producer  {}   opset {}", if info.producer.is_empty() { "?" } else { &info.producer }, info.opset);
    println!("backend   {} ({})", info.backend.as_str(), info.backend_reason);
    if let Some(gpu) = &info.gpu {
        println!(
            "gpu plan  {} dispatches on {}, weights {} KiB, activations {} KiB pooled ({} KiB unpooled)",
            gpu.dispatches,
            gpu.adapter,
            gpu.weight_bytes >> 10,
            gpu.activation_bytes >> 10,
            gpu.unpooled_activation_bytes >> 10
        );
        let kernels: Vec<String> = gpu.kernels.iter().map(|(k, n)| format!("{k} {n}")).collect();
        println!("kernels   {}", kernels.join(", "));
    }
    println!("plan      {}   parameters {}   nodes {}", info.plan, info.parameter_count, info.node_count);
    for (title, ios) in [("inputs", model.inputs()), ("outputs", model.outputs())] {
        println!("{title}:");
        for io in ios {
            let dt = io.model_dtype.as_deref().unwrap_or("?");
            println!("  {:<28} {:<5} {}", io.name, dt, io.shape_string());
        }
    }
    println!("ops:");
    for (op, o) in &info.ops {
        println!("  {op:<28} {:>5}  {}", o.count, o.backend.as_str());
    }
    for f in &info.loader_fixes {
        println!("loader fix: {f}");
    }
    Ok(())
}

fn feeds(a: &ModelArgs, model: &Model, out: Option<&Path>) -> shopfloor::Result<HashMap<String, HostTensor>> {
    let mut feeds = HashMap::new();
    for (name, file) in &a.inputs {
        feeds.insert(name.clone(), read_npy(file)?);
    }
    let mut rng = 0x9E3779B97F4A7C15u64;
    for io in model.inputs() {
        if feeds.contains_key(&io.name) {
            continue;
        }
        let dims = io.shape.as_ref().and_then(|s| s.iter().map(|d| d.fixed()).collect::<Option<Vec<_>>>()).ok_or_else(
            || {
                Error::InvalidArgument(format!(
                    "input \"{}\" has shape {}: give --shape {}=... or --input {}=FILE.npy",
                    io.name,
                    io.shape_string(),
                    io.name,
                    io.name
                ))
            },
        )?;
        let n: usize = dims.iter().product();
        let mut next = || {
            rng ^= rng << 13;
            rng ^= rng >> 7;
            rng ^= rng << 17;
            rng
        };
        let data = match io.dtype.unwrap_or(shopfloor::DType::F32) {
            shopfloor::DType::F32 => {
                TensorData::F32((0..n).map(|_| (next() >> 40) as f32 / (1u64 << 24) as f32).collect())
            }
            shopfloor::DType::I32 => TensorData::I32((0..n).map(|_| (next() % 10) as i32).collect()),
            shopfloor::DType::I64 => TensorData::I64((0..n).map(|_| (next() % 10) as i64).collect()),
            shopfloor::DType::U8 => TensorData::U8((0..n).map(|_| next() as u8).collect()),
            shopfloor::DType::Bool => TensorData::Bool((0..n).map(|_| (next() & 1) as u8).collect()),
        };
        let t = HostTensor::new(dims, data)?;
        if let Some(dir) = out {
            write_npy(&dir.join(format!("input_{}.npy", file_safe(&io.name))), &t)?;
        }
        feeds.insert(io.name.clone(), t);
    }
    Ok(feeds)
}

pub fn run(a: &ModelArgs) -> shopfloor::Result<()> {
    let out = a.out.as_deref().ok_or_else(|| Error::InvalidArgument("run needs --out DIR".into()))?;
    std::fs::create_dir_all(out).map_err(|e| Error::InvalidArgument(format!("creating {}: {e}", out.display())))?;
    let mut model = load(a)?;
    let feeds = feeds(a, &model, Some(out))?;
    let t0 = Instant::now();
    let outputs = model.run(feeds)?;
    let ms = t0.elapsed().as_secs_f64() * 1e3;
    for (name, t) in &outputs {
        let path = out.join(format!("{}.npy", file_safe(name)));
        write_npy(&path, t)?;
        println!("{name} {:?} {} -> {}", t.dims, t.dtype(), path.display());
    }
    println!("ran in {ms:.1} ms on {}", model.info().backend.as_str());
    Ok(())
}

pub fn bench(a: &ModelArgs) -> shopfloor::Result<()> {
    let t0 = Instant::now();
    let mut model = load(a)?;
    let load_ms = t0.elapsed().as_secs_f64() * 1e3;
    let feeds = feeds(a, &model, None)?;
    let t1 = Instant::now();
    model.run(feeds.clone())?;
    let first_ms = t1.elapsed().as_secs_f64() * 1e3;
    for _ in 0..a.warmup {
        model.run(feeds.clone())?;
    }
    let mut times = Vec::with_capacity(a.runs);
    for _ in 0..a.runs {
        let f = feeds.clone();
        let t = Instant::now();
        model.run(f)?;
        times.push(t.elapsed().as_secs_f64() * 1e3);
    }
    times.sort_by(f64::total_cmp);
    let q = |p: f64| times[((p * times.len() as f64) as usize).min(times.len() - 1)];
    let backend = model.info().backend.as_str();
    if a.json {
        // One line for `make bench` to collect.
        let line = serde_json::json!({
            "model": a.model.display().to_string(), "backend": backend, "loadMs": load_ms,
            "firstMs": first_ms, "runs": a.runs, "min": times[0], "median": q(0.5), "p90": q(0.9),
            "max": times[times.len() - 1],
        });
        println!("{line}");
        return Ok(());
    }
    println!(
        "{}: backend {backend} load {load_ms:.1} ms, first run {first_ms:.1} ms, {} runs: min {:.2} ms  median {:.2} ms  p90 {:.2} ms  max {:.2} ms",
        a.model.display(),
        a.runs,
        times[0],
        q(0.5),
        q(0.9),
        times[times.len() - 1]
    );
    Ok(())
}

pub fn profile(a: &ModelArgs) -> shopfloor::Result<()> {
    // The GPU's own clock when asked for WebGPU; tract's plan on the CPU otherwise.
    let gpu = a.backend == BackendChoice::Webgpu;
    let mut model =
        load(&ModelArgs { backend: if gpu { BackendChoice::Webgpu } else { BackendChoice::Cpu }, ..a.clone() })?;
    let feeds = feeds(a, &model, None)?;
    let mut timed = |feeds: HashMap<String, HostTensor>| {
        if gpu {
            pollster::block_on(model.profile_gpu(feeds))
        } else {
            model.profile_cpu(feeds)
        }
    };
    timed(feeds.clone())?; // compiles the plan, warms the caches
    let mut by_op: HashMap<String, (f64, usize)> = HashMap::new();
    let mut by_node: HashMap<String, (String, f64)> = HashMap::new();
    for _ in 0..a.runs {
        for t in timed(feeds.clone())? {
            let e = by_op.entry(t.op.clone()).or_default();
            e.0 += t.ms / a.runs as f64;
            e.1 += 1;
            by_node.entry(t.node).or_insert_with(|| (t.op, 0.0)).1 += t.ms / a.runs as f64;
        }
    }
    let total: f64 = by_op.values().map(|v| v.0).sum();
    let mut ops: Vec<_> = by_op.into_iter().map(|(op, (ms, n))| (op, ms, n / a.runs)).collect();
    ops.sort_by(|x, y| y.1.total_cmp(&x.1));
    let mut nodes: Vec<_> = by_node.into_iter().collect();
    nodes.sort_by(|x, y| y.1 .1.total_cmp(&x.1 .1));
    nodes.truncate(10);
    if a.json {
        let ops: Vec<_> = ops.iter().map(|(op, ms, n)| serde_json::json!({"op": op, "ms": ms, "nodes": n})).collect();
        let top: Vec<_> =
            nodes.iter().map(|(n, (op, ms))| serde_json::json!({"node": n, "op": op, "ms": ms})).collect();
        let backend = if gpu { "webgpu" } else { "cpu" };
        println!(
            "{}",
            serde_json::json!({"model": a.model.display().to_string(), "backend": backend, "totalMs": total, "ops": ops, "slowestNodes": top})
        );
        return Ok(());
    }
    let (what, column) = if gpu { ("GPU time in dispatches", "kernel") } else { ("in nodes", "op") };
    let on = if gpu { "WebGPU" } else { "CPU" };
    println!("{}: {total:.2} ms per run {what} (mean of {} runs, {on})", a.model.display(), a.runs);
    println!("{column:<28} {:>10} {:>7} {:>6}", "ms/run", "share", "nodes");
    for (op, ms, n) in &ops {
        println!("{op:<28} {ms:>10.3} {:>6.1}% {n:>6}", 100.0 * ms / total);
    }
    println!("\nslowest nodes:");
    for (node, (op, ms)) in &nodes {
        println!("{ms:>10.3} ms  {op:<20} {node}");
    }
    Ok(())
}

fn file_safe(name: &str) -> String {
    name.replace(['/', ':'], "_")
}

fn read_npy(path: &Path) -> shopfloor::Result<HostTensor> {
    use ndarray_npy::ReadNpyExt;
    let bad = |e: String| Error::InvalidArgument(format!("{}: {e}", path.display()));
    let open = || std::fs::File::open(path).map_err(|e| bad(e.to_string()));
    let tensor = |shape: &[usize], data| HostTensor::new(shape.to_vec(), data);
    if let Ok(a) = ArrayD::<f32>::read_npy(open()?) {
        return tensor(a.shape(), TensorData::F32(a.iter().copied().collect()));
    }
    if let Ok(a) = ArrayD::<i32>::read_npy(open()?) {
        return tensor(a.shape(), TensorData::I32(a.iter().copied().collect()));
    }
    if let Ok(a) = ArrayD::<i64>::read_npy(open()?) {
        return tensor(a.shape(), TensorData::I64(a.iter().copied().collect()));
    }
    if let Ok(a) = ArrayD::<u8>::read_npy(open()?) {
        return tensor(a.shape(), TensorData::U8(a.iter().copied().collect()));
    }
    if let Ok(a) = ArrayD::<bool>::read_npy(open()?) {
        return tensor(a.shape(), TensorData::Bool(a.iter().map(|&b| u8::from(b)).collect()));
    }
    Err(bad("not a .npy of f32, i32, i64, u8 or bool".into()))
}

pub fn write_npy(path: &Path, t: &HostTensor) -> shopfloor::Result<()> {
    use ndarray_npy::WriteNpyExt;
    let io = |e: String| Error::InvalidArgument(format!("writing {}: {e}", path.display()));
    let file = std::fs::File::create(path).map_err(|e| io(e.to_string()))?;
    let shape = IxDyn(&t.dims);
    let arr_err = |e: shopfloor::tract_ndarray::ShapeError| Error::Internal(e.to_string());
    let res = match &t.data {
        TensorData::F32(v) => ArrayD::from_shape_vec(shape, v.clone()).map_err(arr_err)?.write_npy(file),
        TensorData::I32(v) => ArrayD::from_shape_vec(shape, v.clone()).map_err(arr_err)?.write_npy(file),
        TensorData::I64(v) => ArrayD::from_shape_vec(shape, v.clone()).map_err(arr_err)?.write_npy(file),
        TensorData::U8(v) => ArrayD::from_shape_vec(shape, v.clone()).map_err(arr_err)?.write_npy(file),
        TensorData::Bool(v) => ArrayD::from_shape_vec(shape, v.iter().map(|&b| b != 0).collect::<Vec<_>>())
            .map_err(arr_err)?
            .write_npy(file),
    };
    res.map_err(|e| io(e.to_string()))
}
