"""Scores a command head on the test (or validation) speech in Python, for trying heads quickly:
the same embeddings (synth.Frontend), Silero VAD gate and grammar decoder as the Rust pipeline
(src/speech/commands.rs, grammar.rs), ported line for line. `shopfloor bench-commands` stays the
measurement of record; this gives the same table in seconds once the embeddings are cached.

    target/py/bin/python scripts/speech/evaluate.py [--head models/speech/head.onnx] [--data models/cache/speech-test]
"""
import argparse
import hashlib
import json
import math
import os
import sys
import wave

import numpy as np
import onnxruntime as ort

try:  # optional: makes sweeping the decoder's calibration take seconds
    from numba import njit
except ImportError:
    def njit(f):
        return f

sys.path.insert(0, os.path.dirname(__file__))
import synth  # noqa: E402

FRAME = synth.CHUNK / synth.SR
GATE_SECONDS, VAD_GATE, FLUSH_SECONDS = 1.4, 0.1, 1.2
# utterance.rs: Silero's start and end thresholds, the margin before a command's estimated start,
# quiet windows that end the speech, and the default pauses (seconds) before and after a command.
VAD_SPEECH, VAD_QUIET, START_MARGIN, QUIET_WINDOWS, PAUSE = 0.5, 0.35, 0.3, 2, (0.5, 0.5)
LN_HALF, GAP_STAY, MIN_LOG_ODDS = -math.log(2), -1.2, -12.0
WORD_STATES = 2  # states per word (grammar.rs: 2)


def read_wav(path):
    with wave.open(path) as w:
        assert w.getframerate() == synth.SR and w.getnchannels() == 1 and w.getsampwidth() == 2, path
        return np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float32) / 32768.0


def cached(cache, path, what, fn):
    with open(path, "rb") as f:
        key = hashlib.sha1(f.read()).hexdigest()[:16]
    out = os.path.join(cache, "eval", f"{key}-{what}.npy")
    if not os.path.exists(out):
        os.makedirs(os.path.dirname(out), exist_ok=True)
        np.save(out, fn())
    return np.load(out)


