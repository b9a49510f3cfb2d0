#!/usr/bin/env python3
"""Whisper (CTranslate2 weights) → two ONNX graphs, with numpy and the `onnx` package only.

    whisper.py MODEL.bin [MORE_PARTS ...] ENCODER.onnx DECODER.onnx

MODEL.bin is CTranslate2's Whisper checkpoint (format 5 or later, a WhisperSpec); a checkpoint
shipped in parts (Whisper base: `model.bin.part1`, `.part2`) is given as its parts in order.

- encoder: `mel` f32 [1, 80, 3000] → `cross_k`, `cross_v` f32 [L, H, 1500, D]: the encoder and,
  for each decoder layer, its cross-attention keys and values (computed once per 30-s window).
- decoder, one token per run, fixed shapes so one plan serves every step: `token` i64 [1, 1],
  `position` i64 [1], `self_k`/`self_v` f32 [L, H, N, D] (the key/value cache; rows at or after
  `position` are ignored), `cross_k`/`cross_v` → `logits` f32 [1, V], `new_k`/`new_v` f32
  [L, H, 1, D] (this position's keys and values, which the caller writes into its cache).

Weights stay float16 in the file (half the download) behind a Cast the runtime folds at load.
"""

import struct
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(parts: list[Path]):
    """CTranslate2's model.bin (the concatenation of `parts`): version, spec name, revision,
    variables (name, dims, dtype, bytes), then aliases."""
    b = b"".join(p.read_bytes() for p in parts)
    o = 0

    def u(fmt):
        nonlocal o
        (v,) = struct.unpack_from(fmt, b, o)
        o += struct.calcsize(fmt)
        return v

    def s():
        nonlocal o
        n = u("<H")
        t = b[o:o + n - 1].decode()
        o += n
        return t

    version = u("<I")
    if version < 5:
        sys.exit(f"whisper.py: model.bin format {version}: need 5 or later")
    spec = s()
    if spec != "WhisperSpec":
        sys.exit(f"whisper.py: model.bin holds a {spec}, not a WhisperSpec")
    u("<I")
    out = {}
    for _ in range(u("<I")):
        name = s()
        dims = [u("<I") for _ in range(u("<B"))]
        dt = DTYPES[u("<B")]
        nbytes = u("<I")
        out[name] = np.frombuffer(b, dt, nbytes // np.dtype(dt).itemsize, o).reshape(dims)
        o += nbytes
    for _ in range(u("<I")):
        alias, target = s(), s()
        out[alias] = out[target]
    return out


class Graph:
    def __init__(self, weights):
        self.w = weights
        self.nodes, self.inits, self.n = [], [], 0
        self.consts = {}

    def name(self, hint):
        self.n += 1
        return f"{hint}_{self.n}"

    def op(self, op, inputs, hint=None, **attrs):
        out = self.name(hint or op.lower())
        self.nodes.append(helper.make_node(op, inputs, [out], **attrs))
        return out

    def weight(self, key, transpose=False):
        """A float16 initializer from the checkpoint, cast to float32 in the graph."""
        if key in self.consts:
            return self.consts[key]
        a = np.asarray(self.w[key], np.float16)
        if transpose:
            a = np.ascontiguousarray(a.T)
        raw = key.replace("/", ".") + (".T" if transpose else "")
        self.inits.append(numpy_helper.from_array(a, raw))
        self.consts[key] = self.op("Cast", [raw], "w", to=TensorProto.FLOAT)
        return self.consts[key]

    def const(self, value, dtype=np.float32):
        raw = self.name("c")
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), raw))
        return raw

    def linear(self, x, prefix):
        return self.op("Add", [self.op("MatMul", [x, self.weight(prefix + "/weight", True)]),
                               self.weight(prefix + "/bias")])

    def layer_norm(self, x, prefix):
        return self.op("LayerNormalization", [x, self.weight(prefix + "/gamma"), self.weight(prefix + "/beta")],
                       axis=-1, epsilon=1e-5)

    def gelu(self, x):
        # Exact GELU: x · (1 + erf(x / √2)) / 2.
        e = self.op("Erf", [self.op("Mul", [x, self.const(1 / np.sqrt(2))])])
        return self.op("Mul", [self.op("Mul", [x, self.op("Add", [e, self.const(1.0)])]), self.const(0.5)])

    def heads(self, x, n_heads, d_head):
        """[1, T, H·D] → [H, T, D]."""
        r = self.op("Reshape", [x, self.const([-1, n_heads, d_head], np.int64)])
        return self.op("Transpose", [r], perm=[1, 0, 2])

    def merge(self, x, d_model):
        """[H, T, D] → [1, T, H·D]."""
        t = self.op("Transpose", [x], perm=[1, 0, 2])
        return self.op("Reshape", [t, self.const([1, -1, d_model], np.int64)])

    def attend(self, q, k, v, d_head, mask=None):
        """softmax(q kᵀ / √D + mask) v over [H, T, D] tensors."""
        s = self.op("MatMul", [q, self.op("Transpose", [k], perm=[0, 2, 1])])
        s = self.op("Mul", [s, self.const(1 / np.sqrt(d_head))])
        if mask is not None:
            s = self.op("Add", [s, mask])
        return self.op("MatMul", [self.op("Softmax", [s], axis=-1), v])

    def split(self, x, parts, axis=-1):
        outs = [self.name("split") for _ in range(parts)]
        self.nodes.append(helper.make_node("Split", [x], outs, axis=axis, num_outputs=parts))
        return outs

    def model(self, inputs, outputs, name):
        g = helper.make_graph(self.nodes, name, inputs, outputs, self.inits)
        m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 18)], producer_name="shopfloor whisper.py")
        m.ir_version = 8
        onnx.checker.check_model(m)
        return m


