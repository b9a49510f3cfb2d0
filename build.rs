//! The WGSL kernels as the module embeds them (`backend::gpu::kernels` includes them from
//! `$OUT_DIR/kernels/`): without their comments, indentation and blank lines, which were two
//! fifths of the text and nothing to the GPU's compiler (the docs stay in `src/backend/gpu/kernels/`).
//!
//! Link flags for the threaded wasm build (`--features threads` with `+atomics`): its memory is
//! shared between the page and the pool's Web Workers, so it is imported from JS rather than
//! created by the module, and the thread-local-storage symbols wasm-bindgen uses to set up each
//! worker are exported. Given here, to the final link only, so that they do not enter every
//! crate's rustflags (and their fingerprints). Every other build links as before.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    strip_wgsl();
    let wasm = std::env::var("CARGO_CFG_TARGET_ARCH").is_ok_and(|a| a == "wasm32");
    let threads = std::env::var_os("CARGO_FEATURE_THREADS").is_some();
    if wasm && threads {
        for arg in [
            "--shared-memory",
            "--import-memory",
            "--export=__wasm_init_tls",
            "--export=__tls_size",
            "--export=__tls_align",
            "--export=__tls_base",
        ] {
            println!("cargo:rustc-link-arg-cdylib={arg}");
        }
    }
}

/// WGSL has no string literals, so a `//` always starts a comment (the kernels have no `/* */`).
fn strip_wgsl() {
    let dir = std::path::Path::new("src/backend/gpu/kernels");
    println!("cargo:rerun-if-changed={}", dir.display());
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR")).join("kernels");
    std::fs::create_dir_all(&out).expect("creating $OUT_DIR/kernels");
    for entry in std::fs::read_dir(dir).expect("reading src/backend/gpu/kernels") {
        let path = entry.expect("a kernel file").path();
        if path.extension().is_none_or(|e| e != "wgsl") {
            continue;
        }
        println!("cargo:rerun-if-changed={}", path.display());
        let text = std::fs::read_to_string(&path).expect("reading a kernel");
        assert!(!text.contains("/*"), "{}: block comments are not stripped", path.display());
        let mut code = String::with_capacity(text.len());
        for line in text.lines() {
            let line = line.split("//").next().unwrap_or("").trim();
            if !line.is_empty() {
                code.push_str(line);
                // Each file ends with a line break, so files joined by `concat!` stay apart.
                code.push('\n');
            }
        }
        std::fs::write(out.join(path.file_name().expect("a file name")), code).expect("writing a stripped kernel");
    }
}
