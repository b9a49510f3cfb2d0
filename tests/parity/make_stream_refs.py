#!/usr/bin/env python3
"""Streaming references from onnxruntime for Silero VAD's standard file (`silero_vad.onnx`, the
one whose `If` on the `sr` input picks the 16 kHz or 8 kHz network): real speech fed in frames as
silero-vad's own wrapper feeds it (512 / 256 new samples after 64 / 32 of context), the recurrent
state carried from frame to frame. Written to models/cache/refs/silero_stream_<rate>/:
frames.npy [n, context + frame] (each frame's input), probs.npy [n], state.npy (the last state)."""

import json
import wave
from pathlib import Path

import numpy as np
import onnxruntime as ort

ROOT = Path(__file__).resolve().parents[2]
CACHE = ROOT / "models" / "cache"
MODEL = CACHE / "silero" / "silero_vad.onnx"
FRAMES = 40  # 1.3 s at 16 kHz, 1.3 s at 8 kHz: silence, onset and speech


def speech_16k() -> np.ndarray:
    with wave.open(str(CACHE / "speech-test" / "commands_clean.wav")) as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16)
    return pcm.astype(np.float32) / 32768.0


def main() -> None:
    audio16 = speech_16k()
    # From a little before the first sound, so the frames hold quiet and speech.
    start = max(0, int(np.argmax(np.abs(audio16) > 0.05)) - 8000)
    audio16 = audio16[start : start + 16000 * 3]
    opts = ort.SessionOptions()
    opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
    opts.log_severity_level = 3
    sess = ort.InferenceSession(str(MODEL), opts, providers=["CPUExecutionProvider"])
    for rate, frame, context in ((16000, 512, 64), (8000, 256, 32)):
        d = CACHE / "refs" / f"silero_stream_{rate}"
        if (d / "case.json").exists():
            print(f"[refs] silero_stream_{rate}: present")
            continue
        # 8 kHz: every other sample of a 2-tap average (enough for a reference input).
        audio = audio16 if rate == 16000 else ((audio16[0::2] + audio16[1::2]) / 2).astype(np.float32)
        state = np.zeros((2, 1, 128), np.float32)
        ctx = np.zeros(context, np.float32)
        inputs, probs = [], []
        for i in range(FRAMES):
            x = np.concatenate([ctx, audio[i * frame : (i + 1) * frame]])[None].astype(np.float32)
            out, state = sess.run(None, {"input": x, "state": state, "sr": np.array(rate, np.int64)})
            inputs.append(x[0])
            probs.append(float(out.reshape(-1)[0]))
            ctx = x[0, -context:]
        d.mkdir(parents=True, exist_ok=True)
        np.save(d / "frames.npy", np.stack(inputs))
        np.save(d / "probs.npy", np.array(probs, np.float32))
        np.save(d / "state.npy", state)
        (d / "case.json").write_text(json.dumps({"model": "silero/silero_vad.onnx", "rate": rate}))
        print(f"[refs] silero_stream_{rate}: {FRAMES} frames, speech probability {min(probs):.3f}..{max(probs):.3f}")


if __name__ == "__main__":
    main()
