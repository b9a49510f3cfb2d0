#!/usr/bin/env bash
# The convolution tiles' inner loops alone (bench/tiles), built for wasm SIMD and measured in
# headless Chromium: GMAC/s per way of reading the operands, on openWakeWord's layers.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
export CARGO_TARGET_DIR="$PWD/target/tile-bench"
CARGO_UNSTABLE_BUILD_STD=std,panic_abort CARGO_UNSTABLE_BUILD_STD_FEATURES=panic-unwind CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128" \
  "$WASM_CARGO" build --release --target wasm32-unknown-unknown --manifest-path bench/tiles/Cargo.toml
node bench/tiles/run.mjs "$CARGO_TARGET_DIR/wasm32-unknown-unknown/release/shopfloor_tile_bench.wasm" "$@"
