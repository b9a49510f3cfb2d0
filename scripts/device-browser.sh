#!/usr/bin/env bash
# shopfloor against onnxruntime-web in headless Chromium on a lent GPU machine (no node there):
# bench/device/page.mjs runs bench/harness.js's warm comparison and posts each result to
# bench/device/server.py, which writes $OUT/reports/NAME.json. Chromium and the libraries it
# lacks there are unpacked under /opt/chr by earlier calls (the recipe in
# ../shared/gpu-browser/README.md); the repo's pkg/, bench/node_modules' onnxruntime-web and the
# models must be in place (scripts/device-pack.sh).
# usage: scripts/device-browser.sh 'QUERY' [TIMEOUT_S] [NAME]   (QUERY: bench/device/page.mjs's), e.g.
#   scripts/device-browser.sh 'path=webgpu&models=ppocr-det,ppocr-cls&rounds=30' 200 gpu
set -u
OUT=${OUT:-/tmp/device-out}
query=$1
limit=${2:-240}
name=${3:-run}
C=${CHR:-/opt/chr}
mkdir -p "$OUT/reports" "$C/miss"
# Only the carried libraries the machine lacks, so that its own (the NVIDIA driver's) win.
if [ ! -f "$C/miss/.done" ]; then
  for f in "$C"/libs/*; do
    ldconfig -p | grep -q "^\s*$(basename "$f") " || ln -sf "$f" "$C/miss/$(basename "$f")"
  done
  touch "$C/miss/.done"
fi
cat > "$C/fonts.conf" <<EOF
<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig><dir>$C/fonts</dir><cachedir>/tmp/fc-cache</cachedir></fontconfig>
EOF
export LD_LIBRARY_PATH=$C/miss FONTCONFIG_FILE=$C/fonts.conf
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
if ! curl -s -o /dev/null http://127.0.0.1:8123/bench/device/index.html 2>/dev/null; then
  python3 bench/device/server.py . "$OUT/reports" 8123 > "$OUT/server.log" 2>&1 &
  sleep 1
fi
rm -f "$OUT/reports/done.json"
# The flags that gave Chromium the NVIDIA adapter (CHR_GPU_FLAGS replaces them: e.g. SwiftShader's
# to try this script on a machine without a GPU).
gpu_flags=${CHR_GPU_FLAGS:---ignore-gpu-blocklist --enable-features=Vulkan --use-angle=vulkan --use-vulkan=native --disable-vulkan-surface}
# shellcheck disable=SC2086
"$C/chr/chromium-headless-shell" --headless --no-sandbox --disable-dev-shm-usage --enable-unsafe-webgpu $gpu_flags \
  --disable-quic --no-first-run --disable-background-networking --disable-component-update --disable-sync \
  --user-data-dir="$(mktemp -d)" "http://127.0.0.1:8123/bench/device/index.html?$query" > "$OUT/chromium-$name.log" 2>&1 &
pid=$!
for _ in $(seq "$limit"); do
  [ -f "$OUT/reports/done.json" ] && break
  kill -0 $pid 2>/dev/null || break
  sleep 1
done
kill $pid 2>/dev/null
[ -f "$OUT/reports/done.json" ] || { echo "no 'done' report within ${limit}s; Chromium's log:"; tail -20 "$OUT/chromium-$name.log"; }
for f in "$OUT"/reports/*.json; do echo "$(basename "$f" .json): $(head -c 1500 "$f")"; done
