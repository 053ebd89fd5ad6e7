"""Synthetic keyword clips: every installed TTS voice saying words, in Speech Commands layout.

The voices are the wake-word recipe's voice grid (:func:`kws.wakeword.tts.voice_grid`: espeak-ng
voices and variants at many rates and pitches, and flite, festival, RHVoice, Pico and Piper where
installed; Kokoro-82M's blended voices too when ``kokoro_share`` asks for them). Each voice becomes one fake speaker, ``<word>/<id>_nohash_0.wav``, whose id kws'
salted speaker hold-out (:func:`kws.data.speech_commands.speaker_holdout`) keeps on the training
side: mixed into real data, the synthetic clips never enter validation, so the validation
speakers stay exactly the real ones they were without them.

Measured (benchmarks/README.md): 240 voices x the ten keywords lift the DS-CNN-S student by
about 1.8 points on held-out real speakers; espeak-ng alone does not help.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from dsp.config import SAMPLE_RATE

from ..errors import KwsError

#: The ten Speech Commands keywords of the 12-class task.
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")

#: Written beside the clips: what made them, so a model trained on them can credit it.
MARKER = "synthetic.json"

#: Clips shorter than this once trimmed (0.1 s at 16 kHz) are a voice that said nothing usable.
MIN_SPOKEN_SAMPLES = 1600


def training_side_speaker(voice_key: str, *, holdout_percent: float = 20.0) -> str:
    """An 8-hex-digit speaker id for ``voice_key`` that the ``holdout_percent`` % speaker hold-out
    (:func:`kws.data.speech_commands.speaker_holdout`) keeps on the training side (the first of
    ``voice_key``'s candidates that is)."""
    from .speech_commands import is_held_out

    for k in range(1000):
        speaker = hashlib.sha1(f"tts:{voice_key}:{k}".encode()).hexdigest()[:8]
        if not is_held_out(speaker, percent=holdout_percent):
            return speaker
    raise RuntimeError(f"no training-side speaker id found for {voice_key}")


def read_marker(root: Path) -> dict | None:
    """The :data:`MARKER` of a folder ``kws data synthesize`` wrote, or None for any other folder."""
    try:
        return json.loads((Path(root) / MARKER).read_text())
    except (OSError, ValueError):
        return None


def centre(clip: np.ndarray, length: int) -> np.ndarray:
    """(length,) int16: ``clip`` (int16, at most ``length`` samples) in the middle of silence."""
    out = np.zeros(length, dtype=np.int16)
    start = (length - len(clip)) // 2
    out[start : start + len(clip)] = clip
    return out


def synthesize_keywords(out_dir: Path, *, voices: int, words: Sequence[str] = KEYWORDS, seed: int = 0,
                        cache_dir: Path | None = None, progress: bool = False, kokoro_share: float = 0.0,
                        log: Callable[[str], None] = print) -> int:
    """Write ``words`` spoken by ``voices`` voices of the grid under ``out_dir``, and a
    :data:`MARKER` file saying so; the number of clips.

    Each clip is trimmed to its spoken part, cut to one second and centred in one second of
    silence at 16 kHz. Files already there are overwritten with the same content, so a rerun
    (with the TTS cache) is cheap. A grid voice drawn twice (festival's HTS voice has a single
    rate and pitch) maps to one speaker id and is written once. ``kokoro_share`` of the voices
    are Kokoro's where it is set up (:func:`kws.wakeword.tts.voice_grid`).
    """
    import io

    import soundfile as sf

    from ..atomic import write_files_atomically
    from ..wakeword.dataset import trim_clip
    from ..wakeword.tts import synthesize_many, voice_grid

    if voices < 1:
        raise KwsError("--voices must be at least 1")
    bad = [word for word in words if not word.strip() or "/" in word]
    if bad:
        raise KwsError(f"not a usable word: {bad[0]!r}")
    grid = voice_grid(voices, seed=seed, kokoro_share=kokoro_share)
    jobs = [(word, voice) for voice in grid for word in words]
    clips = synthesize_many(jobs, cache_dir=cache_dir, progress=progress, desc="keywords")
    speakers = {voice: training_side_speaker(f"{voice.engine}:{voice.name}:{voice.rate}:{voice.pitch}")
                for voice in grid}
    written: set[Path] = set()
    silent = 0
    for (word, voice), clip in zip(jobs, clips):
        path = out_dir / word.replace(" ", "_") / f"{speakers[voice]}_nohash_0.wav"
        if path in written:
            continue
        spoken = trim_clip(clip)[:SAMPLE_RATE]  # one second
        if len(spoken) < MIN_SPOKEN_SAMPLES:
            silent += 1
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        wav = io.BytesIO()
        sf.write(wav, centre(spoken, SAMPLE_RATE), SAMPLE_RATE, subtype="PCM_16", format="WAV")
        write_files_atomically({path: wav.getvalue()})  # an interrupted run leaves no torn clip
        written.add(path)
    engines = sorted({voice.engine for voice in grid})
    marker = {"made_by": "kws data synthesize", "voices": len(grid), "engines": engines, "words": list(words),
              "seed": seed, "files": len(written)}
    write_files_atomically({out_dir / MARKER: (json.dumps(marker, indent=2) + "\n").encode()})
    skipped = f"; {silent} left out (under 0.1 s of speech)" if silent else ""
    log(f"wrote {len(written)} clips of {len(words)} words from {len(grid)} voices ({', '.join(engines)}) "
        f"under {out_dir}{skipped}")
    return len(written)
