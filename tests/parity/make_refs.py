#!/usr/bin/env python3
"""Reference outputs from onnxruntime for the parity tests: fixed-seed inputs for each real model,
run through onnxruntime (CPU, all graph optimisations off so it computes what the graph says),
written as .npy under models/cache/refs/<case>/ with a case.json naming model, inputs, outputs."""

import json
import sys
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "models" / "cache"
OUT = CACHE / "refs"

# case name -> model path (under models/cache) and input generators
CASES = {
    # Vision models see real photos (scikit-image's samples), preprocessed as their pipelines do:
    # noise inputs drive these deep nets into regions where even onnxruntime's optimised and
    # unoptimised graphs disagree by 1e-3.
    "blazeface_128": ("blazeface/face_detection_front_128.onnx", {"input:0": ("face_nhwc", [1, 128, 128, 3])}),
    "ppocr_det_640": ("ppocr/ppocrv4_det.onnx", {"x": ("page_nchw", [1, 3, 640, 640])}),
    "ppocr_det_320x480": ("ppocr/ppocrv4_det.onnx", {"x": ("page_nchw", [1, 3, 320, 480])}),
    # A second, smaller shape for the per-shape WebGPU plans (tests/gpu_parity.rs): 640² on lavapipe
    # takes half a minute a run.
    "ppocr_det_256x320": ("ppocr/ppocrv4_det.onnx", {"x": ("page_nchw", [1, 3, 256, 320])}),
    "ppocr_rec_48x320": ("ppocr/ppocrv4_rec.onnx", {"x": ("line_nchw", [1, 3, 48, 320])}),
    "ppocr_cls_48x192": ("ppocr/ppocr_cls.onnx", {"x": ("line_nchw", [1, 3, 48, 192])}),
    "oww_melspectrogram": ("openwakeword/melspectrogram.onnx", {"input": ("audio", [1, 16000])}),
    "oww_embedding": ("openwakeword/embedding_model.onnx", {"input_1": ("unit", [1, 76, 32, 1])}),
    "silero_vad": (
        "silero/silero_vad_op18_ifless.onnx",
        {"input": ("audio_unit", [1, 512]), "sr": ("const_i64", 16000), "state": ("small", [2, 1, 128])},
    ),
}


def image(name, box=None):
    from PIL import Image

    img = Image.open(CACHE / "images" / name).convert("RGB")
    return img.crop(box) if box else img


def to_tensor(img, w, h, layout):
    from PIL import Image

    a = np.asarray(img.resize((w, h), Image.BILINEAR), dtype=np.float32) / 255.0
    a = (a - 0.5) / 0.5  # both BlazeFace and PP-OCR take [-1, 1]
    return a[None] if layout == "nhwc" else a.transpose(2, 0, 1)[None].copy()


def generate(kind, spec, rng):
    if kind == "face_nhwc":  # the astronaut's head, square
        return to_tensor(image("astronaut.png", (150, 20, 330, 200)), spec[2], spec[1], "nhwc")
    if kind == "page_nchw":
        return to_tensor(image("page.png"), spec[3], spec[2], "nchw")
    if kind == "line_nchw":  # one line of text from the page
        return to_tensor(image("page.png", (0, 0, 500, 45)), spec[3], spec[2], "nchw")
    if kind == "unit":
        return rng.random(spec, dtype=np.float32)
    if kind == "normal":
        return rng.standard_normal(spec, dtype=np.float32)
    if kind == "audio":  # int16-range PCM as openWakeWord feeds it
        return (rng.standard_normal(spec, dtype=np.float32) * 3000.0).astype(np.float32)
    if kind == "audio_unit":
        return (rng.standard_normal(spec, dtype=np.float32) * 0.1).astype(np.float32)
    if kind == "small":
        return (rng.standard_normal(spec, dtype=np.float32) * 0.1).astype(np.float32)
    if kind == "const_i64":
        return np.array(spec, dtype=np.int64)
    raise ValueError(kind)


def safe(name: str) -> str:
    return name.replace("/", "_").replace(":", "_")


