// A camera frame (RGBA8) → a vision model's input tensor, the same arithmetic as
// src/vision/preprocess.rs so both paths give the same tensor: a source rectangle resampled by
// separable triangle filters (PIL's antialiased bilinear) into a content rectangle of the input,
// zero padding around it (letterbox), colour order, (v - mean) * scale, NCHW or NHWC.
// MODE 0, horizontal pass: source rows [row_lo, row_lo + rows) → tmp[rows][cw][3].
// MODE 1, vertical pass: tmp → the input tensor, normalised, in its layout.
// Parameters: `FrameParams` below (written by backend/gpu/frame.rs): the input's size, the content
// rectangle (cx, cy, cw, ch), the frame's size, the source rows read, NHWC or not, the frame
// channel per input channel, mean and scale, and the source rectangle.

override MODE: u32 = 0u;

struct FrameParams {
    width: u32,
    height: u32,
    cx: u32,
    cy: u32,
    cw: u32,
    ch: u32,
    src_w: u32,
    src_h: u32,
    row_lo: u32,
    rows: u32,
    nhwc: u32,
    order: array<u32, 3>,
    mean: array<f32, 3>,
    scale: array<f32, 3>,
    // The source rectangle: x, y, width, height.
    rect: array<f32, 4>,
}

@group(0) @binding(0) var<storage, read> p: FrameParams;
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

@compute @workgroup_size(8, 8)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
    let cw = p.cw;
    if (MODE == 0u) {
        let ox = gid.x;
        let r = gid.y;
        if (ox >= cw || r >= p.rows) {
            return;
        }
        let row = p.row_lo + r;
        let t = taps(p.rect[0], p.rect[2], cw, ox, p.src_w);
        var acc = vec3<f32>(0.0);
        for (var i = t.lo; i < t.hi; i = i + 1u) {
            let px = x[row * p.src_w + i];
            let rgb = vec3<f32>(f32(px & 255u), f32((px >> 8u) & 255u), f32((px >> 16u) & 255u));
            acc = acc + tap(t, i) * rgb;
        }
        let o = (r * cw + ox) * 3u;
        y[o] = acc.x;
        y[o + 1u] = acc.y;
        y[o + 2u] = acc.z;
        return;
    }
    let W = p.width;
    let H = p.height;
    let X = gid.x;
    let Y = gid.y;
    if (X >= W || Y >= H) {
        return;
    }
    var rgb = array<f32, 3>(0.0, 0.0, 0.0);
    if (X >= p.cx && X < p.cx + cw && Y >= p.cy && Y < p.cy + p.ch) {
        let ox = X - p.cx;
        let t = taps(p.rect[1], p.rect[3], p.ch, Y - p.cy, p.src_h);
        for (var j = t.lo; j < t.hi; j = j + 1u) {
            let w = tap(t, j);
            let o = ((j - p.row_lo) * cw + ox) * 3u;
            rgb[0] = rgb[0] + w * bitcast<f32>(x[o]);
            rgb[1] = rgb[1] + w * bitcast<f32>(x[o + 1u]);
            rgb[2] = rgb[2] + w * bitcast<f32>(x[o + 2u]);
        }
    }
    for (var c = 0u; c < 3u; c = c + 1u) {
        let v = (rgb[p.order[c]] - p.mean[c]) * p.scale[c];
        if (p.nhwc == 1u) {
            y[(Y * W + X) * 3u + c] = v;
        } else {
            y[(c * H + Y) * W + X] = v;
        }
    }
}
