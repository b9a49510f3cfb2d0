// Batched strided matrix product with a fused epilogue: C = clamp(epilogue(A·B + bias), lo, hi)
// (bias: flags bit 0, by strides; epilogue: epilogue.wgsl).
// Serves every EinSum tract produces once its axes are grouped into batch (up to 3), m, n, k.
// Tiling (matmul_tile.wgsl): a 16x16 workgroup computes a 64x64 block of C over K tiles of 16 staged in workgroup
// memory as vec4s; each invocation owns 4 consecutive rows x 4 consecutive columns, so per k it
// reads one vec4 of A and one of B from workgroup memory (a row of the warp reads 16 distinct B
// vec4s, the A vec4 is a broadcast) and does 4 vec4 FMAs.
//
// Parameters: `MatmulParams` (matmul_common.wgsl; written by ops/matmul.rs).

@group(0) @binding(0) var<storage, read> p: MatmulParams;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let M = p.m;
    let N = p.n;
    let K = p.k;
    let bases = batch_bases(wg.z);
    let a_base = bases.a;
    let b_base = bases.b;

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
                    va[l] = a[a_base + gm * p.a_m + gk * p.a_k];
                }
                let gn = col0 + l4 + l;
                if (gn < N) {
                    vb[l] = b[b_base + gk * p.b_k + gn * p.b_n];
                }
            }
        }
        sa[tid] = va;
        sb[tid] = vb;
        workgroupBarrier();
        multiply_staged(lid, &acc);
        workgroupBarrier();
    }
    store_block(acc, row0 + lid.y * 4u, col0 + lid.x * 4u, 1u, bases.c);
}
