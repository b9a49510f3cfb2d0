// Matrix product for adapters with a fixed subgroup size (native Vulkan/Metal/DX12; wgpu cannot
// ask a browser for subgroups): no workgroup memory and no barriers, which software adapters
// (lavapipe, SwiftShader) run as costly fibre switches. A workgroup is one subgroup of SG
// lanes computing 4 rows × 4·SG columns of C, 4×4 per lane (columns lane + j·SG, so the lanes'
// loads of B are adjacent). Each lane loads one k of the 4 rows of A per strip of SG k's and the
// strip goes round the subgroup by subgroupShuffle.
// Same parameters (`MatmulParams`) and fused epilogue as matmul.wgsl.

override SG: u32 = 8u;

@group(0) @binding(0) var<storage, read> p: MatmulParams;
@group(0) @binding(1) var<storage, read_write> c: array<f32>;
@group(0) @binding(2) var<storage, read> a: array<f32>;
@group(0) @binding(3) var<storage, read> b: array<f32>;
@group(0) @binding(4) var<storage, read> bias: array<f32>;

@compute @workgroup_size(SG)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(subgroup_invocation_id) lane: u32) {
    let M = p.m;
    let N = p.n;
    let K = p.k;
    let bases = batch_bases(wg.z);
    let a_base = bases.a;
    let b_base = bases.b;

    let row0 = wg.y * 4u;
    let col0 = wg.x * 4u * SG + lane;
    var acc: array<vec4<f32>, 4>;
    for (var k0 = 0u; k0 < K; k0 = k0 + SG) {
        // Out-of-range lanes load zeros but still take part in the shuffles.
        let ka = k0 + lane;
        var strip = vec4<f32>(0.0);
        for (var i = 0u; i < 4u; i = i + 1u) {
            let m = row0 + i;
            if (m < M && ka < K) {
                strip[i] = a[a_base + m * p.a_m + ka * p.a_k];
            }
        }
        let steps = min(SG, K - k0);
        for (var kk = 0u; kk < steps; kk = kk + 1u) {
            let av = subgroupShuffle(strip, kk);
            let brow = b_base + (k0 + kk) * p.b_k;
            var bv = vec4<f32>(0.0);
            for (var j = 0u; j < 4u; j = j + 1u) {
                let n = col0 + j * SG;
                if (n < N) {
                    bv[j] = b[brow + n * p.b_n];
                }
            }
            acc[0] = fma(vec4<f32>(av.x), bv, acc[0]);
            acc[1] = fma(vec4<f32>(av.y), bv, acc[1]);
            acc[2] = fma(vec4<f32>(av.z), bv, acc[2]);
            acc[3] = fma(vec4<f32>(av.w), bv, acc[3]);
        }
    }
    store_block(acc, row0, col0, SG, bases.c);
}
