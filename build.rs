//! Link flags for the threaded wasm build (`--features threads` with `+atomics`): its memory is
//! shared between the page and the pool's Web Workers, so it is imported from JS rather than
//! created by the module, and the thread-local-storage symbols wasm-bindgen uses to set up each
//! worker are exported. Given here, to the final link only, so that they do not enter every
//! crate's rustflags (and their fingerprints). Every other build links as before.

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
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
