// Local response normalisation across channels (ONNX LRN), layout [N, C, inner].
// Parameters: `LrnParams` below (written by ops/lrn.rs).

struct LrnParams {
    total: u32,
    channels: u32,
    inner: u32,
    size: u32,
    alpha: f32,
    beta: f32,
    bias: f32,
}

@group(0) @binding(0) var<storage, read> p: LrnParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.total) {
        return;
    }
    let C = p.channels;
    let inner = p.inner;
    let size = p.size;
    let j = i % inner;
    let c = (i / inner) % C;
    let n = i / (inner * C);
    let lo = c - min(c, (size - 1u) / 2u);
    let hi = min(c + size / 2u, C - 1u);
    var ss = 0.0;
    for (var k = lo; k <= hi; k = k + 1u) {
        let v = x[(n * C + k) * inner + j];
        ss = ss + v * v;
    }
    let alpha = p.alpha;
    let beta = p.beta;
    let bias = p.bias;
    y[i] = x[i] / pow(bias + alpha / f32(size) * ss, beta);
}
