#!/bin/bash
# Same-page A/B of two builds against onnxruntime-web: each round swaps OLD's, then NEW's
# pkg/wasm and pkg/wasm-mt into pkg/ and runs `make bench`'s warm table for the given models
# (model, ours ms, peer ms, ratio); NEW's build is left in pkg/.
#
#   cp -r pkg/wasm pkg/wasm-mt /tmp/old/ ; (change, bash scripts/build.sh) ; cp -r pkg/wasm pkg/wasm-mt /tmp/new/
#   bash scripts/bench-ab.sh /tmp/old /tmp/new oww-embedding,ppocr-det [cpu|cpu-mt] [rounds]
set -euo pipefail
cd "$(dirname "$0")/.."
OLD=${1:?usage: bash scripts/bench-ab.sh OLD_DIR NEW_DIR MODELS [PATH] [ROUNDS]}
NEW=${2:?usage: bash scripts/bench-ab.sh OLD_DIR NEW_DIR MODELS [PATH] [ROUNDS]}
MODELS=${3:?usage: bash scripts/bench-ab.sh OLD_DIR NEW_DIR MODELS [PATH] [ROUNDS]}
BENCH_PATH=${4:-cpu}
ROUNDS=${5:-2}
use() { rm -rf pkg/wasm pkg/wasm-mt && cp -r "$1/wasm" "$1/wasm-mt" pkg/; }
trap 'use "$NEW"' EXIT
for round in $(seq "$ROUNDS"); do
  for side in OLD NEW; do
    dir=${!side}
    use "$dir"
    echo "== $side ($dir), round $round"
    node bench/run.mjs --paths "$BENCH_PATH" --models "$MODELS" --runs 20 --budget-s 10 --warmup-ms 1500 --no-dictation 2>/dev/null |
      grep -E '^\| ' | grep -vE '^\| (model|---|runtime|shopfloor:|ort:)|speed-up' | cut -d'|' -f2-5 || true
  done
done
