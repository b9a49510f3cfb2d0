#!/usr/bin/env bash
# The native WebGPU backend on a lent GPU machine (Vulkan): kernel throughput, every GPU kernel
# family against tract, the real models against onnxruntime, the benchmark models' timings on
# the GPU and the CPU, and where the GPU's time goes. Run there from the repo root with what
# scripts/device-pack.sh packed (.dev/b, .dev/m and .gl carried; earlier calls' files under
# /opt/devpack are unpacked too). Figures go to stdout and to $OUT.
# usage: scripts/device-gpu.sh [kernels] [tests] [parity] [models] [profile]   (default: all)
set -u
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
sections=${*:-kernels tests parity models profile}
has() { [[ " $sections " == *" $1 "* ]]; }
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
[ -f "$icd" ] && export VK_DRIVER_FILES=$icd
D=.dev/b
B=$D/bin
# The test binaries read models from the path they were built in (CARGO_MANIFEST_DIR).
root=$(cat $D/manifest_dir)
if [ "$root" != "$PWD" ] && [ ! -e "$root" ]; then mkdir -p "$(dirname "$root")" && ln -s "$PWD" "$root"; fi
for p in $D/*.tar.xz .dev/m/*.tar.xz /opt/devpack/*.tar.xz; do [ -f "$p" ] && tar -xJf "$p"; done
for b in $B/*.xz; do [ -f "$b" ] && xz -d -f "$b"; done
chmod +x $B/*
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.mem --format=csv
$B/shopfloor backends | tee "$OUT/backends.json"

if has kernels; then
  echo "== kernel throughput"
  timeout 60 $B/shopfloor bench-kernels 2>&1 | tee "$OUT/bench_kernels.log"
fi
if has tests; then
  echo "== every GPU kernel family against tract (gpu_kernels), then each GEMM path's cases"
  SHOPFLOOR_EXPECT_GPU=1 timeout 120 $B/gpu_kernels --test-threads 4 2>&1 | tee "$OUT/gpu_kernels.log" \
    | grep -E "^test result|FAILED|panicked|failures:" | head -30
  for g in tiled subgroup wide; do
    SHOPFLOOR_EXPECT_GPU=1 SHOPFLOOR_GPU_GEMM=$g timeout 60 $B/gpu_kernels --test-threads 4 matmul conv 2>&1 \
      | tee -a "$OUT/gpu_kernels.log" | grep -E "^test result|FAILED|panicked" | sed "s/^/$g: /"
  done
fi
if has parity && [ -x $B/gpu_parity ]; then
  echo "== real models against onnxruntime (gpu_parity)"
  SHOPFLOOR_EXPECT_GPU=1 SHOPFLOOR_REQUIRE_MODELS=1 timeout 120 $B/gpu_parity --test-threads 1 --nocapture 2>&1 \
    | tee "$OUT/gpu_parity.log" | grep -E "relative error|dispatches|first run|^test |test result|panicked" | head -60
fi

C=models/cache
bench() { # model runs shape...
  local m=$1 runs=$2; shift 2
  local shapes=(); for s in "$@"; do shapes+=(--shape "$s"); done
  for be in webgpu cpu; do
    timeout 90 $B/shopfloor bench "$m" --backend $be --runs "$runs" --json "${shapes[@]}" 2>&1 | tee -a "$OUT/bench.jsonl"
  done
}
if has models; then
  echo "== models: webgpu then cpu (native, median of runs)"
  bench $C/efficientnet/efficientnet_lite0.onnx 50 input=1x3x224x224
  bench $C/blazeface/face_detection_front_128.onnx 50 input:0=1x128x128x3
  bench $C/ppocr/ppocrv4_det.onnx 30 x=1x3x640x640
  bench $C/ppocr/ppocrv4_det.onnx 30 x=1x3x320x320
  bench $C/ppocr/ppocrv4_det.onnx 20 x=1x3x960x960
  bench $C/ppocr/ppocrv4_rec.onnx 50 x=1x3x48x320
  bench $C/ppocr/ppocr_cls.onnx 50 x=1x3x48x192
  bench $C/openwakeword/embedding_model.onnx 50 input_1=1x76x32x1
  bench $C/onnx-tests/light/light_resnet50.onnx 30 gpu_0/data_0=1x3x224x224
  for m in densenet121 inception_v1 inception_v2 squeezenet shufflenet bvlc_alexnet zfnet512; do
    bench $C/onnx-tests/light/light_$m.onnx 20
  done
  [ -f $C/whisper-tiny-en/encoder.onnx ] && bench $C/whisper-tiny-en/encoder.onnx 10
fi
if has profile; then
  echo "== where the GPU's time goes (PP-OCRv4 det 640, light_resnet50)"
  timeout 60 $B/shopfloor profile $C/ppocr/ppocrv4_det.onnx --backend webgpu --runs 5 --shape x=1x3x640x640 2>&1 \
    | tee "$OUT/profile_det.log" | head -30
  timeout 60 $B/shopfloor profile $C/onnx-tests/light/light_resnet50.onnx --backend webgpu --runs 5 2>&1 \
    | tee "$OUT/profile_resnet50.log" | head -24
fi
