#!/usr/bin/env bash
# Builds the npm package in pkg/: the release wasm (simd128), wasm-bindgen's ESM glue and
# TypeScript declarations under pkg/wasm/. The hand-written API (pkg/index.js, index.d.ts) wraps them.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh

echo "[build] wasm32 release with $SHOPFLOOR_WASM_TOOLCHAIN"
"$WASM_CARGO" build --profile wasm-release --lib --no-default-features --target wasm32-unknown-unknown
WASM="$WASM_TARGET_DIR/wasm32-unknown-unknown/wasm-release/shopfloor.wasm"

rm -rf pkg/wasm
# No wasm-opt: binaryen's -O3 measurably slows tract's SIMD matmul kernels (see README, "Build");
# rustc's LTO at opt-level 3 is the optimisation pass.
wasm-bindgen --target web --remove-name-section --out-dir pkg/wasm --out-name shopfloor "$WASM"
bytes=$(stat -c %s pkg/wasm/shopfloor_bg.wasm)
gz=$(gzip -9 -c pkg/wasm/shopfloor_bg.wasm | wc -c)
echo "[build] pkg/wasm/shopfloor_bg.wasm: $((bytes / 1024)) KiB ($((gz / 1024)) KiB gzipped)"
