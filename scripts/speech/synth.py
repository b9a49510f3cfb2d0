"""Synthetic speech for training and testing the command heads: espeak-ng voices, sox resampling
and noise, and openWakeWord's streaming front-end (the same framing as src/audio/frontend.rs)."""
import hashlib
import os
import subprocess
import tempfile

import numpy as np
import onnxruntime as ort

SR = 16000
CHUNK = 1280  # 80 ms: one embedding per chunk
CONTEXT = 480  # samples of the previous chunk the mel model also sees
MEL_FRAMES = 76
WORDS = ["start", "stop", "pause", "next", "part", "line", "one", "two", "three", "emergency"]
COMMANDS = {
    "start": ["start"], "stop": ["stop"], "pause": ["pause"], "next part": ["next", "part"],
    "line one": ["line", "one"], "line two": ["line", "two"], "line three": ["line", "three"],
    "emergency stop": ["emergency", "stop"],
}
# "en", not "en-gb": espeak-ng 1.51 ignores a "+variant" on "en-gb" (every en-gb+X is the default
# voice, byte for byte), while "en" is the same British voice and takes its variants.
BASES_TRAIN = ["en", "en-us", "en-gb-x-rp", "en-gb-scotland", "en-029"]
BASES_TEST = ["en-gb-x-gbclan", "en-gb-x-gbcwmd", "en-us-nyc"]
VARIANTS_TRAIN = ["", "m1", "m2", "m3", "m4", "m5", "f1", "f2", "f3", "f4", "Alex", "Andy", "Annie", "Denis",
                  "Gene", "Jacky", "Mario", "Michael", "Mike", "Storm", "adam", "anika", "boris", "caleb",
                  "david", "ed", "grandma", "john", "linda", "max", "paul", "klatt", "klatt2", "croak"]
# espeak-ng variants the first head did not use (named derivatives of test variants, such as iven2 or
# edward2, left out): VARIANTS_VAL are held out of training to choose the threshold on unheard voices.
VARIANTS_MORE = ["Alicia", "antonio", "Gene2", "gustave", "marcelo", "miguel", "Nguyen", "pedro", "quincy", "rob",
                 "robert", "steph", "steph3", "Tweaky", "AnxiousAndy", "klatt4", "klatt6", "m8", "sandro", "victor"]
VARIANTS_VAL = ["Diogo", "steph2", "zac", "klatt5", "shelby", "grandpa", "Henrique", "travis"]
# Voices of two other synthesisers (Debian flite, festival with festvox-kallpc16k, -kdlpc16k and
# -us-slt-hts): recorded diphones and statistical-parametric voices, unlike espeak-ng's formant
# synthesis; for training only, as "engine:voice".
ENGINE_VOICES_TRAIN = ["flite:kal16", "flite:awb", "flite:slt", "festival:kal_diphone", "festival:ked_diphone",
                       "festival:cmu_us_slt_arctic_hts"]
# A speaker neither engine's training voices have, for a cross-synthesiser test.
ENGINE_VOICES_TEST = ["flite:rms"]
VARIANTS_TEST = ["m6", "m7", "f5", "Lee", "Marco", "Hugo", "Andrea", "belinda", "benjamin", "edward", "norbert",
                 "klatt3", "aunty", "iven", "pablo", "michel"]
# Other pronunciations of the vocabulary (espeak-ng phoneme mnemonics): the vowels that vary most
# across English accents (Wells' lexical sets: PRICE aI ~ OI ~ A: ~ a:, STRUT/LOT V ~ 0 ~ U, START
# and LOT with or without r, GOOSE u: ~ U, FLEECE/happY i: ~ I) and TH-fronting/stopping. espeak-ng's
# accents differ mostly in how they realise one phoneme string; these give training other strings.
PRONUNCIATIONS = {
    "start": ["st'A@rt", "st'a:t"], "stop": ["st'A:p", "st'O:p"], "pause": ["p'A:z", "p'O@z"],
    "next": ["n'Eks", "n'ekst"], "part": ["p'a:t", "p'A@rt"], "line": ["l'OIn", "l'A:n", "l'a:n"],
    "one": ["w'Vn", "w'Un", "w'0n"], "two": ["t'U"], "three": ["tr'i:", "fr'i:", "Tr'I"],
    "emergency": ["I2m'3:dZ@nsI", "i:m'3:dZ@nsi", "I2m'3:rdZ@nsi"],
}
# Other speech: common words, and words that sound like the commands.
OTHER = ("star stark stock top shop spot stone store step sport post paws pose pass paste text nest net neck "
         "part-time art heart cart dart mine nine fine lion light lie lime won when want too to tool tree "
         "free three-day thee merge emerge urgent agency urgency the of and a in is it you that he was for on "
         "are with as his they be at have this from or had by word but what some we can out other were all "
         "there use your how said an each she which do their time if will way about many then them write "
         "would like so these her long make thing see him look more day could go come did number sound no "
         "most people my over know water than call first who may down side been now find any new work take "
         "get place made live where after back little only round man year came show every good me give our "
         "under name very through just form sentence great think say help low line-up turn cause much mean "
         "before move right boy old same tell does set want air well also play small end put home read hand "
         "port large spell add even land here must big high such follow act why ask men change went kind off "
         "need house picture try us again animal point mother world near build self earth father head stand "
         "own page should country found answer school grow study still learn plant cover food sun four "
         "between state keep eye never last let thought city cross farm hard start-up might story saw far sea "
         "draw left late run while press close night real life few north open seem together begin").split()

