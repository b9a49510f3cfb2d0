#!/usr/bin/env bash
# wasm-bindgen-test suites: tests/wasm_node.rs under node, tests/wasm_browser.rs in headless
# Chromium through chromedriver (with a SwiftShader WebGPU adapter).
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/wasm-env.sh
export CHROMEDRIVER="${CHROMEDRIVER:-$(command -v chromedriver)}"
export WASM_BINDGEN_TEST_WEBDRIVER_JSON="$PWD/tests/webdriver.json"
export WASM_BINDGEN_TEST_TIMEOUT="${WASM_BINDGEN_TEST_TIMEOUT:-300}"
"$WASM_CARGO" test --no-default-features --target wasm32-unknown-unknown \
  --test wasm_node --test wasm_browser "$@"
