//! The GPU program: what the translator produces and the session executes. Values are
//! contiguous row-major f32 tensors; steps are dispatches in execution order.

use std::any::Any;
use std::sync::Arc;

use super::kernels::Kernel;
pub use super::layout::strides;
use super::ops::epilogue::Epilogue;

pub type ValueId = usize;

#[derive(Debug, Clone)]
pub enum Storage {
    /// The model's input `ix`, written before each run.
    Input(usize),
    /// Weights and other constants, uploaded once at load.
    Const(Arc<Vec<f32>>),
    /// Produced by a step; placed in a pooled buffer by the memory planner.
    Temp,
    /// The same bytes as another value (reshape, axis insertion/removal).
    Alias(ValueId),
}

#[derive(Debug, Clone)]
pub struct Value {
    pub shape: Vec<usize>,
    pub storage: Storage,
}

impl Value {
    pub fn elements(&self) -> usize {
        self.shape.iter().product()
    }
}

/// A dispatch's typed parameters (one struct per op family, in `ops/`), encoded once for the
/// upload by `words`.
pub trait StepParams: std::fmt::Debug + Any + CloneParams {
    /// The words the kernel reads at binding 0, in the order its WGSL documents.
    fn words(&self) -> Vec<u32>;
    /// The fused element-wise tail, for the families that have one (conv, depthwise, matmul).
    fn epilogue(&self) -> Option<&Epilogue> {
        None
    }
    fn epilogue_mut(&mut self) -> Option<&mut Epilogue> {
        None
    }
}

/// Cloning boxed parameters (implemented for every `Clone` one).
pub trait CloneParams {
    fn boxed_clone(&self) -> Box<dyn StepParams>;
}

impl<T: StepParams + Clone> CloneParams for T {
    fn boxed_clone(&self) -> Box<dyn StepParams> {
        Box::new(self.clone())
    }
}

impl Clone for Box<dyn StepParams> {
    fn clone(&self) -> Self {
        self.boxed_clone()
    }
}

/// One dispatch.
#[derive(Debug, Clone)]
pub struct Step {
    pub kernel: Kernel,
    pub output: ValueId,
    pub inputs: Vec<ValueId>,
    pub params: Box<dyn StepParams>,
    pub workgroups: [u32; 3],
    /// The tract node this step comes from (for errors and profiles).
    pub node: String,
}

impl Step {
    /// The parameters as their family's struct, if they are of that family.
    pub fn params_as<T: StepParams>(&self) -> Option<&T> {
        let any: &dyn Any = &*self.params;
        any.downcast_ref()
    }
}

#[derive(Debug, Default)]
pub struct Program {
    pub values: Vec<Value>,
    pub steps: Vec<Step>,
    pub inputs: Vec<ValueId>,
    pub outputs: Vec<ValueId>,
}

impl Program {
    pub fn add(&mut self, shape: Vec<usize>, storage: Storage) -> ValueId {
        self.values.push(Value { shape, storage });
        self.values.len() - 1
    }

    /// Follows aliases to the value that owns the bytes.
    pub fn root(&self, mut v: ValueId) -> ValueId {
        while let Storage::Alias(a) = self.values[v].storage {
            v = a;
        }
        v
    }
}

/// Workgroup counts for `n` invocations of a 1-D kernel of `size` lanes, folded into 2-D so
/// no dimension passes WebGPU's 65535 limit (the kernels rebuild the linear index).
pub fn grid_1d(n: usize, size: usize) -> [u32; 3] {
    let groups = n.div_ceil(size).max(1);
    let x = groups.min(65535);
    [x as u32, groups.div_ceil(x) as u32, 1]
}

pub fn f(x: f32) -> u32 {
    x.to_bits()
}
