// matmul.wgsl with 16-byte global loads: the same 64x64 tiles, staging layout, inner loop and
// epilogue, for products whose operands are each contiguous along one axis in runs of 4 that
// start on a multiple of 4 (checked on the host: session.rs `vec4_orientation`). A and B are
// bound as arrays of vec4s; indices below are in vec4s.
// A_K: A is contiguous along k (row-major [M, K]) rather than along m; B_K: B is contiguous
// along k (a transposed [N, K] operand) rather than along n.
// Operands contiguous along m (A) or n (B) load straight into the k-major staging layout, one
// vec4 per invocation. Operands contiguous along k are loaded by 64 invocations, each a 4x4
// block (4 vec4s: rows/columns r..r+4, k..k+4) transposed in registers, so the inner loop is
// matmul.wgsl's whatever the operands' order.
//
// Params: matmul.wgsl's.

@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

override A_K: bool = true;
override B_K: bool = false;

// The 4x4 block at (outer o..o+4, k..k+4) of an operand contiguous along k, transposed: one vec4
// of 4 outer indices per k. `base`, `stride` (between outer indices) and `k` in floats.
fn block_k(is_a: bool, base: u32, stride: u32, o: u32, o_len: u32, k: u32, K: u32) -> array<vec4<f32>, 4> {
    var rows: array<vec4<f32>, 4>;
    for (var l = 0u; l < 4u; l = l + 1u) {
        rows[l] = vec4<f32>(0.0);
        if (o + l < o_len && k < K) {
            let at = (base + (o + l) * stride + k) / 4u;
            if (is_a) {
                rows[l] = a[at];
            } else {
                rows[l] = b[at];
            }
        }
    }
    var t: array<vec4<f32>, 4>;
    t[0] = vec4<f32>(rows[0].x, rows[1].x, rows[2].x, rows[3].x);
    t[1] = vec4<f32>(rows[0].y, rows[1].y, rows[2].y, rows[3].y);
    t[2] = vec4<f32>(rows[0].z, rows[1].z, rows[2].z, rows[3].z);
    t[3] = vec4<f32>(rows[0].w, rows[1].w, rows[2].w, rows[3].w);
    return t;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let M = p[0];
    let N = p[1];
    let K = p[2];
    let bases = batch_bases(wg.z);
    let a_base = bases.a;
    let b_base = bases.b;

    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    let tid = lid.y * 16u + lid.x;
    // Contiguous along m/n: this invocation's vec4 is 4 rows (columns) at one k of the tile.
    let lk = tid / 16u;
    let l4 = (tid % 16u) * 4u;
    // Contiguous along k: invocations 0..63 stage A's blocks, 64..127 B's: block (o4, k4).
    let blk = tid % 64u;
    let o4 = (blk % 16u) * 4u;
    let k4 = (blk / 16u) * 4u;

    var acc: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i = i + 1u) {
        acc[i] = vec4<f32>(0.0);
    }
    for (var k0 = 0u; k0 < K; k0 = k0 + TK) {
        let gk = k0 + lk;
        if (A_K) {
            if (tid < 64u) {
                let t = block_k(true, a_base, p[4], row0 + o4, M, k0 + k4, K);
                for (var j = 0u; j < 4u; j = j + 1u) {
                    sa[(k4 + j) * 16u + o4 / 4u] = t[j];
                }
            }
        } else {
            var va = vec4<f32>(0.0);
            if (gk < K && row0 + l4 < M) {
                va = a[(a_base + gk * p[5] + row0 + l4) / 4u];
            }
            sa[tid] = va;
        }
        if (B_K) {
            if (tid >= 64u && tid < 128u) {
                let t = block_k(false, b_base, p[7], col0 + o4, N, k0 + k4, K);
                for (var j = 0u; j < 4u; j = j + 1u) {
                    sb[(k4 + j) * 16u + o4 / 4u] = t[j];
                }
            }
        } else {
            var vb = vec4<f32>(0.0);
            if (gk < K && col0 + l4 < N) {
                vb = b[(b_base + gk * p[6] + col0 + l4) / 4u];
            }
            sb[tid] = vb;
        }
        workgroupBarrier();
        multiply_staged(lid, &acc);
        workgroupBarrier();
    }
    store_block(acc, row0 + lid.y * 4u, col0 + lid.x * 4u, 1u, bases.c);
}
