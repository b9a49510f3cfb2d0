//! Merges a wasm module's copies of one function and reorders its functions so that gzip finds
//! their likenesses.
//!
//! rustc lays a module's functions out in the order codegen met them, so the instances of one
//! generic function (tract's ops for each element type, ndarray's loops, the same trait method on
//! a dozen types) lie far apart, beyond deflate's 32 KiB window. Sorted by their demangled name
//! with every generic argument and `<T as Trait>` qualifier taken out, and within one such name
//! each body followed by the one most like it, they sit side by side and the module gzips about
//! 12 % smaller (docs/performance-log.md, "What the wasm holds"). Before that, each function that
//! is a copy of another once lowered to wasm is dropped for it (module `dedupe`: about one in six,
//! 4 % of the raw module, 1.5 % gzipped). Nothing else changes: the same bodies, instruction for
//! instruction, with every function index (calls, `ref.func`, tables' elements, exports, the
//! start function) renumbered.
//! The browser compiles each function on its own, so their order does not change how fast it
//! runs. [`reorder`] checks that on its own output before returning it.
//!
//! The names come from the module's `name` section (wasm-bindgen demangles them), which the
//! output leaves out.

use std::collections::HashMap;

mod dedupe;
mod hop;

use wasm_encoder::reencode::{self, Reencode};
use wasmparser::{FunctionBody, Operator, Parser, Payload, TypeRef, Validator, WasmFeatures};

/// What can go wrong; each says what was wrong with the input.
#[derive(Debug, thiserror::Error)]
pub enum OrderError {
    #[error("not a valid wasm module: {0}")]
    Parse(#[from] wasmparser::BinaryReaderError),
    #[error("the module has {functions} functions but {bodies} bodies")]
    Mismatch { functions: usize, bodies: usize },
    #[error("re-encoding failed: {0}")]
    Encode(String),
    #[error("the reordered module differs from the input: {0}")]
    Check(String),
}

/// The module's defined functions, as the input orders them.
struct Layout<'a> {
    imported: u32,
    types: Vec<u32>,
    bodies: Vec<FunctionBody<'a>>,
    names: HashMap<u32, String>,
}

