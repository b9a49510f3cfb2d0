// Convolution as an implicit GEMM per group: M = output channels of the group, N = batch x output
// pixels, K = input channels of the group x kernel taps. The im2col matrix is never stored: B tiles
// are gathered from the input (any layout, by strides) with padding. Epilogue: bias, clamp.
// Same 64x64 tiling as matmul.wgsl. 1-D convolutions run with H = KH = 1. Epilogue: + bias,
// then epilogue.wgsl's operations, then clamp.
//
// Params (u32 words): [0] Og, [1] N (batch*OH*OW), [2] K, [3] flags (bit0 bias), [4] Ig, [5] KH,
// [6] KW, [7] OH, [8] OW, [9] H, [10] W, [11] stride h, [12] stride w, [13] dilation h,
// [14] dilation w, [15] pad top, [16] pad left, [17..21) x strides n c h w,
// [21..25) y strides n c h w, [25] lo, [26] hi (f32 bits)

@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const TILE: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> sa: array<f32, 1024>;
var<workgroup> sb: array<f32, 1024>;

fn gather(g: u32, k: u32, n: u32) -> f32 {
    let taps = p[5] * p[6];
    let ci = k / taps;
    let t = k % taps;
    let ky = t / p[6];
    let kx = t % p[6];
    let pix = p[7] * p[8];
    let bn = n / pix;
    let q = n % pix;
    let oy = q / p[8];
    let ox = q % p[8];
    let iy = i32(oy * p[11] + ky * p[13]) - i32(p[15]);
    let ix = i32(ox * p[12] + kx * p[14]) - i32(p[16]);
    if (iy < 0 || ix < 0 || u32(iy) >= p[9] || u32(ix) >= p[10]) {
        return 0.0;
    }
    let c = g * p[4] + ci;
    return x[bn * p[17] + c * p[18] + u32(iy) * p[19] + u32(ix) * p[20]];
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let M = p[0];
    let N = p[1];
    let K = p[2];
    let g = wg.z;
    let w_base = g * M * K;
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    let tid = lid.y * 16u + lid.x;

    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i = i + 1u) {
        acc[i] = 0.0;
    }
    for (var k0 = 0u; k0 < K; k0 = k0 + TK) {
        for (var l = 0u; l < 4u; l = l + 1u) {
            let e = tid + l * 256u;
            // weights: consecutive invocations walk k (contiguous in memory)
            let ak = e % TK;
            let am = e / TK;
            let gm = row0 + am;
            let gk = k0 + ak;
            var va = 0.0;
            if (gm < M && gk < K) {
                va = w[w_base + gm * K + gk];
            }
            sa[ak * TILE + am] = va;
            let bn = e % TILE;
            let bk = e / TILE;
            let gn = col0 + bn;
            let gk2 = k0 + bk;
            var vb = 0.0;
            if (gn < N && gk2 < K) {
                vb = gather(g, gk2, gn);
            }
            sb[bk * TILE + bn] = vb;
        }
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk = kk + 1u) {
            var ra: array<f32, 4>;
            var rb: array<f32, 4>;
            for (var i = 0u; i < 4u; i = i + 1u) {
                ra[i] = sa[kk * TILE + lid.y + i * 16u];
                rb[i] = sb[kk * TILE + lid.x + i * 16u];
            }
            for (var i = 0u; i < 4u; i = i + 1u) {
                for (var j = 0u; j < 4u; j = j + 1u) {
                    acc[i * 4u + j] = fma(ra[i], rb[j], acc[i * 4u + j]);
                }
            }
        }
        workgroupBarrier();
    }
    let lo = bitcast<f32>(p[25]);
    let hi = bitcast<f32>(p[26]);
    let pix = p[7] * p[8];
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = row0 + lid.y + i * 16u;
        if (m >= M) {
            continue;
        }
        let oc = g * M + m;
        var bv = 0.0;
        if ((p[3] & 1u) != 0u) {
            bv = bias[oc];
        }
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = col0 + lid.x + j * 16u;
            if (n >= N) {
                continue;
            }
            let bn = n / pix;
            let q = n % pix;
            let oy = q / p[8];
            let ox = q % p[8];
            let at = bn * p[21] + oc * p[22] + oy * p[23] + ox * p[24];
            var v = acc[i * 4u + j] + bv;
            v = epilogue(at, v);
            y[at] = clamp(v, lo, hi);
        }
    }
}
