// Convolution where each group has one input channel (depthwise, with any channel multiplier):
// one invocation per 4 consecutive outputs of a row, a direct loop over the kernel taps that
// loads each weight once for the four (the index arithmetic, not the FMAs, is most of the cost
// of one output per invocation). Epilogue: bias, epilogue.wgsl's operations, clamp.
// Parameters: `ConvParams` (conv_params.wgsl); invocations: N x C out x OH x ceil(OW / 4).

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
    // i enumerates (n, oc, oy, ox / 4) in row-major order
    let OW = p.out_w;
    let ow4 = (OW + 3u) / 4u;
    let ow0 = (i % ow4) * 4u;
    let t1 = i / ow4;
    let oh = t1 % p.out_h;
    let t2 = t1 / p.out_h;
    let oc = t2 % p.channels;
    let n = t2 / p.channels;
    let g = oc / p.out_per_group;
    let KW = p.kw;
    let taps = p.kh * KW;
    let sw = p.stride_w;
    let dw = p.dil_w;
    let pl = p.pad_l;
    let W = p.in_w;
    var b = 0.0;
    if ((p.flags & 1u) != 0u) {
        b = bias[oc];
    }
    var acc = vec4<f32>(b);
    let xb = n * p.xs[0] + g * p.xs[1];
    let xw = p.xs[3];
    for (var ky = 0u; ky < p.kh; ky = ky + 1u) {
        let iy = i32(oh * p.stride_h + ky * p.dil_h) - i32(p.pad_t);
        if (iy < 0 || u32(iy) >= p.in_h) {
            continue;
        }
        let row = xb + u32(iy) * p.xs[2];
        for (var kx = 0u; kx < KW; kx = kx + 1u) {
            let wv = w[oc * taps + ky * KW + kx];
            for (var j = 0u; j < 4u; j = j + 1u) {
                let ix = i32((ow0 + j) * sw + kx * dw) - i32(pl);
                if (ix >= 0 && u32(ix) < W && ow0 + j < OW) {
                    acc[j] = fma(x[row + u32(ix) * xw], wv, acc[j]);
                }
            }
        }
    }
    let lo = p.lo;
    let hi = p.hi;
    let base = n * p.ys[0] + oc * p.ys[1] + oh * p.ys[2];
    for (var j = 0u; j < 4u; j = j + 1u) {
        if (ow0 + j >= OW) {
            break;
        }
        let at = base + (ow0 + j) * p.ys[3];
        y[at] = clamp(epilogue(at, acc[j]), lo, hi);
    }
}
