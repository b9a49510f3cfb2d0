#!/usr/bin/env bash
# Runs every cargo-fuzz target (fuzz/) for FUZZ_SECONDS each (default 300), or for FUZZ_RUNS
# executions each when that is set (e.g. FUZZ_RUNS=1000000 FUZZ_TARGETS=load_model), and prints
# the executions and findings. FUZZ_FAST=1 builds without AddressSanitizer and compare tracing
# (in fuzz/target/fast): a panic, an abort, a hang or running out of memory needs neither to be
# seen, and tract's optimiser runs ~10x faster without them, which is what makes a million loader
# executions a matter of minutes; the default build keeps both, for memory errors in unsafe code. Not part of `make test`: it measures, and a finding is fixed and kept
# as a regression test. FUZZ_JOBS=N runs N processes on the same corpus (each with the
# FUZZ_RUNS budget; their logs in fuzz/fuzz-<i>.log), e.g. one per core. Needs a nightly toolchain (for the sanitizer) and cargo-fuzz, installed
# from crates.io if missing. Crashes land in fuzz/artifacts/<target>/.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH="${FUZZ_SECONDS:-300}"
RUNS="${FUZZ_RUNS:-}"
BUILD=()
[ -n "${FUZZ_FAST:-}" ] && BUILD=(-s none --no-trace-compares --target-dir target/fast)
TARGETS="${FUZZ_TARGETS:-load_model run_inputs feed_values audio image}"
JOBS="${FUZZ_JOBS:-1}"
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
  # 300 of the node tests, spread over the op alphabet; not the attention and function-expanded
  # ones (a third of the suite, and the slowest to optimise).
  find models/cache/onnx-suite/node -name model.onnx -size -64k 2>/dev/null | grep -v -e attention -e _expanded | sort \
    | awk 'NR % 3 == 1' | head -300 | while read -r f; do
    cp "$f" "$dir/node_$(basename "$(dirname "$f")").onnx"
  done
  log "load_model corpus: $(ls "$dir" | wc -l) files"
}
seed

for t in $TARGETS; do
  mkdir -p "fuzz/corpus/$t"
  if [ -n "$RUNS" ]; then
    log "$t: $RUNS executions"; budget=(-runs="$RUNS")
  else
    log "$t: ${SECONDS_EACH}s"; budget=(-max_total_time="$SECONDS_EACH")
  fi
  # -rss_limit_mb: the loader must refuse big models before allocating, so 2 GiB is a finding.
  # -timeout=5: a single input taking over 5 s is a hang.
  jobs=()
  [ "$JOBS" -gt 1 ] && { jobs=(-jobs="$JOBS" -workers="$JOBS"); rm -f fuzz/fuzz-*.log; }
  # Feed values are fuzzed as we ship (-O: no overflow checks, its own target dir): integer
  # arithmetic on fed values wraps, as onnxruntime's does; the loader keeps overflow checks, where
  # an overflow is a shape computed wrong.
  build=("${BUILD[@]}")
  [ -n "${FUZZ_FAST:-}" ] && [ "$t" = feed_values ] && build=(-O -s none --no-trace-compares --target-dir target/fast-shipped)
  (cd fuzz && cargo +nightly fuzz run "${build[@]}" "$t" "corpus/$t" -- "${budget[@]}" "${jobs[@]}" -timeout=5 -rss_limit_mb=2048 -print_final_stats=1 2>&1) \
    | tee "fuzz/target-fuzz-$t.log" | grep -E '^(#[0-9]+.*DONE|stat::number_of_executed_units|stat::peak_rss_mb|==[0-9]+==ERROR|SUMMARY|.*panicked)' || true
  for f in fuzz/fuzz-*.log; do
    [ -f "$f" ] && { printf '%s: ' "$f"; grep -E 'stat::number_of_executed_units|SUMMARY|panicked' "$f" | tr '\n' ' '; echo; }
  done
done
log "crashes (if any): $(find fuzz/artifacts -type f 2>/dev/null | wc -l) files under fuzz/artifacts/"