def dims(w):
    d_model = w["encoder/conv1/weight"].shape[0]
    n_heads = int(w["encoder/num_heads"]) if w["encoder/num_heads"].size == 1 and int(w["encoder/num_heads"]) > 0 \
        else d_model // 64
    enc_layers = sum(1 for k in w if k.startswith("encoder/layer_") and k.endswith("self_attention/linear_1/bias"))
    dec_layers = sum(1 for k in w if k.startswith("decoder/layer_") and k.endswith("self_attention/linear_1/bias"))
    return d_model, n_heads, d_model // n_heads, enc_layers, dec_layers


def encoder(w):
    d_model, H, D, n_enc, n_dec = dims(w)
    g = Graph(w)
    x = g.op("Conv", ["mel", g.weight("encoder/conv1/weight"), g.weight("encoder/conv1/bias")], pads=[1, 1])
    x = g.gelu(x)
    x = g.op("Conv", [x, g.weight("encoder/conv2/weight"), g.weight("encoder/conv2/bias")], pads=[1, 1], strides=[2])
    x = g.gelu(x)
    x = g.op("Transpose", [x], perm=[0, 2, 1])
    x = g.op("Add", [x, g.weight("encoder/position_encodings/encodings")])
    for i in range(n_enc):
        p = f"encoder/layer_{i}"
        h = g.layer_norm(x, p + "/self_attention/layer_norm")
        q, k, v = g.split(g.linear(h, p + "/self_attention/linear_0"), 3)
        a = g.attend(g.heads(q, H, D), g.heads(k, H, D), g.heads(v, H, D), D)
        x = g.op("Add", [x, g.linear(g.merge(a, d_model), p + "/self_attention/linear_1")])
        h = g.layer_norm(x, p + "/ffn/layer_norm")
        h = g.linear(g.gelu(g.linear(h, p + "/ffn/linear_0")), p + "/ffn/linear_1")
        x = g.op("Add", [x, h])
    x = g.layer_norm(x, "encoder/layer_norm")
    ks, vs = [], []
    for i in range(n_dec):
        k, v = g.split(g.linear(x, f"decoder/layer_{i}/attention/linear_1"), 2)
        ks.append(g.op("Unsqueeze", [g.heads(k, H, D), g.const([0], np.int64)]))
        vs.append(g.op("Unsqueeze", [g.heads(v, H, D), g.const([0], np.int64)]))
    g.nodes.append(helper.make_node("Concat", ks, ["cross_k"], axis=0))
    g.nodes.append(helper.make_node("Concat", vs, ["cross_v"], axis=0))
    frames = 2 * w["encoder/position_encodings/encodings"].shape[0]
    f32 = TensorProto.FLOAT
    kv = [n_dec, H, frames // 2, D]
    return g.model([helper.make_tensor_value_info("mel", f32, [1, 80, frames])],
                   [helper.make_tensor_value_info("cross_k", f32, kv), helper.make_tensor_value_info("cross_v", f32, kv)],
                   "whisper_encoder")


def decoder(w):
    d_model, H, D, n_enc, n_dec = dims(w)
    n_ctx = w["decoder/position_encodings/encodings"].shape[0]
    frames = w["encoder/position_encodings/encodings"].shape[0]
    vocab = w["decoder/embeddings/weight"].shape[0]
    # The embedding's rows padded to a multiple of 64: the packed form of the logits product's
    # weights is then no larger than the weights, which is when tract packs them once at load
    # instead of on every step (its constant folding refuses outputs larger than inputs).
    rows = -(-vocab // 64) * 64
    padded = dict(w)
    padded["decoder/embeddings/weight"] = np.concatenate(
        [w["decoder/embeddings/weight"], np.zeros((rows - vocab, d_model), np.float16)])
    g = Graph(padded)
    emb = g.weight("decoder/embeddings/weight")
    tok = g.op("Gather", [emb, "token"], axis=0)  # [1, 1, d]
    pos = g.op("Gather", [g.weight("decoder/position_encodings/encodings"), "position"], axis=0)  # [1, d]
    x = g.op("Add", [tok, pos])
    # Cache rows before `position` are attended to; the rest (stale or empty) are masked out.
    rows = g.const(np.arange(n_ctx), np.int64)
    valid = g.op("Less", [rows, "position"])
    mask = g.op("Where", [valid, g.const(0.0), g.const(-1e9)])  # [N]
    mask = g.op("Concat", [mask, g.const([0.0])], axis=0)  # the new row always counts
    new_k, new_v = [], []
    for i in range(n_dec):
        p = f"decoder/layer_{i}"
        h = g.layer_norm(x, p + "/self_attention/layer_norm")
        q, k, v = g.split(g.linear(h, p + "/self_attention/linear_0"), 3)
        q, k, v = g.heads(q, H, D), g.heads(k, H, D), g.heads(v, H, D)  # [H, 1, D]
        new_k.append(g.op("Unsqueeze", [k, g.const([0], np.int64)]))
        new_v.append(g.op("Unsqueeze", [v, g.const([0], np.int64)]))
        idx = g.const([i], np.int64)
        past_k = g.op("Squeeze", [g.op("Gather", ["self_k", idx], axis=0), g.const([0], np.int64)])
        past_v = g.op("Squeeze", [g.op("Gather", ["self_v", idx], axis=0), g.const([0], np.int64)])
        all_k = g.op("Concat", [past_k, k], axis=1)
        all_v = g.op("Concat", [past_v, v], axis=1)
        a = g.attend(q, all_k, all_v, D, mask)
        x = g.op("Add", [x, g.linear(g.merge(a, d_model), p + "/self_attention/linear_1")])
        h = g.layer_norm(x, p + "/attention/layer_norm")
        q = g.heads(g.linear(h, p + "/attention/linear_0"), H, D)
        ck = g.op("Squeeze", [g.op("Gather", ["cross_k", idx], axis=0), g.const([0], np.int64)])
        cv = g.op("Squeeze", [g.op("Gather", ["cross_v", idx], axis=0), g.const([0], np.int64)])
        a = g.attend(q, ck, cv, D)
        x = g.op("Add", [x, g.linear(g.merge(a, d_model), p + "/attention/linear_2")])
        h = g.layer_norm(x, p + "/ffn/layer_norm")
        h = g.linear(g.gelu(g.linear(h, p + "/ffn/linear_0")), p + "/ffn/linear_1")
        x = g.op("Add", [x, h])
    x = g.layer_norm(x, "decoder/layer_norm")
    x = g.op("Reshape", [x, g.const([1, d_model], np.int64)])
    logits = g.op("MatMul", [x, g.op("Transpose", [emb], perm=[1, 0])])
    g.nodes.append(helper.make_node("Slice", [logits, g.const([0], np.int64), g.const([vocab], np.int64),
                                              g.const([1], np.int64)], ["logits"]))
    g.nodes.append(helper.make_node("Concat", new_k, ["new_k"], axis=0))
    g.nodes.append(helper.make_node("Concat", new_v, ["new_v"], axis=0))
    f32, i64 = TensorProto.FLOAT, TensorProto.INT64
    cache, cross, step = [n_dec, H, n_ctx, D], [n_dec, H, frames, D], [n_dec, H, 1, D]
    return g.model(
        [helper.make_tensor_value_info("token", i64, [1, 1]), helper.make_tensor_value_info("position", i64, [1]),
         helper.make_tensor_value_info("self_k", f32, cache), helper.make_tensor_value_info("self_v", f32, cache),
         helper.make_tensor_value_info("cross_k", f32, cross), helper.make_tensor_value_info("cross_v", f32, cross)],
        [helper.make_tensor_value_info("logits", f32, [1, vocab]), helper.make_tensor_value_info("new_k", f32, step),
         helper.make_tensor_value_info("new_v", f32, step)],
        "whisper_decoder")


def save(m, path: Path):
    # Deterministic bytes: the setup pins them by sha256.
    path.write_bytes(m.SerializeToString(deterministic=True))


def main():
    if len(sys.argv) < 4:
        sys.exit(__doc__)
    *parts, enc, dec = map(Path, sys.argv[1:])
    w = read_ct2(parts)
    save(encoder(w), enc)
    save(decoder(w), dec)
    d_model, heads, _, n_enc, n_dec = dims(w)
    print(f"whisper.py: d_model {d_model}, {heads} heads, {n_enc} encoder + {n_dec} decoder layers")


if __name__ == "__main__":
    main()
