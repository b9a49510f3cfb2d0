// Local response normalisation across channels (ONNX LRN), layout [N, C, inner].
// Params: [0] total, [1] C, [2] inner, [3] size, [4] alpha, [5] beta, [6] bias (f32 bits)

@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) {
        return;
    }
    let C = p[1];
    let inner = p[2];
    let size = p[3];
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
    let alpha = bitcast<f32>(p[4]);
    let beta = bitcast<f32>(p[5]);
    let bias = bitcast<f32>(p[6]);
    y[i] = x[i] / pow(bias + alpha / f32(size) * ss, beta);
}
