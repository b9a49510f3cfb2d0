#!/usr/bin/env bash
# Packs what scripts/device-gpu.sh and scripts/device-browser.sh need on a lent GPU machine
# (the device tool: 64 MiB per call with the working tree, so four carried folders, ignored
# through .git/info/exclude):
#   .chr/a  Chromium's headless shell, xz         call 1: unpacked into /opt/chr/chr
#   .chr/b  its resources and the libraries it     call 2: unpacked into /opt/chr, and the web
#           needs, pkg/ and onnxruntime-web         files into /opt/web
#   .dev/b  the release CLI and the kernel tests   call 3, with .dev/m and .gl: the runs
#   .dev/m  the benchmark models and images
# Build first: `cargo build --release --bin shopfloor`, `cargo test --test gpu_kernels --no-run`
# and `bash scripts/build.sh`. (gpu_parity and models/cache/refs fit a call of their own.) Chromium comes from Debian's
# chromium-headless-shell package and its dependencies (downloaded, not installed).
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$PWD
w=${DEVICE_PACK_TMP:-/tmp/device-pack}
for p in /.dev/ /.chr/ /.gl/; do grep -qx "$p" .git/info/exclude 2>/dev/null || echo "$p" >> .git/info/exclude; done
rm -rf .dev .chr && mkdir -p .dev/b/bin .dev/m .chr/a .chr/b "$w"

# The binaries (stripped, xz) and where the tests look for models (CARGO_MANIFEST_DIR).
pwd > .dev/b/manifest_dir
cp target/release/shopfloor .dev/b/bin/
cargo test --test gpu_kernels --no-run --message-format=json 2>/dev/null | python3 -c '
import json, shutil, sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m.get("executable") and m["target"]["kind"] == ["test"]:
        shutil.copy(m["executable"], ".dev/b/bin/" + m["target"]["name"])'
strip .dev/b/bin/*
xz -T2 -6 .dev/b/bin/*
C=models/cache
tar -cf - $C/efficientnet/efficientnet_lite0.onnx $C/ppocr/*.onnx $C/blazeface $C/openwakeword $C/onnx-tests/light \
  $C/images | xz -T2 -6 > .dev/m/models.tar.xz

# Chromium: the package and every dependency, unpacked here (an empty dpkg status makes apt
# fetch them all).
if [ ! -x "$w/root/usr/lib/chromium/chromium-headless-shell" ]; then
  mkdir -p "$w/st" "$w/arch/partial" "$w/root" && : > "$w/st/status"
  apt-get -o Dir::State::status="$w/st/status" -o Dir::Cache::archives="$w/arch" -o APT::Install-Recommends=false \
    --download-only -y install chromium-headless-shell
  for d in "$w"/arch/*.deb; do dpkg -x "$d" "$w/root"; done
fi
R=$w/root/usr/lib/chromium
xz -9e --x86 --lzma2=preset=9e,dict=256MiB -c "$R/chromium-headless-shell" > .chr/a/chr.xz
s=$w/stage && rm -rf "$s" && mkdir -p "$s/chr/locales" "$s/libs" "$s/fonts"
for f in icudtl.dat snapshot_blob.bin v8_context_snapshot.bin libvulkan.so.1 libvk_swiftshader.so \
  vk_swiftshader_icd.json libEGL.so libGLESv2.so chrome_crashpad_handler headless_lib_data.pak \
  headless_lib_strings.pak headless_command_resources.pak chrome_100_percent.pak resources.pak; do
  cp "$R/$f" "$s/chr/"
done
cp "$R/locales/en-US.pak" "$s/chr/locales/"
cp "$w"/root/usr/share/fonts/truetype/dejavu/DejaVuSans*.ttf "$s/fonts/"
# The shell's NEEDED closure, plus the NSS modules and pulseaudio's library it opens at run time.
python3 - "$w/root" "$s/libs" <<'EOF'
import os, re, shutil, subprocess, sys
root, dest = sys.argv[1], sys.argv[2]
files = {}
for dp, _, fn in os.walk(root):
    for f in fn:
        if '.so' in f:
            files.setdefault(f, os.path.join(dp, f))
def needed(p):
    out = subprocess.run(['readelf', '-d', p], capture_output=True, text=True).stdout
    return re.findall(r'\(NEEDED\).*\[(.*)\]', out)
seen, todo = set(), [os.path.join(root, 'usr/lib/chromium/chromium-headless-shell')]
while todo:
    for n in needed(todo.pop()):
        if n not in seen and n in files:
            seen.add(n)
            todo.append(os.path.realpath(files[n]))
extra = ('libsoftokn3', 'libfreebl3', 'libfreeblpriv3', 'libnssckbi', 'libnssdbm3', 'libsmime3', 'libssl3', 'libpulsecommon')
for f, p in files.items():
    if (f in seen or f.startswith(extra)) and '/usr/lib/chromium/' not in p:
        shutil.copy(os.path.realpath(p), os.path.join(dest, f))
EOF
tar -C "$s" -cf - chr libs fonts | xz -T2 -9 > .chr/b/chrlibs.tar.xz
O=bench/node_modules/onnxruntime-web/dist
tar -cf - pkg $O/ort.webgpu.min.mjs $O/ort.wasm.min.mjs $O/ort-wasm-simd-threaded.asyncify.mjs \
  $O/ort-wasm-simd-threaded.asyncify.wasm $O/ort-wasm-simd-threaded.mjs $O/ort-wasm-simd-threaded.wasm \
  | xz -T2 -6 > .chr/b/web.tar.xz
# The GL/Vulkan loaders the machine lacks (the device tool's README).
if [ ! -d .gl ]; then
  mkdir -p .gl /tmp/amd64/partial
  o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
  apt-get $o update && (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
fi
cd "$repo" && du -sh .chr/a .chr/b .dev/b .dev/m .gl
