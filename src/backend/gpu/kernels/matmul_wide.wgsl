// The large-tile matrix product (same parameters and epilogue as matmul.wgsl): a 16x16
// workgroup computes a 128x128 block of C over K tiles of 8. Each invocation owns 8x8 outputs,
// rows 4 ty..+4 and 64 + 4 ty..+4 by columns 4 tx..+4 and 64 + 4 tx..+4, so per k it reads 4
// vec4s from workgroup memory for 16 vec4 FMAs (the 64x64 tile's ratio is 2 for 4: on a GPU
// that tile is bound by workgroup-memory traffic). Global loads run a tile ahead, held in
// registers while the staged tile is multiplied, and lanes walk each operand along its
// unit-stride axis so that a warp's loads fill whole memory sectors.
//
// Parameters: `MatmulParams` (matmul_common.wgsl; written by ops/matmul.rs).

const WT: u32 = 128u;
const WK: u32 = 8u;
// Row pitch of the staged tiles in vec4s: 32 per k plus one, so that the 8 k of one staging
// store land in different banks.
const WP: u32 = 33u;

var<workgroup> wa: array<vec4<f32>, 264>; // [WK][WP]: 4 consecutive rows of A at one k
var<workgroup> wb: array<vec4<f32>, 264>; // [WK][WP]: 4 consecutive columns of B at one k

@group(0) @binding(0) var<storage, read> p: MatmulParams;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

// Which 4 rows (or columns) of 128 and which k of 8 invocation `tid` stages: along k when that
// operand's k stride is 1 (8 lanes read 8 consecutive k of a row), else along the rows.
fn staging(tid: u32, along_k: bool) -> vec2<u32> {
    if (along_k) {
        return vec2<u32>(tid / WK, tid % WK);
    }
    return vec2<u32>(tid % (WT / 4u), tid / (WT / 4u));
}

fn load_a(base: u32, row4: u32, k: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if (k < p.k) {
        for (var l = 0u; l < 4u; l = l + 1u) {
            let m = row4 + l;
            if (m < p.m) {
                v[l] = a[base + m * p.a_m + k * p.a_k];
            }
        }
    }
    return v;
}

fn load_b(base: u32, col4: u32, k: u32) -> vec4<f32> {
    var v = vec4<f32>(0.0);
    if (k < p.k) {
        for (var l = 0u; l < 4u; l = l + 1u) {
            let n = col4 + l;
            if (n < p.n) {
                v[l] = b[base + k * p.b_k + n * p.b_n];
            }
        }
    }
    return v;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let bases = batch_bases(wg.z);
    let row0 = wg.y * WT;
    let col0 = wg.x * WT;
    let tid = lid.y * 16u + lid.x;
    let sa = staging(tid, p.a_k == 1u && p.a_m != 1u);
    let sb = staging(tid, p.b_k == 1u && p.b_n != 1u);

    // acc[2 i + h]: row 4 ty + i (i < 4) or 64 + 4 ty + i - 4, columns 4 tx..+4 (h = 0) or
    // 64 + 4 tx..+4 (h = 1). Indexed by constants only, so that it stays in registers.
    var acc: array<vec4<f32>, 16>;
    var va = load_a(bases.a, row0 + sa.x * 4u, sa.y);
    var vb = load_b(bases.b, col0 + sb.x * 4u, sb.y);
    for (var k0 = 0u; k0 < p.k; k0 = k0 + WK) {
        wa[sa.y * WP + sa.x] = va;
        wb[sb.y * WP + sb.x] = vb;
        workgroupBarrier();
        // The next tile's loads are in flight while this one is multiplied.
        let k1 = k0 + WK;
        if (k1 < p.k) {
            va = load_a(bases.a, row0 + sa.x * 4u, k1 + sa.y);
            vb = load_b(bases.b, col0 + sb.x * 4u, k1 + sb.y);
        }
        for (var kk = 0u; kk < WK; kk = kk + 1u) {
            let a0 = wa[kk * WP + lid.y];
            let a1 = wa[kk * WP + 16u + lid.y];
            let b0 = wb[kk * WP + lid.x];
            let b1 = wb[kk * WP + 16u + lid.x];
            acc[0] = fma(vec4<f32>(a0.x), b0, acc[0]);
            acc[1] = fma(vec4<f32>(a0.x), b1, acc[1]);
            acc[2] = fma(vec4<f32>(a0.y), b0, acc[2]);
            acc[3] = fma(vec4<f32>(a0.y), b1, acc[3]);
            acc[4] = fma(vec4<f32>(a0.z), b0, acc[4]);
            acc[5] = fma(vec4<f32>(a0.z), b1, acc[5]);
            acc[6] = fma(vec4<f32>(a0.w), b0, acc[6]);
            acc[7] = fma(vec4<f32>(a0.w), b1, acc[7]);
            acc[8] = fma(vec4<f32>(a1.x), b0, acc[8]);
            acc[9] = fma(vec4<f32>(a1.x), b1, acc[9]);
            acc[10] = fma(vec4<f32>(a1.y), b0, acc[10]);
            acc[11] = fma(vec4<f32>(a1.y), b1, acc[11]);
            acc[12] = fma(vec4<f32>(a1.z), b0, acc[12]);
            acc[13] = fma(vec4<f32>(a1.z), b1, acc[13]);
            acc[14] = fma(vec4<f32>(a1.w), b0, acc[14]);
            acc[15] = fma(vec4<f32>(a1.w), b1, acc[15]);
        }
        workgroupBarrier();
    }
    let m0 = row0 + lid.y * 4u;
    let n0 = col0 + lid.x * 4u;
    store_block(array<vec4<f32>, 4>(acc[0], acc[2], acc[4], acc[6]), m0, n0, 1u, bases.c);
    store_block(array<vec4<f32>, 4>(acc[1], acc[3], acc[5], acc[7]), m0, n0 + 64u, 1u, bases.c);
    store_block(array<vec4<f32>, 4>(acc[8], acc[10], acc[12], acc[14]), m0 + 64u, n0, 1u, bases.c);
    store_block(array<vec4<f32>, 4>(acc[9], acc[11], acc[13], acc[15]), m0 + 64u, n0 + 64u, 1u, bases.c);
}
