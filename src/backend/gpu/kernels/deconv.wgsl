// Transposed convolution as a gather: each output element sums the input taps that land on it
// (oy + pad_top - ky * dil_h must be a multiple of the stride). Epilogue: bias, clamp.
// Weights are [G][Og][Ig][KH*KW]. Parameters: `ConvParams` (conv_params.wgsl; in_h, in_w are the
// *input* sizes, out_h, out_w the output; invocations: total outputs; no epilogue operations).

@group(0) @binding(0) var<storage, read> p: ConvParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.invocations) {
        return;
    }
    let ow = i % p.out_w;
    let t1 = i / p.out_w;
    let oh = t1 % p.out_h;
    let t2 = t1 / p.out_h;
    let oc = t2 % p.channels;
    let n = t2 / p.channels;
    let og = p.out_per_group;
    let ig = p.in_per_group;
    let g = oc / og;
    let o = oc % og;
    let taps = p.kh * p.kw;
    var acc = 0.0;
    if ((p.flags & 1u) != 0u) {
        acc = bias[oc];
    }
    for (var ky = 0u; ky < p.kh; ky = ky + 1u) {
        let ty = i32(oh + p.pad_t) - i32(ky * p.dil_h);
        if (ty < 0 || u32(ty) % p.stride_h != 0u) {
            continue;
        }
        let iy = u32(ty) / p.stride_h;
        if (iy >= p.in_h) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx = kx + 1u) {
            let tx = i32(ow + p.pad_l) - i32(kx * p.dil_w);
            if (tx < 0 || u32(tx) % p.stride_w != 0u) {
                continue;
            }
            let ix = u32(tx) / p.stride_w;
            if (ix >= p.in_w) {
                continue;
            }
            let xb = n * p.xs[0] + iy * p.xs[2] + ix * p.xs[3];
            let wb = ((g * og + o) * ig) * taps + ky * p.kw + kx;
            for (var ci = 0u; ci < ig; ci = ci + 1u) {
                acc = fma(x[xb + (g * ig + ci) * p.xs[1]], w[wb + ci * taps], acc);
            }
        }
    }
    y[n * p.ys[0] + oc * p.ys[1] + oh * p.ys[2] + ow * p.ys[3]] = clamp(acc, p.lo, p.hi);
}
