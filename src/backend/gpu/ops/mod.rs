//! One GPU op family per file: its typed parameter struct (the one writer of the words its WGSL
//! kernel reads, in the order documented on the struct), its translation from tract's ops, and
//! where it has variants, which one a step runs. Shared below them: `builder` (the translation's
//! state), `operand` (broadcast layouts), `epilogue` (the fused tail of conv and matmul).

pub mod builder;
pub mod conv;
pub mod copy;
pub mod elementwise;
pub mod epilogue;
pub mod lrn;
pub mod matmul;
pub mod operand;
pub mod pool;
pub mod rows;
