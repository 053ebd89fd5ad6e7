"""Named test signals for the frontend: deterministic, synthesised, 16 kHz int16.

Shared by the golden-vector script and the tests, so every case is reproducible by name.
"""

from __future__ import annotations

import numpy as np

RATE = 16000


def _clip16(x: np.ndarray) -> np.ndarray:
    return np.clip(np.round(x), -32768, 32767).astype(np.int16)


def named_signals(n_samples: int = 8000, seed: int = 2026) -> dict[str, np.ndarray]:
    """Signals that exercise every branch of arm_mfcc_q15: silence, DC, full scale, clipping,
    tiny and quiet inputs (the normalisation shift), noise, impulses, sweeps and a vowel."""
    rng = np.random.default_rng(seed)
    t = np.arange(n_samples) / RATE
    impulses = np.zeros(n_samples)
    impulses[::1000] = 32767
    impulses[500::2000] = -32768
    sweep_phase = 2 * np.pi * (100 * t + (7900 - 100) / (2 * t[-1]) * t**2)
    # A crude /a/: 120 Hz glottal harmonics shaped by formants at 700, 1200 and 2600 Hz.
    harmonics = np.arange(1, 60)
    freqs = 120 * harmonics
    gain = sum(np.exp(-(((freqs - f) / bw) ** 2)) for f, bw in ((700, 130), (1200, 150), (2600, 250)))
    vowel = (gain[:, None] * np.sin(2 * np.pi * freqs[:, None] * t)).sum(axis=0)
    vowel *= np.hanning(n_samples) * 12000 / np.abs(vowel).max()
    return {
        "silence": np.zeros(n_samples, dtype=np.int16),
        "dc_half": np.full(n_samples, 16384, dtype=np.int16),
        "dc_full_positive": np.full(n_samples, 32767, dtype=np.int16),
        "dc_full_negative": np.full(n_samples, -32768, dtype=np.int16),
        "square_440hz_full_scale": np.where(np.sin(2 * np.pi * 440 * t) >= 0, 32767, -32768).astype(np.int16),
        "sine_1khz_full_scale": _clip16(32767 * np.sin(2 * np.pi * 1000 * t)),
        "sine_300hz_clipped": _clip16(3 * 32767 * np.sin(2 * np.pi * 300 * t)),
        "noise_quiet_-60dbfs": _clip16(rng.normal(0, 32768 * 1e-3, n_samples)),
        "noise_lsb": rng.integers(-1, 2, n_samples).astype(np.int16),
        "noise_white_full_scale": rng.integers(-32768, 32768, n_samples).astype(np.int16),
        "impulses": _clip16(impulses),
        "sweep_100_7900hz": _clip16(16384 * np.sin(sweep_phase)),
        "vowel_a_synthetic": _clip16(vowel),
    }
