"""CMSIS-DSP's q15 real FFT (plain-C build), vectorised over frames.

``arm_rfft_q15`` views N real samples as N/2 complex ones, runs the radix-4
decimation-in-frequency ``arm_cfft_q15`` on them (radix-4-by-2 when N/2 is not a power of
4), reorders by bit reversal, and splits the result into the real spectrum. Every stage
scales down to avoid overflow, so the output bin k is X[k] / N in q15 (for N = 512, q9.7).

Each stage below is written over whole arrays: ``re``/``im`` hold (N/2, frames) int32 --
frames last, so that every slice a butterfly takes is a run of contiguous rows -- and a
stage's butterflies are independent of each other, so one numpy expression computes all of
them. The integer steps (shifts, saturations, 16-bit truncations) are CMSIS-DSP's, in
its order; where C stores into a ``q15_t`` the value provably fits, except where noted.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from .fixedpoint import sqrt_q31, ssat, wrap_int16
from .tables import cfft_twiddles_q15, rfft_split_tables_q15


def _sat16(values: np.ndarray) -> np.ndarray:
    return ssat(values, 16)


def _twiddle_rotate(re: np.ndarray, im: np.ndarray, cos: np.ndarray, sin: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(re + j im) * (cos - j sin), products >> 16, as the butterflies' ``out1``/``out2``."""
    return (cos * re + sin * im) >> 16, (cos * im - sin * re) >> 16


