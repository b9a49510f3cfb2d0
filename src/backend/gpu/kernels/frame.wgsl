// A camera frame (RGBA8) → a vision model's input tensor, the same arithmetic as
// src/vision/preprocess.rs so both paths give the same tensor: a source rectangle resampled by
// separable triangle filters (PIL's antialiased bilinear) into a content rectangle of the input,
// zero padding around it (letterbox), colour order, (v - mean) * scale, NCHW or NHWC.
// MODE 0, horizontal pass: source rows [row_lo, row_lo + rows) → tmp[rows][cw][3].
// MODE 1, vertical pass: tmp → the input tensor, normalised, in its layout.
// Params: [0] W, [1] H, [2..6] content x, y, w, h, [6] src width, [7] src height, [8] row_lo,
// [9] rows, [10] 1 when NHWC, [11..14] source channel per input channel, [14..17] mean,
// [17..20] scale, [20..24] source rectangle x, y, w, h (f32 bits).

override MODE: u32 = 0u;

@group(0) @binding(0) var<storage, read> p: array<u32>;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
// MODE 0: the frame, one RGBA pixel per word; MODE 1: tmp's f32 bits.
@group(0) @binding(2) var<storage, read> x: array<u32>;

struct Taps {
    lo: u32,
    hi: u32,
    center: f32,
    support: f32,
    // 0 when the window misses the image: then one tap of weight 1 at `lo`.
    sum: f32,
}

fn taps(start: f32, len: f32, out_len: u32, o: u32, limit: u32) -> Taps {
    let scale = len / f32(out_len);
    let support = max(scale, 1.0);
    let center = start + (f32(o) + 0.5) * scale;
    let lo = u32(max(floor(center - support), 0.0));
    let hi = min(u32(max(ceil(center + support), 0.0)), limit);
    var sum = 0.0;
    for (var i = lo; i < hi; i = i + 1u) {
        sum = sum + weight(i, center, support);
    }
    if (sum > 0.0) {
        return Taps(lo, hi, center, support, sum);
    }
    let edge = min(u32(max(center, 0.0)), limit - 1u);
    return Taps(edge, edge + 1u, center, support, 0.0);
}

fn weight(i: u32, center: f32, support: f32) -> f32 {
    return max(1.0 - abs((f32(i) + 0.5 - center) / support), 0.0);
}

fn tap(t: Taps, i: u32) -> f32 {
    if (t.sum == 0.0) {
        return 1.0;
    }
    return weight(i, t.center, t.support) / t.sum;
}

fn f(i: u32) -> f32 {
    return bitcast<f32>(p[i]);
}

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cw = p[4];
    if (MODE == 0u) {
        let ox = gid.x;
        let r = gid.y;
        if (ox >= cw || r >= p[9]) {
            return;
        }
        let row = p[8] + r;
        let t = taps(f(20), f(22), cw, ox, p[6]);
        var acc = vec3<f32>(0.0);
        for (var i = t.lo; i < t.hi; i = i + 1u) {
            let px = x[row * p[6] + i];
            let rgb = vec3<f32>(f32(px & 255u), f32((px >> 8u) & 255u), f32((px >> 16u) & 255u));
            acc = acc + tap(t, i) * rgb;
        }
        let o = (r * cw + ox) * 3u;
        y[o] = acc.x;
        y[o + 1u] = acc.y;
        y[o + 2u] = acc.z;
        return;
    }
    let W = p[0];
    let H = p[1];
    let X = gid.x;
    let Y = gid.y;
    if (X >= W || Y >= H) {
        return;
    }
    var rgb = array<f32, 3>(0.0, 0.0, 0.0);
    if (X >= p[2] && X < p[2] + cw && Y >= p[3] && Y < p[3] + p[5]) {
        let ox = X - p[2];
        let t = taps(f(21), f(23), p[5], Y - p[3], p[7]);
        for (var j = t.lo; j < t.hi; j = j + 1u) {
            let w = tap(t, j);
            let o = ((j - p[8]) * cw + ox) * 3u;
            rgb[0] = rgb[0] + w * bitcast<f32>(x[o]);
            rgb[1] = rgb[1] + w * bitcast<f32>(x[o + 1u]);
            rgb[2] = rgb[2] + w * bitcast<f32>(x[o + 2u]);
        }
    }
    for (var c = 0u; c < 3u; c = c + 1u) {
        let v = (rgb[p[11u + c]] - f(14u + c)) * f(17u + c);
        if (p[10] == 1u) {
            y[(Y * W + X) * 3u + c] = v;
        } else {
            y[(c * H + Y) * W + X] = v;
        }
    }
}
