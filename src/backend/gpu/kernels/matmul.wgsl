// Batched strided matrix product with a fused epilogue: C = clamp(epilogue(A·B + bias), lo, hi)
// (bias: flags bit 0, by strides; epilogue: epilogue.wgsl).
// Serves every EinSum tract produces once its axes are grouped into batch (up to 3), m, n, k.
// Tiling: a 16x16 workgroup computes a 64x64 block of C over K tiles of 16 staged in workgroup
// memory as vec4s; each invocation owns 4 consecutive rows x 4 consecutive columns, so per k it
// reads one vec4 of A and one of B from workgroup memory (a row of the warp reads 16 distinct B
// vec4s, the A vec4 is a broadcast) and does 4 vec4 FMAs.
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

var<workgroup> sa: array<vec4<f32>, 256>; // [TK][TILE / 4] (k-major, 4 rows per vec4)
var<workgroup> sb: array<vec4<f32>, 256>; // [TK][TILE / 4] (4 columns per vec4)

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
    // What this invocation stages: 4 consecutive rows (A) / columns (B) at one k of the tile,
    // stored as one vec4 (a store per component from four invocations would race on backends
    // that write a vector element as a read-modify-write of the whole vector).
    let lk = tid / 16u;
    let l4 = (tid % 16u) * 4u;

    var acc: array<vec4<f32>, 4>; // acc[i]: row 4 lid.y + i, columns 4 lid.x ..+4
    for (var i = 0u; i < 4u; i = i + 1u) {
        acc[i] = vec4<f32>(0.0);
    }
    for (var k0 = 0u; k0 < K; k0 = k0 + TK) {
        let gk = k0 + lk;
        var va = vec4<f32>(0.0);
        var vb = vec4<f32>(0.0);
        if (gk < K) {
            for (var l = 0u; l < 4u; l = l + 1u) {
                let gm = row0 + l4 + l;
                if (gm < M) {
                    va[l] = a[a_base + gm * p[4] + gk * p[5]];
                }
                let gn = col0 + l4 + l;
                if (gn < N) {
                    vb[l] = b[b_base + gk * p[6] + gn * p[7]];
                }
            }
        }
        sa[tid] = va;
        sb[tid] = vb;
        workgroupBarrier();
        for (var kk = 0u; kk < TK; kk = kk + 1u) {
            let ra = sa[kk * 16u + lid.y];
            let rb = sb[kk * 16u + lid.x];
            acc[0] = fma(vec4<f32>(ra.x), rb, acc[0]);
            acc[1] = fma(vec4<f32>(ra.y), rb, acc[1]);
            acc[2] = fma(vec4<f32>(ra.z), rb, acc[2]);
            acc[3] = fma(vec4<f32>(ra.w), rb, acc[3]);
        }
        workgroupBarrier();
    }
    let lo = bitcast<f32>(p[24]);
    let hi = bitcast<f32>(p[25]);
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = row0 + lid.y * 4u + i;
        if (m >= M) {
            continue;
        }
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = col0 + lid.x * 4u + j;
            if (n >= N) {
                continue;
            }
            var v = acc[i][j];
            if ((p[3] & 1u) != 0u) {
                v = v + bias[m * p[10] + n * p[11]];
            }
            let at = c_base + m * p[8] + n * p[9];
            v = epilogue(at, v);
            c[at] = clamp(v, lo, hi);
        }
    }
}