def fixtures() -> None:
    """Small bad models for the error-path tests in the browser."""
    import onnx
    from onnx import TensorProto, helper

    d = CACHE / "fixtures"
    d.mkdir(parents=True, exist_ok=True)
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [2])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2])
    g = helper.make_graph([helper.make_node("FrobnicateQuux", ["x"], ["y"], name="mystery_node")], "g", [x], [y])
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "unsupported_op.onnx")

    # Max pools over tiling and other windows at odd sides (our CPU kernel's SIMD rows and their
    # tails): tests/e2e/model.test.mjs checks them against a plain loop.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 5, 13, 21])
    pools = {"p2x2": [2, 2], "p1x2": [1, 2], "p2x1": [2, 1], "p3x3": [3, 3]}
    nodes = [helper.make_node("MaxPool", ["x"], [n], kernel_shape=k, strides=k, name=n) for n, k in pools.items()]
    # Other windows: SqueezeNet's 3×3/2, GoogLeNet's 3×3/1 padded, a 2×2/2 in ceil mode (a partial last
    # row and column), a 2×4/(1, 3) padded unevenly.
    general = {"o3s2": ([3, 3], [2, 2], [0, 0, 0, 0], 0), "o3s1p1": ([3, 3], [1, 1], [1, 1, 1, 1], 0),
               "o2s2ceil": ([2, 2], [2, 2], [0, 0, 0, 0], 1), "o2x4": ([2, 4], [1, 3], [1, 2, 0, 1], 0),
               # SqueezeNet's in ceil mode, ResNet's padded, a wide stride-1 window.
               "o3s2ceil": ([3, 3], [2, 2], [0, 0, 0, 0], 1), "o3s2p1": ([3, 3], [2, 2], [1, 1, 1, 1], 0),
               "o2x5s1": ([2, 5], [1, 1], [0, 2, 1, 0], 0)}
    nodes += [helper.make_node("MaxPool", ["x"], [n], kernel_shape=k, strides=st, pads=pads, ceil_mode=ceil, name=n)
              for n, (k, st, pads, ceil) in general.items()]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in [*pools, *general]]
    g = helper.make_graph(nodes, "window_max_pool", [x], outs)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "window_max_pool.onnx")

    # Sigmoid and Tanh on one vector (tract-linalg's element-wise kernels, wasm SIMD in the
    # package): tests/e2e/model.test.mjs checks them bit for bit against the f32 rational fits.
    v = helper.make_tensor_value_info("v", TensorProto.FLOAT, ["n"])
    nodes = [helper.make_node("Sigmoid", ["v"], ["sigmoid"]), helper.make_node("Tanh", ["v"], ["tanh"])]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ["sigmoid", "tanh"]]
    g = helper.make_graph(nodes, "activations", [v], outs)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "activations.onnx")

    # Matrix products at sides that are no multiple of any kernel tile, with the epilogues tract
    # fuses into them (bias per row and per column, ReLU), and one whose depth (300) crosses the
    # wasm kernel's blocks of 256 steps: tests/e2e/model.test.mjs recomputes
    # them in JS. Weights follow w[i] = ((i * 7919) % 23 - 11) / 8 so the test can rebuild them.
    def weights(name, dims):
        n = int(np.prod(dims))
        v = ((np.arange(n) * 7919) % 23 - 11).astype(np.float32) / 8
        return helper.make_tensor(name, TensorProto.FLOAT, dims, v.tolist())

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [13, 37])
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 11, 17])
    long = helper.make_tensor_value_info("l", TensorProto.FLOAT, [11, 300])
    nodes = [
        helper.make_node("MatMul", ["a", "w1"], ["mm"]),
        helper.make_node("MatMul", ["l", "w4"], ["mm_long"]),
        helper.make_node("Gemm", ["a", "w2", "b2"], ["g"]),
        helper.make_node("Relu", ["g"], ["gemm_relu"]),
        helper.make_node("Conv", ["x", "w3", "b3"], ["conv"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    ]
    inits = [weights("w1", [37, 29]), weights("w2", [37, 19]), weights("b2", [19]), weights("w3", [10, 3, 3, 3]), weights("b3", [10]),
             weights("w4", [300, 21])]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ["mm", "gemm_relu", "conv", "mm_long"]]
    g = helper.make_graph(nodes, "products", [a, x, long], outs, inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "products.onnx")

    # Depthwise convolutions (our wasm kernel's SIMD rows for strides 1 and 2, partial last vectors, other
    # strides, asymmetric padding): tests/e2e/model.test.mjs recomputes them in JS. Each case is
    # (kernel, strides, pads), weights w[i] as above, bias 0.25·channel.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 6, 13, 23])
    cases = {"dw3s1p1": ([3, 3], [1, 1], [1, 1, 1, 1]), "dw5s2p2": ([5, 5], [2, 2], [2, 2, 2, 2]),
             "dw3s2same": ([3, 3], [2, 2], [0, 0, 1, 1]), "dw3s1valid": ([3, 3], [1, 1], [0, 0, 0, 0]),
             "dw5s1p2": ([5, 5], [1, 1], [2, 2, 2, 2]), "dw3s21": ([3, 3], [2, 1], [1, 1, 1, 1]),
             "dw3s3": ([3, 3], [3, 3], [1, 0, 1, 0]),
             # Rows of 3 outputs (one partial vector alone) at strides 1 and 2, and of 7.
             "dw3x21s1": ([3, 21], [1, 1], [0, 0, 0, 0]), "dw3x19s2": ([3, 19], [2, 2], [1, 0, 1, 0]),
             "dw3x17s1": ([3, 17], [1, 1], [1, 0, 1, 0])}
    nodes, inits = [], []
    for name, (k, st, pads) in cases.items():
        nodes.append(helper.make_node("Conv", ["x", f"{name}_w", f"{name}_b"], [name], kernel_shape=k, strides=st,
                                      pads=pads, group=6, name=name))
        inits += [weights(f"{name}_w", [6, 1, *k]),
                  helper.make_tensor(f"{name}_b", TensorProto.FLOAT, [6], [0.25 * c for c in range(6)])]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in cases]
    g = helper.make_graph(nodes, "depthwise", [x], outs, inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "depthwise.onnx")

    # The same at 16 channels or more, where tract's wasm build moves the layer to channels last
    # (our kernel's rows of four outputs, single outputs, other strides' loop; 21 channels: a
    # partial last vector), two of them with a Clip folded in: model.test.mjs recomputes them.
    # Each case is (input, kernel, strides, pads, clip), weights w[i], bias 0.25·channel.
    inputs = {"x": [21, 13, 23], "y": [24, 9, 17]}
    cases = {"l3s1p1": ("x", [3, 3], [1, 1], [1, 1, 1, 1], None), "l5s2p2": ("x", [5, 5], [2, 2], [2, 2, 2, 2], None),
             "l3s2same": ("x", [3, 3], [2, 2], [0, 0, 1, 1], [-0.5, 0.5]), "l5s1p2": ("x", [5, 5], [1, 1], [2, 2, 2, 2], None),
             "l3s21": ("x", [3, 3], [2, 1], [1, 1, 1, 1], None), "l3s3": ("x", [3, 3], [3, 3], [1, 0, 1, 0], None),
             "m3s1valid": ("y", [3, 3], [1, 1], [0, 0, 0, 0], [0.0, 6.0]), "m5s2p1": ("y", [5, 5], [2, 2], [1, 2, 2, 1], None),
             "m7s1p3": ("y", [7, 7], [1, 1], [3, 3, 3, 3], None)}
    nodes, inits = [], []
    for name, (src, k, st, pads, clip) in cases.items():
        c = inputs[src][0]
        out = f"{name}_conv" if clip else name
        nodes.append(helper.make_node("Conv", [src, f"{name}_w", f"{name}_b"], [out], kernel_shape=k, strides=st,
                                      pads=pads, group=c, name=name))
        inits += [weights(f"{name}_w", [c, 1, *k]),
                  helper.make_tensor(f"{name}_b", TensorProto.FLOAT, [c], [0.25 * i for i in range(c)])]
        if clip:
            inits += [helper.make_tensor(f"{name}_lo", TensorProto.FLOAT, [], [clip[0]]),
                      helper.make_tensor(f"{name}_hi", TensorProto.FLOAT, [], [clip[1]])]
            nodes.append(helper.make_node("Clip", [out, f"{name}_lo", f"{name}_hi"], [name]))
    ins = [helper.make_tensor_value_info(n, TensorProto.FLOAT, [1, *shape]) for n, shape in inputs.items()]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in cases]
    g = helper.make_graph(nodes, "depthwise_last", ins, outs, inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "depthwise_last.onnx")

    # Hard swish as PP-OCRv4 spells it, x·clip(x + 3, 0, 6)/6 between affine steps, after a
    # depthwise convolution (folded into ours) and after a 1×1 one (tract's matrix product, then
    # our ElementwiseChain; 12·9·13 values, no multiple of 16), and (y + 0.5)·max(y + 0.5, 0):
    # model.test.mjs recomputes them. Weights w[i], bias 0.25·channel.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 20, 9, 13])
    scalar = lambda name, v: helper.make_tensor(name, TensorProto.FLOAT, [], [v])
    inits = [weights("dw_w", [20, 1, 3, 3]), helper.make_tensor("dw_b", TensorProto.FLOAT, [20], [0.25 * c for c in range(20)]),
             weights("pw_w", [12, 20, 1, 1]), helper.make_tensor("pw_b", TensorProto.FLOAT, [12], [0.25 * c for c in range(12)]),
             scalar("a", 0.8), scalar("b", 0.1), scalar("three", 3.0), scalar("zero", 0.0), scalar("six", 6.0),
             scalar("c", 1.2), scalar("d", -0.05), scalar("half", 0.5)]
    nodes = [helper.make_node("Conv", ["x", "dw_w", "dw_b"], ["dw"], kernel_shape=[3, 3], pads=[1, 1, 1, 1], group=20),
             helper.make_node("Conv", ["x", "pw_w", "pw_b"], ["pw"], kernel_shape=[1, 1])]
    for src in ["dw", "pw"]:
        nodes += [helper.make_node("Mul", ["a", src], [f"{src}_m"]), helper.make_node("Add", [f"{src}_m", "b"], [f"{src}_l"]),
                  helper.make_node("Add", [f"{src}_l", "three"], [f"{src}_3"]),
                  helper.make_node("Clip", [f"{src}_3", "zero", "six"], [f"{src}_c"]),
                  helper.make_node("Mul", [f"{src}_l", f"{src}_c"], [f"{src}_p"]),
                  helper.make_node("Div", [f"{src}_p", "six"], [f"{src}_hs"]),
                  helper.make_node("Mul", ["c", f"{src}_hs"], [f"{src}_m2"]), helper.make_node("Add", [f"{src}_m2", "d"], [f"{src}_out"])]
    nodes += [helper.make_node("Add", ["x", "half"], ["y"]), helper.make_node("Max", ["y", "zero"], ["y_relu"]),
              helper.make_node("Mul", ["y_relu", "y"], ["relu_times"])]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in ["dw_out", "pw_out", "relu_times"]]
    g = helper.make_graph(nodes, "chains", [x], outs, inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "chains.onnx")

    # LRN (size 5, beta 0.75; size 4, beta 0.6) and chains of steps by per-channel constants:
    # x·s + t then ReLU over 11 planes of 35 values, (y − t)·s and t − y over planes of 6 values,
    # min(z·u + v, 1.5) by constants along the last axis. model.test.mjs recomputes them:
    # s[i] = 0.5 + 0.1·i, t[i] = 0.25·i − 1, u[i] = 1 − 0.2·i, v[i] = 0.3·i.
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 11, 5, 7])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [2, 6, 3, 2])
    z = helper.make_tensor_value_info("z", TensorProto.FLOAT, [1, 5, 7, 9])
    per = lambda name, dims, f: helper.make_tensor(name, TensorProto.FLOAT, dims, [f(i) for i in range(dims[0] if len(dims) else 1)])
    inits = [per("sx", [11, 1, 1], lambda i: 0.5 + 0.1 * i), per("tx", [11, 1, 1], lambda i: 0.25 * i - 1),
             per("sy", [6, 1, 1], lambda i: 0.5 + 0.1 * i), per("ty", [6, 1, 1], lambda i: 0.25 * i - 1),
             per("u", [9], lambda i: 1 - 0.2 * i), per("v", [9], lambda i: 0.3 * i),
             helper.make_tensor("cap", TensorProto.FLOAT, [], [1.5])]
    nodes = [helper.make_node("LRN", ["x"], ["lrn5"], size=5, alpha=1e-2, beta=0.75, bias=1.0),
             helper.make_node("LRN", ["x"], ["lrn4"], size=4, alpha=0.5, beta=0.6, bias=2.0),
             helper.make_node("Mul", ["x", "sx"], ["xs"]), helper.make_node("Add", ["xs", "tx"], ["xt"]),
             helper.make_node("Relu", ["xt"], ["affine_relu"]),
             helper.make_node("Sub", ["y", "ty"], ["yt"]), helper.make_node("Mul", ["yt", "sy"], ["small_sub"]),
             helper.make_node("Sub", ["ty", "y"], ["small_rsub"]),
             helper.make_node("Mul", ["z", "u"], ["zu"]), helper.make_node("Add", ["zu", "v"], ["zv"]),
             helper.make_node("Min", ["zv", "cap"], ["last_axis"])]
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None)
            for n in ["lrn5", "lrn4", "affine_relu", "small_sub", "small_rsub", "last_axis"]]
    g = helper.make_graph(nodes, "lrn_chains", [x, y, z], outs, inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "lrn_chains.onnx")

    # Full stride-1 convolutions, some followed by element-wise steps our kernels fold in
    # (openWakeWord's leaky ReLU then max(x, -0.4); ReLU then min(x, 0.5)): tests/e2e/model.test.mjs
    # recomputes them in JS. Each case is (kernel, output channels, pads, steps), weights as above,
    # bias 0.25·channel. `direct.onnx`: 5 channels, our wasm kernel without im2col (wide rows,
    # blocks of 4 output channels and a partial last one, asymmetric padding). `winograd.onnx`:
    # 9 channels, 3×1, 1×3 and 3×3 by Winograd's F(4, 3) and F(2×2, 3×3) (partial last tiles, odd
    # sides).
    def stride1(file, shape, cases):
        x = helper.make_tensor_value_info("x", TensorProto.FLOAT, shape)
        nodes, inits = [], []
        for name, (k, m, pads, steps) in cases.items():
            y = f"{name}_conv" if steps else name
            nodes.append(helper.make_node("Conv", ["x", f"{name}_w", f"{name}_b"], [y], kernel_shape=k, pads=pads,
                                          name=name))
            inits += [weights(f"{name}_w", [m, shape[1], *k]),
                      helper.make_tensor(f"{name}_b", TensorProto.FLOAT, [m], [0.25 * c for c in range(m)])]
            for i, (op, value) in enumerate(steps):
                out = name if i == len(steps) - 1 else f"{name}_{i}"
                if op == "LeakyRelu":
                    nodes.append(helper.make_node(op, [y], [out], alpha=value))
                elif op == "Relu":
                    nodes.append(helper.make_node(op, [y], [out]))
                else:
                    inits.append(helper.make_tensor(f"{name}_s{i}", TensorProto.FLOAT, [1], [value]))
                    nodes.append(helper.make_node(op, [y, f"{name}_s{i}"], [out]))
                y = out
        outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in cases]
        g = helper.make_graph(nodes, file, [x], outs, inits)
        onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / f"{file}.onnx")

    leaky_max, relu_min = [("LeakyRelu", 0.2), ("Max", -0.4)], [("Relu", None), ("Min", 0.5)]
    stride1("direct", [1, 5, 9, 27], {
        "c1x3p1": ([1, 3], 6, [0, 1, 0, 1], []), "c3x1valid": ([3, 1], 9, [0, 0, 0, 0], []),
        "c3x3p1": ([3, 3], 4, [1, 1, 1, 1], []), "c5x5p2": ([5, 5], 3, [2, 2, 2, 2], []),
        "c2x4asym": ([2, 4], 7, [0, 1, 1, 2], []), "c3x3leaky": ([3, 3], 5, [1, 1, 1, 1], leaky_max),
        "c1x3clamp": ([1, 3], 6, [0, 1, 0, 1], relu_min)})
    stride1("winograd", [1, 9, 10, 13], {
        "w3x1valid": ([3, 1], 6, [0, 0, 0, 0], []), "w3x1pad": ([3, 1], 5, [2, 0, 1, 0], []),
        "w1x3p1": ([1, 3], 7, [0, 1, 0, 1], relu_min), "w3x3p1": ([3, 3], 5, [1, 1, 1, 1], []),
        "w3x3leaky": ([3, 3], 9, [0, 1, 1, 0], leaky_max)})

    # 1×1 convolutions (our wasm kernel reading the planes in place: blocks of 4 output channels
    # and a partial last one, planes with and without a partial last column tile, one output
    # channel, no bias; the input added back, then a ReLU, as BlazeFace's blocks do):
    # tests/e2e/model.test.mjs recomputes them in JS. Each case is (input, output channels, bias
    # 0.25·channel or none, the input added to the output or none, ReLU after), weights as above.
    inputs = {"x": [1, 11, 9, 27], "y": [1, 7, 4, 16]}
    cases = {"p6": ("x", 6, True, None, False), "p9": ("x", 9, True, None, False), "p1": ("x", 1, True, None, False),
             "q4nobias": ("y", 4, False, None, False), "q10": ("y", 10, True, None, False),
             "p11res": ("x", 11, True, "x", True), "q7res": ("y", 7, False, "y", False)}
    nodes, inits = [], []
    for name, (src, m, bias, shortcut, relu) in cases.items():
        c = inputs[src][1]
        ins = [src, f"{name}_w"] + ([f"{name}_b"] if bias else [])
        y = f"{name}_conv" if shortcut else name
        nodes.append(helper.make_node("Conv", ins, [y], kernel_shape=[1, 1], name=y))
        inits.append(weights(f"{name}_w", [m, c, 1, 1]))
        if bias:
            inits.append(helper.make_tensor(f"{name}_b", TensorProto.FLOAT, [m], [0.25 * o for o in range(m)]))
        if shortcut:
            nodes.append(helper.make_node("Add", [y, shortcut], [f"{name}_sum" if relu else name]))
            if relu:
                nodes.append(helper.make_node("Relu", [f"{name}_sum"], [name]))
    outs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, None) for n in cases]
    xs = [helper.make_tensor_value_info(n, TensorProto.FLOAT, dims) for n, dims in inputs.items()]
    g = helper.make_graph(nodes, "pointwise", xs, outs, inits)
    onnx.save(helper.make_model(g, opset_imports=[helper.make_opsetid("", 17)]), d / "pointwise.onnx")


