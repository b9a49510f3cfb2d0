#!/usr/bin/env bash
# Builds the npm package in pkg/: two wasm variants with wasm-bindgen's ESM glue and TypeScript
# declarations, which the JS API (pkg/src, TypeScript, type-checked by tsc and bundled last by
# esbuild, scripts/bundle-pkg.mjs) loads at init():
#   pkg/wasm/     single-thread (simd128): every page;
#   pkg/wasm-relaxed/  only when asked (SHOPFLOOR_VARIANTS=relaxed): single-thread with relaxed
#                 SIMD, for scripts/bench-relaxed.sh; not shipped (docs/performance-log.md says why).
#   pkg/wasm-mt/  threaded (simd128 + atomics, shared memory, a rayon pool of Web Workers):
#                 cross-origin isolated pages only (COOP/COEP), chosen by pkg/src/runtime-impl.ts.
# Each variant has its own target dir (different rustflags): the second one is a full compile.
# SHOPFLOOR_VARIANTS="st", "mt", "relaxed" or a list builds those wasm variants only, "none" only
# the JS (tsc type-checks against the st and mt glue, so each must have been built once).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
VARIANTS="${SHOPFLOOR_VARIANTS:-st mt}"

# No wasm-opt: binaryen's -O3 measurably slows tract's SIMD matmul kernels (see docs/architecture.md, "Build");
# rustc's LTO at opt-level 3 is the optimisation pass.
# Then crates/wasm-order keeps each function once (about one in six is a copy of another once
# lowered to wasm) and reorders them so that gzip finds their likenesses: about 13 % off the
# gzipped module, nothing else changed; it drops the name section it sorts by.
bindgen() { # wasm file, output dir
  rm -rf "$2"
  wasm-bindgen --target web --out-dir "$2" --out-name shopfloor "$1"
  local merged
  merged=$("$ORDER" "$2/shopfloor_bg.wasm" "$2/shopfloor_bg.wasm.ordered")
  echo "[build] $2: $merged"
  mv "$2/shopfloor_bg.wasm.ordered" "$2/shopfloor_bg.wasm"
  local bytes gz
  bytes=$(stat -c %s "$2/shopfloor_bg.wasm")
  gz=$(gzip -9 -c "$2/shopfloor_bg.wasm" | wc -c)
  echo "[build] $2/shopfloor_bg.wasm: $((bytes / 1024)) KiB ($((gz / 1024)) KiB gzipped)"
}

build_st() {
  echo "[build] wasm32 release, single-thread, with $SHOPFLOOR_WASM_TOOLCHAIN"
  "$WASM_CARGO" build --profile wasm-release --lib --no-default-features --target wasm32-unknown-unknown
  bindgen "$WASM_TARGET_DIR/wasm32-unknown-unknown/wasm-release/shopfloor.wasm" pkg/wasm
}

build_relaxed() {
  echo "[build] wasm32 release, single-thread, relaxed SIMD, with $SHOPFLOOR_WASM_TOOLCHAIN"
  # A module with relaxed instructions fails validation where they are unsupported (Safari): it
  # could only ever be a variant of its own, picked at init() by WebAssembly.validate.
  CARGO_TARGET_WASM32_UNKNOWN_UNKNOWN_RUSTFLAGS="-C target-feature=+simd128,+relaxed-simd,+exception-handling -C panic=unwind --cfg=web_sys_unstable_apis $WASM_SIZE_FLAGS" \
    "$WASM_CARGO" build --profile wasm-release --lib --no-default-features --target wasm32-unknown-unknown \
    --target-dir "$WASM_TARGET_DIR-relaxed"
  bindgen "$WASM_TARGET_DIR-relaxed/wasm32-unknown-unknown/wasm-release/shopfloor.wasm" pkg/wasm-relaxed
}

build_mt() {
  wasm_threads_env
  echo "[build] wasm32 release, threaded, with $SHOPFLOOR_WASM_MT_TOOLCHAIN"
  # build.rs adds the shared-memory link flags for this variant.
  "$WASM_CARGO" build --profile wasm-release --lib --no-default-features --features threads \
    --target wasm32-unknown-unknown --target-dir "$WASM_MT_TARGET_DIR"
  bindgen "$WASM_MT_TARGET_DIR/wasm32-unknown-unknown/wasm-release/shopfloor.wasm" pkg/wasm-mt
}

# The reordering tool, natively (not -Z build-std: that is for the wasm target only).
echo "[build] crates/wasm-order (native)"
env -u CARGO_UNSTABLE_BUILD_STD -u CARGO_UNSTABLE_BUILD_STD_FEATURES "$WASM_CARGO" build -q -p shopfloor-wasm-order
ORDER="$WASM_TARGET_DIR/debug/shopfloor-wasm-order"

# The variants compile side by side (own target dirs; cargo shares make's job slots between
# them): each ends in a single-threaded LTO link, which alone would leave a core idle.
pids=()
[[ " $VARIANTS " == *" st "* ]] && { build_st & pids+=($!); }
[[ " $VARIANTS " == *" relaxed "* ]] && { build_relaxed & pids+=($!); }
[[ " $VARIANTS " == *" mt "* ]] && { build_mt & pids+=($!); }
failed=0
for pid in "${pids[@]+"${pids[@]}"}"; do wait "$pid" || failed=1; done
[[ $failed == 0 ]] || exit 1

# The JS API: pkg/src → pkg/{index,elements,worker,capture-worklet}.js (one module each) and the
# .d.ts the package publishes (nothing hand-written to drift). Earlier output goes first, so a
# module removed from src/ does not linger.
echo "[build] pkg/src (TypeScript) with $(node_modules/.bin/tsc --version), bundled by esbuild $(node_modules/.bin/esbuild --version)"
find pkg -mindepth 1 -maxdepth 1 ! -name src ! -name wasm ! -name wasm-relaxed ! -name wasm-mt ! -name package.json ! -name '*.json' -exec rm -rf {} +
node_modules/.bin/tsc -p pkg
node_modules/.bin/tsc -p pkg/tsconfig.types.json
node scripts/bundle-pkg.mjs
