//! The translation's state, which every op family's translation writes into: the program being
//! built, the GPU value of each tract outlet, and the element-wise nodes folded into a consumer.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use tract_onnx::prelude::*;

use super::super::kernels::{Kernel, MAX_RANK};
pub use super::super::layout::rank6;
use super::super::program::{Program, Step, StepParams, Storage, ValueId};

/// Why one node has no GPU kernel (it becomes `translate::Unsupported::why`).
#[derive(Debug)]
pub struct Why(pub String);

impl From<String> for Why {
    fn from(s: String) -> Self {
        Why(s)
    }
}

impl From<&str> for Why {
    fn from(s: &str) -> Self {
        Why(s.into())
    }
}

macro_rules! why {
    ($($t:tt)*) => { $crate::backend::gpu::ops::builder::Why(format!($($t)*)) };
}
pub(crate) use why;

pub type R<T> = std::result::Result<T, Why>;

pub struct Builder<'m> {
    pub model: &'m TypedModel,
    pub prog: Program,
    pub values: HashMap<OutletId, ValueId>,
    /// Each node's position in evaluation order.
    pub order: HashMap<usize, usize>,
    /// Element-wise nodes folded into a consumer's program (not materialised).
    pub fused: HashSet<usize>,
}

impl<'m> Builder<'m> {
    pub fn new(model: &'m TypedModel, order: &[usize]) -> Self {
        Builder {
            model,
            prog: Program::default(),
            values: HashMap::new(),
            order: order.iter().enumerate().map(|(i, &n)| (n, i)).collect(),
            fused: HashSet::new(),
        }
    }

    pub fn fact(&self, o: OutletId) -> &'m TypedFact {
        &self.model.node(o.node).outputs[o.slot].fact
    }

    pub fn is_output(&self, o: OutletId) -> bool {
        self.model.output_outlets().map(|outs| outs.contains(&o)).unwrap_or(false)
    }

    /// The value holding outlet `o`; constants are uploaded on first use.
    pub fn value(&mut self, o: OutletId) -> R<ValueId> {
        if let Some(&v) = self.values.get(&o) {
            return Ok(v);
        }
        let fact = self.fact(o);
        if let Some(k) = &fact.konst {
            let data = f32_data(k)?;
            let v = self.prog.add(k.shape().to_vec(), Storage::Const(Arc::new(data)));
            self.values.insert(o, v);
            return Ok(v);
        }
        Err(why!("input {o:?} was not computed on the GPU"))
    }

    pub fn input(&mut self, node: &TypedNode, ix: usize) -> R<ValueId> {
        self.value(node.inputs[ix])
    }

    /// The concrete shape of `node`'s input `ix`.
    pub fn input_shape(&self, node: &TypedNode, ix: usize) -> R<Vec<usize>> {
        concrete(self.fact(node.inputs[ix]))
    }

    pub fn output(&mut self, node: &TypedNode, storage: Storage) -> R<ValueId> {
        let fact = &node.outputs[0].fact;
        if fact.datum_type != f32::datum_type() {
            return Err(why!("output type {:?} (the GPU path computes f32)", fact.datum_type));
        }
        let v = self.prog.add(concrete(fact)?, storage);
        self.values.insert(node.id.into(), v);
        Ok(v)
    }

    pub fn step(
        &mut self,
        kernel: Kernel,
        output: ValueId,
        inputs: Vec<ValueId>,
        params: impl StepParams,
        workgroups: [u32; 3],
        node: &TypedNode,
    ) {
        let params = Box::new(params);
        self.prog.steps.push(Step { kernel, output, inputs, params, workgroups, node: node.name.clone() });
    }
}

pub fn concrete(fact: &TypedFact) -> R<Vec<usize>> {
    let shape = fact.shape.as_concrete().ok_or_else(|| format!("symbolic shape {:?}", fact.shape))?;
    if shape.len() > MAX_RANK {
        return Err(why!("rank {} (the GPU kernels take up to {MAX_RANK})", shape.len()));
    }
    Ok(shape.to_vec())
}

pub fn f32_data(t: &Tensor) -> R<Vec<f32>> {
    let t = t.cast_to::<f32>().map_err(|e| format!("constant of type {:?}: {e}", t.datum_type()))?;
    let view = t.to_plain_array_view::<f32>().map_err(|e| e.to_string())?;
    Ok(view.iter().copied().collect())
}

/// Workgroups of 64 along one side of a GEMM tile grid.
pub fn m_groups(n: usize) -> u32 {
    n.div_ceil(64).max(1) as u32
}
