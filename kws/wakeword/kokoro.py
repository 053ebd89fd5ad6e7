"""Kokoro-82M, a neural multi-speaker TTS, as a voice engine of :mod:`kws.wakeword.tts`.

Everything it needs sits in one cache folder (``$KWS_CACHE/kokoro``, else
``~/.cache/kws/kokoro``), which ``kws data download kokoro`` fills once (:mod:`.kokoro_setup`):
the int8 ONNX model (``kokoro-v1.0.int8.onnx``), its phoneme vocabulary (``vocab.json``) and the
voice packs (``voices/<name>.bin``). Synthesis never downloads; it runs onnxruntime
(``pip install 'kws[kokoro]'``). Weights and voices are Apache-2.0 (hexgrad), the int8 export MIT.

A voice pack is a (510, 256) float32 table of style vectors; the model reads the row at the
number of phoneme tokens. The 28 English packs are American (``af_``, ``am_``) and British
(``bf_``, ``bm_``) women and men. A convex blend of two or three packs is a new, plausible
speaker: ``"af_bella+am_adam@0.35"`` is 65 % af_bella and 35 % am_adam; ``"a+b@0.3+c@0.2"`` gives
the first pack what the others leave (0.5). The first pack's accent picks the phonemes.

Measured on the 2-core machine (shared, load 4-5): 0.9 s to load the model, then 0.8-1.1x real
time, 1.1-1.7 s for a one-word clip. pocketsphinx heard "alexa", "yes", "stop" and "Alexa, what
time is it?" in 19, 26, 16 and 17 of the 28 English packs (28 voice_grid blends with their rates
and pitches: 19, 25, 9, 18), where the first 28 voices of the default grid (espeak-ng, flite,
festival, RHVoice, Pico, Piper) gave 8, 12, 8 and 9.
"""

from __future__ import annotations

import functools
import json
import os
import threading
from pathlib import Path

import numpy as np

from ..errors import KwsError
from ..extras import missing_modules, require_extra

#: The model's output rate.
MODEL_RATE = 24000
MODEL_FILE = "kokoro-v1.0.int8.onnx"
MODEL_SHA256 = "6e742170d309016e5891a994e1ce1559c702a2ccd0075e67ef7157974f6406cb"
VOCAB_FILE = "vocab.json"
VOICES_DIR = "voices"
#: A voice pack: one 256-dim style vector for each token count up to 510.
PACK_SHAPE = (510, 256)
PACK_BYTES = PACK_SHAPE[0] * PACK_SHAPE[1] * 4  # little-endian float32
#: Phoneme tokens per inference (the style table's rows; a 0 token pads each end).
MAX_TOKENS = PACK_SHAPE[0]
#: onnxruntime's threads for one inference (the machines kws trains on have 2 cores).
THREADS = 2

#: The English voice packs: American and British women (af_, bf_) and men (am_, bm_).
ENGLISH_VOICES = (
    "af_alloy", "af_aoede", "af_bella", "af_heart", "af_jessica", "af_kore", "af_nicole", "af_nova", "af_river",
    "af_sarah", "af_sky", "am_adam", "am_echo", "am_eric", "am_fenrir", "am_liam", "am_michael", "am_onyx",
    "am_puck", "am_santa", "bf_alice", "bf_emma", "bf_isabella", "bf_lily", "bm_daniel", "bm_fable", "bm_george",
    "bm_lewis",
)

#: What to run when the engine is asked for but not set up.
SETUP_COMMAND = "pip install 'kws[kokoro]' && kws data download kokoro"


def cache_dir() -> Path:
    """``$KWS_CACHE/kokoro``, else ``~/.cache/kws/kokoro``."""
    base = os.environ.get("KWS_CACHE")
    return (Path(base).expanduser() if base else Path.home() / ".cache" / "kws") / "kokoro"


def model_path() -> Path:
    return cache_dir() / MODEL_FILE


def pack_path(name: str) -> Path:
    return cache_dir() / VOICES_DIR / f"{name}.bin"


def whole_pack(path: Path) -> bool:
    """Whether ``path`` is a voice pack file of the right size."""
    return path.is_file() and path.stat().st_size == PACK_BYTES


@functools.lru_cache(maxsize=None)
def kokoro_voices() -> tuple[str, ...]:
    """The English voice packs ready to speak: onnxruntime installed and ``kws data download
    kokoro`` done; () otherwise. Cached for the process (``kokoro_voices.cache_clear()``)."""
    if missing_modules("kokoro"):
        return ()
    # The setup writes each file atomically after checking it, so presence means complete.
    if not (model_path().is_file() and (cache_dir() / VOCAB_FILE).is_file()):
        return ()
    return tuple(name for name in ENGLISH_VOICES if whole_pack(pack_path(name)))


