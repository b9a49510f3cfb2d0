use wasm_encoder::{
    CodeSection, ConstExpr, ElementSection, Elements, EntityType, ExportKind, ExportSection, Function, FunctionSection,
    ImportSection, IndirectNameMap, Instruction, Module, NameMap, NameSection, RefType, StartSection, TableSection,
    TableType, TypeSection, ValType,
};

use super::*;

/// A module with one import and five functions named so that sorting moves them:
/// `b::f<u8>` (0 locals, a call), `a::g` (long), `<x as T>::f` (short), `b::f<u16>` (a call_indirect
/// through the table) and `start`; an export, a table with two elements and a start function.
fn module(with_names: bool) -> Vec<u8> {
    let mut m = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([], []);
    types.ty().function([ValType::I32], [ValType::I32]);
    m.section(&types);
    let mut imports = ImportSection::new();
    imports.import("env", "log", EntityType::Function(1));
    m.section(&imports);
    let mut funcs = FunctionSection::new();
    for ty in [1, 1, 1, 1, 0] {
        funcs.function(ty);
    }
    m.section(&funcs);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        minimum: 2,
        maximum: None,
        table64: false,
        shared: false,
    });
    m.section(&tables);
    let mut exports = ExportSection::new();
    exports.export("entry", ExportKind::Func, 2);
    exports.export("table", ExportKind::Table, 0);
    m.section(&exports);
    m.section(&StartSection { function_index: 5 });
    let mut elements = ElementSection::new();
    elements.active(Some(0), &ConstExpr::i32_const(0), Elements::Functions([3u32, 1].as_slice().into()));
    m.section(&elements);
    let mut code = CodeSection::new();
    let body = |instrs: &[Instruction]| {
        let mut f = Function::new([(1, ValType::I32)]);
        for i in instrs {
            f.instruction(i);
        }
        f.instruction(&Instruction::End);
        f
    };
    code.function(&body(&[Instruction::LocalGet(0), Instruction::Call(3), Instruction::Call(0)]));
    let long: Vec<Instruction> = (0..40)
        .flat_map(|k| [Instruction::LocalGet(0), Instruction::I32Const(k), Instruction::I32Add, Instruction::Drop])
        .collect();
    code.function(&body(&[long.as_slice(), &[Instruction::LocalGet(0)]].concat()));
    code.function(&body(&[Instruction::LocalGet(0)]));
    code.function(&body(&[
        Instruction::LocalGet(0),
        Instruction::I32Const(1),
        Instruction::CallIndirect { type_index: 1, table_index: 0 },
    ]));
    code.function(&body(&[Instruction::I32Const(7), Instruction::Call(1), Instruction::Drop]));
    m.section(&code);
    if with_names {
        let mut names = NameMap::new();
        for (i, n) in [(0, "log"), (1, "b::f<u8>"), (2, "a::g"), (3, "<x as T>::f"), (4, "b::f<u16>"), (5, "start")] {
            names.append(i, n);
        }
        let mut section = NameSection::new();
        section.functions(&names);
        section.locals(&IndirectNameMap::new());
        m.section(&section);
    }
    m.finish()
}

fn names_of(wasm: &[u8]) -> usize {
    layout(wasm).unwrap().names.len()
}

#[test]
fn sort_key_drops_generics_and_qualifiers() {
    assert_eq!(sort_key("ndarray::zip::Zip<(P1, P2), D>::for_each::<F>"), "ndarray::zip::Zip::for_each::");
    assert_eq!(sort_key("<tract_core::ops::math::Add as tract_core::ops::binary::BinMiniOp>::eval"), "::eval");
    assert_eq!(sort_key("plain"), "plain");
    assert_eq!(sort_key("unbalanced>>x"), "unbalanced>>x");
}

