
// Shared by the matrix-product kernels (matmul*.wgsl, same parameter words): batch offsets and
// the store of a 4x4 block of C through bias, epilogue.wgsl and the clamp.

struct Bases {
    a: u32,
    b: u32,
    c: u32,
}

// Element offsets of batch `bz`'s A, B and C (up to 3 batch dims, by strides).
fn batch_bases(bz: u32) -> Bases {
    let b2 = bz % p[14];
    let b1 = (bz / p[14]) % p[13];
    let b0 = bz / (p[14] * p[13]);
    return Bases(
        p[26] + b0 * p[15] + b1 * p[16] + b2 * p[17],
        p[27] + b0 * p[18] + b1 * p[19] + b2 * p[20],
        b0 * p[21] + b1 * p[22] + b2 * p[23],
    );
}

// acc[i][j] is C[m0 + i, n0 + j * n_step].
fn store_block(acc: array<vec4<f32>, 4>, m0: u32, n0: u32, n_step: u32, c_base: u32) {
    let lo = bitcast<f32>(p[24]);
    let hi = bitcast<f32>(p[25]);
    for (var i = 0u; i < 4u; i = i + 1u) {
        let m = m0 + i;
        if (m >= p[0]) {
            continue;
        }
        for (var j = 0u; j < 4u; j = j + 1u) {
            let n = n0 + j * n_step;
            if (n >= p[1]) {
                continue;
            }
            var v = acc[i][j];
            if ((p[3] & 1u) != 0u) {
                v = v + bias[m * p[10] + n * p[11]];
            }
            let at = c_base + m * p[8] + n * p[9];
            v = epilogue(at, v);
            c[at] = clamp(v, lo, hi);
        }
    }
}
