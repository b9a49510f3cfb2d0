// Convolution as conv.wgsl's implicit GEMM, for adapters with a fixed subgroup size, without
// workgroup memory or barriers (see matmul_subgroup.wgsl). A workgroup is one subgroup of SG
// lanes computing 4·SG output channels × 4 output positions, 4×4 per lane (channels
// lane + i·SG). The gathered input is the costly operand (index arithmetic, padding), so it is
// the shared one: each lane gathers one tap of the 4 positions per strip of SG taps and the
// strip goes round by subgroupShuffle; each (tap, position) is gathered once per 4·SG channels.
// Same parameters (`ConvParams`) and epilogue as conv.wgsl.

override SG: u32 = 8u;

@group(0) @binding(0) var<storage, read> p: ConvParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let M = p.out_per_group;
    let N = p.cols;
    let K = p.k;
    let g = wg.z;
    let k4 = (K + 3u) / 4u * 4u; // weights per output channel, padded (translate.rs)
    let w_base = g * M * k4;
    let row0 = wg.y * 4u * SG + lane;
    let col0 = wg.x * 4u;
    var acc: array<vec4<f32>, 4>; // [channel i][position j]
    for (var k0 = 0u; k0 < K; k0 = k0 + SG) {
        let kb = k0 + lane;
        var strip = vec4<f32>(0.0);
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = col0 + j;
            if (n < N && kb < K) {
                strip[j] = gather(g, kb, n);
            }
        }
        let steps = min(SG, K - k0);
        for (var kk = 0u; kk < steps; kk = kk + 1u) {
            let bv = subgroupShuffle(strip, kk);
            let k = k0 + kk;
            for (var i = 0u; i < 4u; i = i + 1u) {
                let m = row0 + i * SG;
                var wv = 0.0;
                if (m < M) {
                    wv = w[w_base + m * k4 + k];
                }
                acc[i] = fma(vec4<f32>(wv), bv, acc[i]);
            }
        }
    }
    let lo = p.lo;
    let hi = p.hi;
    let pix = p.out_h * p.out_w;
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = row0 + i * SG;
        if (m >= M) {
            continue;
        }
        let oc = g * M + m;
        var bv = 0.0;
        if ((p.flags & 1u) != 0u) {
            bv = bias[oc];
        }
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = col0 + j;
            if (n >= N) {
                continue;
            }
            let bn = n / pix;
            let q = n % pix;
            let oy = q / p.out_w;
            let ox = q % p.out_w;
            let at = bn * p.ys[0] + oc * p.ys[1] + oy * p.ys[2] + ox * p.ys[3];
            var v = acc[i][j] + bv;
            v = epilogue(at, v);
            y[at] = clamp(v, lo, hi);
        }
    }
}
