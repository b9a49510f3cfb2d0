#!/usr/bin/env python3
"""Dictation test speech: sentences of the factory kind said by voices of two synthesisers
(espeak-ng, flite), clean and with noise at 10 dB SNR, as 16-kHz WAV files with their texts in
`transcripts.tsv` (file, voice, condition, text). Nothing in the SDK was tuned on them.
`--multilingual DIR` also writes the same kind of sentences in German, French, Spanish and
Italian (two espeak-ng voices each) with `transcripts.tsv` whose condition is the language.

    make_dictation_audio.py [--out models/cache/dictation-test]
                            [--multilingual models/cache/dictation-multilingual]
"""
import argparse
import os
import sys
import wave

import numpy as np

sys.path.insert(0, os.path.dirname(__file__))
import synth  # noqa: E402

SENTENCES = [
    "the paint finish on panel four has small bubbles",
    "stop the conveyor on line two",
    "replace the worn belt on station seven before the next shift",
    "the torque on the left bolt is too low",
    "there is a scratch on the door frame near the hinge",
    "pallet twelve is missing three boxes",
    "the weld seam on the bracket looks cracked",
    "move the finished parts to the loading dock",
    "the sensor on the press reads too hot",
    "please check the label on the last carton",
    "the hydraulic pump is leaking oil again",
    "send the rejected housings back to quality control",
]
VOICES = ["en-us", "en+m3", "en-us+f3", "en-gb-x-rp", "flite:slt", "flite:kal16", "flite:awb", "flite:rms"]
CONDITIONS = {"clean": None, "noise10": 10}
# Numbers as digits: the word error rate's number words are English.
LANGUAGES = {
    "de": [
        "die Lackierung an Platte 4 hat kleine Blasen",
        "stoppen Sie das Förderband an Linie 2",
        "die Schweißnaht an der Halterung ist gerissen",
        "die Hydraulikpumpe verliert wieder Öl",
    ],
    "fr": [
        "arrêtez le convoyeur sur la ligne 2",
        "la pompe hydraulique fuit encore",
        "il y a une rayure sur le cadre de la porte",
        "envoyez les boîtiers refusés au contrôle qualité",
    ],
    "es": [
        "detenga la cinta transportadora en la línea 2",
        "la bomba hidráulica pierde aceite otra vez",
        "hay un rayón en el marco de la puerta",
        "el sensor de la prensa marca demasiado calor",
    ],
    "it": [
        "fermate il nastro trasportatore sulla linea 2",
        "la pompa idraulica perde ancora olio",
        "c'è un graffio sul telaio della porta",
        "il sensore della pressa è troppo caldo",
    ],
}
# Names and part numbers a general model spells its own way unless told (the `prompt` test):
# the sentence, and the terms as the plant writes them.
JARGON = [
    ("check the bracket on station seven, part number K X four four seven one", ["KX-4471"]),
    ("the Festo valve on the Kuka robot is leaking", ["Festo", "Kuka"]),
    ("replace the Bosch Rexroth cylinder on cell three", ["Rexroth"]),
    ("log a defect on the Zeiss CMM for housing H two twelve", ["Zeiss", "H-212"]),
]


def write_wav(path, x):
    pcm = (np.clip(x, -1, 1) * 32767).astype("<i2")
    with wave.open(path, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(synth.SR)
        w.writeframes(pcm.tobytes())


def jargon(out):
    index = os.path.join(out, "jargon.tsv")
    if os.path.exists(index):
        return
    rows = []
    for i, (text, terms) in enumerate(JARGON):
        name = f"jargon_{i:02d}.wav"
        pad = np.zeros(synth.SR // 2, np.float32)
        write_wav(os.path.join(out, name), np.concatenate([pad, synth.espeak(text, "en-us", rate=150) * 0.5, pad]))
        rows.append(f"{name}\t{text}\t{','.join(terms)}")
    with open(index + ".tmp", "w") as f:
        f.write("file\ttext\tterms\n" + "\n".join(rows) + "\n")
    os.replace(index + ".tmp", index)


def multilingual(out):
    index = os.path.join(out, "transcripts.tsv")
    if os.path.exists(index):
        print(f"[dictation] {out}: present")
        return
    os.makedirs(out, exist_ok=True)
    rows = []
    for lang, sentences in LANGUAGES.items():
        for voice in (lang, f"{lang}+f3"):
            for si, text in enumerate(sentences):
                pad = np.zeros(synth.SR // 2, np.float32)
                name = f"{voice.replace('+', '-')}_{si:02d}.wav"
                write_wav(os.path.join(out, name), np.concatenate([pad, synth.espeak(text, voice, rate=150) * 0.5, pad]))
                rows.append(f"{name}\t{voice}\t{lang}\t{text}")
    with open(index + ".tmp", "w") as f:
        f.write("file\tvoice\tcondition\ttext\n" + "\n".join(rows) + "\n")
    os.replace(index + ".tmp", index)
    print(f"[dictation] {len(rows)} files in {out}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="models/cache/dictation-test")
    ap.add_argument("--multilingual", metavar="DIR")
    a = ap.parse_args()
    if a.multilingual:
        multilingual(a.multilingual)
    index = os.path.join(a.out, "transcripts.tsv")
    os.makedirs(a.out, exist_ok=True)
    jargon(a.out)
    if os.path.exists(index):
        print(f"[dictation] {a.out}: present")
        return
    rows = []
    for vi, voice in enumerate(VOICES):
        for si, text in enumerate(SENTENCES):
            # Half a second of room before and after, as a push-to-talk recording has.
            speech = synth.espeak(text, voice, rate=160)
            pad = np.zeros(synth.SR // 2, np.float32)
            speech = np.concatenate([pad, speech * 0.5, pad])
            for cond, snr in CONDITIONS.items():
                x = synth.mix(speech, snr, "pink", seed=vi * 100 + si)
                name = f"{voice.replace(':', '-').replace('+', '-')}_{si:02d}_{cond}.wav"
                write_wav(os.path.join(a.out, name), x)
                rows.append(f"{name}\t{voice}\t{cond}\t{text}")
    with open(index + ".tmp", "w") as f:
        f.write("file\tvoice\tcondition\ttext\n" + "\n".join(rows) + "\n")
    os.replace(index + ".tmp", index)
    print(f"[dictation] {len(rows)} files in {a.out}")


if __name__ == "__main__":
    main()
