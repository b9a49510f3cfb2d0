// Convolution where each group has one input channel (depthwise, with any channel multiplier):
// one invocation per output element, a direct loop over the kernel taps. Epilogue: bias,
// epilogue.wgsl's operations, clamp.
// Params: as conv.wgsl, plus [27] total outputs, [28] C out.

@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[27]) {
        return;
    }
    // i enumerates (n, oc, oy, ox) in row-major order
    let ow = i % p[8];
    let t1 = i / p[8];
    let oh = t1 % p[7];
    let t2 = t1 / p[7];
    let oc = t2 % p[28];
    let n = t2 / p[28];
    let g = oc / p[0];
    let taps = p[5] * p[6];
    var acc = 0.0;
    if ((p[3] & 1u) != 0u) {
        acc = bias[oc];
    }
    let xb = n * p[17] + g * p[18];
    for (var ky = 0u; ky < p[5]; ky = ky + 1u) {
        let iy = i32(oh * p[11] + ky * p[13]) - i32(p[15]);
        if (iy < 0 || u32(iy) >= p[9]) {
            continue;
        }
        for (var kx = 0u; kx < p[6]; kx = kx + 1u) {
            let ix = i32(ow * p[12] + kx * p[14]) - i32(p[16]);
            if (ix < 0 || u32(ix) >= p[10]) {
                continue;
            }
            acc = fma(x[xb + u32(iy) * p[19] + u32(ix) * p[20]], w[oc * taps + ky * p[6] + kx], acc);
        }
    }
    let at = n * p[21] + oc * p[22] + oh * p[23] + ow * p[24];
    acc = epilogue(at, acc);
    y[at] = clamp(acc, bitcast<f32>(p[25]), bitcast<f32>(p[26]));
}
