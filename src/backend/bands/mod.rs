//! Row bands: a CNN's first layers run as two independent halves of the image, one per thread,
//! then the rest of the graph on the joined result.
//!
//! Splitting each layer over the pool's threads gains nothing on models of small layers
//! (BlazeFace, the openWakeWord embedding: docs/performance-log.md, "Threads"): every layer waits
//! for the slower thread and reads what the other core has just written. Two bands through a chain
//! of layers meet once. Each band is the same graph rebuilt for its rows of the input, including
//! the rows its neighbour's outputs also read (computed twice), with every convolution and pool
//! padded as at the whole input; since every tensor's band starts at a whole row of its own (the
//! band starts are aligned to the cut's stride), each row the band keeps is computed from the same
//! values by the same op as in the whole graph.
//!
//! `reach` follows the input's rows through the graph, `cut` picks the tensor to cut at by
//! estimated work, `split` rebuilds the graphs. The CPU backend compiles and runs them.

mod cut;
mod reach;
mod split;

use std::ops::Range;

use tract_onnx::prelude::*;
use tract_onnx::tract_core::internal::*;

/// Below this estimated share of a one-thread run, bands are worth a plan of their own.
pub const MAX_RATIO: f64 = 0.8;

/// A graph split into two bands and the rest.
#[derive(Debug)]
pub struct Split {
    /// The graph up to the cut at the first band's input rows, and at the second's.
    pub top: TypedModel,
    pub bottom: TypedModel,
    /// The graph after the cut, fed the cut tensor.
    pub rest: TypedModel,
    pub geometry: Geometry,
}

/// Where a split cuts its input and the cut tensor.
#[derive(Debug, Clone, PartialEq)]
pub struct Geometry {
    /// The input's axis the bands run along, and their rows of the input.
    pub input_axis: usize,
    pub top_input: Range<usize>,
    pub bottom_input: Range<usize>,
    /// The cut tensor's axis, and the rows of each band's output kept (in that output's rows).
    pub cut_axis: usize,
    pub top_keep: Range<usize>,
    pub bottom_keep: Range<usize>,
    /// Estimated work on two threads against one.
    pub ratio: f64,
}

/// The best split of a decluttered single-input graph at concrete shapes, along any axis of its
/// input, if one is estimated to run in under `max_ratio` of the one-thread time on two threads.
pub fn split(model: &TypedModel, max_ratio: f64) -> TractResult<Option<Split>> {
    if model.inputs.len() != 1 {
        return Ok(None);
    }
    let Some(shape) = model.input_fact(0)?.shape.as_concrete().map(|s| s.to_vec()) else { return Ok(None) };
    let mut best: Option<(usize, cut::Cut)> = None;
    for axis in 0..shape.len() {
        let facts = reach::analyse(model, axis)?;
        let bound = best.as_ref().map_or(max_ratio, |(_, c)| c.ratio);
        if let Some(cut) = cut::best(model, &facts, axis, bound)? {
            best = Some((axis, cut));
        }
    }
    let Some((axis, cut)) = best else { return Ok(None) };
    let h = shape[axis];
    let facts = reach::analyse(model, axis)?;
    let top = split::before(model, &facts, cut.at, axis, 0, cut.top_end)?;
    let bottom = split::before(model, &facts, cut.at, axis, cut.bottom_start, h - cut.bottom_start)?;
    let rest = split::after(model, cut.at)?;
    let rows_of = |m: &TypedModel| -> TractResult<usize> { Ok(m.output_fact(0)?.shape[cut.reach.axis].to_usize()?) };
    // The second band's output starts at row `bottom_start / stride` of the whole tensor.
    let offset = cut.bottom_start / cut.reach.stride;
    ensure!(rows_of(&top)? >= cut.half, "the first band ends before its half");
    ensure!(rows_of(&bottom)? + offset == cut.rows, "the second band does not end where the tensor does");
    let geometry = Geometry {
        input_axis: axis,
        top_input: 0..cut.top_end,
        bottom_input: cut.bottom_start..h,
        cut_axis: cut.reach.axis,
        top_keep: 0..cut.half,
        bottom_keep: cut.half - offset..cut.rows - offset,
        ratio: cut.ratio,
    };
    Ok(Some(Split { top, bottom, rest, geometry }))
}

/// The work of a run of the whole graph (`reach::work`, summed).
pub fn total_work(model: &TypedModel) -> f64 {
    model.nodes().iter().map(|n| reach::work(model, n)).sum()
}

/// One thread's share of a split: a band, from slicing the input to the rows kept of its output.
pub type Band<'a, E> = &'a (dyn Fn() -> Result<Tensor, E> + Sync);

/// Runs a split on `input` with its three compiled parts (`run` runs one part on one tensor):
/// the bands side by side (`join`), then the rest on the joined cut tensor. `wrap` words the
/// errors of slicing and joining.
pub fn run_split<E>(
    geometry: &Geometry,
    input: &Tensor,
    run: impl Fn(Part, TValue) -> Result<TVec<TValue>, E> + Sync,
    join: impl FnOnce(Band<E>, Band<E>) -> (Result<Tensor, E>, Result<Tensor, E>),
    wrap: impl Fn(TractError) -> E + Sync,
) -> Result<TVec<TValue>, E> {
    let g = geometry;
    let band = |part: Part| -> Result<Tensor, E> {
        let slice = g.band_input(part, input).map_err(&wrap)?;
        g.band_output(part, run(part, slice.into_tvalue())?).map_err(&wrap)
    };
    let (top, bottom) = join(&|| band(Part::Top), &|| band(Part::Bottom));
    run(Part::Rest, g.join(top?, bottom?).map_err(&wrap)?.into_tvalue())
}

impl Geometry {
    /// A band's rows of the whole input (a copy).
    pub fn band_input(&self, band: Part, input: &Tensor) -> TractResult<Tensor> {
        let rows = if band == Part::Top { &self.top_input } else { &self.bottom_input };
        input.slice(self.input_axis, rows.start, rows.end)
    }

    /// The rows a band keeps of its graph's outputs: its share of the cut tensor.
    pub fn band_output(&self, band: Part, outputs: TVec<TValue>) -> TractResult<Tensor> {
        let keep = if band == Part::Top { &self.top_keep } else { &self.bottom_keep };
        let first = outputs.first().ok_or_else(|| format_err!("a band gave no output"))?;
        first.slice(self.cut_axis, keep.start, keep.end)
    }

    /// The two bands' shares joined: the cut tensor, the rest's input.
    pub fn join(&self, top: Tensor, bottom: Tensor) -> TractResult<Tensor> {
        Tensor::stack_tensors(self.cut_axis, &[top, bottom])
    }
}

/// One of a split's three graphs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Part {
    Top,
    Bottom,
    Rest,
}