#[test]
fn reorders_by_name_and_renumbers_every_reference() {
    let input = module(true);
    let out = reorder(&input).unwrap();
    // `reorder` has checked the bodies, exports, elements and start; here, the new order:
    // "::f" (old 3), "a::g" (2), "b::f" (old 1 and 4, the smaller first), "start" (5).
    let l = layout(&input).unwrap();
    let o = order(&input, &l, &(0..l.bodies.len()).collect::<Vec<_>>());
    assert_eq!(o, vec![2, 1, 0, 3, 4]);
    let refs = function_refs(&out, None).unwrap();
    assert_eq!(refs.exports[0], ("entry".to_string(), wasmparser::ExternalKind::Func as u8, 2));
    assert_eq!(refs.start, Some(5));
    assert_eq!(refs.elements, vec![1, 3]);
    assert_eq!(names_of(&out), 0, "the name section is left out");
}

#[test]
fn a_module_without_names_is_one_chain_from_the_smallest() {
    let input = module(false);
    let l = layout(&input).unwrap();
    let o = order(&input, &l, &(0..l.bodies.len()).collect::<Vec<_>>());
    let smallest = (0..l.bodies.len()).min_by_key(|&i| (l.bodies[i].range().len(), i)).unwrap();
    assert_eq!(o[0], smallest);
    let mut sorted = o.clone();
    sorted.sort();
    assert_eq!(sorted, (0..l.bodies.len()).collect::<Vec<_>>(), "a permutation");
    reorder(&input).unwrap();
}

#[test]
fn a_chain_puts_the_most_alike_body_next() {
    let bodies: [&[u8]; 4] =
        [&[1, 2, 3, 4, 5, 6], &[90, 80, 70, 60, 50, 40, 30], &[1, 2, 3, 4, 5, 6, 7], &[9, 9, 9, 9, 9, 9, 9, 9]];
    // Sorted by size: 0, 1, 2, 3. From 0, body 2 shares its 4-byte substrings; then 1 and 3
    // share nothing with 2, and the tie goes to the smaller.
    assert_eq!(chain_alike(&[0, 1, 2, 3], |i| bodies[i]), vec![0, 2, 1, 3]);
    assert_eq!(chain_alike(&[3, 1], |i| bodies[i]), vec![3, 1], "two are left as given");
}

#[test]
fn jaccard_of_sorted_sets() {
    assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
    assert_eq!(jaccard(&[], &[]), 1.0);
    assert_eq!(jaccard(&[1], &[]), 0.0);
}

#[test]
fn the_check_catches_a_wrong_renumbering() {
    let input = module(true);
    let out = reorder(&input).unwrap();
    let l = layout(&input).unwrap();
    let mut map: Vec<u32> = (0..l.imported).collect();
    for (new, &old) in order(&input, &l, &(0..l.bodies.len()).collect::<Vec<_>>()).iter().enumerate() {
        map.resize(map.len().max(l.imported as usize + old + 1), 0);
        map[l.imported as usize + old] = l.imported + new as u32;
    }
    check(&input, &l, &out, &map).unwrap();
    map.swap(1, 2);
    assert!(matches!(check(&input, &l, &out, &map), Err(OrderError::Check(_))));
}

#[test]
fn bad_input_is_an_error() {
    assert!(matches!(reorder(b"\0asm\x01\0\0\0\x0a"), Err(OrderError::Parse(_))));
    assert!(matches!(reorder(b"not wasm"), Err(OrderError::Parse(_))));
}

