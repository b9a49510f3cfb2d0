#!/usr/bin/env python3
"""What onnxruntime makes of the multilingual dictation set with our Whisper base files, for the
tests to hold the SDK to (`tests/transcribe_languages.rs`): per recording, the language
Whisper's detection picks (the likeliest language token after <|startoftranscript|>) and the
greedy transcript in the recording's own language with timestamps (openai-whisper's logit
filters: SuppressBlank, SuppressTokens, ApplyTimestampRules, written again here in numpy),
to models/cache/dictation-multilingual/reference.tsv (file, detected, text). CTranslate2 on the
original weights detects the same languages and writes the same texts (checked by hand,
docs/dictation.md).
"""
import csv
import json
import sys
import wave
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "cache" / "whisper-base"
DATA = ROOT / "models" / "cache" / "dictation-multilingual"
FILTERS = ROOT / "models" / "cache" / "whisper-tiny-en" / "reference" / "mel_filters.npy"
sys.path.insert(0, str(Path(__file__).parent))
from make_whisper_refs import log_mel  # noqa: E402


class Base:
    def __init__(self):
        self.enc = ort.InferenceSession(str(MODEL / "encoder.onnx"))
        self.dec = ort.InferenceSession(str(MODEL / "decoder.onnx"))
        tok = json.loads((MODEL / "tokenizer.json").read_text())
        self.vocab = {i: t for t, i in tok["model"]["vocab"].items()}
        self.added = {a["content"]: a["id"] for a in tok["added_tokens"]}
        cfg = json.loads((MODEL / "config.json").read_text())
        self.suppress, self.begin, self.langs = cfg["suppress_ids"], cfg["suppress_ids_begin"], cfg["lang_ids"]
        self.code = {i: c.strip("<|>") for c, i in self.added.items() if i in self.langs}
        bs = list(range(33, 127)) + list(range(161, 173)) + list(range(174, 256))
        cs, n = bs[:], 0
        for b in range(256):
            if b not in bs:
                bs.append(b)
                cs.append(256 + n)
                n += 1
        self.byte = {chr(c): b for b, c in zip(bs, cs)}

    def step(self, token, pos, cache, cross):
        lg, nk, nv = self.dec.run(None, {"token": np.array([[token]], np.int64), "position": np.array([pos], np.int64),
                                         "self_k": cache[0], "self_v": cache[1], "cross_k": cross[0],
                                         "cross_v": cross[1]})
        cache[0][:, :, pos], cache[1][:, :, pos] = nk[:, :, 0], nv[:, :, 0]
        return lg[0].copy()

    @staticmethod
    def timestamp_rules(lg, out, eot, no_ts, ts):
        """openai-whisper's ApplyTimestampRules (max_initial_timestamp 1.0 s)."""
        lg[no_ts] = -np.inf
        lg[eot + 1:no_ts] = -np.inf  # the other specials
        last = len(out) >= 1 and out[-1] >= ts
        penultimate = len(out) < 2 or out[-2] >= ts
        if last:
            if penultimate:
                lg[ts:] = -np.inf
            else:
                lg[:eot] = -np.inf
        stamps = [t for t in out if t >= ts]
        if stamps:
            lg[ts:stamps[-1] + (0 if last and not penultimate else 1)] = -np.inf
        if not out:
            lg[:ts] = -np.inf
            lg[ts + 50 + 1:] = -np.inf
        lp = lg - np.logaddexp.reduce(lg)
        if np.logaddexp.reduce(lp[ts:]) > lp[:ts].max():
            lg[:ts] = -np.inf

    def __call__(self, mel, lang):
        cross = self.enc.run(None, {"mel": mel[None]})
        k = cross[0]
        fresh = lambda: [np.zeros((k.shape[0], k.shape[1], 448, k.shape[3]), np.float32) for _ in range(2)]  # noqa: E731
        sot = self.added["<|startoftranscript|>"]
        lg = self.step(sot, 0, fresh(), cross)
        detected = self.code[max(self.langs, key=lambda i: lg[i])]
        prefix = [sot, self.added[f"<|{lang}|>"], self.added["<|transcribe|>"]]
        eot, cache, out = self.added["<|endoftext|>"], fresh(), []
        no_ts = self.added["<|notimestamps|>"]
        ts = no_ts + 1
        for pos in range(448):
            t = prefix[pos] if pos < len(prefix) else out[-1]
            lg = self.step(t, pos, cache, cross)
            if pos < len(prefix) - 1:
                continue
            if not out:
                lg[self.begin] = -np.inf  # SuppressBlank: " " and end-of-text
            lg[self.suppress] = -np.inf
            self.timestamp_rules(lg, out, eot, no_ts, ts)
            best = int(lg.argmax())
            if best == eot or len(out) >= 224:
                break
            out.append(best)
        text = bytes(self.byte[c] for i in out if i < eot for c in self.vocab[i]).decode("utf-8", "replace")
        return detected, text.strip()


def main():
    out = DATA / "reference.tsv"
    if out.exists():
        print("[whisper multilingual refs] present")
        return
    run, rows = Base(), []
    filters = np.load(FILTERS)
    with open(DATA / "transcripts.tsv") as f:
        for row in csv.DictReader(f, delimiter="\t"):
            with wave.open(str(DATA / row["file"])) as w:
                x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
            detected, text = run(log_mel(x, filters), row["condition"])
            rows.append(f"{row['file']}\t{detected}\t{text}")
    out.with_suffix(".tmp").write_text("file\tdetected\ttext\n" + "\n".join(rows) + "\n")
    out.with_suffix(".tmp").replace(out)
    print(f"[whisper multilingual refs] {len(rows)} recordings → {out}")


if __name__ == "__main__":
    main()