def _stage_view(values: np.ndarray, span: int) -> np.ndarray:
    """(L, frames) -> (L/span, 4, span/4, frames): [g, q, j] is element g*span + q*span/4 + j."""
    length, frames = values.shape
    return values.reshape(length // span, 4, span // 4, frames)


def _radix4_butterflies(re: np.ndarray, im: np.ndarray, twiddles: np.ndarray, modifier: int) -> tuple[np.ndarray, np.ndarray]:
    """``arm_radix4_butterfly_q15``: in natural order in, bit-reversed order out (not reordered)."""
    length, frames = re.shape
    span = length
    stage = 0
    while span >= 4:
        quarter = span // 4
        r = _stage_view(re, span)
        i = _stage_view(im, span)
        first, last = stage == 0, span == 4
        if first:
            # The first stage scales its inputs by 1/4 before any addition.
            r, i = r >> 2, i >> 2
        ar, br, cr, dr = r[:, 0], r[:, 1], r[:, 2], r[:, 3]
        ai, bi, ci, di = i[:, 0], i[:, 1], i[:, 2], i[:, 3]
        sum_ac_r, sum_ac_i = _sat16(ar + cr), _sat16(ai + ci)
        dif_ac_r, dif_ac_i = _sat16(ar - cr), _sat16(ai - ci)
        sum_bd_r, sum_bd_i = _sat16(br + dr), _sat16(bi + di)
        dif_bd_r, dif_bd_i = _sat16(br - dr), _sat16(bi - di)
        out_r = np.empty_like(r)
        out_i = np.empty_like(i)
        if first:
            out_r[:, 0] = (sum_ac_r >> 1) + (sum_bd_r >> 1)
            out_i[:, 0] = (sum_ac_i >> 1) + (sum_bd_i >> 1)
            k2_r, k2_i = _sat16(sum_ac_r - sum_bd_r), _sat16(sum_ac_i - sum_bd_i)
            k3_r, k3_i = _sat16(dif_ac_r - dif_bd_i), _sat16(dif_ac_i + dif_bd_r)
            k1_r, k1_i = _sat16(dif_ac_r + dif_bd_i), _sat16(dif_ac_i - dif_bd_r)
        else:
            if last:
                out_r[:, 0] = (sum_ac_r >> 1) + (sum_bd_r >> 1)
                out_i[:, 0] = (sum_ac_i >> 1) + (sum_bd_i >> 1)
            else:
                out_r[:, 0] = ((sum_ac_r >> 1) + (sum_bd_r >> 1)) >> 1
                out_i[:, 0] = ((sum_ac_i >> 1) + (sum_bd_i >> 1)) >> 1
            k2_r, k2_i = (sum_ac_r >> 1) - (sum_bd_r >> 1), (sum_ac_i >> 1) - (sum_bd_i >> 1)
            k3_r, k3_i = (dif_ac_r >> 1) - (dif_bd_i >> 1), (dif_ac_i >> 1) + (dif_bd_r >> 1)
            k1_r, k1_i = (dif_ac_r >> 1) + (dif_bd_i >> 1), (dif_ac_i >> 1) - (dif_bd_r >> 1)
        if last:
            # The last stage has no twiddles. Like every stage it writes the k=2 output to
            # the second slot and k=1 to the third: that is what makes the final reorder a
            # plain bit reversal.
            out_r[:, 1], out_i[:, 1] = k2_r, k2_i
            out_r[:, 2], out_i[:, 2] = k1_r, k1_i
            out_r[:, 3], out_i[:, 3] = k3_r, k3_i
        else:
            index = np.arange(quarter) * modifier
            c1, s1 = twiddles[index, 0, None], twiddles[index, 1, None]
            c2, s2 = twiddles[2 * index, 0, None], twiddles[2 * index, 1, None]
            c3, s3 = twiddles[3 * index, 0, None], twiddles[3 * index, 1, None]
            out_r[:, 1], out_i[:, 1] = _twiddle_rotate(k2_r, k2_i, c2, s2)
            out_r[:, 2], out_i[:, 2] = _twiddle_rotate(k1_r, k1_i, c1, s1)
            out_r[:, 3], out_i[:, 3] = _twiddle_rotate(k3_r, k3_i, c3, s3)
        # Every value written above fits in 16 bits (inputs are pre-scaled and the twiddle
        # products are bounded by sqrt(2) * 2**30), so the q15_t stores need no truncation.
        re = out_r.reshape(length, frames)
        im = out_i.reshape(length, frames)
        modifier *= 4
        span = quarter
        stage += 1
    return re, im


def _radix4by2(re: np.ndarray, im: np.ndarray, twiddles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``arm_cfft_radix4by2_q15`` for lengths 2 * 4**k: one radix-2 step, two radix-4 halves."""
    half = re.shape[0] // 2
    top_r, bot_r = re[:half], re[half:]
    top_i, bot_i = im[:half], im[half:]
    cos, sin = twiddles[:half, 0, None], twiddles[:half, 1, None]
    diff_r = (top_r >> 1) - (bot_r >> 1)
    diff_i = (top_i >> 1) - (bot_i >> 1)
    even_r = ((top_r >> 1) + (bot_r >> 1)) >> 1
    even_i = ((bot_i >> 1) + (top_i >> 1)) >> 1
    # Each product is truncated to q15 before the sum here, unlike the radix-4 butterflies.
    odd_r = wrap_int16((diff_r * cos) >> 16) + wrap_int16((diff_i * sin) >> 16)
    odd_i = wrap_int16((diff_i * cos) >> 16) - wrap_int16((diff_r * sin) >> 16)
    even_r, even_i = _radix4_butterflies(even_r, even_i, twiddles, 2)
    odd_r, odd_i = _radix4_butterflies(odd_r, odd_i, twiddles, 2)
    # The final doubling can overflow q15 on full-scale input; C wraps it, so do we.
    re = wrap_int16(np.concatenate([even_r, odd_r]) << 1)
    im = wrap_int16(np.concatenate([even_i, odd_i]) << 1)
    return re, im


@lru_cache(maxsize=16)
def bit_reversal_order(length: int) -> np.ndarray:
    """Gather indices taking the butterflies' output to natural frequency order."""
    bits = length.bit_length() - 1
    index = np.arange(length)
    reversed_index = np.zeros_like(index)
    for b in range(bits):
        reversed_index |= ((index >> b) & 1) << (bits - 1 - b)
    return reversed_index


@lru_cache(maxsize=16)
def _int32_twiddles(length: int) -> np.ndarray:
    return cfft_twiddles_q15(length).astype(np.int32)


@lru_cache(maxsize=16)
def _int32_split_tables(fft_length: int) -> tuple[np.ndarray, ...]:
    """A and B split coefficients for bins 1..N/2-1 as (re, im) columns shaped for broadcasting."""
    coef_a, coef_b = rfft_split_tables_q15(fft_length)
    return tuple(t[1:, part, None].astype(np.int32) for t in (coef_a, coef_b) for part in (0, 1))


def cfft_q15_unordered(re: np.ndarray, im: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``arm_cfft_q15`` forward on (L, frames) int32 arrays, L in 16..4096, before the bit
    reversal: natural frequency k sits at row ``bit_reversal_order(L)[k]``."""
    length = re.shape[0]
    twiddles = _int32_twiddles(length)
    if (length.bit_length() - 1) % 2 == 0:
        return _radix4_butterflies(re, im, twiddles, 1)
    return _radix4by2(re, im, twiddles)


def rfft_q15_columns(samples: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``arm_rfft_q15`` forward on (N, frames) int32 -> bins 0..N/2 as two (N/2+1, frames) int32.

    Bin k holds X[k] / N (q15 arithmetic, truncating). Only the non-negative frequencies are
    returned; CMSIS-DSP also writes their conjugates above N/2.
    """
    n, n_frames = samples.shape
    half = n // 2
    re, im = cfft_q15_unordered(samples[0::2], samples[1::2])
    # Z[i] and Z[half - i] in natural order, i = 1..half-1, gathered straight from the
    # bit-reversed rows (arm_bitreversal_16 followed by arm_split_rfft_q15).
    order = bit_reversal_order(half)
    z1 = order[1:]
    z2 = order[:0:-1]
    z1_r, z1_i, z2_r, z2_i = re[z1], im[z1], re[z2], im[z2]
    a_r, a_i, b_r, b_i = _int32_split_tables(n)
    out_r = np.empty((half + 1, n_frames), dtype=np.int32)
    out_i = np.empty((half + 1, n_frames), dtype=np.int32)
    out_r[1:half] = wrap_int16((z1_r * a_r - z1_i * a_i + z2_r * b_r + z2_i * b_i) >> 16)
    out_i[1:half] = wrap_int16((z2_r * b_i - z2_i * b_r + z1_i * a_r + z1_r * a_i) >> 16)
    # Row 0 is frequency 0 in both orders.
    out_r[0] = (re[0] + im[0]) >> 1
    out_i[0] = 0
    out_r[half] = (re[0] - im[0]) >> 1
    out_i[half] = 0
    return out_r, out_i


def rfft_q15(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``arm_rfft_q15`` forward: (frames, N) -> bins 0..N/2 as two (frames, N/2+1) int32."""
    re, im = rfft_q15_columns(np.ascontiguousarray(np.asarray(frames, dtype=np.int32).T))
    return re.T, im.T


def cmplx_mag_q15(re: np.ndarray, im: np.ndarray, sqrt_seeds: np.ndarray) -> np.ndarray:
    """``arm_cmplx_mag_q15``: sqrt(re**2 + im**2) of q15 inputs, in q2.14, as int64."""
    power = (re.astype(np.int64) ** 2 + im.astype(np.int64) ** 2) >> 1
    return sqrt_q31(power, sqrt_seeds) >> 16