def vad_probs(audio, root="models/cache/silero/silero_vad_op18_ifless.onnx"):
    """Silero per 512-sample window with 64 samples of context and the state carried: (end time, p)."""
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    s = ort.InferenceSession(root, opts)
    state, ctx, out = np.zeros((2, 1, 128), np.float32), np.zeros(64, np.float32), []
    sr = np.array(16000, np.int64)
    for k in range(len(audio) // 512):
        x = np.concatenate([ctx, audio[512 * k:512 * (k + 1)]])
        ctx = x[-64:]
        p, state = s.run(["output", "stateN"], {"input": x[None], "state": state, "sr": sr})
        out.append(((k + 1) * 512 / synth.SR, float(p.reshape(-1)[0])))
    return np.array(out, np.float64).reshape(-1, 2)


def features(path, cache, fe):
    audio = read_wav(path)
    # finish() feeds 1.2 s of silence after the recording.
    audio = np.concatenate([audio, np.zeros(int(FLUSH_SECONDS * synth.SR), np.float32)])
    emb = cached(cache, path, "emb", lambda: (fe or synth.Frontend(threads=2)).embeddings(audio))
    vad = cached(cache, path, "vad", lambda: vad_probs(audio))
    times = (np.arange(len(emb)) + 1) * FRAME
    speech = np.zeros(len(emb), bool)
    loud = vad[vad[:, 1] >= VAD_GATE, 0]
    for i, t in enumerate(times):
        j = np.searchsorted(loud, t + 1e-9, side="right")
        speech[i] = j > 0 and loud[j - 1] >= t - GATE_SECONDS
    return emb, speech, times


def vad_windows(path, cache):
    """The (end time, probability) VAD windows `features` computed for the recording."""
    return cached(cache, path, "vad", None)


def utterance(events, vad, before=PAUSE[0], after=PAUSE[1]):
    """utterance.rs UtteranceGate: keeps the events said on their own, decided when the speech stopped."""
    out = []
    for name, start, end, decided in events:
        if before > 0:
            to = start - START_MARGIN
            m = (vad[:, 0] > to - before) & (vad[:, 0] <= to)
            if (vad[m, 1] >= VAD_SPEECH).any():
                continue
        if after > 0:
            run, stopped = 0, None
            for t, p in vad[vad[:, 0] > end]:
                if t > end + after:
                    break
                run = run + 1 if p < VAD_QUIET else 0
                if run == QUIET_WINDOWS:
                    stopped = t
                    break
            if stopped is None:
                continue
            decided = max(decided, stopped)
        out.append((name, start, end, decided))
    return out


class Command:
    """A command's states and transitions, as grammar.rs's Command::new builds them."""

    def __init__(self, name, words):
        states, preds, self.last_word_start = [], [], 0
        for i, w in enumerate(words):
            a = len(states)
            if i > 0:
                states.append(None)
                preds.append([(a - 1, LN_HALF), (a, GAP_STAY)])
                states.append(w)
                preds.append([(a - 1, LN_HALF), (a, 0.0), (a + 1, LN_HALF)])
                self.last_word_start = a + 1
            else:
                states.append(w)
                preds.append([(a, LN_HALF)])
            if WORD_STATES == 2:
                first = len(states) - 1
                states.append(w)
                preds.append([(first, LN_HALF), (first + 1, LN_HALF)])

        self.name, self.first_word, self.states, self.preds = name, words[0], states, preds
        self.word_starts = [st is not None and (s == 0 or states[s - 1] is None) for s, st in enumerate(states)]


@njit
def _viterbi(lo, filler, speech, n_states, word, preds, pred_lt, n_pred, word_start, last_start, threshold, min_word):
    """The frame loop of decode() over arrays: tokens are (score, entered, last word entered,
    word score, weakest word) per command and state. Returns (frame, command, entered, last entered)."""
    n_cmd, s_max = word.shape
    n_frames = lo.shape[0]
    score = np.full((n_cmd, s_max), -np.inf)
    tok = np.zeros((n_cmd, s_max, 4))  # entered, last_entered, word_score, weakest
    new_score = np.full((n_cmd, s_max), -np.inf)
    new_tok = np.zeros((n_cmd, s_max, 4))
    out = []
    refractory = False
    for f in range(n_frames):
        if refractory and ((not speech[f]) or filler[f] >= 0.5):
            refractory = False
        for c in range(n_cmd):
            for s in range(n_states[c]):
                best = -np.inf
                bt = np.zeros(4)
                for j in range(n_pred[c, s]):
                    p = preds[c, s, j]
                    cand = score[c, p] + pred_lt[c, s, j]
                    if cand > best:
                        best = cand
                        bt[:] = tok[c, p]
                        if word_start[c, s] and p != s:
                            bt[3] = min(bt[3], bt[2])
                            bt[2] = 0.0
                            if s == last_start[c]:
                                bt[1] = f
                if s == 0 and (not refractory) and 0.0 > best:
                    best = 0.0
                    bt[0] = f
                    bt[1] = f
                    bt[2] = 0.0
                    bt[3] = np.inf
                if best == -np.inf:
                    new_score[c, s] = -np.inf
                    continue
                w = word[c, s]
                if w >= 0:
                    v = lo[f, w] if speech[f] else -12.0
                    best += v
                    bt[2] += v
                new_score[c, s] = best
                new_tok[c, s] = bt
        score[:, :] = new_score
        tok[:, :, :] = new_tok
        bc, bs = -1, -np.inf
        for c in range(n_cmd):
            last = n_states[c] - 1
            if score[c, last] >= threshold and min(tok[c, last, 3], tok[c, last, 2]) >= min_word and score[c, last] > bs:
                bc, bs = c, score[c, last]
        if bc >= 0:
            refractory = True
            last = n_states[bc] - 1
            out.append((f, bc, int(tok[bc, last, 0]), int(tok[bc, last, 1])))
            score[:, :] = -np.inf
    return out


def decode(post, speech, commands, durations, threshold, cap=3.0, min_word=4.0):
    """grammar.rs GrammarDecoder over a recording: [(command, start, end, decided_at)]."""
    n_words = post.shape[1] - 1
    cmds = [Command(n, w) for n, w in commands]
    s_max = max(len(c.states) for c in cmds)
    n_states = np.array([len(c.states) for c in cmds], np.int64)
    word = np.full((len(cmds), s_max), -1, np.int64)
    preds = np.zeros((len(cmds), s_max, 3), np.int64)
    pred_lt = np.zeros((len(cmds), s_max, 3))
    n_pred = np.zeros((len(cmds), s_max), np.int64)
    word_start = np.zeros((len(cmds), s_max), np.bool_)
    for i, c in enumerate(cmds):
        for s, st in enumerate(c.states):
            word[i, s] = -1 if st is None else st
            word_start[i, s] = c.word_starts[s]
            n_pred[i, s] = len(c.preds[s])
            for j, (p, lt) in enumerate(c.preds[s]):
                preds[i, s, j], pred_lt[i, s, j] = p, lt
    last_start = np.array([c.last_word_start for c in cmds], np.int64)
    p = np.clip(post[:, :n_words].astype(np.float64), 1e-9, 1 - 1e-9)
    lo = np.clip(np.log(p / (1 - p)), MIN_LOG_ODDS, cap)
    hits = _viterbi(lo, post[:, n_words].astype(np.float64), speech.astype(np.bool_), n_states, word, preds, pred_lt, n_pred,
                    word_start, last_start, float(threshold), float(min_word))
    end_of = lambda fr: (fr + 1) * FRAME - 0.08
    return [(cmds[c].name, max(end_of(e) - durations[cmds[c].first_word], 0.0), end_of(le), (f + 1) * FRAME) for f, c, e, le in hits]


def score(events, truth):
    hit, lat, fa = [False] * len(truth), [], 0
    for name, start, end, decided in events:
        for i, t in enumerate(truth):
            if not hit[i] and t["command"] == name and end >= t["start"] - 0.3 and start <= t["end"] + 0.3 and decided >= t["start"]:
                hit[i] = True
                lat.append(decided - t["end"])
                break
        else:
            fa += 1
    return hit, lat, fa


class OnnxHead:
    def __init__(self, path):
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        self.s = ort.InferenceSession(path, opts)
        shape = self.s.get_inputs()[0].shape
        self.stack = shape[1]

    def __call__(self, emb):
        pad = np.concatenate([np.zeros((self.stack - 1, emb.shape[1]), np.float32), emb])
        x = np.stack([pad[i:i + self.stack] for i in range(len(emb))])
        name = self.s.get_inputs()[0].name
        return np.concatenate([self.s.run(None, {name: x[i:i + 1]})[0] for i in range(len(x))])


def evaluate(head, data, manifest, cache="target/speech-cache", threshold=None, cap=3.0, min_word=4.0, verbose=True, fe=None,
             pause=PAUSE):
    fe = fe or synth.Frontend(threads=2)
    words = manifest["words"]
    commands = [(c["name"], [words.index(w) for w in c["words"]]) for c in manifest["commands"]]
    durations = [manifest["wordDurations"].get(w, 0.4) for w in words]
    threshold = threshold or manifest["threshold"]
    report, lat_clean = {}, []
    for cond in ["clean", "snr10", "snr0"]:
        path = os.path.join(data, f"commands_{cond}.wav")
        emb, speech, _ = features(path, cache, fe)
        truth = json.load(open(os.path.join(data, f"commands_{cond}.json")))["commands"]
        events = utterance(decode(head(emb), speech, commands, durations, threshold, cap, min_word), vad_windows(path, cache), *pause)
        hit, lat, fa = score(events, truth)
        report[cond] = float(np.mean(hit))
        report[f"fa_{cond}"] = fa
        report[f"per_{cond}"] = {n: float(np.mean([h for h, t in zip(hit, truth) if t["command"] == n])) for n, _ in commands}
        if cond == "clean":
            lat_clean = sorted(lat)
    path = os.path.join(data, "other.wav")
    emb, speech, _ = features(path, cache, fe)
    events = utterance(decode(head(emb), speech, commands, durations, threshold, cap, min_word), vad_windows(path, cache), *pause)
    hours = len(emb) * FRAME / 3600
    report["fa_per_hour"] = len(events) / hours
    report["fa_list"] = [(e[0], round(e[1], 2)) for e in events]
    report["p50"] = lat_clean[len(lat_clean) // 2] if lat_clean else math.nan
    report["p95"] = lat_clean[round((len(lat_clean) - 1) * 0.95)] if lat_clean else math.nan
    if verbose:
        print(f"clean {report['clean']:.3f}  10dB {report['snr10']:.3f}  0dB {report['snr0']:.3f}  "
              f"FA/h {report['fa_per_hour']:.1f} ({len(events)})  p50 {report['p50'] * 1e3:.0f} ms  p95 {report['p95'] * 1e3:.0f} ms")
        for n, _ in commands:
            print(f"  {n:<16} " + " ".join(f"{report['per_' + c][n] * 100:5.1f}" for c in ["clean", "snr10", "snr0"]))
    return report


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--head", default="models/speech/head.onnx")
    ap.add_argument("--manifest", default="models/speech/manifest.json")
    ap.add_argument("--data", default="models/cache/speech-test")
    ap.add_argument("--threshold", type=float)
    ap.add_argument("--cache", default="target/speech-cache")
    ap.add_argument("--pause", type=float, nargs=2, default=PAUSE, metavar=("BEFORE", "AFTER"),
                    help="speech-free seconds before a command, longest wait for the speech to stop after it (0 0: off)")
    args = ap.parse_args()
    manifest = json.load(open(args.manifest))
    dec = manifest.get("decoder", {})
    evaluate(OnnxHead(args.head), args.data, manifest, args.cache, args.threshold,
             dec.get("maxLogOdds", 3.0), dec.get("minWordScore", 4.0), pause=tuple(args.pause))


if __name__ == "__main__":
    main()
