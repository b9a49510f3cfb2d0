#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for FUZZ_SECONDS each (default 300) and prints the
# executions and findings. Not part of `make test`: it measures, and a finding is fixed and kept
# as a regression test. Needs a nightly toolchain (for the sanitizer) and cargo-fuzz, installed
# from crates.io if missing. Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-300}"
TARGETS="${FUZZ_TARGETS:-load_model run_inputs audio image}"
log() { printf '[fuzz] %s\n' "$*"; }

if ! rustup run nightly rustc --version >/dev/null 2>&1; then
  log "a nightly toolchain is needed (rustup toolchain install nightly): libFuzzer's sanitizers are nightly-only"
  exit 1
fi
command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz --version 0.13.2

# Seeds: the real models (and halves of them), the ONNX node tests' small models, our own head.
seed() {
  local dir=fuzz/corpus/load_model
  mkdir -p "$dir"
  for f in models/speech/head.onnx fuzz/models/tiny_cnn.onnx models/cache/blazeface/*.onnx models/cache/ppocr/ppocr_cls.onnx models/cache/fixtures/*.onnx; do
    [ -f "$f" ] || continue
    cp "$f" "$dir/$(basename "$f")"
    head -c $(( $(stat -c %s "$f") / 2 )) "$f" > "$dir/half_$(basename "$f")"
  done
  find models/cache/onnx-suite/node -name model.onnx -size -64k 2>/dev/null | awk 'NR <= 300' | while read -r f; do
    cp "$f" "$dir/node_$(basename "$(dirname "$f")").onnx"
  done
  log "load_model corpus: $(ls "$dir" | wc -l) files"
}
seed

for t in $TARGETS; do
  log "$t: ${SECONDS_EACH}s"
  mkdir -p "fuzz/corpus/$t"
  # -rss_limit_mb: the loader must refuse big models before allocating, so 2 GiB is a finding.
  # -timeout=5: a single input taking over 5 s is a hang.
  (cd fuzz && cargo +nightly fuzz run "$t" "corpus/$t" -- -max_total_time="$SECONDS_EACH" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 2>&1) \
    | tee "fuzz/target-fuzz-$t.log" | grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|.*panicked)' || true
done
log "crashes (if any): $(find fuzz/artifacts -type f 2>/dev/null | wc -l) files under fuzz/artifacts/"
