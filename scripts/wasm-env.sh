# Sourced by the scripts that build for wasm32. Every wasm build unwinds on panic (std rebuilt
# with panic_unwind by -Z build-std, allowed on a stable compiler by RUSTC_BOOTSTRAP=1), so std
# comes from sources. Picks the toolchain that can build it here:
#  - a rustup toolchain with the wasm32-unknown-unknown target and its rust-src component;
#  - otherwise Debian's rustc-web (Rust 1.96 + std sources).
# Native builds never source this file, so they keep using rustup's cargo.

wasm_has_rustup_target() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

# std's own size-over-speed variants (sorts, integer formatting, float parsing): none is in a
# model's run, and they take 105 KiB off the gzipped module (docs/performance-log.md, "What the wasm holds").
WASM_STD_FEATURES="panic-unwind,optimize_for_size"
# Flags that trade debugging detail the module cannot use for size (docs/performance-log.md,
# "Functions in name order, and two rustflags"); std is rebuilt with them too:
#  location-detail=none: panics carry no file:line:col (175 KiB of strings nothing read; a panic
#    still reaches the caller as INTERNAL with its message);
#  panic-in-drop=abort: a destructor that panics traps instead of unwinding, so calls to
#    destructors need no cleanup code (none of ours is written to panic; docs/guarantees.md).
# Cargo appends them to .cargo/config.toml's wasm32 rustflags; -Z needs RUSTC_BOOTSTRAP=1, set
# below, so they live here rather than in that file (a plain `cargo check --target wasm32-…` keeps
# working). The threaded and relaxed variants set the whole list themselves.
export WASM_SIZE_FLAGS="-Z location-detail=none -Z panic-in-drop=abort"
export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="$WASM_SIZE_FLAGS"

if wasm_has_rustup_target && [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]; then
  export SHOPFLOOR_WASM_TOOLCHAIN="rustup + rust-src"
  export RUSTC_BOOTSTRAP=1
  export CARGO_UNSTABLE_BUILD_STD="std,panic_unwind,test"
  export CARGO_UNSTABLE_BUILD_STD_FEATURES="$WASM_STD_FEATURES"
  WASM_CARGO="cargo"
elif [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ]; then
  export SHOPFLOOR_WASM_TOOLCHAIN="debian rustc-web"
  export PATH="/usr/bin:$PATH"
  export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
  export RUSTC_BOOTSTRAP=1
  export CARGO_UNSTABLE_BUILD_STD="std,panic_unwind,test"
  export CARGO_UNSTABLE_BUILD_STD_FEATURES="$WASM_STD_FEATURES"
  # Debian's toolchain gets its own target dir: its host artifacts differ from rustup's.
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/wasm-debian}"
  WASM_CARGO="/usr/bin/cargo"
else
  echo "error: no Rust toolchain that can build wasm32 here (std is rebuilt from its sources)." >&2
  echo "  either: rustup target add wasm32-unknown-unknown && rustup component add rust-src" >&2
  echo "  or (Debian 12): apt-get install rustc-web cargo-web rust-web-src rust-web-llvm lld-22" >&2
  echo "  (scripts/setup.sh installs the Debian one for you)" >&2
  exit 1
fi
export WASM_CARGO
export WASM_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

# The threaded variant: std rebuilt with atomics (shared memory) as well. Sets the flags for one
# build only.
wasm_threads_env() {
  SHOPFLOOR_WASM_MT_TOOLCHAIN="$SHOPFLOOR_WASM_TOOLCHAIN (-Z build-std, +atomics)"
  # Cargo appends these to .cargo/config.toml's rustflags for wasm32 (repeated here so the
  # variant's flags read whole). A shared memory must declare its maximum: 4 GiB, all a wasm32
  # instance can address (rustc's default is 1 GiB).
  export CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+exception-handling,+atomics,+bulk-memory,+mutable-globals -C panic=unwind --cfg=web_sys_unstable_apis $WASM_SIZE_FLAGS -C link-arg=--max-memory=4294967296"
  export WASM_MT_TARGET_DIR="${WASM_TARGET_DIR}-mt"
  export SHOPFLOOR_WASM_MT_TOOLCHAIN
}