fn layout(wasm: &[u8]) -> Result<Layout<'_>, OrderError> {
    let mut l = Layout { imported: 0, types: Vec::new(), bodies: Vec::new(), names: HashMap::new() };
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ImportSection(s) => {
                for import in s.into_imports() {
                    if matches!(import?.ty, TypeRef::Func(_) | TypeRef::FuncExact(_)) {
                        l.imported += 1;
                    }
                }
            }
            Payload::FunctionSection(s) => {
                for ty in s {
                    l.types.push(ty?);
                }
            }
            Payload::CodeSectionEntry(body) => l.bodies.push(body),
            Payload::CustomSection(c) => {
                if let wasmparser::KnownCustom::Name(names) = c.as_known() {
                    for sub in names {
                        if let wasmparser::Name::Function(map) = sub? {
                            for n in map {
                                let n = n?;
                                l.names.insert(n.index, n.name.to_string());
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    if l.types.len() != l.bodies.len() {
        return Err(OrderError::Mismatch { functions: l.types.len(), bodies: l.bodies.len() });
    }
    Ok(l)
}

/// A demangled name without its generic arguments and `<… as …>` qualifiers:
/// `<tract_core::ops::math::Add as BinMiniOp>::eval_out_of_place` becomes `::eval_out_of_place`,
/// so the same method on every type sorts together.
pub fn sort_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut depth = 0usize;
    for c in name.chars() {
        match c {
            '<' => depth += 1,
            '>' if depth > 0 => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

/// The new position of each function of `kept` (defined functions, by their old position): by
/// [`sort_key`]; within a key, a chain of alike bodies ([`chain_alike`]), starting from the smallest;
/// then, from each function, a hop to the most alike one left wherever it is ([`hop::hop_alike`]).
fn order(wasm: &[u8], l: &Layout, kept: &[usize]) -> Vec<usize> {
    let keys: Vec<String> = (0..l.bodies.len())
        .map(|i| l.names.get(&(l.imported + i as u32)).map_or(String::new(), |n| sort_key(n)))
        .collect();
    let size = |i: usize| l.bodies[i].range().len();
    let mut by_key: Vec<usize> = kept.to_vec();
    by_key.sort_by(|&a, &b| keys[a].cmp(&keys[b]).then(size(a).cmp(&size(b))).then(a.cmp(&b)));
    let mut order = Vec::with_capacity(by_key.len());
    for group in by_key.chunk_by(|&a, &b| keys[a] == keys[b]) {
        order.extend(chain_alike(group, |i| &wasm[l.bodies[i].range()]));
    }
    hop::hop_alike(&order, |i| &wasm[l.bodies[i].range()])
}

/// How many of the next bodies by size a chain weighs for its next link.
const WINDOW: usize = 64;

/// `members` (sorted by size) reordered so that each body follows the one most like it among the
/// next [`WINDOW`] unplaced by size: likeness is the Jaccard index of their 4-byte substrings,
/// ties to the smaller. Within one name the bodies differ by a type's size or a callee, and
/// deflate matches a body best against the one just before it (about 1 % of the module gzipped
/// over sorting by size alone).
fn chain_alike<'a>(members: &[usize], bytes: impl Fn(usize) -> &'a [u8]) -> Vec<usize> {
    if members.len() <= 2 {
        return members.to_vec();
    }
    let grams: Vec<Vec<u32>> = members.iter().map(|&i| substrings(bytes(i))).collect();
    let mut placed = vec![false; members.len()];
    let mut chain = Vec::with_capacity(members.len());
    let mut cur = 0;
    placed[0] = true;
    chain.push(members[0]);
    for _ in 1..members.len() {
        let next = (0..members.len())
            .filter(|&j| !placed[j])
            .take(WINDOW)
            .fold((usize::MAX, -1.0f64), |best, j| {
                let like = jaccard(&grams[cur], &grams[j]);
                if like > best.1 {
                    (j, like)
                } else {
                    best
                }
            })
            .0;
        placed[next] = true;
        chain.push(members[next]);
        cur = next;
    }
    chain
}

/// A body's distinct 4-byte substrings, sorted: what both likeness measures compare.
fn substrings(body: &[u8]) -> Vec<u32> {
    let mut g: Vec<u32> = body.windows(4).map(|w| u32::from_le_bytes([w[0], w[1], w[2], w[3]])).collect();
    g.sort_unstable();
    g.dedup();
    g
}

/// |a ∩ b| / |a ∪ b| of two sorted, deduplicated lists (1 for two empty ones).
fn jaccard(a: &[u32], b: &[u32]) -> f64 {
    let (mut i, mut j, mut both) = (0, 0, 0usize);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                both += 1;
                i += 1;
                j += 1;
            }
        }
    }
    let union = a.len() + b.len() - both;
    if union == 0 {
        1.0
    } else {
        both as f64 / union as f64
    }
}

struct Renumber<'a, 'l> {
    layout: &'l Layout<'a>,
    /// Old function index → new one (imports keep theirs).
    new_index: Vec<u32>,
    /// New position → old position among the defined functions.
    order: Vec<usize>,
}

impl Reencode for Renumber<'_, '_> {
    type Error = std::convert::Infallible;

    fn function_index(&mut self, func: u32) -> Result<u32, reencode::Error<Self::Error>> {
        Ok(self.new_index.get(func as usize).copied().unwrap_or(func))
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        _section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        for i in 0..self.order.len() {
            let ty = self.layout.types[self.order[i]];
            functions.function(self.type_index(ty)?);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        _section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        for i in 0..self.order.len() {
            let body = self.layout.bodies[self.order[i]].clone();
            self.parse_function_body(code, body)?;
        }
        Ok(())
    }

    fn parse_custom_section(
        &mut self,
        module: &mut wasm_encoder::Module,
        section: wasmparser::CustomSectionReader<'_>,
    ) -> Result<(), reencode::Error<Self::Error>> {
        // The names only served the sort; the package ships without them.
        if section.name() == "name" {
            return Ok(());
        }
        reencode::utils::parse_custom_section(self, module, section)
    }
}

/// `wasm` with each function's copies merged into it (module `dedupe`), its functions reordered (see
/// the crate's doc) and no `name` section; checked to validate and to hold the same bodies,
/// exports, elements and start function, renumbered.
pub fn reorder(wasm: &[u8]) -> Result<Vec<u8>, OrderError> {
    let layout = layout(wasm)?;
    let keepers = dedupe::keepers(&layout)?;
    let kept: Vec<usize> = (0..keepers.len()).filter(|&i| keepers[i] == i).collect();
    let order = order(wasm, &layout, &kept);
    let mut new_index: Vec<u32> = (0..layout.imported).collect();
    new_index.resize(layout.imported as usize + keepers.len(), 0);
    for (new, &old) in order.iter().enumerate() {
        new_index[layout.imported as usize + old] = layout.imported + new as u32;
    }
    for (old, &k) in keepers.iter().enumerate() {
        new_index[layout.imported as usize + old] = new_index[layout.imported as usize + k];
    }
    let mut r = Renumber { layout: &layout, new_index, order };
    let mut module = wasm_encoder::Module::new();
    r.parse_core_module(&mut module, Parser::new(0), wasm).map_err(|e| OrderError::Encode(e.to_string()))?;
    let out = module.finish();
    check(wasm, &layout, &out, &r.new_index)?;
    Ok(out)
}

/// How many functions `wasm` defines (imports not counted).
pub fn defined_functions(wasm: &[u8]) -> Result<usize, OrderError> {
    Ok(layout(wasm)?.bodies.len())
}

/// Everything of `wasm` outside code that names a function, with `map` applied, in the order the module lists it.
fn function_refs(wasm: &[u8], map: Option<&[u32]>) -> Result<Refs, OrderError> {
    let f = |i: u32| map.map_or(i, |m| m[i as usize]);
    let mut refs = Refs::default();
    for payload in Parser::new(0).parse_all(wasm) {
        match payload? {
            Payload::ExportSection(s) => {
                for e in s {
                    let e = e?;
                    let index = if e.kind == wasmparser::ExternalKind::Func { f(e.index) } else { e.index };
                    refs.exports.push((e.name.to_string(), e.kind as u8, index));
                }
            }
            Payload::StartSection { func, .. } => refs.start = Some(f(func)),
            Payload::ElementSection(s) => {
                for el in s {
                    match el?.items {
                        wasmparser::ElementItems::Functions(fs) => {
                            for x in fs {
                                refs.elements.push(f(x?));
                            }
                        }
                        wasmparser::ElementItems::Expressions(_, es) => {
                            for e in es {
                                for op in e?.get_operators_reader() {
                                    if let Operator::RefFunc { function_index } = op? {
                                        refs.elements.push(f(function_index));
                                    }
                                }
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    Ok(refs)
}

#[derive(Default, PartialEq, Debug)]
struct Refs {
    exports: Vec<(String, u8, u32)>,
    start: Option<u32>,
    elements: Vec<u32>,
}

/// The operator with its function index (if any) mapped.
fn mapped<'a>(op: Operator<'a>, map: &[u32]) -> Operator<'a> {
    match op {
        Operator::Call { function_index } => Operator::Call { function_index: map[function_index as usize] },
        Operator::ReturnCall { function_index } => {
            Operator::ReturnCall { function_index: map[function_index as usize] }
        }
        Operator::RefFunc { function_index } => Operator::RefFunc { function_index: map[function_index as usize] },
        op => op,
    }
}

/// `out` validates, and is `input` (laid out as `a`) with `map` applied: every old function's
/// type, locals and instructions, mapped, are those of the new function it maps to (copies map to
/// one function), every new function is one's image, and the exports, elements and start
/// function point where they did.
fn check(input: &[u8], a: &Layout, out: &[u8], map: &[u32]) -> Result<(), OrderError> {
    Validator::new_with_features(WasmFeatures::all())
        .validate_all(out)
        .map_err(|e| OrderError::Check(format!("the output does not validate: {e}")))?;
    let b = layout(out)?;
    let images: std::collections::HashSet<u32> = map[a.imported as usize..].iter().copied().collect();
    if images.len() != b.bodies.len()
        || a.imported != b.imported
        || map[..a.imported as usize].iter().enumerate().any(|(i, &m)| m != i as u32)
    {
        return Err(OrderError::Check("the function counts differ, or an import moved".into()));
    }
    for (old, body) in a.bodies.iter().enumerate() {
        let new = map[a.imported as usize + old].checked_sub(a.imported).map(|n| n as usize);
        let Some(new) = new.filter(|&n| n < b.bodies.len()) else {
            return Err(OrderError::Check(format!("function {old} maps outside the output's functions")));
        };
        let fail = |what: &str| OrderError::Check(format!("function {old} (now {new}): {what}"));
        if a.types[old] != b.types[new] {
            return Err(fail("its type changed"));
        }
        let locals = |f: &FunctionBody| -> Result<Vec<(u32, wasmparser::ValType)>, OrderError> {
            Ok(f.get_locals_reader()?.into_iter().collect::<Result<_, _>>()?)
        };
        if locals(body)? != locals(&b.bodies[new])? {
            return Err(fail("its locals changed"));
        }
        let mut x = body.get_operators_reader()?;
        let mut y = b.bodies[new].get_operators_reader()?;
        loop {
            match (x.eof(), y.eof()) {
                (true, true) => break,
                (false, false) => {
                    if mapped(x.read()?, map) != y.read()? {
                        return Err(fail("an instruction changed"));
                    }
                }
                _ => return Err(fail("its length changed")),
            }
        }
    }
    if function_refs(input, Some(map))? != function_refs(out, None)? {
        return Err(OrderError::Check("exports, table elements or the start function moved".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;
