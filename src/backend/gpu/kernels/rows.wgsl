// Ops along one axis of a tensor viewed as [outer, axis, inner]: reductions, softmax, log-softmax
// and RMS normalisation. One workgroup per (outer, inner) row; its 64 invocations stride the
// axis and combine in workgroup memory, so long axes (global pooling) stay parallel.
// MODE: 0 sum, 1 max, 2 min, 3 prod, 4 mean of squares, 10 softmax, 11 log-softmax, 12 RMS norm.
// Parameters: `RowsParams` below (written by ops/rows.rs).

override MODE: u32 = 0u;

struct RowsParams {
    outer: u32,
    len: u32,
    inner: u32,
    eps: f32,
}

@group(0) @binding(0) var<storage, read> p: RowsParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x: array<f32>;

// WGSL rejects infinities and NaN in constant expressions (Tint does), so build them at run time.
fn bits(b: u32) -> f32 {
    return bitcast<f32>(b | (p.outer & 0u));
}

const WG: u32 = 64u;
var<workgroup> part: array<f32, 64>;

fn combine(op: u32, a: f32, b: f32) -> f32 {
    switch op {
        case 1u: { return max(a, b); }
        case 2u: { return min(a, b); }
        case 3u: { return a * b; }
        default: { return a + b; }
    }
}

fn identity(op: u32) -> f32 {
    switch op {
        case 1u: { return bits(0xff800000u); }
        case 2u: { return bits(0x7f800000u); }
        case 3u: { return 1.0; }
        default: { return 0.0; }
    }
}

// Reduces `v` across the workgroup; every invocation gets the result.
fn all_reduce(op: u32, v: f32, t: u32) -> f32 {
    part[t] = v;
    workgroupBarrier();
    for (var s = WG / 2u; s > 0u; s = s / 2u) {
        if (t < s) {
            part[t] = combine(op, part[t], part[t + s]);
        }
        workgroupBarrier();
    }
    let r = part[0];
    workgroupBarrier();
    return r;
}

@compute @workgroup_size(64)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
    let row = wg.x + wg.y * nwg.x;
    let outer = p.outer;
    let len = p.len;
    let inner = p.inner;
    if (row >= outer * inner) {
        return; // uniform across the workgroup
    }
    let t = lid.x;
    let o = row / inner;
    let j = row % inner;
    let base = o * len * inner + j;

    if (MODE < 10u) {
        var op = MODE;
        if (MODE == 4u) {
            op = 0u;
        }
        var acc = identity(op);
        for (var i = t; i < len; i = i + WG) {
            var v = x[base + i * inner];
            if (MODE == 4u) {
                v = v * v;
            }
            acc = combine(op, acc, v);
        }
        var r = all_reduce(op, acc, t);
        if (MODE == 4u) {
            r = r / f32(len);
        }
        if (t == 0u) {
            y[row] = r;
        }
        return;
    }
    if (MODE == 12u) {
        var ss = 0.0;
        for (var i = t; i < len; i = i + WG) {
            let v = x[base + i * inner];
            ss = ss + v * v;
        }
        let ms = all_reduce(0u, ss, t) / f32(len);
        let scale = inverseSqrt(ms + p.eps);
        for (var i = t; i < len; i = i + WG) {
            y[base + i * inner] = x[base + i * inner] * scale;
        }
        return;
    }
    // softmax / log-softmax
    var m = bits(0xff800000u);
    for (var i = t; i < len; i = i + WG) {
        m = max(m, x[base + i * inner]);
    }
    m = all_reduce(1u, m, t);
    var s = 0.0;
    for (var i = t; i < len; i = i + WG) {
        s = s + exp(x[base + i * inner] - m);
    }
    s = all_reduce(0u, s, t);
    for (var i = t; i < len; i = i + WG) {
        let v = x[base + i * inner] - m;
        if (MODE == 11u) {
            y[base + i * inner] = v - log(s);
        } else {
            y[base + i * inner] = exp(v) / s;
        }
    }
}
