"""The room and the microphone, simulated: reverberation, band-limiting, gain, background noise.

Pure functions over float arrays in [-1, 1) (or int16 for :func:`augment_room`), each taking a
``numpy.random.Generator`` where it draws anything, so a training epoch is reproducible.

* :func:`synthetic_rir`: an impulse response made of a direct path, a few early reflections and
  a late tail of exponentially decaying Gaussian noise whose decay gives the asked RT60.
* :func:`band_limit`: a 4th-order Butterworth band-pass, like a cheap MEMS microphone and its
  enclosure (e.g. 200-3500 Hz).
* :func:`augment_room`: all of them at random, plus background noise at a random SNR.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np

from dsp.config import SAMPLE_RATE


@dataclass(frozen=True)
class RoomConfig:
    reverb_probability: float = 0.5
    rt60_s: tuple[float, float] = (0.15, 0.8)
    band_limit_probability: float = 0.4
    low_hz: tuple[float, float] = (80.0, 400.0)
    high_hz: tuple[float, float] = (3000.0, 7000.0)
    gain_db: tuple[float, float] = (-12.0, 6.0)  # level changes of the whole clip (speech and noise)
    noise_probability: float = 0.8
    snr_db: tuple[float, float] = (0.0, 25.0)
    time_shift_ms: float = 0.0  # windows are placed by the dataset; no shift here by default

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "RoomConfig":
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in values.items()})


def synthetic_rir(rng: np.random.Generator, *, rt60_s: float, sample_rate: int = SAMPLE_RATE,
                  early_reflections: int = 6) -> np.ndarray:
    """(n,) float impulse response with peak 1 at sample 0, about ``rt60_s`` long.

    The late tail is Gaussian noise under ``exp(-6.91 t / rt60)`` (-60 dB at ``rt60_s``),
    starting ~2-5 ms after the direct path; early reflections are single taps of random sign
    within the first 20 ms, each weaker than the direct path.
    """
    length = max(2, int(rt60_s * sample_rate))
    t = np.arange(length) / sample_rate
    tail = rng.standard_normal(length) * np.exp(-6.91 * t / rt60_s)
    onset = int(rng.uniform(0.002, 0.005) * sample_rate)
    tail[:onset] = 0.0
    # Direct-to-reverberant ratio: the tail's energy relative to the direct path grows with RT60.
    tail *= np.sqrt(rng.uniform(0.3, 1.5) * rt60_s / 0.5 / max(np.sum(tail ** 2), 1e-12))
    rir = tail
    rir[0] = 1.0
    for _ in range(early_reflections):
        at = int(rng.integers(int(0.001 * sample_rate), int(0.02 * sample_rate)))
        if at < length:
            rir[at] += rng.choice([-1.0, 1.0]) * rng.uniform(0.1, 0.6)
    return rir


def reverberate(x: np.ndarray, rir: np.ndarray) -> np.ndarray:
    """(..., n) signals convolved with ``rir``, cut to n samples (the direct path stays aligned)."""
    from scipy.signal import fftconvolve

    rir = rir.reshape((1,) * (x.ndim - 1) + (-1,))
    return fftconvolve(x, rir, axes=-1)[..., : x.shape[-1]]


def band_limit(x: np.ndarray, *, low_hz: float, high_hz: float, sample_rate: int = SAMPLE_RATE) -> np.ndarray:
    """(..., n) signals through a 4th-order Butterworth band-pass ``low_hz``..``high_hz``."""
    from scipy.signal import butter, sosfilt

    high_hz = min(high_hz, 0.99 * sample_rate / 2)
    sos = butter(4, [low_hz, high_hz], btype="bandpass", fs=sample_rate, output="sos")
    return sosfilt(sos, x, axis=-1)


def _rms(x: np.ndarray) -> np.ndarray:
    return np.sqrt(np.mean(np.square(x), axis=-1, keepdims=True)) + 1e-9


def augment_room(clips: np.ndarray, noise: np.ndarray | None, rng: np.random.Generator, config: RoomConfig,
                 *, sample_rate: int = SAMPLE_RATE, speech: np.ndarray | None = None) -> np.ndarray:
    """(n, length) int16 clips -> (n, length) int16: each clip, independently at random,
    reverberated, background noise added at a random SNR, band-limited, and its gain changed.

    ``noise``: (n, length) float windows of background noise (one per clip), or None.
    ``speech``: (n,) bool, which clips hold speech; the SNR is set against those clips' RMS and
    the others (silence) get the noise at a random level of -60..-20 dBFS instead.
    """
    n, length = clips.shape
    x = clips.astype(np.float64) / 32768.0
    speech = np.ones(n, bool) if speech is None else speech
    for i in range(n):
        if rng.random() < config.reverb_probability and speech[i]:
            x[i] = reverberate(x[i], synthetic_rir(rng, rt60_s=rng.uniform(*config.rt60_s), sample_rate=sample_rate))
    if noise is not None:
        snr = rng.uniform(*config.snr_db, (n, 1))
        wanted = np.where(speech[:, None], _rms(x) / 10.0 ** (snr / 20.0),
                          10.0 ** (rng.uniform(-60.0, -20.0, (n, 1)) / 20.0))
        use = (rng.random((n, 1)) < config.noise_probability) | ~speech[:, None]
        x = x + np.where(use, noise * wanted / _rms(noise), 0.0)
    for i in range(n):
        if rng.random() < config.band_limit_probability:
            x[i] = band_limit(x[i], low_hz=rng.uniform(*config.low_hz), high_hz=rng.uniform(*config.high_hz),
                              sample_rate=sample_rate)
    x *= 10.0 ** (rng.uniform(*config.gain_db, (n, 1)) / 20.0)
    return np.clip(np.rint(x * 32768.0), -32768, 32767).astype(np.int16)


def colored_noise(rng: np.random.Generator, n: int, *, exponent: float) -> np.ndarray:
    """(n,) float noise of unit RMS whose power falls as 1/f**exponent (0 white, 1 pink, 2 brown)."""
    spectrum = np.fft.rfft(rng.standard_normal(n))
    f = np.maximum(np.fft.rfftfreq(n), 1.0 / n)
    shaped = np.fft.irfft(spectrum / f ** (exponent / 2), n)
    return shaped / _rms(shaped)
