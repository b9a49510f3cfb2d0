
// --- shared by the convolution kernels (conv, conv_subgroup, depthwise, deconv) ----------------
// The parameters as ConvParams (ops/conv.rs) writes them. Strides are (n, c, h, w) in elements;
// a 1-D convolution has height 1. `flags` bit 0: a bias. `lo`, `hi`: the clamp. `invocations`:
// the dispatch's work items; `channels`: output channels in all groups.
struct ConvParams {
    out_per_group: u32,
    cols: u32,
    k: u32,
    flags: u32,
    in_per_group: u32,
    kh: u32,
    kw: u32,
    out_h: u32,
    out_w: u32,
    in_h: u32,
    in_w: u32,
    stride_h: u32,
    stride_w: u32,
    dil_h: u32,
    dil_w: u32,
    pad_t: u32,
    pad_l: u32,
    xs: array<u32, 4>,
    ys: array<u32, 4>,
    lo: f32,
    hi: f32,
    invocations: u32,
    channels: u32,
    _pad: array<u32, 3>,
    epi: Epilogue,
}
