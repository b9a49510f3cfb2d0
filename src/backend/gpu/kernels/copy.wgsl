// Layout moves as one index map: transpose, slice, concat (one dispatch per part), pad,
// broadcast, nearest upsample and strided downsample. For each output axis d (rank padded to 6):
//   t = coord * mul[d] - before[d];  t < 0 -> pad;  t = t / div[d];  t >= in_dim[d] -> pad
//   source += t * in_stride[d]
// Params (u32 words): [0] n, [1] out_offset, [2] in_offset, [3] pad value (f32 bits),
// then 6-word arrays from word 4: shape, out_stride, in_stride, mul, before (i32), div, in_dim.

@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

const SHAPE: u32 = 4u;
const OUT_STRIDE: u32 = 10u;
const IN_STRIDE: u32 = 16u;
const MUL: u32 = 22u;
const BEFORE: u32 = 28u;
const DIV: u32 = 34u;
const IN_DIM: u32 = 40u;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) {
        return;
    }
    var r = i;
    var dst = p[1];
    var src = p[2];
    var inside = true;
    for (var d = 5u; d < 6u; d = d - 1u) {
        let dim = p[SHAPE + d];
        let c = r % dim;
        r = r / dim;
        dst = dst + c * p[OUT_STRIDE + d];
        var t = i32(c * p[MUL + d]) - bitcast<i32>(p[BEFORE + d]);
        if (t < 0) {
            inside = false;
        }
        let q = u32(max(t, 0)) / p[DIV + d];
        if (q >= p[IN_DIM + d]) {
            inside = false;
        }
        src = src + q * p[IN_STRIDE + d];
    }
    if (inside) {
        y[dst] = x[src];
    } else {
        y[dst] = bitcast<f32>(p[3]);
    }
}
