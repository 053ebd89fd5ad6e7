"""Fixed-point MFCC, bit-exact with CMSIS-DSP's ``arm_mfcc_q15`` (plain-C build).

For each frame, the steps of ``arm_mfcc_q15``, vectorised over all frames at once:

1. normalise: divide by the frame's absolute maximum m (``arm_divide_q15``, ``arm_scale_q15``);
2. window (``arm_mult_q15``);
3. real FFT (:mod:`dsp.fft_q15`) and magnitude (``arm_cmplx_mag_q15``, q2.14 of X/N);
4. mel filters: 64-bit dot products, + 0x219 then >> 10, saturated to q31;
5. undo the normalisation: multiply by m (``arm_scale_q31``);
6. natural log in q5.26 (``arm_vlog_q31``), plus log(2**(log2 N + 12)) for the scalings, >> 19
   to q8.7, truncated to 16 bits;
7. DCT (``arm_mat_vec_mult_q15``), saturated to q8.7.

The output is q8.7: divide by 128 for the coefficient values.
"""

from __future__ import annotations

import numpy as np

from .config import MfccConfig
from .fft_q15 import cmplx_mag_q15, rfft_q15
from .fixedpoint import clz32, ssat, vlog_q31
from .tables import Q15Tables, q15_tables, sqrt_seed_q31

_LOG2_TO_LN_Q26 = 0x02C5C860  # ln(2) in q26: converts the power-of-two scalings to natural log
_MEL_ROUNDING = 0x219  # added before the shift; keeps log() away from exactly 0
_MEL_SHIFT = 10  # headroom so that the mel sums fit in q31
_LOG_TO_Q8_7_SHIFT = 19  # q5.26 (plus offsets) -> q8.7


def frame_signal(samples: np.ndarray, *, config: MfccConfig) -> np.ndarray:
    """(n_samples,) -> (n_frames, fft_length) int32: whole frames, each zero-padded to the FFT length."""
    n_frames = config.n_frames(len(samples))
    frames = np.zeros((n_frames, config.fft_length), dtype=np.int32)
    if n_frames:
        windows = np.lib.stride_tricks.sliding_window_view(samples, config.frame_length)
        frames[:, : config.frame_length] = windows[:: config.hop_length][:n_frames]
    return frames


def _normalise(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each frame so its peak is near full scale. Returns (frames, peak m, scaled mask)."""
    peak = np.minimum(np.abs(frames), 32767).max(axis=1).astype(np.int64)  # |-32768| saturates
    scaled = (peak != 0) & (peak != 32767)
    safe_peak = np.where(scaled, peak, 1)
    # arm_divide_q15(0x7FFF, m): a q15 quotient and a power-of-two shift.
    quotient = (32767 << 15) // safe_peak
    shift = np.maximum(17 - clz32(quotient), 0)
    quotient = quotient >> shift
    k_shift = 15 - shift
    out = ssat((frames.astype(np.int64) * quotient[:, None]) >> k_shift[:, None], 16)
    frames = np.where(scaled[:, None], out, frames).astype(np.int32)
    return frames, peak, scaled


def _mel_energies(magnitude: np.ndarray, tables: Q15Tables) -> np.ndarray:
    """(frames, used bins) q2.14 magnitudes -> (frames, n_mels) int64 q31 mel energies (before un-scaling)."""
    # Products are below 2**30 and sums below 2**39, so float64 matrix products are exact.
    sums = np.rint(magnitude.astype(np.float64) @ tables.mel_matrix.T).astype(np.int64)
    shifted = (sums + _MEL_ROUNDING) >> _MEL_SHIFT
    return ssat(shifted.astype(np.int32).astype(np.int64), 31)


def _unscale(energies: np.ndarray, peak: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """``arm_scale_q31(x, m << 16, 0)`` on the normalised frames: x * m / 2**15, saturated."""
    product = (energies * (peak[:, None] << 16)) >> 32
    doubled = np.clip(product * 2, -(1 << 31), (1 << 31) - 1)
    return np.where(scaled[:, None], doubled, energies)


def mfcc_q15_frames(frames: np.ndarray, *, config: MfccConfig) -> np.ndarray:
    """(n_frames, fft_length) int16-range frames -> (n_frames, n_mfcc) int16 q8.7 MFCC."""
    tables = q15_tables(config)
    frames, peak, scaled = _normalise(frames)
    windowed = ssat((frames * tables.window.astype(np.int32)) >> 15, 16)
    re, im = rfft_q15(windowed)
    used = tables.mel_bins
    magnitude = cmplx_mag_q15(re[:, used], im[:, used], sqrt_seed_q31())
    energies = _unscale(_mel_energies(magnitude, tables), peak, scaled)
    log_energy = vlog_q31(energies)
    fft_shift = config.fft_length.bit_length() - 1
    log_offset = (fft_shift + 2 + _MEL_SHIFT) * _LOG2_TO_LN_Q26
    log_energy = np.clip(log_energy + log_offset, -(1 << 31), (1 << 31) - 1) >> _LOG_TO_Q8_7_SHIFT
    log_q8_7 = log_energy.astype(np.int16).astype(np.float64)  # C casts to q15_t before __SSAT
    # |log| < 2**15, |dct| < 2**15, n_mels terms: the float64 products and sums are exact.
    sums = np.rint(log_q8_7 @ tables.dct.T.astype(np.float64)).astype(np.int64)
    coefficients = ssat((sums >> 15).astype(np.int32), 16)
    return coefficients.astype(np.int16)


def mfcc_q15(samples: np.ndarray, *, config: MfccConfig = MfccConfig()) -> np.ndarray:
    """int16 mono samples (n_samples,) -> int16 q8.7 MFCC (n_frames, n_mfcc).

    Frame i covers samples [i*hop_length, i*hop_length + frame_length), zero-padded to
    fft_length; a trailing partial frame is dropped. Bit-exact with ``cmsisdsp.arm_mfcc_q15``
    initialised from the same config (see :mod:`dsp.tables`).
    """
    samples = np.asarray(samples)
    if samples.ndim != 1:
        raise ValueError(f"expected mono samples of shape (n_samples,), got shape {samples.shape}")
    if samples.dtype != np.int16:
        raise TypeError(f"expected int16 samples, got {samples.dtype}")
    return mfcc_q15_frames(frame_signal(samples, config=config), config=config)
