#!/usr/bin/env python3
"""References for the Whisper tests, under models/cache/whisper-tiny-en/reference/:
- mel_filters.npy: the filter bank Whisper was trained with (openai-whisper's mel_filters.npz);
- audio.npy, mel.npy: one dictation recording and its log-mel computed as whisper/audio.py does
  (torch.stft centre/reflect, periodic Hann, last frame dropped), in numpy;
- cross_k.npy, logits_sot.npy: onnxruntime's encoder keys and first decoder step on that mel.
"""
import wave
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
MODEL = ROOT / "models" / "cache" / "whisper-tiny-en"
OUT = MODEL / "reference"
AUDIO = ROOT / "models" / "cache" / "dictation-test" / "en-us_00_clean.wav"


def log_mel(audio, filters):
    audio = np.pad(audio, (0, max(0, 480000 - len(audio))))[:480000].astype(np.float64)
    x = np.pad(audio, 200, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(400) / 400)
    frames = np.stack([x[i * 160:i * 160 + 400] * window for i in range(1 + (len(x) - 400) // 160)])
    power = np.abs(np.fft.rfft(frames, axis=1)) ** 2
    mel = filters.astype(np.float64) @ power[:-1].T
    log = np.log10(np.maximum(mel, 1e-10))
    log = np.maximum(log, log.max() - 8.0)
    return ((log + 4.0) / 4.0).astype(np.float32)


def main():
    if (OUT / "logits_sot.npy").exists():
        print("[whisper refs] present")
        return
    filters = np.load(OUT / "mel_filters.npz")["mel_80"]
    np.save(OUT / "mel_filters.npy", filters.astype(np.float32))
    with wave.open(str(AUDIO)) as w:
        audio = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768
    mel = log_mel(audio, filters)
    np.save(OUT / "audio.npy", audio)
    np.save(OUT / "mel.npy", mel)
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    enc = ort.InferenceSession(str(MODEL / "encoder.onnx"), opts)
    cross_k, cross_v = enc.run(None, {"mel": mel[None]})
    dec = ort.InferenceSession(str(MODEL / "decoder.onnx"), opts)
    layers, heads, _, dims = cross_k.shape
    cache = np.zeros((layers, heads, 448, dims), np.float32)
    logits, _, _ = dec.run(None, {"token": np.array([[50257]], np.int64), "position": np.array([0], np.int64),
                                  "self_k": cache, "self_v": cache, "cross_k": cross_k, "cross_v": cross_v})
    np.save(OUT / "cross_k.npy", cross_k)
    np.save(OUT / "logits_sot.npy", logits)
    print(f"[whisper refs] written to {OUT}")


if __name__ == "__main__":
    main()
