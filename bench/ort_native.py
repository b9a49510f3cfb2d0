"""Native onnxruntime (CPU, one thread): the peer of `shopfloor bench --backend cpu`.

usage: ort_native.py MODEL.onnx INPUT_NAME 1x3x224x224 RUNS [--profile]  -> one JSON line
--profile: instead, milliseconds per run by op type from onnxruntime's profiler (largest first),
the peer of `shopfloor profile`.
"""
import json
import os
import sys
import tempfile
import time

import numpy as np
import onnxruntime as ort

path, name, dims, runs = sys.argv[1], sys.argv[2], [int(d) for d in sys.argv[3].split("x")], int(sys.argv[4])
profile = "--profile" in sys.argv[5:]
opts = ort.SessionOptions()
opts.enable_profiling = profile
opts.profile_file_prefix = os.path.join(tempfile.gettempdir(), "shopfloor-ort-profile")
opts.log_severity_level = 3
opts.intra_op_num_threads = 1
opts.inter_op_num_threads = 1
t0 = time.perf_counter()
sess = ort.InferenceSession(path, opts, providers=["CPUExecutionProvider"])
load_ms = (time.perf_counter() - t0) * 1e3
x = np.random.default_rng(0).uniform(-1, 1, dims).astype(np.float32)
t1 = time.perf_counter()
sess.run(None, {name: x})
first_ms = (time.perf_counter() - t1) * 1e3
for _ in range(3):
    sess.run(None, {name: x})
times = []
for _ in range(runs):
    t = time.perf_counter()
    sess.run(None, {name: x})
    times.append((time.perf_counter() - t) * 1e3)
if profile:
    by_op = {}
    trace = sess.end_profiling()
    with open(trace) as f:
        events = json.load(f)
    os.remove(trace)
    for e in events:
        if e.get("cat") == "Node" and e["name"].endswith("_kernel_time"):
            op = e["args"]["op_name"]
            by_op[op] = by_op.get(op, 0.0) + e["dur"] / 1e3 / (runs + 4)
    total = sum(by_op.values())
    print(f"{path}: {total:.2f} ms per run in nodes (onnxruntime {ort.__version__}, CPU, 1 thread)")
    for op, ms in sorted(by_op.items(), key=lambda kv: -kv[1]):
        print(f"{op:<28} {ms:>10.3f} {100 * ms / total:>6.1f}%")
    sys.exit(0)
times.sort()
q = lambda p: times[min(len(times) - 1, int(p * len(times)))]
print(json.dumps({"version": ort.__version__, "loadMs": load_ms, "firstMs": first_ms, "runs": runs,
                  "min": times[0], "median": q(0.5), "p90": q(0.9), "max": times[-1]}))
