// matmul.wgsl with 16-byte global loads, for products whose operands are each contiguous along
// one axis in runs of 4 that start on a multiple of 4 (checked on the host: session.rs
// `vec4_orientation`). A and B are bound as arrays of vec4s; indices below are in vec4s.
// A_K: A is contiguous along k (row-major [M, K]) rather than along m; B_K: B is contiguous
// along k (a transposed [N, K] operand) rather than along n.
// Every invocation stages one vec4 of each operand as it lies in memory: an operand contiguous
// along m (n) as 4 rows (columns) at one k, [TK][TILE / 4]; one contiguous along k as 4 k of one
// row (column), [TILE][TK / 4]. The product of a staged tile turns each group of 4 k into 4x4
// blocks with the k index outermost (a register transpose where the staging is k-contiguous) and
// does the same 16 vec4 FMAs per 4 k as matmul_tile.wgsl.
//
// Params: matmul.wgsl's.

@group(0) @binding(0) var<storage, read> p: MatmulParams;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> b: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

override A_K: bool = true;
override B_K: bool = false;

fn transpose4(v: array<vec4<f32>, 4>) -> array<vec4<f32>, 4> {
    var t: array<vec4<f32>, 4>;
    t[0] = vec4<f32>(v[0].x, v[1].x, v[2].x, v[3].x);
    t[1] = vec4<f32>(v[0].y, v[1].y, v[2].y, v[3].y);
    t[2] = vec4<f32>(v[0].z, v[1].z, v[2].z, v[3].z);
    t[3] = vec4<f32>(v[0].w, v[1].w, v[2].w, v[3].w);
    return t;
}

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let M = p.m;
    let N = p.n;
    let K = p.k;
    let bases = batch_bases(wg.z);
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    let tid = lid.y * 16u + lid.x;
    // Staged by this invocation: along m/n, (k, 4 outer) = (tid / 16, 4 (tid % 16)); along k,
    // (outer, 4 k) = (tid / 4, 4 (tid % 4)). Either way sa[tid] / sb[tid].
    let mn_k = tid / 16u;
    let mn_o = (tid % 16u) * 4u;
    let k_o = tid / 4u;
    let k_k = (tid % 4u) * 4u;

    var acc: array<vec4<f32>, 4>;
    for (var i = 0u; i < 4u; i = i + 1u) {
        acc[i] = vec4<f32>(0.0);
    }
    for (var k0 = 0u; k0 < K; k0 = k0 + TK) {
        var va = vec4<f32>(0.0);
        var vb = vec4<f32>(0.0);
        if (A_K) {
            if (row0 + k_o < M && k0 + k_k < K) {
                va = a[(bases.a + (row0 + k_o) * p.a_m + k0 + k_k) / 4u];
            }
        } else if (k0 + mn_k < K && row0 + mn_o < M) {
            va = a[(bases.a + (k0 + mn_k) * p.a_k + row0 + mn_o) / 4u];
        }
        if (B_K) {
            if (col0 + k_o < N && k0 + k_k < K) {
                vb = b[(bases.b + (col0 + k_o) * p.b_n + k0 + k_k) / 4u];
            }
        } else if (k0 + mn_k < K && col0 + mn_o < N) {
            vb = b[(bases.b + (k0 + mn_k) * p.b_k + col0 + mn_o) / 4u];
        }
        sa[tid] = va;
        sb[tid] = vb;
        workgroupBarrier();
        for (var q = 0u; q < TK / 4u; q = q + 1u) {
            // at[t]: A at k = 4q + t for rows 4 lid.y..+4; bt[t]: B there for columns 4 lid.x..+4.
            var at: array<vec4<f32>, 4>;
            var bt: array<vec4<f32>, 4>;
            for (var t = 0u; t < 4u; t = t + 1u) {
                if (A_K) {
                    at[t] = sa[(lid.y * 4u + t) * 4u + q]; // row t's 4 k, transposed below
                } else {
                    at[t] = sa[(q * 4u + t) * 16u + lid.y];
                }
                if (B_K) {
                    bt[t] = sb[(lid.x * 4u + t) * 4u + q];
                } else {
                    bt[t] = sb[(q * 4u + t) * 16u + lid.x];
                }
            }
            if (A_K) {
                at = transpose4(at);
            }
            if (B_K) {
                bt = transpose4(bt);
            }
            for (var t = 0u; t < 4u; t = t + 1u) {
                acc[0] = fma(vec4<f32>(at[t].x), bt[t], acc[0]);
                acc[1] = fma(vec4<f32>(at[t].y), bt[t], acc[1]);
                acc[2] = fma(vec4<f32>(at[t].z), bt[t], acc[2]);
                acc[3] = fma(vec4<f32>(at[t].w), bt[t], acc[3]);
            }
        }
        workgroupBarrier();
    }
    store_block(acc, row0 + lid.y * 4u, col0 + lid.x * 4u, 1u, bases.c);
}