def parse_blend(name: str) -> tuple[tuple[str, float], ...]:
    """``"a+b@0.3+c@0.2"`` -> ((a, 0.5), (b, 0.3), (c, 0.2)): each pack with its weight; the
    first takes what the others leave. KwsError for a malformed name or weights that leave the
    first pack nothing."""
    parts = name.split("+")
    first, rest = parts[0].strip(), parts[1:]
    if not first or "@" in first or len(parts) > 3:
        raise KwsError(f"Kokoro voice {name!r}: expected PACK, or PACK+PACK@WEIGHT with up to three packs")
    blend: list[tuple[str, float]] = []
    for part in rest:
        pack, sep, weight_text = part.partition("@")
        try:
            weight = float(weight_text)
        except ValueError:
            weight = float("nan")
        if not sep or not pack.strip() or not 0 < weight < 1:
            raise KwsError(f"Kokoro voice {name!r}: {part!r} should be PACK@WEIGHT with 0 < WEIGHT < 1")
        blend.append((pack.strip(), weight))
    first_weight = 1.0 - sum(w for _, w in blend)
    if first_weight <= 0:
        raise KwsError(f"Kokoro voice {name!r}: the weights after the first pack must add up to less than 1")
    return ((first, first_weight), *blend)


def blend_name(packs: list[str] | tuple[str, ...], weights: list[float] | tuple[float, ...]) -> str:
    """The voice name of ``packs[0]`` blended with each later pack at its weight (two decimals):
    the inverse of :func:`parse_blend`."""
    return "+".join([packs[0]] + [f"{p}@{w:.2f}" for p, w in zip(packs[1:], weights)])


@functools.lru_cache(maxsize=64)
def style_table(name: str) -> np.ndarray:
    """(510, 256) float32: the voice (a pack or a blend) as one style table."""
    table = np.zeros(PACK_SHAPE, dtype=np.float64)
    for pack, weight in parse_blend(name):
        if pack not in ENGLISH_VOICES:
            raise KwsError(f"unknown Kokoro voice pack {pack!r}; the English ones are {', '.join(ENGLISH_VOICES)}")
        path = pack_path(pack)
        if not path.is_file():
            raise KwsError(f"Kokoro voice pack {path} is missing: run {SETUP_COMMAND}")
        table += weight * np.fromfile(path, dtype="<f4").reshape(PACK_SHAPE)
    return table.astype(np.float32)


@functools.lru_cache(maxsize=1)
def _vocab() -> dict[str, int]:
    return {str(k): int(v) for k, v in json.loads((cache_dir() / VOCAB_FILE).read_text(encoding="utf-8"))["vocab"].items()}


_session_lock = threading.Lock()
_run_lock = threading.Lock()
_session = None


def session():
    """The one onnxruntime session of this process (made on first use, :data:`THREADS` threads)."""
    global _session
    with _session_lock:
        if _session is None:
            require_extra("kokoro", what="Kokoro speech")
            import onnxruntime

            if not model_path().is_file():
                raise KwsError(f"the Kokoro model {model_path()} is missing: run {SETUP_COMMAND}")
            options = onnxruntime.SessionOptions()
            options.intra_op_num_threads = THREADS
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # no warnings about unused initialisers on stderr
            _session = onnxruntime.InferenceSession(str(model_path()), sess_options=options,
                                                    providers=["CPUExecutionProvider"])
        return _session


def speak(text: str, name: str, *, speed: float = 1.0) -> np.ndarray:
    """``text`` spoken by voice ``name`` (a pack or a blend): float32 samples at :data:`MODEL_RATE`."""
    from .kokoro_phonemes import british, phonemes, tokens

    style = style_table(name)
    ids = tokens(phonemes(text, british=british(parse_blend(name)[0][0])), _vocab(), limit=MAX_TOKENS)
    if not ids:
        raise KwsError(f"Kokoro has no phonemes to speak for {text!r}")
    model = session()
    inputs = {"tokens": np.array([[0, *ids, 0]], dtype=np.int64),
              "style": style[min(len(ids), MAX_TOKENS - 1)][None, :],
              "speed": np.array([speed], dtype=np.float32)}
    # One inference at a time: each already uses THREADS cores, and the other TTS processes of
    # synthesize_many run beside it.
    with _run_lock:
        audio = model.run(None, inputs)[0]
    return np.asarray(audio, dtype=np.float32).reshape(-1)


def write_speech(text: str, name: str, rate: int, pitch: int, wav: str) -> None:
    """Write ``text`` spoken by voice ``name`` to ``wav`` (float samples) for
    :mod:`kws.wakeword.tts`: ``rate`` is a duration stretch in percent (100 = the voice's own
    pace), ``pitch`` (100 = its own) moves pitch and formants together by labelling the audio with
    that share of the model's rate, as :func:`kws.wakeword.tts._piper_synthesize` does; the speed
    makes up for the duration that costs."""
    import soundfile as sf

    # A multiple of 50 Hz keeps the polyphase resampling to 16 kHz small.
    played = max(50, int(round(MODEL_RATE * pitch / 100 / 50)) * 50)
    speed = 100.0 / rate * MODEL_RATE / played
    sf.write(wav, speak(text, name, speed=speed), played, subtype="FLOAT")
