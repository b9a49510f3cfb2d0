// Max and average pooling, any layout by strides, with padding. One invocation per output.
// MODE: 0 max, 1 average (excluding padding), 2 average counting padding, 3 sum.
// Parameters: `PoolParams` below (written by ops/pool.rs); strides are (n, c, h, w).

override MODE: u32 = 0u;

struct PoolParams {
    total: u32,
    c: u32,
    kh: u32,
    kw: u32,
    out_h: u32,
    out_w: u32,
    in_h: u32,
    in_w: u32,
    stride_h: u32,
    stride_w: u32,
    dil_h: u32,
    dil_w: u32,
    pad_t: u32,
    pad_l: u32,
    xs: array<u32, 4>,
    ys: array<u32, 4>,
}

@group(0) @binding(0) var<storage, read> p: PoolParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

// WGSL rejects infinities and NaN in constant expressions (Tint does), so build them at run time.
fn bits(b: u32) -> f32 {
    return bitcast<f32>(b | (p.total & 0u));
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.total) {
        return;
    }
    let ow = i % p.out_w;
    let t1 = i / p.out_w;
    let oh = t1 % p.out_h;
    let t2 = t1 / p.out_h;
    let c = t2 % p.c;
    let n = t2 / p.c;
    let xb = n * p.xs[0] + c * p.xs[1];
    var acc = 0.0;
    if (MODE == 0u) {
        acc = bits(0xff800000u);
    }
    var count = 0u;
    for (var ky = 0u; ky < p.kh; ky = ky + 1u) {
        let iy = i32(oh * p.stride_h + ky * p.dil_h) - i32(p.pad_t);
        if (iy < 0 || u32(iy) >= p.in_h) {
            continue;
        }
        for (var kx = 0u; kx < p.kw; kx = kx + 1u) {
            let ix = i32(ow * p.stride_w + kx * p.dil_w) - i32(p.pad_l);
            if (ix < 0 || u32(ix) >= p.in_w) {
                continue;
            }
            let v = x[xb + u32(iy) * p.xs[2] + u32(ix) * p.xs[3]];
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
        acc = acc / f32(p.kh * p.kw);
    }
    y[n * p.ys[0] + c * p.ys[1] + oh * p.ys[2] + ow * p.ys[3]] = acc;
}
