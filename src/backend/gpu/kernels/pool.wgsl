// Max and average pooling, any layout by strides, with padding. One invocation per output.
// MODE: 0 max, 1 average (excluding padding), 2 average counting padding, 3 sum.
// Params: [0] total outputs, [1] C, [2] KH, [3] KW, [4] OH, [5] OW, [6] H, [7] W,
// [8] stride h, [9] stride w, [10] dil h, [11] dil w, [12] pad top, [13] pad left,
// [14..18) x strides n c h w, [18..22) y strides n c h w

override MODE: u32 = 0u;

@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

// WGSL rejects infinities and NaN in constant expressions (Tint does), so build them at run time.
fn bits(b: u32) -> f32 {
    return bitcast<f32>(b | (p[0] & 0u));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p[0]) {
        return;
    }
    let ow = i % p[5];
    let t1 = i / p[5];
    let oh = t1 % p[4];
    let t2 = t1 / p[4];
    let c = t2 % p[1];
    let n = t2 / p[1];
    let xb = n * p[14] + c * p[15];
    var acc = 0.0;
    if (MODE == 0u) {
        acc = bits(0xff800000u);
    }
    var count = 0u;
    for (var ky = 0u; ky < p[2]; ky = ky + 1u) {
        let iy = i32(oh * p[8] + ky * p[10]) - i32(p[12]);
        if (iy < 0 || u32(iy) >= p[6]) {
            continue;
        }
        for (var kx = 0u; kx < p[3]; kx = kx + 1u) {
            let ix = i32(ow * p[9] + kx * p[11]) - i32(p[13]);
            if (ix < 0 || u32(ix) >= p[7]) {
                continue;
            }
            let v = x[xb + u32(iy) * p[16] + u32(ix) * p[17]];
            if (MODE == 0u) {
                acc = max(acc, v);
            } else {
                acc = acc + v;
            }
            count = count + 1u;
        }
    }
    if (MODE == 1u) {
        acc = acc / f32(max(count, 1u));
    } else if (MODE == 2u) {
        acc = acc / f32(p[2] * p[3]);
    }
    y[n * p[18] + c * p[19] + oh * p[20] + ow * p[21]] = acc;
}
