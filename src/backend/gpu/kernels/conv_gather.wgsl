
// --- shared by conv.wgsl and conv_subgroup.wgsl ------------------------------------------------
// The implicit im2col: the input value that weight k of output column n reads in group g (zero
// in the padding). Words as ConvParams (ops/conv.rs) writes them.
fn gather(g: u32, k: u32, n: u32) -> f32 {
    let taps = p[5] * p[6];
    let ci = k / taps;
    let t = k % taps;
    let ky = t / p[6];
    let kx = t % p[6];
    let pix = p[7] * p[8];
    let bn = n / pix;
    let q = n % pix;
    let oy = q / p[8];
    let ox = q % p[8];
    let iy = i32(oy * p[11] + ky * p[13]) - i32(p[15]);
    let ix = i32(ox * p[12] + kx * p[14]) - i32(p[16]);
    if (iy < 0 || ix < 0 || u32(iy) >= p[9] || u32(ix) >= p[10]) {
        return 0.0;
    }
    let c = g * p[4] + ci;
    return x[bn * p[17] + c * p[18] + u32(iy) * p[19] + u32(ix) * p[20]];
}
