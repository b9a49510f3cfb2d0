#!/usr/bin/env bash
# How our threads scale against onnxruntime-web's on a many-core lent machine (issue 26): one page
# per thread count (both runtimes keep the threads of their first initialisation), each the
# alternated warm comparison of scripts/device-browser.sh. Reports land in $OUT/threads-N/.
# After the unpacking of docs/performance.md ("On a real GPU"), in the call that carries .dev/m:
#   bash scripts/device-threads.sh [THREADS...]        (default: 1 2 4 8 16)
set -u
OUT=${OUT:-/tmp/device-out}
models=${MODELS:-efficientnet-lite0,blazeface,ppocr-det,ppocr-rec,oww-embedding,light-resnet50}
rounds=${ROUNDS:-12}
# The models, where no earlier script of this call unpacked them.
[ -f models/cache/blazeface/face_detection_front_128.onnx ] || for p in .dev/m/*.tar.xz; do tar -xJf "$p"; done
for n in "${@:-1 2 4 8 16}"; do
  for t in $n; do
    if [ "$t" = 1 ]; then q="path=cpu"; else q="path=cpu-mt&threads=$t"; fi
    bash scripts/device-browser.sh "$q&models=$models&rounds=$rounds&budgetMs=8000" 150 "threads-$t" > /dev/null
    mkdir -p "$OUT/threads-$t" && mv "$OUT"/reports/*.json "$OUT/threads-$t/" 2>/dev/null
    # One line per model: threads, our median, theirs (ms).
    python3 - "$OUT/threads-$t" "$t" <<'EOF'
import glob, json, os, sys
for f in sorted(glob.glob(os.path.join(sys.argv[1], '*.json'))):
    r = json.load(open(f))
    if 'shopfloor' in r:
        a, b = r['shopfloor']['median'], r['ort']['median']
        print(f"threads {sys.argv[2]:>2} {os.path.basename(f)[:-5]:32s} ours {a:8.2f}  ort {b:8.2f}  ratio {a / b:.2f}")
    elif 'error' in r:
        print(f"threads {sys.argv[2]:>2} {os.path.basename(f)[:-5]:32s} error {r['error'][:200]}")
EOF
  done
done
