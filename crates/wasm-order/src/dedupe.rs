//! Which defined functions are copies of another.
//!
//! LLVM merges identical functions only where their IR is identical; once lowered to wasm, where
//! every pointer and reference is an `i32`, many instances of one generic function are byte for
//! byte the same (about one function in six of shopfloor's module, counting the callers that become
//! alike once their callees merge). Each is kept once, and every
//! call, `ref.func`, export, element and start that named a copy names the one kept. Table
//! entries stay distinct slots, so function pointers still compare as before.

use std::collections::HashMap;

use wasm_encoder::reencode::{self, Reencode};

use crate::{Layout, OrderError};

/// The most rounds of merging: each round can only merge the callers of functions merged in the
/// round before, and a chain that long does not occur in rustc's output.
const MAX_ROUNDS: usize = 16;

/// For each defined function, the defined function it is kept as: itself, or the first of the
/// functions identical to it (same type, same locals, same instructions once every function index
/// in them names what it is kept as). Merges are repeated until no more appear, as merging two
/// functions can make their callers identical.
pub(crate) fn keepers(l: &Layout) -> Result<Vec<usize>, OrderError> {
    let n = l.bodies.len();
    let mut keep: Vec<usize> = (0..n).collect();
    for _ in 0..MAX_ROUNDS {
        let mut canon = Canonical { imported: l.imported, keep: &keep };
        let mut first: HashMap<(u32, Vec<u8>), usize> = HashMap::with_capacity(n);
        let mut next = Vec::with_capacity(n);
        for (i, (body, &ty)) in l.bodies.iter().zip(&l.types).enumerate() {
            let k = *first.entry((ty, canon.body(body)?)).or_insert(i);
            next.push(keep[k]);
        }
        if next == keep {
            break;
        }
        keep = next;
    }
    Ok(keep)
}

/// Re-encodes a body with every function index replaced by its keeper's.
struct Canonical<'k> {
    imported: u32,
    keep: &'k [usize],
}

impl Canonical<'_> {
    fn body(&mut self, body: &wasmparser::FunctionBody) -> Result<Vec<u8>, OrderError> {
        let enc = |e: reencode::Error<std::convert::Infallible>| OrderError::Encode(e.to_string());
        let mut f = self.new_function_with_parsed_locals(body).map_err(enc)?;
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            f.instruction(&self.parse_instruction(&mut reader).map_err(enc)?);
        }
        Ok(f.into_raw_body())
    }
}

impl Reencode for Canonical<'_> {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(match func.checked_sub(self.imported) {
            Some(i) => self.keep.get(i as usize).map_or(func, |&k| self.imported + k as u32),
            None => func,
        })
    }
}
