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
from .fft_q15 import cmplx_mag_q15, rfft_q15_columns
from .fixedpoint import clz32, ssat, vlog_q31
from .tables import Q15Tables, q15_tables, sqrt_seed_q31

_LOG2_TO_LN_Q26 = 0x02C5C860  # ln(2) in q26: converts the power-of-two scalings to natural log
_MEL_ROUNDING = 0x219  # added before the shift; keeps log() away from exactly 0
_MEL_SHIFT = 10  # headroom so that the mel sums fit in q31
_LOG_TO_Q8_7_SHIFT = 19  # q5.26 (plus offsets) -> q8.7


def frame_signal(samples: np.ndarray, *, config: MfccConfig, dtype: type = np.int32) -> np.ndarray:
    """(n_samples,) -> (n_frames, fft_length) ``dtype``: whole frames, each zero-padded to the FFT length."""
    n_frames = config.n_frames(len(samples))
    frames = np.zeros((n_frames, config.fft_length), dtype=dtype)
    if n_frames:
        windows = np.lib.stride_tricks.sliding_window_view(samples, config.frame_length)
        frames[:, : config.frame_length] = windows[:: config.hop_length][:n_frames]
    return frames


def _normalise(columns: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Scale each frame (a column) so its peak is near full scale. Returns (columns, peak m, scaled)."""
    peak = np.minimum(np.abs(columns).max(axis=0), 32767).astype(np.int64)  # |-32768| saturates
    scaled = (peak != 0) & (peak != 32767)
    # arm_divide_q15(0x7FFF, m): a q15 quotient and a power-of-two shift. Frames left alone get
    # quotient 1 and shift 0, an exact identity, so one expression serves every frame.
    quotient = (32767 << 15) // np.where(scaled, peak, 1 << 15)
    shift = np.maximum(17 - clz32(quotient), 0)
    quotient = np.where(scaled, quotient >> shift, 1).astype(np.int32)
    k_shift = np.where(scaled, 15 - shift, 0).astype(np.int32)
    # |sample * quotient| < 2**30: int32 products are exact.
    columns = ssat((columns * quotient) >> k_shift, 16)
    return columns, peak, scaled


def _mel_energies(magnitude: np.ndarray, tables: Q15Tables) -> np.ndarray:
    """(used bins, frames) q2.14 magnitudes -> (n_mels, frames) int64 q31 mel energies (before un-scaling)."""
    # Products are below 2**30 and sums below 2**39, so float64 matrix products are exact.
    sums = np.rint(tables.mel_matrix @ magnitude.astype(np.float64)).astype(np.int64)
    shifted = (sums + _MEL_ROUNDING) >> _MEL_SHIFT
    return ssat(shifted.astype(np.int32).astype(np.int64), 31)


def _unscale(energies: np.ndarray, peak: np.ndarray, scaled: np.ndarray) -> np.ndarray:
    """``arm_scale_q31(x, m << 16, 0)`` on the normalised frames: x * m / 2**15, saturated."""
    product = (energies * (peak << 16)) >> 32
    doubled = np.clip(product * 2, -(1 << 31), (1 << 31) - 1)
    return np.where(scaled, doubled, energies)


# Frames per vectorised pass: small enough that the working arrays stay in cache (measured
# fastest between 128 and 256 frames of a 512-point FFT).
_BLOCK_VALUES = 256 * 512


def mfcc_q15_frames(frames: np.ndarray, *, config: MfccConfig) -> np.ndarray:
    """(n_frames, fft_length) int16-range frames -> (n_frames, n_mfcc) int16 q8.7 MFCC."""
    frames = np.asarray(frames, dtype=np.int32)
    block = max(1, _BLOCK_VALUES // config.fft_length)
    if len(frames) <= block:
        return _mfcc_block(frames, config)
    out = np.empty((len(frames), config.n_mfcc), dtype=np.int16)
    for start in range(0, len(frames), block):
        out[start : start + block] = _mfcc_block(frames[start : start + block], config)
    return out


def _mfcc_block(frames: np.ndarray, config: MfccConfig) -> np.ndarray:
    """(n_frames, fft_length) -> (n_frames, n_mfcc); computed frames-last, one column a frame."""
    tables = q15_tables(config)
    columns, peak, scaled = _normalise(np.ascontiguousarray(frames.T))
    windowed = ssat((columns * tables.window_column) >> 15, 16)
    re, im = rfft_q15_columns(windowed)
    used = tables.mel_bins
    magnitude = cmplx_mag_q15(re[used], im[used], sqrt_seed_q31())
    energies = _unscale(_mel_energies(magnitude, tables), peak, scaled)
    log_energy = vlog_q31(energies)
    fft_shift = config.fft_length.bit_length() - 1
    log_offset = (fft_shift + 2 + _MEL_SHIFT) * _LOG2_TO_LN_Q26
    log_energy = np.clip(log_energy + log_offset, -(1 << 31), (1 << 31) - 1) >> _LOG_TO_Q8_7_SHIFT
    log_q8_7 = log_energy.astype(np.int16).astype(np.float64)  # C casts to q15_t before __SSAT
    # |log| < 2**15, |dct| < 2**15, n_mels terms: the float64 products and sums are exact.
    sums = np.rint(tables.dct_float @ log_q8_7).astype(np.int64)
    coefficients = ssat((sums >> 15).astype(np.int32), 16)
    return coefficients.T.astype(np.int16)


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
