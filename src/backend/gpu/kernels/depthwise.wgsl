// Convolution where each group has one input channel (depthwise, with any channel multiplier):
// one invocation per 4 consecutive outputs of a row, a direct loop over the kernel taps that
// loads each weight once for the four (the index arithmetic, not the FMAs, is most of the cost
// of one output per invocation). Epilogue: bias, epilogue.wgsl's operations, clamp.
// Params: as conv.wgsl, plus [27] invocations (N x C out x OH x ceil(OW / 4)), [28] C out.

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
    // i enumerates (n, oc, oy, ox / 4) in row-major order
    let OW = p[8];
    let ow4 = (OW + 3u) / 4u;
    let ow0 = (i % ow4) * 4u;
    let t1 = i / ow4;
    let oh = t1 % p[7];
    let t2 = t1 / p[7];
    let oc = t2 % p[28];
    let n = t2 / p[28];
    let g = oc / p[0];
    let KW = p[6];
    let taps = p[5] * KW;
    let sw = p[12];
    let dw = p[14];
    let pl = p[16];
    let W = p[10];
    var b = 0.0;
    if ((p[3] & 1u) != 0u) {
        b = bias[oc];
    }
    var acc = vec4<f32>(b);
    let xb = n * p[17] + g * p[18];
    let xw = p[20];
    for (var ky = 0u; ky < p[5]; ky = ky + 1u) {
        let iy = i32(oh * p[11] + ky * p[13]) - i32(p[15]);
        if (iy < 0 || u32(iy) >= p[9]) {
            continue;
        }
        let row = xb + u32(iy) * p[19];
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
    let lo = bitcast<f32>(p[25]);
    let hi = bitcast<f32>(p[26]);
    let base = n * p[21] + oc * p[22] + oh * p[23];
    for (var j = 0u; j < 4u; j = j + 1u) {
        if (ow0 + j >= OW) {
            break;
        }
        let at = base + (ow0 + j) * p[24];
        y[at] = clamp(epilogue(at, acc[j]), lo, hi);
    }
}
