"""A tiny synthetic corpus in Speech Commands layout, for training smoke tests.

Each "word" is a short chord whose notes are fixed per word and shifted per "speaker", so the
classes are learnable, speakers differ, and nothing depends on real recordings.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

RATE = 16000
KEYWORDS = ("yes", "no", "up", "down", "left", "right", "on", "off", "stop", "go")


def _word(word_index: int, speaker: int, take: int) -> np.ndarray:
    rng = np.random.default_rng([word_index, speaker, take])
    t = np.arange(int(0.6 * RATE)) / RATE
    base = 200.0 * (1.0 + 0.07 * speaker)
    notes = base * np.array([1 + word_index % 4, 2 + word_index // 4, 5 + (word_index * 3) % 7])
    sound = sum(np.sin(2 * np.pi * f * t) for f in notes) * np.hanning(len(t))
    clip = np.zeros(RATE)
    start = int(rng.integers(0, RATE - len(t)))
    clip[start : start + len(t)] = sound / 3 * 0.5
    clip += rng.normal(0, 0.003, RATE)
    return np.clip(clip * 32767, -32768, 32767).astype(np.int16)


def make_corpus(root: Path, *, speakers: int = 6, takes: int = 2, unknown_words: tuple[str, ...] = ("bed", "cat")) -> Path:
    """Write the corpus under ``root`` and return it."""
    words = KEYWORDS + unknown_words
    for w, word in enumerate(words):
        folder = root / word
        folder.mkdir(parents=True, exist_ok=True)
        for s in range(speakers):
            speaker = f"a{s:07x}"
            for take in range(takes):
                sf.write(folder / f"{speaker}_nohash_{take}.wav", _word(w, s, take), RATE, subtype="PCM_16")
    noise = root / "_background_noise_"
    noise.mkdir(exist_ok=True)
    rng = np.random.default_rng(99)
    for i in range(2):
        samples = rng.normal(0, 0.05 * (i + 1), 3 * RATE)
        sf.write(noise / f"noise_{i}.wav", np.clip(samples * 32767, -32768, 32767).astype(np.int16), RATE)
    return root
