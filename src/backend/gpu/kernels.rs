//! The WGSL kernel families. A kernel is specialised only by pipeline-overridable constants (its
//! mode); shapes and strides travel in each dispatch's parameter words, so one pipeline serves
//! every node of a family. `Kernel` is the pipeline cache key.

/// One compiled pipeline: a family and its override constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kernel {
    /// Fused element-wise register program (elementwise.wgsl).
    Elementwise,
    /// Index-map copy: transpose, slice, concat part, pad, broadcast, upsample (copy.wgsl).
    Copy,
    Matmul,
    /// `Matmul` with 16-byte global loads, for operands contiguous in aligned runs of 4: A along
    /// k (else along m), B along k (else along n).
    MatmulVec4 {
        a_k: bool,
        b_k: bool,
    },
    /// The matrix product without workgroup memory, for a fixed subgroup size (its argument).
    MatmulSubgroup(u32),
    /// The matrix product in 128x128 blocks, 8x8 outputs per invocation, for large products on
    /// GPUs (`Gemm::wide`).
    MatmulWide,
    Conv,
    /// The convolution without workgroup memory, for a fixed subgroup size (its argument).
    ConvSubgroup(u32),
    Depthwise,
    Deconv,
    Pool(PoolMode),
    Rows(RowsMode),
    Lrn,
    /// Frame → input tensor, ahead of a vision model's dispatches (frame.wgsl).
    Frame(FramePass),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FramePass {
    Horizontal = 0,
    Vertical = 1,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolMode {
    Max = 0,
    Average = 1,
    AverageCountPad = 2,
    Sum = 3,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RowsMode {
    Sum = 0,
    Max = 1,
    Min = 2,
    Prod = 3,
    MeanOfSquares = 4,
    Softmax = 10,
    LogSoftmax = 11,
    RmsNorm = 12,
}

/// A kernel file as the module embeds it: stripped of its comments by build.rs (the commented
/// source is `kernels/NAME.wgsl`).
macro_rules! wgsl {
    ($name:literal) => {
        include_str!(concat!(env!("OUT_DIR"), "/kernels/", $name, ".wgsl"))
    };
}

impl Kernel {
    /// The tiled matrix product as plans ask for it: vec4 loads in each product's own
    /// orientation where its operands allow (session.rs), scalar loads elsewhere.
    pub const TILED: Kernel = Kernel::MatmulVec4 { a_k: true, b_k: false };

    pub fn source(self) -> &'static str {
        // Each family's parameter struct is declared once (conv_params.wgsl, matmul_common.wgsl,
        // epilogue_params.wgsl, or in the kernel's own file) and mirrors its `ops/` struct.
        match self {
            Kernel::Elementwise => wgsl!("elementwise"),
            Kernel::Copy => wgsl!("copy"),
            Kernel::Matmul => concat!(
                wgsl!("matmul"),
                wgsl!("matmul_tile"),
                wgsl!("matmul_common"),
                wgsl!("epilogue_params"),
                wgsl!("epilogue")
            ),
            Kernel::MatmulVec4 { .. } => concat!(
                wgsl!("matmul_vec4"),
                wgsl!("matmul_tile"),
                wgsl!("matmul_common"),
                wgsl!("epilogue_params"),
                wgsl!("epilogue")
            ),
            Kernel::MatmulWide => {
                concat!(wgsl!("matmul_wide"), wgsl!("matmul_common"), wgsl!("epilogue_params"), wgsl!("epilogue"))
            }
            Kernel::MatmulSubgroup(_) => {
                concat!(wgsl!("matmul_subgroup"), wgsl!("matmul_common"), wgsl!("epilogue_params"), wgsl!("epilogue"))
            }
            Kernel::Conv => concat!(
                wgsl!("conv"),
                wgsl!("conv_params"),
                wgsl!("epilogue_params"),
                wgsl!("conv_gather"),
                wgsl!("epilogue")
            ),
            Kernel::ConvSubgroup(_) => concat!(
                wgsl!("conv_subgroup"),
                wgsl!("conv_params"),
                wgsl!("epilogue_params"),
                wgsl!("conv_gather"),
                wgsl!("epilogue")
            ),
            Kernel::Depthwise => {
                concat!(wgsl!("depthwise"), wgsl!("conv_params"), wgsl!("epilogue_params"), wgsl!("epilogue"))
            }
            Kernel::Deconv => concat!(wgsl!("deconv"), wgsl!("conv_params"), wgsl!("epilogue_params")),
            Kernel::Pool(_) => wgsl!("pool"),
            Kernel::Rows(_) => wgsl!("rows"),
            Kernel::Lrn => wgsl!("lrn"),
            Kernel::Frame(_) => wgsl!("frame"),
        }
    }

    /// Values of the shader's `override` constants.
    pub fn constants(self) -> Vec<(&'static str, f64)> {
        match self {
            Kernel::Pool(m) => vec![("MODE", m as u32 as f64)],
            Kernel::Rows(m) => vec![("MODE", m as u32 as f64)],
            Kernel::Frame(m) => vec![("MODE", m as u32 as f64)],
            Kernel::MatmulSubgroup(size) | Kernel::ConvSubgroup(size) => vec![("SG", size as f64)],
            Kernel::MatmulVec4 { a_k, b_k } => vec![("A_K", a_k as u8 as f64), ("B_K", b_k as u8 as f64)],
            _ => vec![],
        }
    }

    /// Storage bindings after the parameters (binding 0) and the output (binding 1).
    pub fn input_bindings(self) -> usize {
        match self {
            Kernel::Elementwise => 6,
            Kernel::Matmul
            | Kernel::MatmulVec4 { .. }
            | Kernel::MatmulSubgroup(_)
            | Kernel::MatmulWide
            | Kernel::Conv
            | Kernel::ConvSubgroup(_)
            | Kernel::Depthwise => 3 + EPILOGUE_OPS,
            Kernel::Deconv => 3,
            _ => 1,
        }
    }

    pub fn name(self) -> String {
        match self {
            Kernel::Pool(m) => format!("pool/{m:?}"),
            Kernel::Rows(m) => format!("rows/{m:?}"),
            Kernel::Frame(m) => format!("frame/{m:?}"),
            Kernel::MatmulSubgroup(size) => format!("matmul/subgroup{size}"),
            Kernel::MatmulWide => "matmul/wide".to_string(),
            Kernel::MatmulVec4 { a_k, b_k } => {
                let axis = |k: bool, other: &str| if k { "k".to_string() } else { other.to_string() };
                format!("matmul/vec4-{}{}", axis(a_k, "m"), axis(b_k, "n"))
            }
            Kernel::ConvSubgroup(size) => format!("conv/subgroup{size}"),
            k => format!("{k:?}").to_lowercase(),
        }
    }

    pub fn all() -> Vec<Kernel> {
        use RowsMode as R;
        let mut v = vec![Kernel::Elementwise, Kernel::Copy, Kernel::Matmul, Kernel::Conv, Kernel::Depthwise];
        v.extend([
            Kernel::Deconv,
            Kernel::Lrn,
            Kernel::Frame(FramePass::Horizontal),
            Kernel::Frame(FramePass::Vertical),
        ]);
        v.extend([PoolMode::Max, PoolMode::Average, PoolMode::AverageCountPad, PoolMode::Sum].map(Kernel::Pool));
        v.extend(
            [R::Sum, R::Max, R::Min, R::Prod, R::MeanOfSquares, R::Softmax, R::LogSoftmax, R::RmsNorm]
                .map(Kernel::Rows),
        );
        v
    }
}

/// The matrix-product kernels of a plan: `tile` for each product (`Kernel::Matmul`,
/// `Kernel::TILED` or `Kernel::MatmulSubgroup`, which takes the subgroup convolution with it),
/// and where `wide` says so `Kernel::MatmulWide` instead.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gemm {
    pub tile: Kernel,
    pub wide: Wide,
}

