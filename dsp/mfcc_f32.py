"""Float MFCC reference, equal to CMSIS-DSP's ``arm_mfcc_f32`` (to float32 rounding).

The same conventions as :mod:`dsp.mfcc_q15`, without the fixed-point scalings:

* frame i = samples [i*hop_length, i*hop_length + frame_length), zero-padded to fft_length;
* periodic window (``scipy.signal.get_window(window, frame_length, fftbins=True)``);
* magnitude spectrum |X[k]| (not power), k = 0..fft_length/2, unnormalised FFT;
* HTK mel triangles, linear in mel (not in Hz), peak 1, no area normalisation;
* natural log of (mel energy + 1e-6);
* DCT-II scaled by sqrt(2/n_mels) on every row, row 0 included (not orthonormal).

Relation to librosa (tested in tests/test_mfcc_f32.py): with ``y`` the float signal padded with
``(fft_length - frame_length) // 2`` zeros in front (librosa centres a short window inside
the FFT frame) and enough zeros behind to complete the last frame,
``librosa.feature.melspectrogram(y=y, sr=sample_rate, n_fft=fft_length, hop_length=hop_length,
win_length=frame_length, window=window, center=False, power=1.0, n_mels=n_mels, fmin=fmin,
fmax=fmax, htk=True, norm=None)`` gives mel energies whose triangles are linear in *Hz*; then
``scipy.fft.dct(np.log(mel + 1e-6), type=2, norm="ortho", axis=0)[:n_mfcc]`` with row 0
multiplied by sqrt(2) gives :func:`mfcc_f32`. The triangle shape is the only difference
left: with the default config it moves coefficients by a few hundredths (bounds in the test).
Replacing librosa's mel basis with :func:`dsp.tables.mel_filters` makes the two agree to 1e-4.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .config import MfccConfig
from .mfcc_q15 import frame_signal
from .tables import dct_matrix, mel_filters, window

LOG_FLOOR = 1e-6  # added before the log, as arm_mfcc_f32 does


@lru_cache(maxsize=32)
def _f32_tables(config: MfccConfig) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Window, dense mel matrix and DCT, rounded to float32 as cmsisdsp's F32 tables are."""
    filters = mel_filters(config.fmin, config.fmax, config.n_mels, config.sample_rate, config.fft_length)
    n_bins = config.fft_length // 2 + 1
    mel = filters.dense(n_bins, filters.weights.astype(np.float32)).astype(np.float64)
    win = window(config.window, config.frame_length, config.fft_length).astype(np.float32).astype(np.float64)
    dct = dct_matrix(config.n_mfcc, config.n_mels).astype(np.float32).astype(np.float64)
    return win, mel, dct


def frame_float_signal(samples: np.ndarray, *, config: MfccConfig) -> np.ndarray:
    """(n_samples,) float -> (n_frames, fft_length) float64 whole frames, zero-padded."""
    return frame_signal(np.asarray(samples, dtype=np.float64), config=config, dtype=np.float64)


def log_mel_f32(samples: np.ndarray, *, config: MfccConfig = MfccConfig()) -> np.ndarray:
    """(n_samples,) float in [-1, 1) -> (n_frames, n_mels) natural-log mel energies (+1e-6)."""
    win, mel, _ = _f32_tables(config)
    frames = frame_float_signal(np.asarray(samples, dtype=np.float64), config=config)
    magnitude = np.abs(np.fft.rfft(frames * win, axis=1))
    return np.log(magnitude @ mel.T + LOG_FLOOR)


def mfcc_f32(samples: np.ndarray, *, config: MfccConfig = MfccConfig()) -> np.ndarray:
    """(n_samples,) float samples in [-1, 1) -> (n_frames, n_mfcc) float32 MFCC.

    The float counterpart of :func:`dsp.mfcc_q15` (whose q8.7 output / 128 approximates it);
    equal to ``cmsisdsp.arm_mfcc_f32`` within 1e-4. CMSIS-DSP's normalisation by the frame
    peak cancels out in exact arithmetic and is omitted.
    """
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples of shape (n_samples,), got shape {samples.shape}")
    _, _, dct = _f32_tables(config)
    return (log_mel_f32(samples, config=config) @ dct.T).astype(np.float32)
