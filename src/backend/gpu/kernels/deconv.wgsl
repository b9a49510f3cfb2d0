// Transposed convolution as a gather: each output element sums the input taps that land on it
// (oy + pad_top - ky * dil_h must be a multiple of the stride). Epilogue: bias, clamp.
// Weights are [G][Og][Ig][KH*KW]. Params: as conv.wgsl ([9] H, [10] W are the *input* sizes,
// [7] OH, [8] OW the output), plus [27] total outputs, [28] C out.

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
    let ow = i % p[8];
    let t1 = i / p[8];
    let oh = t1 % p[7];
    let t2 = t1 / p[7];
    let oc = t2 % p[28];
    let n = t2 / p[28];
    let og = p[0];
    let ig = p[4];
    let g = oc / og;
    let o = oc % og;
    let taps = p[5] * p[6];
    var acc = 0.0;
    if ((p[3] & 1u) != 0u) {
        acc = bias[oc];
    }
    for (var ky = 0u; ky < p[5]; ky = ky + 1u) {
        let ty = i32(oh + p[15]) - i32(ky * p[13]);
        if (ty < 0 || u32(ty) % p[11] != 0u) {
            continue;
        }
        let iy = u32(ty) / p[11];
        if (iy >= p[9]) {
            continue;
        }
        for (var kx = 0u; kx < p[6]; kx = kx + 1u) {
            let tx = i32(ow + p[16]) - i32(kx * p[14]);
            if (tx < 0 || u32(tx) % p[12] != 0u) {
                continue;
            }
            let ix = u32(tx) / p[12];
            if (ix >= p[10]) {
                continue;
            }
            let xb = n * p[17] + iy * p[19] + ix * p[20];
            let wb = ((g * og + o) * ig) * taps + ky * p[6] + kx;
            for (var ci = 0u; ci < ig; ci = ci + 1u) {
                acc = fma(x[xb + (g * ig + ci) * p[18]], w[wb + ci * taps], acc);
            }
        }
    }
    y[n * p[21] + oc * p[22] + oh * p[23] + ow * p[24]] = clamp(acc, bitcast<f32>(p[25]), bitcast<f32>(p[26]));
}