def main() -> None:
    fixtures()
    only = set(sys.argv[1:])
    for case, (model, inputs) in CASES.items():
        if only and case not in only:
            continue
        d = OUT / case
        if (d / "case.json").exists():
            print(f"[refs] {case}: present")
            continue
        d.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(20261123)
        feeds = {name: generate(kind, spec, rng) for name, (kind, spec) in inputs.items()}
        opts = ort.SessionOptions()
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        opts.intra_op_num_threads = 2
        opts.log_severity_level = 3
        sess = ort.InferenceSession(str(CACHE / model), opts, providers=["CPUExecutionProvider"])
        outs = sess.run(None, feeds)
        meta = {"model": model, "inputs": {}, "outputs": []}
        for name, value in feeds.items():
            f = f"input_{safe(name)}.npy"
            np.save(d / f, value)
            meta["inputs"][name] = f
        for o, value in zip(sess.get_outputs(), outs):
            f = f"output_{safe(o.name)}.npy"
            np.save(d / f, value)
            meta["outputs"].append({"name": o.name, "file": f})
        (d / "case.json").write_text(json.dumps(meta, indent=1))
        print(f"[refs] {case}: {', '.join(f'{o.name}{list(v.shape)}' for o, v in zip(sess.get_outputs(), outs))}")


if __name__ == "__main__":
    main()
