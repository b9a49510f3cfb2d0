// Fused element-wise chains: a small register program runs per output element, so a chain
// like HardSwish (add, max, min, mul, div) or bias + residual + ReLU is one dispatch.
// Inputs are broadcast to the output shape by per-input strides (rank padded to 6).
//
// Parameters: `ElementwiseParams` below (written by ops/elementwise.rs): up to 6 inputs, each
// read at the output's index (plain) or by strides, then the program, per instruction
// [opcode, dst, src1, src2] (src2 holds f32 bits for immediates).

struct Broadcast {
    plain: u32,
    strides: array<u32, 6>,
}

struct ElementwiseParams {
    n: u32,
    n_inputs: u32,
    n_instr: u32,
    result: u32,
    shape: array<u32, 6>,
    inputs: array<Broadcast, 6>,
    program: array<vec4<u32>>,
}

@group(0) @binding(0) var<storage, read> p: ElementwiseParams;
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
@group(0) @binding(2) var<storage, read> x0: array<f32>;
@group(0) @binding(3) var<storage, read> x1: array<f32>;
@group(0) @binding(4) var<storage, read> x2: array<f32>;
@group(0) @binding(5) var<storage, read> x3: array<f32>;
@group(0) @binding(6) var<storage, read> x4: array<f32>;
@group(0) @binding(7) var<storage, read> x5: array<f32>;

// WGSL rejects infinities and NaN in constant expressions (Tint does), so build them at run time.
fn bits(b: u32) -> f32 {
    return bitcast<f32>(b | (p.n & 0u));
}

fn input_index(k: u32, i: u32) -> u32 {
    if (p.inputs[k].plain == 1u) {
        return i;
    }
    var r = i;
    var idx = 0u;
    for (var d = 5u; d < 6u; d = d - 1u) {
        let dim = p.shape[d];
        let c = r % dim;
        r = r / dim;
        idx = idx + c * p.inputs[k].strides[d];
    }
    return idx;
}

fn load(k: u32, i: u32) -> f32 {
    let j = input_index(k, i);
    switch k {
        case 0u: { return x0[j]; }
        case 1u: { return x1[j]; }
        case 2u: { return x2[j]; }
        case 3u: { return x3[j]; }
        case 4u: { return x4[j]; }
        default: { return x5[j]; }
    }
}

fn erf_approx(x: f32) -> f32 {
    // Abramowitz-Stegun 7.1.26, max error 1.5e-7.
    let s = sign(x);
    let a = abs(x);
    let t = 1.0 / (1.0 + 0.3275911 * a);
    let poly = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429))));
    return s * (1.0 - poly * exp(-a * a));
}

fn powf(a: f32, b: f32) -> f32 {
    // WGSL's pow is undefined for a < 0; integer exponents follow the sign like C's powf.
    if (a >= 0.0) {
        return pow(a, b);
    }
    if (b == round(b)) {
        let m = pow(-a, b);
        if (abs(b % 2.0) == 1.0) {
            return -m;
        }
        return m;
    }
    return bits(0x7fc00000u);
}

fn sigmoid(v: f32) -> f32 {
    // Split by sign so exp never overflows.
    if (v >= 0.0) {
        return 1.0 / (1.0 + exp(-v));
    }
    let e = exp(v);
    return e / (1.0 + e);
}

@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
    let i = gid.x + gid.y * nwg.x * 256u;
    if (i >= p.n) {
        return;
    }
    var r: array<f32, 24>;
    let n_inputs = p.n_inputs;
    for (var k = 0u; k < n_inputs; k = k + 1u) {
        r[k] = load(k, i);
    }
    let n_instr = p.n_instr;
    for (var pc = 0u; pc < n_instr; pc = pc + 1u) {
        let ins = p.program[pc];
        let op = ins.x;
        let a = r[ins.z];
        let bw = ins.w;
        var b = 0.0;
        if (op < 16u) {
            b = r[bw];
        } else {
            b = bitcast<f32>(bw);
        }
        var v = 0.0;
        switch op {
            // binary, both operands registers
            case 0u: { v = a + b; }
            case 1u: { v = a - b; }
            case 2u: { v = a * b; }
            case 3u: { v = a / b; }
            case 4u: { v = max(a, b); }
            case 5u: { v = min(a, b); }
            case 6u: { v = powf(a, b); }
            // binary with an immediate second operand
            case 16u: { v = a + b; }
            case 17u: { v = a - b; }
            case 18u: { v = a * b; }
            case 19u: { v = a / b; }
            case 20u: { v = max(a, b); }
            case 21u: { v = min(a, b); }
            case 22u: { v = powf(a, b); }
            case 23u: { v = b - a; }
            case 24u: { v = b / a; }
            case 25u: { v = powf(b, a); }
            case 26u: { v = b; }
            // unary (b is a parameter where the op has one)
            case 32u: { v = sigmoid(a); }
            case 33u: { v = a * sigmoid(a); }
            case 34u: { v = log(a); }
            case 35u: { v = exp(a); }
            case 36u: { v = a * a; }
            case 37u: { v = sqrt(a); }
            case 38u: { v = inverseSqrt(a); }
            case 39u: { v = 1.0 / a; }
            case 40u: { v = abs(a); }
            case 41u: { v = -a; }
            case 42u: { v = tanh(a); }
            case 43u: { v = erf_approx(a); }
            case 44u: { v = select(a * b, a, a >= 0.0); }
            case 45u: { v = a * clamp(a / 6.0 + 0.5, 0.0, 1.0); }
            case 46u: { v = floor(a); }
            case 47u: { v = ceil(a); }
            case 48u: { v = round(a); }
            case 49u: { v = sin(a); }
            case 50u: { v = cos(a); }
            case 51u: { v = sign(a); }
            case 52u: { v = 0.5 * a * (1.0 + erf_approx(a * 0.70710678118654752)); }
            default: { v = a; }
        }
        r[ins.y] = v;
    }
    y[i] = r[p.result];
}
