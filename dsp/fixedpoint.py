"""Vectorised integer primitives with CMSIS-DSP's plain-C semantics.

Arrays are int32 unless stated: numpy's int32 arithmetic wraps on overflow exactly as the
32-bit ``int`` arithmetic of the plain-C CMSIS-DSP build does on every supported compiler,
so sums of products need no extra emulation.
"""

from __future__ import annotations

import numpy as np


def ssat(values: np.ndarray, bits: int) -> np.ndarray:
    """``__SSAT(values, bits)``: clamp to the signed ``bits``-bit range."""
    high = (1 << (bits - 1)) - 1
    return np.clip(values, -high - 1, high)


def wrap_int16(values: np.ndarray) -> np.ndarray:
    """A C cast to ``q15_t``: keep the low 16 bits, as int32."""
    return values.astype(np.int16).astype(np.int32)


def clz32(values: np.ndarray) -> np.ndarray:
    """``__CLZ`` of non-negative values below 2**32 (int64 in, int64 out); CLZ(0) = 32."""
    _, exponent = np.frexp(values.astype(np.float64))  # exact: values < 2**53
    return (32 - exponent).astype(np.int64)


def _to_int32(values: np.ndarray) -> np.ndarray:
    """Store an int64 in a C ``int32_t`` (low 32 bits), kept as int64 for the next product."""
    return values.astype(np.int32).astype(np.int64)


def sqrt_q31(values: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """``arm_sqrt_q31`` element-wise: normalise, seed 1/sqrt from a table, 3 Newton steps.

    ``values``: int64 in [0, 2**31); ``seeds``: :func:`dsp.tables.sqrt_seed_q31`. Returns int64.
    Zero and negative inputs give 0, as in CMSIS-DSP.
    """
    number = values.astype(np.int64)
    positive = number > 0
    number = np.where(positive, number, 1)
    sign_bits = clz32(number) - 1
    even_shift = sign_bits - (sign_bits & 1)  # shift by an even amount so sqrt halves it exactly
    number = number << even_shift
    inv_sqrt = seeds[(number >> 26) - 8]
    for _ in range(3):
        # Each 64-bit product is shifted, then stored in a 32-bit variable in C.
        temp = _to_int32((inv_sqrt * inv_sqrt) >> 28)
        temp = _to_int32((number * temp) >> 31)
        temp = 0x30000000 - temp
        inv_sqrt = _to_int32((inv_sqrt * temp) >> 29)
    root = _to_int32((number * inv_sqrt) >> 28)
    root = root >> (even_shift // 2)
    return np.where(positive, root, 0)


_LOG_INV_LOG2E_Q31 = 0x58B90BFB  # 1/log2(e) in q31


def vlog_q31(values: np.ndarray) -> np.ndarray:
    """``arm_vlog_q31`` element-wise: natural log of q31 inputs as q5.26 (int64 in and out).

    Log2 by repeated squaring of the mantissa (31 bits), then scaled by ln(2). As in
    CMSIS-DSP, log(0) gives the value the C arithmetic produces for a leading-zero count of
    32, -0x58B90BFB.
    """
    src = values.astype(np.int64) & 0xFFFFFFFF
    leading = clz32(src)
    # Mantissa in q30 in [1, 2); inputs are q31 so at least one leading zero.
    x = np.where(leading >= 1, src << np.maximum(leading - 1, 0), src >> 1) & 0xFFFFFFFF
    y = np.zeros_like(x)
    # CMSIS-DSP squares 31 times, but its increment (0.5 in q26, halved each time) is 0
    # after 26 squarings, so the later ones cannot change the result.
    for bit in range(25, -1, -1):
        x *= x
        x >>= 30
        over = x >> 31  # 1 where the square reached 2.0
        y |= over << bit
        x >>= over
    # tmp = (int32)y - (leading << 26), all in wrapping 32-bit arithmetic.
    tmp = _to_int32(y - (leading << 26))
    return _to_int32((tmp * _LOG_INV_LOG2E_Q31) >> 31)
