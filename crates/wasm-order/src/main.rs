//! `shopfloor-wasm-order IN.wasm OUT.wasm`: writes IN with copies of a function merged, its
//! functions reordered for gzip and no name section (the library's doc says how and why);
//! scripts/build.sh runs it on each variant.
use std::process::ExitCode;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [input, output] = args.as_slice() else {
        eprintln!("usage: shopfloor-wasm-order IN.wasm OUT.wasm");
        return ExitCode::from(2);
    };
    let result = std::fs::read(input).map_err(|e| format!("reading {input}: {e}")).and_then(|wasm| {
        let out = shopfloor_wasm_order::reorder(&wasm).map_err(|e| format!("{input}: {e}"))?;
        let count = |w: &[u8]| shopfloor_wasm_order::defined_functions(w).map_err(|e| e.to_string());
        let (before, after) = (count(&wasm)?, count(&out)?);
        println!("{before} functions, {} of them copies of another, {after} left", before - after);
        std::fs::write(output, out).map_err(|e| format!("writing {output}: {e}"))
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
