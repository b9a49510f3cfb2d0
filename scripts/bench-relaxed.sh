#!/usr/bin/env bash
# Measures what relaxed SIMD would gain on the CPU path, one thread: builds the relaxed variant
# (scripts/build.sh, SHOPFLOOR_VARIANTS=relaxed), then runs `make bench`'s CPU path with the plain
# and the relaxed module in pkg/wasm/ in turn, ROUNDS times each, and puts the plain one back.
# Each run prints its table of ratios to onnxruntime-web (docs/performance-log.md, "What relaxed SIMD
# would gain"). Extra arguments go to bench/run.mjs.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS="${ROUNDS:-2}"
SHOPFLOOR_VARIANTS=relaxed bash scripts/build.sh
keep=$(mktemp -d)
cp -r pkg/wasm "$keep/plain"
restore() { rm -rf pkg/wasm && cp -r "$keep/plain" pkg/wasm && rm -rf "$keep"; }
trap restore EXIT
for round in $(seq "$ROUNDS"); do
  for variant in plain relaxed; do
    rm -rf pkg/wasm
    if [[ $variant == plain ]]; then cp -r "$keep/plain" pkg/wasm; else cp -r pkg/wasm-relaxed pkg/wasm; fi
    echo "=== $variant, round $round"
    node bench/run.mjs --paths cpu --runs 10 --budget-s 8 --warmup-ms 1000 --no-dictation \
      --out "target/bench-relaxed/$variant-$round" "$@" | grep -E '^\| |^- '
  done
done
