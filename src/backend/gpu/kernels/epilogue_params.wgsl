
// --- the epilogue's parameters (ops/epilogue.rs), the last field of ConvParams and MatmulParams --
// Per operation: `op` 0 add, 1 mul; `form` 1: the operand has the output's layout, 0: broadcast
// by the strides in `w`, 2: the output zero-padded on one axis, read from the unpadded tensor,
// with `w` = [inner size, padded dim, unpadded dim, zeros before it, -, -].
struct EpiOp {
    op: u32,
    form: u32,
    w: array<u32, 6>,
}

struct Epilogue {
    shape: array<u32, 6>,
    count: u32,
    ops: array<EpiOp, 3>,
}
