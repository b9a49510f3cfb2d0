
// --- shared epilogue (appended to conv.wgsl, depthwise.wgsl and matmul.wgsl) -------------------
// Up to three element-wise operations applied to each output before the clamp: v = v op t[k],
// with t[k] broadcast to the output by strides (folded BatchNorm scale and shift, a bias, a
// residual shortcut). Words from EPI: [0..6) output shape, [6] count, then per operation
// [op (0 add, 1 mul), layout, stride x 6]. Layout 1: the operand has the output's layout; 0: it is
// broadcast by the strides; 2: it is the output zero-padded at the end of one axis (a channel-
// padded shortcut read from the unpadded tensor, no copy step), with words 2..6 [inner size,
// padded dim, unpadded dim, zeros before it].

@group(0) @binding(5) var<storage, read> e0: array<f32>;
@group(0) @binding(6) var<storage, read> e1: array<f32>;
@group(0) @binding(7) var<storage, read> e2: array<f32>;

const EPI: u32 = 32u;

const OUTSIDE: u32 = 0xffffffffu;

fn epi_index(base: u32, at: u32) -> u32 {
    let form = p[base + 1u];
    if (form == 1u) {
        return at;
    }
    if (form == 2u) {
        let inner = p[base + 2u];
        let dim = p[base + 3u];
        let kept = p[base + 4u];
        let c = (at / inner) % dim - p[base + 5u];
        if (c >= kept) {
            return OUTSIDE;
        }
        return (at / (inner * dim)) * kept * inner + c * inner + at % inner;
    }
    var r = at;
    var idx = 0u;
    for (var d = 5u; d < 6u; d = d - 1u) {
        let dim = p[EPI + d];
        idx = idx + (r % dim) * p[base + 2u + d];
        r = r / dim;
    }
    return idx;
}

fn epilogue(at: u32, v0: f32) -> f32 {
    var v = v0;
    let n = p[EPI + 6u];
    for (var k = 0u; k < n; k = k + 1u) {
        let base = EPI + 7u + k * 8u;
        let i = epi_index(base, at);
        if (i == OUTSIDE) {
            continue;
        }
        var t = 0.0;
        switch k {
            case 0u: { t = e0[i]; }
            case 1u: { t = e1[i]; }
            default: { t = e2[i]; }
        }
        if (p[base] == 1u) {
            v = v * t;
        } else {
            v = v + t;
        }
    }
    return v;
}