/// One import, then: `leaf` and its copy, a caller of each (alike once the leaves merge), and the
/// leaf's body again under another type index of the same signature.
fn module_with_copies() -> Vec<u8> {
    let mut m = Module::new();
    let mut types = TypeSection::new();
    types.ty().function([ValType::I32], [ValType::I32]);
    types.ty().function([ValType::I32], [ValType::I32]);
    m.section(&types);
    let mut imports = ImportSection::new();
    imports.import("env", "log", EntityType::Function(0));
    m.section(&imports);
    let mut funcs = FunctionSection::new();
    for ty in [0, 0, 0, 0, 1] {
        funcs.function(ty);
    }
    m.section(&funcs);
    let mut tables = TableSection::new();
    tables.table(TableType {
        element_type: RefType::FUNCREF,
        minimum: 2,
        maximum: None,
        table64: false,
        shared: false,
    });
    m.section(&tables);
    let mut exports = ExportSection::new();
    exports.export("copy", ExportKind::Func, 2);
    exports.export("caller_of_copy", ExportKind::Func, 4);
    exports.export("other_type", ExportKind::Func, 5);
    m.section(&exports);
    let mut elements = ElementSection::new();
    elements.active(Some(0), &ConstExpr::i32_const(0), Elements::Functions([1u32, 2].as_slice().into()));
    m.section(&elements);
    let mut code = CodeSection::new();
    let body = |instrs: &[Instruction]| {
        let mut f = Function::new([]);
        for i in instrs {
            f.instruction(i);
        }
        f.instruction(&Instruction::End);
        f
    };
    let leaf = [Instruction::LocalGet(0), Instruction::I32Const(5), Instruction::I32Add];
    code.function(&body(&leaf));
    code.function(&body(&leaf));
    code.function(&body(&[Instruction::LocalGet(0), Instruction::Call(1)]));
    code.function(&body(&[Instruction::LocalGet(0), Instruction::Call(2)]));
    code.function(&body(&leaf));
    m.section(&code);
    let mut names = NameMap::new();
    for (i, n) in [(1, "leaf<u8>"), (2, "leaf<u16>"), (3, "caller<u8>"), (4, "caller<u16>"), (5, "other")] {
        names.append(i, n);
    }
    let mut section = NameSection::new();
    section.functions(&names);
    m.section(&section);
    m.finish()
}

#[test]
fn copies_are_kept_once_and_so_are_callers_that_become_alike() {
    let input = module_with_copies();
    let l = layout(&input).unwrap();
    assert_eq!(dedupe::keepers(&l).unwrap(), vec![0, 0, 2, 2, 4], "same type index only");
    let out = reorder(&input).unwrap();
    let o = layout(&out).unwrap();
    assert_eq!(o.bodies.len(), 3);
    let refs = function_refs(&out, None).unwrap();
    let export = |name: &str| refs.exports.iter().find(|e| e.0 == name).unwrap().2;
    // Sorted by name: caller (new 1), leaf (2), other (3).
    assert_eq!((export("caller_of_copy"), export("copy"), export("other_type")), (1, 2, 3));
    assert_eq!(refs.elements, vec![2, 2], "two table slots, still two function pointers");
}

#[test]
fn the_check_catches_a_merge_of_different_functions() {
    let input = module_with_copies();
    let out = reorder(&input).unwrap();
    let l = layout(&input).unwrap();
    // The right map: import 0; caller 3 and 4 → 1, leaf 1 and 2 → 2, other 5 → 3.
    let mut map = vec![0, 2, 2, 1, 1, 3];
    check(&input, &l, &out, &map).unwrap();
    map[5] = 2; // `other` (another type index) onto the leaf
    assert!(matches!(check(&input, &l, &out, &map), Err(OrderError::Check(_))));
    map[5] = 1; // onto the caller: other instructions
    assert!(matches!(check(&input, &l, &out, &map), Err(OrderError::Check(_))));
    map[5] = 9; // outside the output
    assert!(matches!(check(&input, &l, &out, &map), Err(OrderError::Check(_))));
}

#[test]
fn a_hop_brings_an_alike_body_from_anywhere_and_otherwise_keeps_the_order() {
    // Four unlike bodies, and a fifth almost the first: the hop places it second.
    let noise = |seed: u64, len: usize| -> Vec<u8> {
        let mut x = seed;
        (0..len)
            .map(|_| {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                (x >> 56) as u8
            })
            .collect()
    };
    let mut near = noise(1, 400);
    near[200] ^= 0xff;
    let bodies = [noise(1, 400), noise(2, 400), noise(3, 400), noise(4, 400), near, vec![7, 7], vec![]];
    assert_eq!(hop::hop_alike(&[0, 1, 2, 3, 4, 5, 6], |i| &bodies[i]), vec![0, 4, 1, 2, 3, 5, 6]);
    assert_eq!(hop::hop_alike(&[3, 2, 1, 0], |i| &bodies[i]), vec![3, 2, 1, 0], "nothing alike: as given");
    assert_eq!(hop::hop_alike(&[6, 4, 5, 0], |i| &bodies[i]), vec![6, 4, 0, 5], "short bodies are never hopped to");
    assert!(hop::hop_alike(&[], |i| &bodies[i]).is_empty());
}