# Words that sound like a command word and are not in OTHER, for training only: the test's other
# speech (OTHER) then measures how rejecting sound-alikes carries over to ones never trained on.
CONFUSABLES = ("smart stars apart tart starch sturdy stuck stoke shopped atop mop stomp swap crop "
               "drop slop stow pours clause laws pawn porch pods necks flex vexed mixed parked pat pot "
               "pork party bart lane loin liner lying align lined rung fun wand once wan tooth tune tomb shoe "
               "dew thread throw threat reef emerald merchant detergent immersion emergence margin").split()
assert not set(CONFUSABLES) & set(OTHER)
# Everyday words for training's connected sentences, none of them in OTHER (the test's other speech)
# nor a vocabulary word.
PROSE = ("able above across almost along already always among another anything around away bad ball bank bed "
         "bell best better bird black blue board boat body book both box bread bring brother brown busy buy car "
         "care carry case cat catch chair check child children choose church clean clear clock cloud coat cold "
         "colour corner cost count course cup cut dark daughter dead deal dear deep desk dinner dog door double "
         "dream dress drink drive dry during early east easy eat egg eight else empty enough evening example face "
         "fact fall family fast fear feel field fight fill final finger fire fish five floor flower fly foot "
         "forest forget friend front full game garden gas girl glass gold grass green ground group hair half "
         "happy hat heavy hill hold hole hope horse hot hour huge hundred idea inch iron island job join jump "
         "kitchen knife lady lake laugh lead leaf leg less letter level lift list listen lock lost loud love lunch "
         "machine main map mark market matter meat meet metal middle milk minute miss money month moon morning "
         "mouth music narrow nose note nothing noon ocean office oil orange order paint paper parent park pay pen "
         "pencil piece pink pipe plate please pocket pull push quick quiet rain red rest rice river road rock roof "
         "room rope salt sand seat second seed sell send seven shape sheep shirt short sick sign silver simple "
         "sing sister sit six skin sky sleep slow smile snow soft soon south speak speed spring square stairs "
         "stick storm street strong sugar summer table tail talk tall teach team ten test thick thin today "
         "tomorrow tonight train travel truck true uncle until upon valley voice wait walk wall warm wash watch "
         "wave weather week west wheel white wide wife wind window winter wire wood yellow young zero").split()
assert not set(PROSE) & (set(OTHER) | set(CONFUSABLES) | set(WORDS))


def voices(bases, variants):
    return [b + ("+" + v if v else "") for b in bases for v in variants]


def espeak(text, voice, rate=170, pitch=50, cache_dir=None):
    """One utterance as float32 at 16 kHz, silence trimmed; cached by its arguments. `voice` is an
    espeak-ng voice, or "flite:V" / "festival:V" (rate and pitch then applied by sox, as tempo and
    a shift of (pitch − 50) × 10 cents: those engines have no common controls for them)."""
    key = hashlib.sha1(f"{text}|{voice}|{rate}|{pitch}".encode()).hexdigest()[:16]
    path = os.path.join(cache_dir, key + ".npy") if cache_dir else None
    if path and os.path.exists(path):
        return np.load(path)
    with tempfile.TemporaryDirectory() as d:
        raw, out = os.path.join(d, "raw.wav"), os.path.join(d, "out.raw")
        effects = ["rate", "-v"]
        engine, _, name = voice.rpartition(":")
        if engine == "flite":
            subprocess.run(["flite", "-voice", name, "-t", text, "-o", raw], check=True, capture_output=True)
        elif engine == "festival":
            subprocess.run(["text2wave", "-eval", f"(voice_{name})", "-o", raw], input=text.encode(),
                           check=True, capture_output=True)
        else:
            subprocess.run(["espeak-ng", "-v", voice, "-s", str(rate), "-p", str(pitch), "-w", raw, text],
                           check=True, capture_output=True)
        if engine:
            effects = ["tempo", "-s", f"{rate / 175:.3f}", "pitch", str((pitch - 50) * 10), *effects]
        subprocess.run(["sox", raw, "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw",
                        out, *effects], check=True, capture_output=True)
        x = np.fromfile(out, dtype="<i2").astype(np.float32) / 32768.0
    x = trim(x)
    if path:
        os.makedirs(cache_dir, exist_ok=True)
        np.save(path, x)
    return x


def trim(x, thresh=0.01):
    """Cuts leading/trailing silence (espeak pads each utterance)."""
    env = np.convolve(np.abs(x), np.ones(160) / 160, mode="same")
    idx = np.nonzero(env > thresh * max(env.max(), 1e-9))[0]
    return x[idx[0]:idx[-1] + 1] if len(idx) else x[:0]