/// Rows and columns of C per workgroup of `Kernel::MatmulWide` (matmul_wide.wgsl's `WT`).
pub const WIDE_BLOCK: u32 = 128;

/// Which products the 128x128 kernel takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wide {
    Never,
    /// At least 128 rows and 128 columns (at most half of a block idle) and 24 blocks (a grid
    /// that still fills a GPU's multiprocessors): where it measured faster on this device.
    Large,
    /// Every product (natively with `SHOPFLOOR_GPU_GEMM=wide`: its tests).
    Always,
}

impl Wide {
    /// Whether a product of `m` x `n` in `batches` takes the 128x128 kernel.
    pub fn takes(self, m: u32, n: u32, batches: u32) -> bool {
        match self {
            Wide::Never => false,
            Wide::Large => {
                let b = WIDE_BLOCK;
                m >= b && n >= b && m.div_ceil(b) * n.div_ceil(b) * batches.max(1) >= 24
            }
            Wide::Always => true,
        }
    }
}

/// Element-wise opcodes of elementwise.wgsl. Below 16: both operands are registers; 16..32: the
/// second operand is an immediate; 32 and up: unary (the immediate is the op's parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EwOp {
    Add = 0,
    Sub = 1,
    Mul = 2,
    Div = 3,
    Max = 4,
    Min = 5,
    Pow = 6,
    Sigmoid = 32,
    Silu = 33,
    Ln = 34,
    Exp = 35,
    Square = 36,
    Sqrt = 37,
    Rsqrt = 38,
    Recip = 39,
    Abs = 40,
    Neg = 41,
    Tanh = 42,
    Erf = 43,
    LeakyRelu = 44,
    HardSwish = 45,
    Floor = 46,
    Ceil = 47,
    Round = 48,
    Sin = 49,
    Cos = 50,
    Sign = 51,
    /// x · (1 + erf(x / √2)) / 2, tract's fused form of exact GELU (transformer MLPs).
    GeluExact = 52,
}

/// Immediate forms: `reg op imm`, and for the non-commutative ops `imm op reg`.
pub const IMM: u32 = 16;
pub const IMM_RSUB: u32 = 23;
pub const IMM_RDIV: u32 = 24;
pub const IMM_RPOW: u32 = 25;

/// Where epilogue.wgsl's words start in conv/depthwise/matmul parameters, and how many
/// element-wise operations it applies.
pub const EPILOGUE_AT: usize = 32;
pub const EPILOGUE_OPS: usize = 3;

/// Largest rank the index-mapping kernels handle.
pub const MAX_RANK: usize = 6;
/// Element-wise program limits (registers, bound inputs).
pub const EW_REGISTERS: usize = 24;
pub const EW_INPUTS: usize = 6;
