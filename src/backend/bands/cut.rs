//! Where to cut a graph into two bands and the rest: a tensor every path from the input to the
//! outputs passes through, row-local in the input, chosen where the two bands' work (each with
//! the rows its neighbour's outputs also read) plus the rest is least.

use tract_onnx::prelude::*;

use super::reach::{work, Fact, Reach};

/// A cut and the bands of input rows on either side of it.
#[derive(Clone, Debug, PartialEq)]
pub struct Cut {
    /// The tensor the graph is cut at.
    pub at: OutletId,
    pub reach: Reach,
    /// Its rows: the first band gives `..half`, the second `half..`.
    pub rows: usize,
    pub half: usize,
    /// Input rows each band reads: `..top_end` and `bottom_start..`.
    pub top_end: usize,
    pub bottom_start: usize,
    /// Estimated work on two threads against one (below 1 is faster).
    pub ratio: f64,
}

/// The best cut along the input's `axis`, if any is estimated below `max_ratio`.
pub fn best(model: &TypedModel, facts: &[Fact], axis: usize, max_ratio: f64) -> TractResult<Option<Cut>> {
    let order = model.eval_order()?;
    let input = model.input_fact(0)?.shape.as_concrete().map(|s| s.to_vec());
    let Some(h) = input.as_ref().and_then(|s| s.get(axis).copied()) else { return Ok(None) };
    let works: Vec<f64> = model.nodes().iter().map(|n| work(model, n)).collect();
    let total: f64 = works.iter().sum();
    if total <= 0.0 {
        return Ok(None);
    }
    let is_const = |id: usize| facts[id] == Fact::Constant;
    let outputs = model.output_outlets()?;
    // Edges from nodes already in the order to nodes not yet: a cut is a node whose outgoing
    // edges are all the open ones (and which is not itself an output).
    let mut open = 0usize;
    let mut prefix_work = 0.0;
    let mut best: Option<Cut> = None;
    for (position, &id) in order.iter().enumerate() {
        let node = model.node(id);
        if is_const(id) {
            continue;
        }
        open -= node.inputs.iter().filter(|i| !is_const(i.node)).count();
        let leaving: usize = node.outputs.iter().map(|o| o.successors.len()).sum::<usize>()
            + outputs.iter().filter(|o| o.node == id).count();
        open += leaving;
        prefix_work += works[id];
        let at = OutletId::new(id, 0);
        let Fact::Banded { reach, .. } = facts[id] else { continue };
        if open != leaving || node.outputs.len() != 1 || outputs.contains(&at) || position + 1 == order.len() {
            continue;
        }
        let Some(rows) = node.outputs[0].fact.shape.as_concrete().and_then(|s| s.get(reach.axis).copied()) else {
            continue;
        };
        // At least one op with work before the cut (the input alone would only be copied).
        if rows < 2 || prefix_work <= 0.0 {
            continue;
        }
        let Some(cut) = bands(reach, rows, h) else { continue };
        let top = band_work(model, facts, &works, &order[..=position], cut.top_end);
        let bottom = band_work(model, facts, &works, &order[..=position], h - cut.bottom_start);
        let handover = node.outputs[0].fact.shape.as_concrete().map_or(0.0, |s| s.iter().product::<usize>() as f64);
        let ratio = (top.max(bottom) + (total - prefix_work) + handover) / total;
        if ratio < best.as_ref().map_or(max_ratio, |b| b.ratio) {
            best = Some(Cut { at, ratio, ..cut });
        }
    }
    Ok(best)
}

/// The input rows of the two bands that give rows `..half` and `half..` of a tensor of `rows`
/// rows with this reach, each start aligned to the reach's stride (so every tensor before the
/// cut starts its band at a whole row of its own).
fn bands(reach: Reach, rows: usize, h: usize) -> Option<Cut> {
    let (s, half) = (reach.stride, rows / 2);
    let top_end = ((half - 1) * s) as isize + reach.after + 1;
    let top_end = (top_end.max(1) as usize).div_ceil(s).saturating_mul(s).min(h);
    let bottom_start = ((half * s) as isize - reach.before).max(0) as usize / s * s;
    // Bands that each need nearly all the input gain nothing.
    if top_end >= h || bottom_start == 0 {
        return None;
    }
    Some(Cut { at: OutletId::new(0, 0), reach, rows, half, top_end, bottom_start, ratio: 1.0 })
}

/// Work of the nodes in `prefix` (eval order) for an input band of `rows` rows: each node's share
/// of its whole-input work by the rows it computes in the band.
fn band_work(model: &TypedModel, facts: &[Fact], works: &[f64], prefix: &[usize], rows: usize) -> f64 {
    let mut band_rows = vec![0usize; model.nodes().len()];
    let mut sum = 0.0;
    for &id in prefix {
        let node = model.node(id);
        let Fact::Banded { reach, rows: map } = &facts[id] else { continue };
        let rows_in = node
            .inputs
            .iter()
            .find(|i| matches!(facts[i.node], Fact::Banded { .. }))
            .map_or(rows, |i| band_rows[i.node]);
        band_rows[id] = if node.inputs.is_empty() { rows } else { map.out(rows_in) };
        let whole = node.outputs[0].fact.shape.as_concrete().and_then(|s| s.get(reach.axis).copied()).unwrap_or(1);
        sum += works[id] * band_rows[id].min(whole) as f64 / whole.max(1) as f64;
    }
    sum
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bands_read_the_rows_their_halves_reach_aligned_to_the_stride() {
        // Rows of a 32-row tensor at stride 4 reading 9 input rows before and 14 after.
        let reach = Reach { axis: 1, stride: 4, before: 9, after: 14 };
        let cut = bands(reach, 32, 128).unwrap();
        assert_eq!(cut.half, 16);
        // Row 15 reads up to 15·4 + 14 = 74: 75 rows, rounded up to 76.
        assert_eq!(cut.top_end, 76);
        // Row 16 reads from 16·4 - 9 = 55, rounded down to 52.
        assert_eq!(cut.bottom_start, 52);
        // A reach past the whole input on both sides: no bands.
        assert!(bands(Reach { before: 70, after: 70, ..reach }, 32, 128).is_none());
    }
}
