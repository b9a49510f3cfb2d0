
// --- shared epilogue (appended to conv.wgsl, depthwise.wgsl and matmul.wgsl) -------------------
// Up to three element-wise operations applied to each output before the clamp: v = v op t[k],
// with t[k] broadcast to the output by strides (folded BatchNorm scale and shift, a bias, a
// residual shortcut), as `p.epi` (epilogue_params.wgsl) describes them. A zero-padded operand is a
// channel-padded shortcut read from the unpadded tensor, no copy step.

@group(0) @binding(5) var<storage, read> e0: array<f32>;
@group(0) @binding(6) var<storage, read> e1: array<f32>;
@group(0) @binding(7) var<storage, read> e2: array<f32>;

const OUTSIDE: u32 = 0xffffffffu;

fn epi_index(k: u32, at: u32) -> u32 {
    // Read in place: a copy of the struct would put its array in function memory, indexed per
    // element (measured ~8 % slower matmuls on lavapipe).
    let form = p.epi.ops[k].form;
    if (form == 1u) {
        return at;
    }
    if (form == 2u) {
        let inner = p.epi.ops[k].w[0];
        let dim = p.epi.ops[k].w[1];
        let kept = p.epi.ops[k].w[2];
        let c = (at / inner) % dim - p.epi.ops[k].w[3];
        if (c >= kept) {
            return OUTSIDE;
        }
        return (at / (inner * dim)) * kept * inner + c * inner + at % inner;
    }
    var r = at;
    var idx = 0u;
    for (var d = 5u; d < 6u; d = d - 1u) {
        let dim = p.epi.shape[d];
        idx = idx + (r % dim) * p.epi.ops[k].w[d];
        r = r / dim;
    }
    return idx;
}

fn epilogue(at: u32, v0: f32) -> f32 {
    var v = v0;
    let n = p.epi.count;
    for (var k = 0u; k < n; k = k + 1u) {
        let i = epi_index(k, at);
        if (i == OUTSIDE) {
            continue;
        }
        var t = 0.0;
        switch k {
            case 0u: { t = e0[i]; }
            case 1u: { t = e1[i]; }
            default: { t = e2[i]; }
        }
        if (p.epi.ops[k].op == 1u) {
            v = v * t;
        } else {
            v = v + t;
        }
    }
    return v;
}
