//! Liveness-based placement of intermediate values into pooled buffers: a value's slot is free
//! again after the last step that reads it, so a deep network needs a few activations' worth of
//! GPU memory, not one buffer per node. Planned once per plan: no allocation per run.

use super::program::{Program, Storage};

#[derive(Debug, Default)]
pub struct Placement {
    /// Slot of each value (by root); None for inputs and constants.
    pub slot_of: Vec<Option<usize>>,
    /// Bytes of each slot.
    pub slot_bytes: Vec<u64>,
    /// What one buffer per value would have cost.
    pub unpooled_bytes: u64,
}

pub fn plan(prog: &Program) -> Placement {
    let n = prog.values.len();
    let mut last_use = vec![0usize; n];
    for (s, step) in prog.steps.iter().enumerate() {
        for &i in &step.inputs {
            let r = prog.root(i);
            last_use[r] = last_use[r].max(s);
        }
        let r = prog.root(step.output);
        last_use[r] = last_use[r].max(s);
    }
    for &o in &prog.outputs {
        last_use[prog.root(o)] = usize::MAX;
    }
    let mut placement = Placement { slot_of: vec![None; n], ..Default::default() };
    // Per slot: the last step that needs its current occupant.
    let mut busy_until: Vec<usize> = vec![];
    for (s, step) in prog.steps.iter().enumerate() {
        let v = prog.root(step.output);
        if placement.slot_of[v].is_some() || !matches!(prog.values[v].storage, Storage::Temp) {
            continue;
        }
        let bytes = (prog.values[v].elements().max(1) * 4) as u64;
        placement.unpooled_bytes += bytes;
        let free = |k: &usize| busy_until[*k] < s;
        let fitting = (0..busy_until.len()).filter(free).filter(|&k| placement.slot_bytes[k] >= bytes);
        let slot = match fitting.min_by_key(|&k| placement.slot_bytes[k]) {
            Some(k) => k,
            None => match (0..busy_until.len()).filter(free).max_by_key(|&k| placement.slot_bytes[k]) {
                Some(k) => {
                    placement.slot_bytes[k] = bytes; // grows the largest free slot
                    k
                }
                None => {
                    placement.slot_bytes.push(bytes);
                    busy_until.push(0);
                    busy_until.len() - 1
                }
            },
        };
        busy_until[slot] = last_use[v];
        placement.slot_of[v] = Some(slot);
    }
    placement
}

/// Buffers alive across every plan and frame pass, for `memoryStats().gpuBuffers` and the leak tests.
static LIVE_BUFFERS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

pub fn live_buffers() -> usize {
    LIVE_BUFFERS.load(std::sync::atomic::Ordering::Relaxed)
}

pub(super) fn count_buffers(delta: isize) {
    if delta >= 0 {
        LIVE_BUFFERS.fetch_add(delta as usize, std::sync::atomic::Ordering::Relaxed);
    } else {
        LIVE_BUFFERS.fetch_sub((-delta) as usize, std::sync::atomic::Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::gpu::kernels::Kernel;
    use crate::backend::gpu::program::{Step, StepParams};

    #[derive(Debug, Clone)]
    struct NoParams;

    impl StepParams for NoParams {
        fn words(&self) -> Vec<u32> {
            vec![]
        }
    }

    fn step(output: usize, inputs: Vec<usize>) -> Step {
        let params = Box::new(NoParams);
        Step { kernel: Kernel::Copy, output, inputs, params, workgroups: [1, 1, 1], node: String::new() }
    }

    #[test]
    fn a_chain_reuses_two_slots_and_keeps_outputs() {
        let mut p = Program::default();
        let x = p.add(vec![16], Storage::Input(0));
        let mut prev = x;
        let mut temps = vec![];
        for _ in 0..6 {
            let t = p.add(vec![16], Storage::Temp);
            p.steps.push(step(t, vec![prev]));
            temps.push(t);
            prev = t;
        }
        p.outputs.push(prev);
        let pl = plan(&p);
        assert_eq!(pl.slot_bytes.len(), 2, "{pl:?}");
        assert_eq!(pl.unpooled_bytes, 6 * 64);
        // No step reads and writes the same slot.
        for s in &p.steps {
            for &i in &s.inputs {
                if let (Some(a), Some(b)) = (pl.slot_of[i], pl.slot_of[s.output]) {
                    assert_ne!(a, b);
                }
            }
        }
    }

    #[test]
    fn a_value_read_later_stays_live() {
        let mut p = Program::default();
        let x = p.add(vec![4], Storage::Input(0));
        let a = p.add(vec![4], Storage::Temp);
        let b = p.add(vec![4], Storage::Temp);
        let c = p.add(vec![4], Storage::Temp);
        p.steps.push(step(a, vec![x]));
        p.steps.push(step(b, vec![a]));
        p.steps.push(step(c, vec![a, b])); // a is live across b
        p.outputs.push(c);
        let pl = plan(&p);
        let slots = [pl.slot_of[a].unwrap(), pl.slot_of[b].unwrap(), pl.slot_of[c].unwrap()];
        assert_ne!(slots[0], slots[1]);
        assert_ne!(slots[2], slots[0]);
        assert_ne!(slots[2], slots[1]);
    }
}
