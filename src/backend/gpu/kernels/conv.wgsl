// Convolution as an implicit GEMM per group: M = output channels of the group, N = batch x output
// pixels, K = input channels of the group x kernel taps. The im2col matrix is never stored: B tiles
// are gathered from the input (any layout, by strides) with padding. Epilogue: bias, clamp.
// Same 64x64 tiling as matmul.wgsl (vec4s in workgroup memory, 4x4 consecutive outputs per
// invocation); the weight tile is staged k-contiguous (4 taps per vec4, the weights' own order),
// loaded as vec4s: each output channel's K weights are padded with zeros to K4, a multiple of 4
// (translate.rs), so every vec4 is aligned and a tail vec4 adds nothing. 1-D convolutions run
// with H = KH = 1.
// Epilogue: + bias, then epilogue.wgsl's operations, then clamp.
//
// Parameters: `ConvParams` (conv_params.wgsl; written by ops/conv.rs), as a GEMM of M = out_per_group
// output channels by N = cols output positions over K = k weights per channel.

@group(0) @binding(0) var<storage, read> p: ConvParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;
@group(0) @binding(3) var<storage, read> w: array<vec4<f32>>; // [groups][Og][K4 / 4]
@group(0) @binding(4) var<storage, read> bias: array<f32>;

const TILE: u32 = 64u;
const TK: u32 = 16u;

var<workgroup> sa: array<vec4<f32>, 256>; // [TILE][TK / 4]: 4 consecutive k of one output channel
var<workgroup> sb: array<vec4<f32>, 256>; // [TK][TILE / 4]: 4 consecutive pixels at one k

@compute @workgroup_size(16, 16)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) lid: vec3<u32>) {
    let M = p.out_per_group;
    let N = p.cols;
    let K = p.k;
    let g = wg.z;
    let k4s = (K + 3u) / 4u; // vec4s per output channel
    let w_base = g * M * k4s;
    let row0 = wg.y * TILE;
    let col0 = wg.x * TILE;
    let tid = lid.y * 16u + lid.x;

    var acc: array<vec4<f32>, 4>; // acc[i]: channel 4 lid.y + i, pixels 4 lid.x ..+4
    for (var i = 0u; i < 4u; i = i + 1u) {
        acc[i] = vec4<f32>(0.0);
    }
    // Staging, one whole vec4 each (a store per component from four invocations would race on
    // backends that write a vector element as a read-modify-write of the whole vector).
    let am = tid / 4u;
    let ak4 = (tid % 4u) * 4u;
    let bk = tid / 16u;
    let bn4 = (tid % 16u) * 4u;
    for (var k0 = 0u; k0 < K; k0 = k0 + TK) {
        var va = vec4<f32>(0.0);
        let gm = row0 + am;
        var vb = vec4<f32>(0.0);
        let gk2 = k0 + bk;
        if (gm < M && k0 + ak4 < K) {
            va = w[w_base + gm * k4s + (k0 + ak4) / 4u];
        }
        for (var l = 0u; l < 4u; l = l + 1u) {
            let gn = col0 + bn4 + l;
            if (gn < N && gk2 < K) {
                vb[l] = gather(g, gk2, gn);
            }
        }
        sa[tid] = va;
        sb[tid] = vb;
        workgroupBarrier();
        for (var k4 = 0u; k4 < TK / 4u; k4 = k4 + 1u) {
            let b0 = sb[(k4 * 4u) * 16u + lid.x];
            let b1 = sb[(k4 * 4u + 1u) * 16u + lid.x];
            let b2 = sb[(k4 * 4u + 2u) * 16u + lid.x];
            let b3 = sb[(k4 * 4u + 3u) * 16u + lid.x];
            for (var i = 0u; i < 4u; i = i + 1u) {
                let a4 = sa[(lid.y * 4u + i) * 4u + k4];
                acc[i] = fma(vec4<f32>(a4.x), b0, acc[i]);
                acc[i] = fma(vec4<f32>(a4.y), b1, acc[i]);
                acc[i] = fma(vec4<f32>(a4.z), b2, acc[i]);
                acc[i] = fma(vec4<f32>(a4.w), b3, acc[i]);
            }
        }
        workgroupBarrier();
    }
    let lo = p.lo;
    let hi = p.hi;
    let pix = p.out_h * p.out_w;
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = row0 + lid.y * 4u + i;
        if (m >= M) {
            continue;
        }
        let oc = g * M + m;
        var bv = 0.0;
        if ((p.flags & 1u) != 0u) {
            bv = bias[oc];
        }
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = col0 + lid.x * 4u + j;
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
