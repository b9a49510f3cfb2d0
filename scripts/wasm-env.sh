# Sourced by the scripts that build for wasm32. Picks the toolchain that can build it here:
#  - a rustup toolchain with the wasm32-unknown-unknown target installed: used plainly;
#  - otherwise Debian's rustc-web (Rust 1.96 + std sources), which builds std for wasm32 itself
#    (-Z build-std, allowed on a stable compiler by RUSTC_BOOTSTRAP=1).
# Native builds never source this file, so they keep using rustup's cargo.

wasm_has_rustup_target() {
  command -v rustup >/dev/null 2>&1 &&
    rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown
}

if wasm_has_rustup_target; then
  export SHOPFLOOR_WASM_TOOLCHAIN="rustup"
  WASM_CARGO="cargo"
elif [ -x /usr/bin/rustc ] && [ -d /usr/lib/rustlib/src/rust/library ]; then
  export SHOPFLOOR_WASM_TOOLCHAIN="debian rustc-web"
  export PATH="/usr/bin:$PATH"
  export RUSTC=/usr/bin/rustc RUSTDOC=/usr/bin/rustdoc
  export RUSTC_BOOTSTRAP=1
  export CARGO_UNSTABLE_BUILD_STD="std,panic_abort,test"
  # Debian's toolchain gets its own target dir: its host artifacts differ from rustup's.
  export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target/wasm-debian}"
  WASM_CARGO="/usr/bin/cargo"
else
  echo "error: no Rust toolchain that can build wasm32 here." >&2
  echo "  either: rustup target add wasm32-unknown-unknown" >&2
  echo "  or (Debian 12): apt-get install rustc-web cargo-web rust-web-src rust-web-llvm lld-22" >&2
  echo "  (scripts/setup.sh installs the Debian one for you)" >&2
  exit 1
fi
export WASM_CARGO
export WASM_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
