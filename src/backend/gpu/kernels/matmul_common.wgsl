
// Shared by the matrix-product kernels (matmul*.wgsl, same parameters): batch offsets and
// the store of a 4x4 block of C through bias, epilogue.wgsl and the clamp.

struct Bases {
    a: u32,
    b: u32,
    c: u32,
}

// Element offsets of batch `bz`'s A, B and C (up to 3 batch dims, by strides).
fn batch_bases(bz: u32) -> Bases {
    let b2 = bz % p.batch[2];
    let b1 = (bz / p.batch[2]) % p.batch[1];
    let b0 = bz / (p.batch[2] * p.batch[1]);
    return Bases(
        p.a_offset + b0 * p.a_batch[0] + b1 * p.a_batch[1] + b2 * p.a_batch[2],
        p.b_offset + b0 * p.b_batch[0] + b1 * p.b_batch[1] + b2 * p.b_batch[2],
        b0 * p.c_batch[0] + b1 * p.c_batch[1] + b2 * p.c_batch[2],
    );
}

// acc[i][j] is C[m0 + i, n0 + j * n_step].
fn store_block(acc: array<vec4<f32>, 4>, m0: u32, n0: u32, n_step: u32, c_base: u32) {
    let lo = p.lo;
    let hi = p.hi;
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = m0 + i;
        if (m >= p.m) {
            continue;
        }
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = n0 + j * n_step;
            if (n >= p.n) {
                continue;
            }
            var v = acc[i][j];
            if ((p.flags & 1u) != 0u) {
                v = v + bias[m * p.bias_m + n * p.bias_n];
            }
            let at = c_base + m * p.c_m + n * p.c_n;
            v = epilogue(at, v);
            c[at] = clamp(v, lo, hi);
        }
    }
}

// The parameters as MatmulParams (ops/matmul.rs) writes them: C[m, n] = sum_k A[m, k] B[k, n] per
// batch (up to 3 batch axes), every operand by strides; `flags` bit 0: a bias read at
// (bias_m, bias_n) strides; `lo`, `hi`: the clamp; then the epilogue.
struct MatmulParams {
    m: u32,
    n: u32,
    k: u32,
    flags: u32,
    a_m: u32,
    a_k: u32,
    b_k: u32,
    b_n: u32,
    c_m: u32,
    c_n: u32,
    bias_m: u32,
    bias_n: u32,
    batch: array<u32, 3>,
    a_batch: array<u32, 3>,
    b_batch: array<u32, 3>,
    c_batch: array<u32, 3>,
    lo: f32,
    hi: f32,
    a_offset: u32,
    b_offset: u32,
    _pad: array<u32, 4>,
    epi: Epilogue,
}
