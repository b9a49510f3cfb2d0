// Layout moves as one index map: transpose, slice, concat (one dispatch per part), pad,
// broadcast, nearest upsample and strided downsample. For each output axis d (rank padded to 6):
//   t = coord * mul[d] - before[d];  t < 0 -> pad;  t = t / div[d];  t >= in_dim[d] -> pad
//   source += t * in_stride[d]
// Parameters: `CopyParams` below (written by ops/copy.rs), each array right-aligned to rank 6.

struct CopyParams {
    n: u32,
    out_offset: u32,
    in_offset: u32,
    pad: f32,
    shape: array<u32, 6>,
    out_stride: array<u32, 6>,
    in_stride: array<u32, 6>,
    mul: array<u32, 6>,
    before: array<i32, 6>,
    div: array<u32, 6>,
    in_dim: array<u32, 6>,
}

@group(0) @binding(0) var<storage, read> p: CopyParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) {
        return;
    }
    var r = i;
    var dst = p.out_offset;
    var src = p.in_offset;
    var inside = true;
    for (var d = 5u; d < 6u; d = d - 1u) {
        let dim = p.shape[d];
        let c = r % dim;
        r = r / dim;
        dst = dst + c * p.out_stride[d];
        var t = i32(c * p.mul[d]) - p.before[d];
        if (t < 0) {
            inside = false;
        }
        let q = u32(max(t, 0)) / p.div[d];
        if (q >= p.in_dim[d]) {
            inside = false;
        }
        src = src + q * p.in_stride[d];
    }
    if (inside) {
        y[dst] = x[src];
    } else {
        y[dst] = p.pad;
    }
}
