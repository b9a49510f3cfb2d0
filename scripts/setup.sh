#!/usr/bin/env bash
# Installs everything the build, the demo and the tests need on Debian 12. Idempotent: each step
# checks first and skips what is already there. Run as root or with passwordless sudo.
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1m[setup]\033[0m %s\n' "$*"; }
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"

# --- Debian packages -------------------------------------------------------------------------
APT_PKGS=(make chromium mesa-vulkan-drivers libvulkan1 pkg-config python3 python3-venv python3-pip espeak-ng flite sox)
# Node.js for the demo server and browser tests, unless one is already on PATH (e.g. from nvm).
command -v npm >/dev/null 2>&1 || APT_PKGS+=(nodejs npm)
# Debian's wasm-capable Rust (with std's sources: the wasm builds rebuild std with panic_unwind,
# and with atomics for the threaded variant), unless rustup has the wasm32 target and rust-src.
if ! (command -v rustup >/dev/null && rustup target list --installed 2>/dev/null | grep -qx wasm32-unknown-unknown &&
      [ -d "$(rustc --print sysroot)/lib/rustlib/src/rust/library" ]); then
  APT_PKGS+=(rustc-web cargo-web rust-web-src rust-web-llvm lld-22)
fi
missing=()
for p in "${APT_PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  if ! command -v apt-get >/dev/null; then
    log "missing system packages: ${missing[*]} (install them with your package manager)"; exit 1
  fi
  log "apt-get install ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  log "system packages present"
fi

# --- Rust: native toolchain and wasm-bindgen-cli at exactly Cargo.lock's version ---------------
command -v cargo >/dev/null || { log "cargo not found: install Rust with rustup (https://rustup.rs)"; exit 1; }
WB_VERSION=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
wb_pid=""
if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WB_VERSION" ]; then
  log "cargo install wasm-bindgen-cli $WB_VERSION (builds from source, in the background while npm and pip download)"
  # No --locked: its lock file pins crates some registry mirrors lack. Opt-level 1: 172 s to
  # compile on 2 cores against 206 s at the default 3; it binds our module in ~4 s either way, to
  # the same bytes (2026-12-03).
  CARGO_PROFILE_RELEASE_OPT_LEVEL=1 cargo install wasm-bindgen-cli --version "$WB_VERSION" --force --quiet &
  wb_pid=$!
else
  log "wasm-bindgen-cli $WB_VERSION present"
fi

# --- npm packages for the tests (playwright-core drives Debian's Chromium; no browser download) --
command -v npm >/dev/null || { log "npm not found: apt-get install nodejs npm"; exit 1; }
# package.json pins rollup (Vite's bundler) in "overrides": the newest rollup's per-platform
# packages are not all on every registry mirror yet, and `npm ci` refuses a lock file that lacks them.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  log "npm ci"
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
else
  log "npm packages present"
fi
# --- Python tools for test data: onnxruntime computes the reference outputs ---------------------
PY_PKGS=(onnx==1.23.2 onnxruntime==1.31.1 numpy==2.4.6 pillow==12.0.0)
if ! target/py/bin/python -c "import onnx, onnxruntime, numpy, PIL" 2>/dev/null; then
  log "python venv target/py: ${PY_PKGS[*]}"
  rm -rf target/py
  python3 -m venv target/py
  target/py/bin/pip install -q --disable-pip-version-check "${PY_PKGS[@]}"
else
  log "python venv present"
fi
if [ -n "$wb_pid" ]; then
  wait "$wb_pid" || { log "cargo install wasm-bindgen-cli $WB_VERSION failed"; exit 1; }
  log "wasm-bindgen-cli $WB_VERSION installed"
fi
log "done"