def noise(kind, n, seed):
    """Noise made by sox's synth (white, pink or brown), at unit RMS."""
    with tempfile.TemporaryDirectory() as d:
        out = os.path.join(d, "n.raw")
        subprocess.run(["sox", "-r", str(SR), "-n", "-r", str(SR), "-c", "1", "-b", "16", "-e", "signed-integer", "-t", "raw",
                        "-R", out, "synth", f"{n}s", kind + "noise", "vol", "0.5"],
                       check=True, capture_output=True, env={**os.environ, "SOX_OPTS": ""})
        x = np.fromfile(out, dtype="<i2").astype(np.float32)[:n]
    # sox -R is repeatable: shift by the seed so clips get different noise.
    x = np.roll(x, (seed * 7919) % max(n, 1))
    return x / max(np.sqrt(np.mean(x ** 2)), 1e-9)


def sentence(rng, words):
    """3-11 random words of `words` (hyphens said as a pause), as one utterance's text."""
    return " ".join(words[rng.integers(len(words))].replace("-", " ") for _ in range(rng.integers(3, 12)))


def noise_stretch(rng):
    """2-8 s of white, pink or brown noise alone, 20-60 dB under full scale."""
    n = int(rng.uniform(2, 8) * SR)
    return noise(["white", "pink", "brown"][rng.integers(3)], n, int(rng.integers(1 << 30))) * 10 ** rng.uniform(-2.5, -1)


def augment(x, rng):
    """A different room, microphone and vocal tract for a whole stream, by sox: speed (pitch, formants
    and tempo together, as vocal-tract-length perturbation does), EQ and reverb. Returns the audio and
    the factor its times were scaled by."""
    effects, scale = [], 1.0
    if rng.random() < 0.7:
        speed = float(rng.uniform(0.88, 1.14))
        effects += ["speed", f"{speed:.4f}", "rate", "-h", str(SR)]
        scale = 1.0 / speed
    if rng.random() < 0.4:
        effects += ["highpass", str(int(rng.uniform(80, 400)))]
    if rng.random() < 0.4:
        effects += ["lowpass", str(int(rng.uniform(3000, 7500)))]
    for _ in range(int(rng.integers(0, 3))):
        effects += ["equalizer", str(int(rng.uniform(200, 5000))), f"{rng.uniform(0.5, 2):.2f}q", f"{rng.uniform(-10, 10):.1f}"]
    if rng.random() < 0.4:
        effects += ["reverb", str(int(rng.uniform(10, 70))), "50", str(int(rng.uniform(10, 70)))]
    if not effects:
        return x, scale
    fmt = ["-t", "f32", "-r", str(SR), "-c", "1"]
    out = subprocess.run(["sox", *fmt, "-", *fmt, "-", *effects], input=x.astype("<f4").tobytes(),
                         check=True, capture_output=True).stdout
    y = np.frombuffer(out, "<f4")[:int(len(x) * scale)].copy()
    peak = np.abs(y).max()
    return (y / peak * np.abs(x).max() if peak > 1 else y), scale


def mix(speech, snr_db, kind, seed, speech_rms=None):
    if snr_db is None:
        return speech
    rms = speech_rms or np.sqrt(np.mean(speech[np.abs(speech) > 1e-3] ** 2) + 1e-12)
    return speech + noise(kind, len(speech), seed) * rms / (10 ** (snr_db / 20))


class Frontend:
    """openWakeWord's mel + embedding models, one 96-d embedding per 80 ms chunk."""

    def __init__(self, root="models/cache/openwakeword", threads=0):
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        opts.intra_op_num_threads = threads
        self.mel = ort.InferenceSession(f"{root}/melspectrogram.onnx", opts)
        self.emb = ort.InferenceSession(f"{root}/embedding_model.onnx", opts)

    def embeddings(self, audio):
        """audio: float32 in [-1, 1] at 16 kHz → (n_chunks, 96); chunk i ends at sample 1280(i+1)."""
        n = len(audio) // CHUNK
        x = np.concatenate([np.zeros(CONTEXT, np.float32), audio[:n * CHUNK]]) * 32767.0
        # One window per call, as the stream sees it: the mel model clips 80 dB under the loudest
        # value of its whole input (batch included), so longer inputs give different frames.
        x = x.astype(np.float32)
        mel = [self.mel.run(None, {"input": x[None, CHUNK * i:CHUNK * i + CHUNK + CONTEXT]})[0].reshape(-1, 32) for i in range(n)]
        mel = np.concatenate(mel) if n else np.zeros((0, 32), np.float32)
        mel = mel / 10.0 + 2.0
        mel = np.concatenate([np.ones((MEL_FRAMES, 32), np.float32), mel[:n * 8]])
        windows = np.stack([mel[8 * (i + 1):8 * (i + 1) + MEL_FRAMES] for i in range(n)]) if n else np.zeros((0, MEL_FRAMES, 32), np.float32)
        out = []
        for s in range(0, n, 512):
            out.append(self.emb.run(None, {"input_1": windows[s:s + 512, :, :, None]})[0].reshape(-1, 96))
        return np.concatenate(out) if out else np.zeros((0, 96), np.float32)
