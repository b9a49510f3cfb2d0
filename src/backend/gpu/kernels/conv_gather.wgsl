
// --- shared by conv.wgsl and conv_subgroup.wgsl ------------------------------------------------
// The implicit im2col: the input value that weight k of output column n reads in group g (zero
// in the padding).
fn gather(g: u32, k: u32, n: u32) -> f32 {
    let taps = p.kh * p.kw;
    let ci = k / taps;
    let t = k % taps;
    let ky = t / p.kw;
    let kx = t % p.kw;
    let pix = p.out_h * p.out_w;
    let bn = n / pix;
    let q = n % pix;
    let oy = q / p.out_w;
    let ox = q % p.out_w;
    let iy = i32(oy * p.stride_h + ky * p.dil_h) - i32(p.pad_t);
    let ix = i32(ox * p.stride_w + kx * p.dil_w) - i32(p.pad_l);
    if (iy < 0 || ix < 0 || u32(iy) >= p.in_h || u32(ix) >= p.in_w) {
        return 0.0;
    }
    let c = g * p.in_per_group + ci;
    return x[bn * p.xs[0] + c * p.xs[1] + u32(iy) * p.xs[2] + u32(ix) * p.xs[3]];
}
