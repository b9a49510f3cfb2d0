"""Test speech for the voice commands, from espeak-ng voices that training never used
(synth.BASES_TEST × synth.VARIANTS_TEST; with --engine, flite's rms, a speaker of another
synthesiser that training never used): per SNR (clean, 10 dB, 0 dB) one recording with every
command said N times, and 30+ minutes of other speech and noise for false alarms. Each .wav has a
.json with the true command spans. Deterministic; writes models/cache/speech-test/.

    target/py/bin/python scripts/speech/make_test_audio.py [--per-command 20] [--other-minutes 30]
"""
import argparse
import json
import os
import subprocess
import sys
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import synth  # noqa: E402


def write_wav(path, x, rate=synth.SR, channels=1):
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    if channels > 1:
        pcm = np.repeat(pcm[:, None], channels, 1).reshape(-1)
    with wave.open(path, "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(pcm.tobytes())


def commands_recording(rng, voices, per_command, cache):
    parts, spans, t = [np.zeros(synth.SR, np.float32)], [], synth.SR
    order = [c for c in synth.COMMANDS for _ in range(per_command)]
    rng.shuffle(order)
    for cmd in order:
        voice = voices[rng.integers(len(voices))]
        rate, pitch = int(rng.integers(130, 200)), int(rng.integers(25, 75))
        gain = 10 ** rng.uniform(-0.8, 0)
        start = t
        for i, w in enumerate(synth.COMMANDS[cmd]):
            if i:
                g = np.zeros(int(rng.uniform(0.05, 0.25) * synth.SR), np.float32)
                parts.append(g); t += len(g)
            x = synth.espeak(w, voice, rate, pitch, cache) * gain
            parts.append(x); t += len(x)
        spans.append({"command": cmd, "start": start / synth.SR, "end": t / synth.SR, "voice": voice})
        g = np.zeros(int(rng.uniform(1.6, 2.6) * synth.SR), np.float32)
        parts.append(g); t += len(g)
    return np.concatenate(parts), spans


def other_recording(rng, voices, minutes, cache):
    """Sentences of other words (including sound-alikes of the commands) and stretches of noise."""
    parts, t, n = [], 0, int(minutes * 60 * synth.SR)
    while t < n:
        if rng.random() < 0.8:
            voice = voices[rng.integers(len(voices))]
            words = synth.sentence(rng, synth.OTHER)
            x = synth.espeak(words, voice, int(rng.integers(130, 200)), int(rng.integers(25, 75)), cache)
            x = x * 10 ** rng.uniform(-0.8, 0)
        else:
            x = synth.noise_stretch(rng)
        parts.append(x.astype(np.float32)); t += len(x)
        g = np.zeros(int(rng.uniform(0.3, 1.5) * synth.SR), np.float32)
        parts.append(g); t += len(g)
    x = np.concatenate(parts)
    return synth.mix(x, 20, "pink", 99)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models/cache/speech-test")
    ap.add_argument("--per-command", type=int, default=20)
    ap.add_argument("--other-minutes", type=float, default=30)
    ap.add_argument("--cache", default="target/speech-cache")
    ap.add_argument("--dev", action="store_true", help="training voices, other takes")
    ap.add_argument("--val", action="store_true", help="training accents, variants held out of training: for choosing the threshold")
    ap.add_argument("--engine", action="store_true",
                    help="another synthesiser's speaker that training never heard (synth.ENGINE_VOICES_TEST, needs flite)")
    ap.add_argument("--seed", type=int, help="another draw of the same voices (e.g. a longer false-alarm run)")
    args = ap.parse_args()
    os.makedirs(args.out, exist_ok=True)
    if args.dev:
        voices, seed = synth.voices(synth.BASES_TRAIN, synth.VARIANTS_TRAIN), 11
    elif args.val:
        voices, seed = synth.voices(synth.BASES_TRAIN, synth.VARIANTS_VAL), 13
    elif args.engine:
        voices, seed = synth.ENGINE_VOICES_TEST, 19
    else:
        voices, seed = synth.voices(synth.BASES_TEST, synth.VARIANTS_TEST), 7
    if args.seed is not None:
        seed = args.seed
    rng = np.random.default_rng(seed)
    clean, spans = commands_recording(rng, voices, args.per_command, args.cache)
    for name, snr in [("clean", None), ("snr10", 10), ("snr0", 0)]:
        x = synth.mix(clean, snr, "pink", 5)
        write_wav(os.path.join(args.out, f"commands_{name}.wav"), x)
        with open(os.path.join(args.out, f"commands_{name}.json"), "w") as f:
            json.dump({"snr": snr, "commands": spans}, f, indent=1)
    other = other_recording(rng, voices, args.other_minutes, args.cache)
    write_wav(os.path.join(args.out, "other.wav"), other)
    with open(os.path.join(args.out, "other.json"), "w") as f:
        json.dump({"snr": 20, "commands": []}, f)
    if args.dev or args.val or args.engine or args.seed is not None:
        return
    # One command, for the browser's fake microphone and the sample-rate tests.
    x = np.concatenate([np.zeros(int(0.5 * synth.SR), np.float32),
                        synth.espeak("line", voices[0], 160, 50, args.cache), np.zeros(2400, np.float32),
                        synth.espeak("two", voices[0], 160, 50, args.cache), np.zeros(int(1.5 * synth.SR), np.float32)])
    line_two = os.path.join(args.out, "line_two.wav")
    write_wav(line_two, x)
    for name, opts in [("line_two_8k.wav", ["-r", "8000"]), ("line_two_44k_stereo.wav", ["-r", "44100", "-c", "2"]), ("line_two_96k.wav", ["-r", "96000", "-b", "24"])]:
        subprocess.run(["sox", line_two, *opts, os.path.join(args.out, name)], check=True)
    # Enrolment: a phrase outside the vocabulary, 4 takes by one voice, tests by other voices.
    phrase = "conveyor jam"
    for i in range(4):
        y = synth.espeak(phrase, voices[1], 150 + 10 * i, 45 + 5 * i, args.cache)
        write_wav(os.path.join(args.out, f"enrol_{i}.wav"), np.concatenate([np.zeros(4000, np.float32), y, np.zeros(8000, np.float32)]))
    takes, tspans, t = [np.zeros(synth.SR, np.float32)], [], synth.SR
    for i in range(20):
        v = voices[(3 * i + 2) % len(voices)]
        y = synth.espeak(phrase if i % 2 == 0 else "conveyor belt" if i % 4 == 1 else "jam jar", v, int(rng.integers(140, 190)), int(rng.integers(35, 65)), args.cache)
        if i % 2 == 0:
            tspans.append({"command": phrase, "start": t / synth.SR, "end": (t + len(y)) / synth.SR, "voice": v})
        takes += [y, np.zeros(int(1.8 * synth.SR), np.float32)]
        t += len(y) + int(1.8 * synth.SR)
    write_wav(os.path.join(args.out, "enrol_test.wav"), np.concatenate(takes))
    with open(os.path.join(args.out, "enrol_test.json"), "w") as f:
        json.dump({"snr": None, "commands": tspans}, f, indent=1)
    print(f"wrote {args.out}: {len(spans)} commands per SNR, {len(other) / synth.SR / 60:.1f} min of other audio")


if __name__ == "__main__":
    main()
