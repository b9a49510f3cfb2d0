#!/usr/bin/env python3
"""Writes the ONNX backend test suite in a form the Rust tests read: for each case a folder with
model.onnx, inputs/outputs as .npy and case.json. Two parts, both from the onnx PyPI package:
 - node/: the single-op cases; the wheel ships their generators (with numpy reference outputs)
   but no longer the generated files, so we run the generators;
 - light/: real CNN architectures with synthetic weights and the expected outputs the package
   ships, for the input the onnx runner uses (arange(n)/n).
Cases whose inputs or outputs are not plain tensors (sequences, maps, strings) are left out."""

import json
import shutil
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper

ROOT = Path(__file__).resolve().parents[2]
LIGHT_SRC = ROOT / "models" / "cache" / "onnx-tests" / "light"
SUPPORTED = {np.float32, np.float64, np.float16, np.int64, np.int32, np.uint8, np.int8, np.bool_}


def write_case(d: Path, model_bytes: bytes, inputs, outputs) -> bool:
    if any(not isinstance(v, np.ndarray) or v.dtype.type not in SUPPORTED for _, v in [*inputs, *outputs]):
        return False
    d.mkdir(parents=True, exist_ok=True)
    (d / "model.onnx").write_bytes(model_bytes)
    meta = {"model": "model.onnx", "inputs": {}, "outputs": []}
    for i, (name, v) in enumerate(inputs):
        np.save(d / f"input_{i}.npy", v)
        meta["inputs"][name] = f"input_{i}.npy"
    for i, (name, v) in enumerate(outputs):
        np.save(d / f"output_{i}.npy", v)
        meta["outputs"].append({"name": name, "file": f"output_{i}.npy"})
    (d / "case.json").write_text(json.dumps(meta))
    return True


def node_cases(out: Path) -> int:
    from onnx.backend.test.case import node as node_suite

    n = 0
    for case in node_suite.collect_testcases():
        m = case.model
        inputs, outputs = case.data_sets[0]
        try:
            ins = [(m.graph.input[j].name, np.asarray(v) if np.isscalar(v) else v) for j, v in enumerate(inputs)]
            outs = [(m.graph.output[j].name, v) for j, v in enumerate(outputs)]
        except (IndexError, TypeError):
            continue
        if any(not i.type.HasField("tensor_type") for i in [*m.graph.input, *m.graph.output]):
            continue
        n += write_case(out / case.name, m.SerializeToString(), ins, outs)
    return n


def light_cases(out: Path) -> int:
    n = 0
    for model_path in sorted(LIGHT_SRC.glob("light_*.onnx")):
        m = onnx.load(model_path)
        inits = {i.name for i in m.graph.initializer}
        ins = []
        for x in m.graph.input:
            if x.name in inits:
                continue
            shape = tuple(d.dim_value if d.HasField("dim_value") else 1 for d in x.type.tensor_type.shape.dim)
            count = int(np.prod(shape))
            ins.append((x.name, (np.arange(count).reshape(shape) / count).astype(np.float32)))
        expected = model_path.with_name(model_path.stem + "_output_0.pb")
        t = onnx.TensorProto()
        t.ParseFromString(expected.read_bytes())
        outs = [(m.graph.output[0].name, numpy_helper.to_array(t))]
        n += write_case(out / model_path.stem, model_path.read_bytes(), ins, outs)
    return n


def main(out: str) -> None:
    out = Path(out)
    if (out / ".complete").exists():
        print(f"[models] ONNX suite: present in {out}")
        return
    shutil.rmtree(out, ignore_errors=True)
    nodes = node_cases(out / "node")
    lights = light_cases(out / "light")
    (out / ".complete").write_text(f"onnx {onnx.__version__}: {nodes} node cases, {lights} light models\n")
    print(f"[models] ONNX suite from onnx {onnx.__version__}: {nodes} node cases, {lights} light models in {out}")


if __name__ == "__main__":
    main(sys.argv[1])
