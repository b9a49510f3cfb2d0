"""fuzz/models/tiny_cnn.onnx: Conv 3x3 (3 -> 4) + Relu + GlobalAveragePool on x[N, 3, H, W], all
dims symbolic, for the run_inputs fuzz target (committed; rebuilt with the setup's venv):

    target/py/bin/python fuzz/models/make_tiny_cnn.py
"""
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

w = numpy_helper.from_array((np.arange(4 * 3 * 3 * 3, dtype=np.float32) % 7 - 3) / 10, "w")
b = numpy_helper.from_array(np.array([0.1, -0.2, 0.3, 0.0], dtype=np.float32), "b")
nodes = [
    helper.make_node("Conv", ["x", "w", "b"], ["c"], kernel_shape=[3, 3], pads=[1, 1, 1, 1]),
    helper.make_node("Relu", ["c"], ["r"]),
    helper.make_node("GlobalAveragePool", ["r"], ["out"]),
]
graph = helper.make_graph(
    nodes, "tiny_cnn",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["n", 3, "h", "w"])],
    [helper.make_tensor_value_info("out", TensorProto.FLOAT, ["n", 4, 1, 1])],
    [w, b],
)
model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)], producer_name="shopfloor-fuzz")
model.ir_version = 8
onnx.checker.check_model(model)
onnx.save(model, Path(__file__).with_name("tiny_cnn.onnx"))
