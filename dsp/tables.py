"""Constant tables of the frontend, computed from their defining formulas.

Everything here is derived from an :class:`~dsp.config.MfccConfig` (or an FFT length) and
cached. The q15 tables follow CMSIS-DSP's definitions, so that the integer pipeline in
:mod:`dsp.mfcc_q15` sees the same constants as ``arm_mfcc_q15`` does:

* window, mel filters and DCT: ``cmsisdsp.datatype.convert(x, Q15)``, i.e. numpy's
  round-half-even of ``x * 2**15`` saturated to int16;
* FFT twiddles, real-FFT split tables and the square-root seed table: the generation
  formulas documented in CMSIS-DSP's ``arm_common_tables.c``. The split tables and the seed
  table are rounded to nearest; the complex-FFT twiddles are rounded *down* (their comment
  says round, but floor is what reproduces every entry of the shipped tables).

The C tables of the firmware are generated from these same functions.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy.signal import get_window

from .config import MfccConfig

#: Length of CMSIS-DSP's largest real-FFT split tables (realCoefAQ15 holds 4096 complex values).
_RFFT_TABLE_POINTS = 4096


def to_q15(values: np.ndarray) -> np.ndarray:
    """Float array -> int16 q15: round half to even of ``values * 32768``, saturated."""
    scaled = np.round(np.asarray(values, dtype=np.float64) * 32768.0)
    return np.clip(scaled, -32768, 32767).astype(np.int16)


def hz_to_mel(freq: np.ndarray | float) -> np.ndarray:
    """HTK mel scale, written with the natural log: 1127 ln(1 + f/700)."""
    return 1127.0 * np.log(1.0 + np.asarray(freq) / 700.0)


def mel_to_hz(mels: np.ndarray | float) -> np.ndarray:
    return 700.0 * (np.exp(np.asarray(mels) / 1127.0) - 1.0)


@dataclass(frozen=True)
class MelFilters:
    """Mel triangles in CMSIS-DSP's packed sparse form.

    ``positions[i]`` is the first FFT bin of filter ``i``, ``lengths[i]`` its number of bins,
    and ``weights`` the concatenated non-zero weights, filter after filter.
    """

    positions: np.ndarray  # (n_mels,) int
    lengths: np.ndarray  # (n_mels,) int
    weights: np.ndarray  # (sum(lengths),) float64

    def dense(self, n_bins: int, weights: np.ndarray | None = None) -> np.ndarray:
        """(n_mels, n_bins) matrix with the packed ``weights`` (or another packed array) scattered."""
        packed = self.weights if weights is None else weights
        matrix = np.zeros((len(self.positions), n_bins), dtype=packed.dtype)
        start = 0
        for row, (pos, length) in enumerate(zip(self.positions, self.lengths)):
            matrix[row, pos : pos + length] = packed[start : start + length]
            start += length
        return matrix


@lru_cache(maxsize=32)
def mel_filters(fmin: float, fmax: float, n_mels: int, sample_rate: int, fft_length: int) -> MelFilters:
    """HTK triangles, linear in mel, unnormalised, over bins 0..fft_length/2.

    Same arithmetic as ``cmsisdsp.mfcc.melFilterMatrix``: bin 0 always has weight 0, and a
    filter spans the contiguous run of non-zero weights from its first non-zero bin.
    """
    n_bins = fft_length // 2 + 1
    band_edges = np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), num=n_mels + 2)
    bin_mels = hz_to_mel(np.linspace(0, sample_rate / 2.0, n_bins))[1:]
    positions, lengths, packed = [], [], []
    for n in range(n_mels):
        rising = (bin_mels - band_edges[n]) / (band_edges[n + 1] - band_edges[n])
        falling = (band_edges[n + 2] - bin_mels) / (band_edges[n + 2] - band_edges[n + 1])
        row = np.concatenate([[0.0], np.maximum(0.0, np.minimum(rising, falling))])
        nonzero = np.flatnonzero(row != 0.0)
        if nonzero.size == 0:
            raise ValueError(
                f"mel filter {n} covers no FFT bin: use fewer mel bands, a wider fmin..fmax or a longer FFT"
            )
        start = int(nonzero[0])
        zeros_after = np.flatnonzero(row[start:] == 0.0)
        if zeros_after.size == 0:
            # CMSIS-DSP's generator needs a zero after every triangle; fmax == sample_rate/2
            # would leave the last one open.
            raise ValueError(f"mel filter {n} reaches the Nyquist bin: lower fmax below sample_rate/2")
        stop = start + int(zeros_after[0])
        positions.append(start)
        lengths.append(stop - start)
        packed.extend(row[start:stop])
    return MelFilters(np.array(positions), np.array(lengths), np.array(packed, dtype=np.float64))


@lru_cache(maxsize=32)
def dct_matrix(n_mfcc: int, n_mels: int) -> np.ndarray:
    """(n_mfcc, n_mels) DCT-II with sqrt(2/M) on every row, row 0 included (CMSIS-DSP's form)."""
    centres = (np.linspace(1, n_mels, n_mels) - 0.5) / n_mels
    rows = [np.cos(i * np.pi * centres) * np.sqrt(2.0 / n_mels) for i in range(n_mfcc)]
    return np.array(rows)


@lru_cache(maxsize=32)
def window(name: str, frame_length: int, fft_length: int) -> np.ndarray:
    """Periodic window of ``frame_length`` samples, zero-padded to ``fft_length`` (float64)."""
    padded = np.zeros(fft_length)
    padded[:frame_length] = get_window(name, frame_length, fftbins=True)
    return padded


@dataclass(frozen=True)
class Q15Tables:
    """All integer constants ``arm_mfcc_q15`` is initialised with, for one config."""

    window: np.ndarray  # (fft_length,) int16
    mel_positions: np.ndarray  # (n_mels,) int
    mel_lengths: np.ndarray  # (n_mels,) int
    mel_weights: np.ndarray  # (sum(lengths),) int16, packed
    mel_matrix: np.ndarray  # (n_mels, mel_bins.stop - mel_bins.start) float64, packed weights scattered
    mel_bins: slice  # the FFT bins any filter touches; the others never reach the output
    dct: np.ndarray  # (n_mfcc, n_mels) int16
    # The same constants in the shapes the vectorised pipeline consumes them.
    window_column: np.ndarray  # (fft_length, 1) int32
    dct_float: np.ndarray  # (n_mfcc, n_mels) float64, exact copies of the q15 values


@lru_cache(maxsize=32)
def q15_tables(config: MfccConfig) -> Q15Tables:
    filters = mel_filters(config.fmin, config.fmax, config.n_mels, config.sample_rate, config.fft_length)
    weights = to_q15(filters.weights)
    n_bins = config.fft_length // 2 + 1
    used = slice(int(filters.positions.min()), int((filters.positions + filters.lengths).max()))
    window_q15 = to_q15(window(config.window, config.frame_length, config.fft_length))
    dct_q15 = to_q15(dct_matrix(config.n_mfcc, config.n_mels))
    return Q15Tables(
        window=window_q15,
        mel_positions=filters.positions,
        mel_lengths=filters.lengths,
        mel_weights=weights,
        mel_matrix=filters.dense(n_bins, weights)[:, used].astype(np.float64),
        mel_bins=used,
        dct=dct_q15,
        window_column=window_q15.astype(np.int32)[:, None],
        dct_float=dct_q15.astype(np.float64),
    )


def _round_half_away(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.floor(np.abs(values) + 0.5)


def _q15_rounded(values: np.ndarray) -> np.ndarray:
    return np.clip(_round_half_away(values * 32768.0), -32768, 32767).astype(np.int64)


def _q15_floored(values: np.ndarray) -> np.ndarray:
    return np.clip(np.floor(values * 32768.0), -32768, 32767).astype(np.int64)


@lru_cache(maxsize=16)
def cfft_twiddles_q15(length: int) -> np.ndarray:
    """(3*length/4, 2) int64 [cos, sin] of 2*pi*i/length in q15, as in twiddleCoef_<length>_q15."""
    i = np.arange(3 * length // 4, dtype=np.float64)
    angle = i * 2.0 * np.pi / float(length)
    return np.stack([_q15_floored(np.cos(angle)), _q15_floored(np.sin(angle))], axis=1)


@lru_cache(maxsize=16)
def rfft_split_tables_q15(fft_length: int) -> tuple[np.ndarray, np.ndarray]:
    """The A and B split coefficients the real FFT uses, for bins 0..fft_length/2-1.

    Each is (fft_length/2, 2) int64: CMSIS-DSP's 4096-point realCoefAQ15/realCoefBQ15 sampled
    every ``twidCoefRModifier`` = 8192 / fft_length points.
    """
    stride = 2 * _RFFT_TABLE_POINTS // fft_length
    i = np.arange(fft_length // 2, dtype=np.float64) * stride
    angle = 2.0 * np.pi / float(2 * _RFFT_TABLE_POINTS) * i
    a = np.stack([_q15_rounded(0.5 * (1.0 - np.sin(angle))), _q15_rounded(0.5 * (-1.0 * np.cos(angle)))], axis=1)
    b = np.stack([_q15_rounded(0.5 * (1.0 + np.sin(angle))), _q15_rounded(0.5 * (1.0 * np.cos(angle)))], axis=1)
    return a, b


@lru_cache(maxsize=1)
def sqrt_seed_q31() -> np.ndarray:
    """(32,) int64 seeds of 1/sqrt(x)/8 in q31 for x = 0.25 + k/32 (sqrt_initial_lut_q31)."""
    x = 0.25 + np.arange(32) / 32.0
    return np.round(2.0**28 / np.sqrt(x)).astype(np.int64)
