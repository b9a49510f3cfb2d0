//! A CPU run through the plan's row bands (`backend::bands`), the two bands one after the other on
//! the caller's thread: what the threaded build's pool runs side by side. For tests and
//! measurements: outputs match `run`'s within float rounding, on any build.

use std::collections::HashMap;

use super::Feed;
use super::Model;
use crate::error::Result;
use crate::tensor::HostTensor;

impl Model {
    /// `run` on the CPU in row bands; `None` when the graph has no split worth two threads.
    pub fn run_in_bands<F: Feed>(&mut self, given: HashMap<String, F>) -> Result<Option<Vec<(String, HostTensor)>>> {
        let tensors = self.prepare(given)?;
        let outs = self.cpu.run_in_bands(tensors)?;
        Ok(outs.map(|outs| self.outputs.iter().map(|o| o.name.clone()).zip(outs).collect()))
    }
}
