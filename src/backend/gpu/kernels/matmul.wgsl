// Batched strided matrix product with a fused epilogue: C = clamp(epilogue(A·B + bias), lo, hi)
// (bias: flags bit 0, by strides; epilogue: epilogue.wgsl).
// Serves every EinSum tract produces once its axes are grouped into batch (up to 3), m, n, k.
// Tiling: a 16x16 workgroup computes a 64x64 block of C, 4x4 per invocation, over K tiles of 16
// staged in workgroup memory.
//
// Params (u32 words): [0] M, [1] N, [2] K, [3] flags (bit0: bias),
// [4] a_m, [5] a_k, [6] b_k, [7] b_n, [8] c_m, [9] c_n, [10] bias_m, [11] bias_n,
// [12..15) batch dims, [15..18) a batch strides, [18..21) b batch strides, [21..24) c batch strides,
// [24] lo (f32 bits), [25] hi (f32 bits), [26] a_offset, [27] b_offset

@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const TILE: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> sa: array<f32, 1024>; // [TK][TILE] (k-major)
var<workgroup> sb: array<f32, 1024>; // [TK][TILE]

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let M = p[0];
    let N = p[1];
    let K = p[2];
    // batch coordinates
    let bz = wg.z;
    let b2 = bz % p[14];
    let b1 = (bz / p[14]) % p[13];
    let b0 = bz / (p[14] * p[13]);
    let a_base = p[26] + b0 * p[15] + b1 * p[16] + b2 * p[17];
    let b_base = p[27] + b0 * p[18] + b1 * p[19] + b2 * p[20];
    let c_base = b0 * p[21] + b1 * p[22] + b2 * p[23];

    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    let tid = lid.y * 16u + lid.x;

    var acc: array<f32, 16>;
    for (var i = 0u; i < 16u; i = i + 1u) {
        acc[i] = 0.0;
    }
    for (var k0 = 0u; k0 < K; k0 = k0 + TK) {
        // 256 invocations load 1024 elements of each tile: 4 each.
        for (var l = 0u; l < 4u; l = l + 1u) {
            let e = tid + l * 256u;
            // A tile: element (m = e % 64, k = e / 64) -> consecutive invocations walk m.
            let am = e % TILE;
            let ak = e / TILE;
            let gm = row0 + am;
            let gk = k0 + ak;
            var va = 0.0;
            if (gm < M && gk < K) {
                va = a[a_base + gm * p[4] + gk * p[5]];
            }
            sa[ak * TILE + am] = va;
            // B tile: element (k = e / 64, n = e % 64).
            let bn = e % TILE;
            let bk = e / TILE;
            let gn = col0 + bn;
            let gk2 = k0 + bk;
            var vb = 0.0;
            if (gn < N && gk2 < K) {
                vb = b[b_base + gk2 * p[6] + gn * p[7]];
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
    let lo = bitcast<f32>(p[24]);
    let hi = bitcast<f32>(p[25]);
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = row0 + lid.y + i * 16u;
        if (m >= M) {
            continue;
        }
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = col0 + lid.x + j * 16u;
            if (n >= N) {
                continue;
            }
            var v = acc[i * 4u + j];
            if ((p[3] & 1u) != 0u) {
                v = v + bias[m * p[10] + n * p[11]];
            }
            let at = c_base + m * p[8] + n * p[9];
            v = epilogue(at, v);
            c[at] = clamp(v, lo, hi);
        }
    }
}
