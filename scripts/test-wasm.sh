#!/usr/bin/env bash
# wasm-bindgen-test suites: tests/wasm_node.rs under node, tests/wasm_browser.rs in headless
# Chromium through chromedriver (with a SwiftShader WebGPU adapter).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/tests/webdriver.json"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"
# --profile wasm-release: the same profile and feature set as scripts/build.sh, so the dependencies the
# package build compiled are reused (a debug build would compile tract a third time), and the
# tests exercise the optimised code that ships.
"$WASM_CARGO" test --profile wasm-release --no-default-features --target wasm32-unknown-unknown \
  --test wasm_node --test wasm_browser "$@"
