
// The 64x64 tile shared by matmul.wgsl and matmul_vec4.wgsl (16x16 invocations, 4x4 outputs
// each, K tiles of 16), and matmul.wgsl's product of one staged K tile. matmul_vec4.wgsl stages
// k-contiguous operands as [TILE][TK / 4] instead and has its own product for that.

const TILE: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> sa: array<vec4<f32>, 256>; // [TK][TILE / 4] (k-major, 4 rows per vec4)
var<workgroup> sb: array<vec4<f32>, 256>; // [TK][TILE / 4] (4 columns per vec4)

// matmul.wgsl's layout: per k, one vec4 of A (rows 4 lid.y..+4) and one of B (columns 4 lid.x..+4) and 4 vec4 FMAs.
fn multiply_staged(lid: vec3<u32>, acc: ptr<function, array<vec4<f32>, 4>>) {
    for (var kk = 0u; kk < TK; kk = kk + 1u) {
        let ra = sa[kk * 16u + lid.y];
        let rb = sb[kk * 16u + lid.x];
        (*acc)[0] = fma(vec4<f32>(ra.x), rb, (*acc)[0]);
        (*acc)[1] = fma(vec4<f32>(ra.y), rb, (*acc)[1]);
        (*acc)[2] = fma(vec4<f32>(ra.z), rb, (*acc)[2]);
        (*acc)[3] = fma(vec4<f32>(ra.w), rb, (*acc)[3]);
    }
}
