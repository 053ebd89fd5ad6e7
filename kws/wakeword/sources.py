"""Where the wake-word material comes from: TTS jobs, user folders, synthetic noise.

Split into training and calibration by *voice* (TTS) and by *file* (user folders), so the
threshold is calibrated on voices and recordings the model never trained on.
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from dsp.config import SAMPLE_RATE

from ..errors import KwsError
from .confusables import VOCABULARY, normalise
from .room import colored_noise
from .tts import Voice, synthesize_many


def phrasings(wake_word: str) -> list[str]:
    """The wake word written a few ways (punctuation changes espeak-ng's and flite's prosody)."""
    words = wake_word.split()
    out = [wake_word, wake_word + ".", wake_word + "!", wake_word + "?"]
    if len(words) > 1:
        out.append(words[0] + ", " + " ".join(words[1:]))
    return out


def split_voices(voices: Sequence[Voice], every: int) -> tuple[list[Voice], list[Voice]]:
    """(training, held out): every ``every``-th distinct speaker (engine, name) is held out."""
    speakers = sorted({v.speaker for v in voices})
    held = {s for i, s in enumerate(speakers) if i % every == every - 1}
    return [v for v in voices if v.speaker not in held], [v for v in voices if v.speaker in held]


def random_sentences(count: int, *, seed: int, avoid: Sequence[str], words: tuple[int, int] = (3, 9)) -> list[str]:
    """``count`` seeded sequences of everyday words, none containing a word of ``avoid``."""
    rng = np.random.default_rng([seed, 23])
    banned = {w for phrase in avoid for w in normalise(phrase).split()}
    vocabulary = [w for w in VOCABULARY if w not in banned]
    return [" ".join(rng.choice(vocabulary, int(rng.integers(words[0], words[1] + 1)))) for _ in range(count)]


def speak(texts: Sequence[str], voices: Sequence[Voice], *, cache_dir: Path | None, progress: bool,
          desc: str) -> list[np.ndarray]:
    """Each text by one voice, voices cycled; trimmed clips, empty ones dropped."""
    from .dataset import trim_clip

    jobs = [(text, voices[i % len(voices)]) for i, text in enumerate(texts)]
    clips = [trim_clip(c) for c in synthesize_many(jobs, cache_dir=cache_dir, progress=progress, desc=desc)]
    return [c for c in clips if len(c) > 160]


def join(clips: Sequence[np.ndarray], *, seed: int, gap_s: tuple[float, float] = (0.1, 1.0),
         sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """Clips one after another with seeded silent gaps: one int16 stream."""
    rng = np.random.default_rng([seed, 29])
    pieces = []
    for clip in clips:
        pieces.append(np.zeros(int(rng.uniform(*gap_s) * sample_rate), dtype=np.int16))
        pieces.append(clip)
    return np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.int16)


def synthetic_noise(seconds_each: float, *, seed: int, sample_rate: int = SAMPLE_RATE) -> list[np.ndarray]:
    """White, pink and brown noise and a mains hum with harmonics: float, unit RMS."""
    rng = np.random.default_rng([seed, 31])
    n = int(seconds_each * sample_rate)
    out = [colored_noise(rng, n, exponent=e) for e in (0.0, 1.0, 2.0)]
    t = np.arange(n) / sample_rate
    hum = sum(np.sin(2 * np.pi * 50 * k * t + rng.uniform(0, 2 * np.pi)) / k for k in range(1, 6))
    hum = hum + 0.3 * colored_noise(rng, n, exponent=1.0)
    out.append(hum / np.sqrt(np.mean(hum ** 2)))
    return [x.astype(np.float32) for x in out]


def load_folder_files(paths: Sequence[str], *, what: str) -> list[Path]:
    from ..audio_files import audio_files

    files = audio_files(paths)
    if not files:
        raise KwsError(f"no audio files in the {what} folders")
    return files


def load_long(files: Sequence[Path], *, seconds: float, seed: int, progress: bool = False) -> np.ndarray:
    """Up to ``seconds`` of ``files`` (shuffled by seed), one int16 stream."""
    from ..audio_files import load_negatives

    if not files or seconds <= 0:
        return np.zeros(0, dtype=np.int16)
    return load_negatives(list(files), seconds=seconds, seed=seed, progress=progress).samples


def load_noise(files: Sequence[Path], *, clip_samples: int) -> list[np.ndarray]:
    """Noise recordings as float, unit RMS; those shorter than a window are dropped."""
    from ..audio_files import load_audio_files

    out = []
    for _, audio in load_audio_files(files):
        x = audio.samples.astype(np.float32)
        if len(x) >= clip_samples and np.any(x):
            out.append(x / np.sqrt(np.mean(x.astype(np.float64) ** 2)).astype(np.float32))
    return out


def load_recordings(folder: str, *, log: Callable[[str], None]) -> list[np.ndarray]:
    """The user's own recordings of the wake word (``kws record``), trimmed."""
    from ..audio_files import load_audio_files
    from .dataset import trim_clip

    files = load_folder_files([folder], what="--recordings")
    clips = [trim_clip(audio.samples) for _, audio in load_audio_files(files)]
    clips = [c for c in clips if len(c) > 1600]
    log(f"recordings: {len(clips)} clips from {folder}")
    return clips
