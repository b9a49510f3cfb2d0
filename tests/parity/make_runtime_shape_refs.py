#!/usr/bin/env python3
"""Models whose shapes come from graph inputs at run time (ConstantOfShape, Expand, Reshape, Tile,
Slice with steps, OneHot's depth, Resize's sizes and scales, Pad, Unsqueeze/Squeeze/ReduceSum axes as inputs,
a shape computed from an input), each run by onnxruntime at several input values. Written to
models/cache/runtime-shapes/: <name>.onnx and cases.json ({name: [{inputs: {input: file},
outputs: [file]}]}), the .npy files beside them."""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
from onnx import TensorProto as T
from onnx import helper as h

OUT = Path(__file__).resolve().parents[2] / "models" / "cache" / "runtime-shapes"


def f(name, shape):
    return h.make_tensor_value_info(name, T.FLOAT, shape)


def i(name, shape):
    return h.make_tensor_value_info(name, T.INT64, shape)


def ints(*v):
    return np.array(v, np.int64)


def floats(*shape):
    return np.arange(int(np.prod(shape)), dtype=np.float32).reshape(shape) / 7.0 - 1.0


# name -> (nodes, inputs, outputs, initializers, opset, [feeds per case])
MODELS = {
    "constant_of_shape": (
        [h.make_node("ConstantOfShape", ["s"], ["y"], value=h.make_tensor("v", T.FLOAT, [1], [2.5]))],
        [i("s", [2])],
        [f("y", None)],
        [],
        17,
        [{"s": ints(2, 3)}, {"s": ints(4, 1)}, {"s": ints(2, 3)}],
    ),
    "expand": (
        [h.make_node("Expand", ["x", "s"], ["y"])],
        [f("x", [1, 3]), i("s", [2])],
        [f("y", None)],
        [],
        17,
        [{"x": floats(1, 3), "s": ints(4, 3)}, {"x": floats(1, 3), "s": ints(2, 1)}],
    ),
    "reshape": (
        [h.make_node("Reshape", ["x", "s"], ["y"])],
        [f("x", [2, 6]), i("s", [3])],
        [f("y", None)],
        [],
        17,
        [{"x": floats(2, 6), "s": ints(3, 2, 2)}, {"x": floats(2, 6), "s": ints(-1, 3, 1)}, {"x": floats(2, 6), "s": ints(0, 2, 3)}],
    ),
    "tile": (
        [h.make_node("Tile", ["x", "r"], ["y"])],
        [f("x", [2, 3]), i("r", [2])],
        [f("y", None)],
        [],
        17,
        [{"x": floats(2, 3), "r": ints(2, 1)}, {"x": floats(2, 3), "r": ints(1, 3)}],
    ),
    "slice_steps": (
        [h.make_node("Slice", ["x", "st", "en", "ax", "sp"], ["y"])],
        [f("x", [6, 4]), i("st", [1]), i("en", [1]), i("ax", [1]), i("sp", [1])],
        [f("y", None)],
        [],
        17,
        [
            {"x": floats(6, 4), "st": ints(0), "en": ints(6), "ax": ints(0), "sp": ints(2)},
            {"x": floats(6, 4), "st": ints(-1), "en": ints(-100), "ax": ints(1), "sp": ints(-1)},
        ],
    ),
    "one_hot": (
        [h.make_node("OneHot", ["i", "d", "v"], ["y"])],
        [i("i", [3]), i("d", [1])],
        [f("y", None)],
        [h.make_tensor("v", T.FLOAT, [2], [0.0, 1.0])],
        17,
        [{"i": ints(0, 2, 3), "d": ints(4)}, {"i": ints(0, 2, 3), "d": ints(6)}],
    ),
    "resize_sizes": (
        [h.make_node("Resize", ["x", "", "", "sz"], ["y"], mode="nearest")],
        [f("x", [1, 1, 2, 3]), i("sz", [4])],
        [f("y", None)],
        [],
        17,
        [{"x": floats(1, 1, 2, 3), "sz": ints(1, 1, 4, 6)}, {"x": floats(1, 1, 2, 3), "sz": ints(1, 1, 3, 3)}],
    ),
    "resize_scales": (
        [h.make_node("Resize", ["x", "", "sc"], ["y"], mode="linear")],
        [f("x", [1, 1, 2, 3]), f("sc", [4])],
        [f("y", None)],
        [],
        17,
        [
            {"x": floats(1, 1, 2, 3), "sc": np.array([1, 1, 2, 2], np.float32)},
            {"x": floats(1, 1, 2, 3), "sc": np.array([1, 1, 1.5, 0.5], np.float32)},
        ],
    ),
    "pad": (
        [h.make_node("Pad", ["x", "p"], ["y"])],
        [f("x", [2, 3]), i("p", [4])],
        [f("y", None)],
        [],
        17,
        [{"x": floats(2, 3), "p": ints(0, 1, 0, 2)}, {"x": floats(2, 3), "p": ints(1, 0, 1, 0)}],
    ),
    "unsqueeze_axes": (
        [h.make_node("Unsqueeze", ["x", "a"], ["y"])],
        [f("x", [2, 3]), i("a", [1])],
        [f("y", None)],
        [],
        17,
        [{"x": floats(2, 3), "a": ints(0)}, {"x": floats(2, 3), "a": ints(-1)}],
    ),
    "reduce_sum_axes": (
        [h.make_node("ReduceSum", ["x", "a"], ["y"], keepdims=0)],
        [f("x", [2, 3, 4]), i("a", [1])],
        [f("y", None)],
        [],
        18,
        [{"x": floats(2, 3, 4), "a": ints(1)}, {"x": floats(2, 3, 4), "a": ints(-1)}],
    ),
    # A shape computed from an input: [n, total / n] from the scalar n.
    "reshape_computed": (
        [
            h.make_node("Unsqueeze", ["n", "zero"], ["n1"]),
            h.make_node("Concat", ["n1", "minus_one"], ["s"], axis=0),
            h.make_node("Reshape", ["x", "s"], ["y"]),
        ],
        [f("x", [12]), i("n", [])],
        [f("y", None)],
        [h.make_tensor("zero", T.INT64, [1], [0]), h.make_tensor("minus_one", T.INT64, [1], [-1])],
        17,
        [{"x": floats(12), "n": np.array(3, np.int64)}, {"x": floats(12), "n": np.array(4, np.int64)}],
    ),
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    if (OUT / "cases.json").exists():
        print("[refs] runtime-shapes: present")
        return
    index = {}
    for name, (nodes, inputs, outputs, inits, opset, cases) in MODELS.items():
        graph = h.make_graph(nodes, name, inputs, outputs, initializer=inits)
        model = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)])
        model.ir_version = 8
        onnx.save(model, OUT / f"{name}.onnx")
        sess = ort.InferenceSession(str(OUT / f"{name}.onnx"), providers=["CPUExecutionProvider"])
        index[name] = []
        for k, feeds in enumerate(cases):
            entry = {"inputs": {}, "outputs": []}
            for input_name, value in feeds.items():
                file = f"{name}_{k}_in_{input_name}.npy"
                np.save(OUT / file, value)
                entry["inputs"][input_name] = file
            for j, value in enumerate(sess.run(None, feeds)):
                file = f"{name}_{k}_out_{j}.npy"
                np.save(OUT / file, value)
                entry["outputs"].append(file)
            index[name].append(entry)
    (OUT / "cases.json").write_text(json.dumps(index, indent=1))
    print(f"[refs] runtime-shapes: {len(index)} models, {sum(map(len, index.values()))} cases")


if __name__ == "__main__":
    main()
