# Two commands on a fresh Debian 12 machine:
#   make demo   install what is missing, build, serve the demo on http://127.0.0.1:$(PORT)
#   make test   install what is missing, build, run every test (native, wasm in node and Chromium, e2e)
PORT ?= 8080

.PHONY: demo test setup build serve test-data test-native test-wasm test-e2e lint

demo: setup build serve

test: setup build test-data test-native test-wasm test-e2e

setup:
	bash scripts/setup.sh

build:
	bash scripts/build.sh

serve:
	node scripts/serve.mjs --port $(PORT)

test-data:
	bash scripts/test-data.sh

test-native:
	SHOPFLOOR_EXPECT_GPU=1 SHOPFLOOR_REQUIRE_MODELS=1 cargo test --all-targets

test-wasm:
	bash scripts/test-wasm.sh

test-e2e:
	node --test tests/e2e/

lint:
	cargo fmt --check
	cargo clippy --all-targets -- -D warnings
