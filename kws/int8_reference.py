"""TFLite's reference int8 arithmetic in numpy: FULLY_CONNECTED and SOFTMAX.

These follow the TFLite int8 quantisation spec and the reference kernels' fixed-point
arithmetic (gemmlowp's saturating rounding doubling high multiply, rounding division by a
power of two, the fixed-point exp on negative values and the Newton-Raphson reciprocal), so
that their integers equal LiteRT's ``BUILTIN_REF`` kernels; tests/test_int8_reference.py
checks that on the shipped model. They exist because LiteRT's faster builtin kernels give
every convolution and pooling of our models the reference integers but not the final
FULLY_CONNECTED: the fast path runs the body there and this head here.

All functions take and return int64 numpy arrays holding int32 (or int8) values.
"""

from __future__ import annotations

import math

import numpy as np

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1


def _wrap32(x: np.ndarray) -> np.ndarray:
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def srdhm(a: np.ndarray, b: np.ndarray | int) -> np.ndarray:
    """SaturatingRoundingDoublingHighMul: round(a * b / 2**31), saturating the one overflow."""
    a = np.asarray(a, dtype=np.int64)
    b = np.asarray(b, dtype=np.int64)
    product = a * b
    nudge = np.where(product >= 0, 1 << 30, 1 - (1 << 30))
    total = product + nudge
    # C++ integer division truncates toward zero.
    result = np.where(total >= 0, total >> 31, -((-total) >> 31))
    return np.where((a == INT32_MIN) & (b == INT32_MIN), INT32_MAX, result)


def rounding_divide_by_pot(x: np.ndarray, exponent: int | np.ndarray) -> np.ndarray:
    """x / 2**exponent rounded to nearest, ties away from zero."""
    x = np.asarray(x, dtype=np.int64)
    exponent = np.asarray(exponent, dtype=np.int64)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (x < 0)
    return (x >> exponent) + (remainder > threshold)


def saturating_shift_left(x: np.ndarray, exponent: int) -> np.ndarray:
    """SaturatingRoundingMultiplyByPOT for a positive exponent."""
    threshold = (1 << (31 - exponent)) - 1
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, x << exponent))


def quantize_multiplier(real: float) -> tuple[int, int]:
    """QuantizeMultiplier: real = multiplier * 2**(shift - 31), multiplier in [2**30, 2**31)."""
    if real == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real)
    q = int(math.floor(abs(fraction) * (1 << 31) + 0.5)) * (1 if fraction >= 0 else -1)  # round half away
    if q == 1 << 31:
        q //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return q, shift


def multiply_by_quantized_multiplier(x: np.ndarray, multiplier: int | np.ndarray, shift: int | np.ndarray) -> np.ndarray:
    """x * multiplier * 2**(shift - 31), rounded once (half up), as LiteRT's kernels do.

    LiteRT's reference FULLY_CONNECTED requantises its (64-bit) accumulators with one product
    and one rounding shift, not gemmlowp's doubling high multiply followed by a second rounding:
    measured on the default model, this form matched all 1,000 test inputs, the two-step form
    missed 27. (Its CONV_2D and DEPTHWISE_CONV_2D do use the two-step form; see
    firmware/src/int8/kws_int8_quantize.c and tests/test_int8_kernels.py.)
    """
    total_shift = 31 - np.asarray(shift, dtype=np.int64)
    product = np.asarray(x, dtype=np.int64) * np.asarray(multiplier, dtype=np.int64)
    return _wrap32((product + (np.int64(1) << (total_shift - 1))) >> total_shift)


def fully_connected(inputs: np.ndarray, weights: np.ndarray, bias: np.ndarray, *, input_zero_point: int,
                    multipliers: np.ndarray, shifts: np.ndarray, output_zero_point: int,
                    clamp: tuple[int, int] = (-128, 127)) -> np.ndarray:
    """(n, depth) int8 x (units, depth) int8 weights (zero point 0) + int32 bias -> (n, units) int8."""
    accumulators = (inputs.astype(np.int64) - input_zero_point) @ weights.astype(np.int64).T + bias.astype(np.int64)
    scaled = multiply_by_quantized_multiplier(_wrap32(accumulators), multipliers, shifts) + output_zero_point
    return np.clip(scaled, *clamp)


# ------------------------------------------------------------------------------- softmax

_SCALED_DIFF_INTEGER_BITS = 5
_ACCUMULATION_INTEGER_BITS = 12


def softmax_parameters(input_scale: float, beta: float = 1.0) -> tuple[int, int, int]:
    """(input multiplier, input left shift, diff_min) as the reference kernel prepares them."""
    real = min(beta * input_scale * (1 << (31 - _SCALED_DIFF_INTEGER_BITS)), float((1 << 31) - 1))
    multiplier, left_shift = quantize_multiplier(real)
    max_rescaled = (1.0 * ((1 << _SCALED_DIFF_INTEGER_BITS) - 1) * (1 << (31 - _SCALED_DIFF_INTEGER_BITS))
                    / (1 << left_shift))
    return multiplier, left_shift, -int(math.floor(max_rescaled))


def _exp_on_interval_quarter(a: np.ndarray) -> np.ndarray:
    """exp(a) for a in [-1/4, 0), a and result in Q0.31: Taylor series around -1/8."""
    exp_minus_one_eighth = 1895147668
    one_third = 715827883
    x = _wrap32(a + (1 << 28))
    x2 = srdhm(x, x)
    x3 = srdhm(x2, x)
    x4 = srdhm(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(_wrap32(srdhm(_wrap32(x4_over_4 + x3), one_third) + x2), 1)
    return _wrap32(exp_minus_one_eighth + srdhm(exp_minus_one_eighth, _wrap32(x + poly)))


#: exp(-2**k) in Q0.31 for k = -2..4, applied for each set bit of the remainder.
_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a: np.ndarray) -> np.ndarray:
    """exp(a) for a <= 0 given in Q5.26; result in Q0.31."""
    fractional_bits = 31 - _SCALED_DIFF_INTEGER_BITS
    quarter = 1 << (fractional_bits - 2)
    mod_quarter_minus_quarter = _wrap32((a & (quarter - 1)) - quarter)
    result = _exp_on_interval_quarter(saturating_shift_left(mod_quarter_minus_quarter, _SCALED_DIFF_INTEGER_BITS))
    remainder = _wrap32(mod_quarter_minus_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if _SCALED_DIFF_INTEGER_BITS > exponent:
            bit = 1 << (fractional_bits + exponent)
            result = np.where(remainder & bit, srdhm(result, multiplier), result)
    return np.where(a == 0, INT32_MAX, result)


def _one_over_one_plus_x(a: np.ndarray) -> np.ndarray:
    """1 / (1 + a) for a in [0, 1) in Q0.31, by Newton-Raphson in Q2.29; result in Q0.31."""
    total = a.astype(np.int64) + INT32_MAX
    half_denominator = np.where(total >= 0, (total + 1) // 2, -((-total + 1) // 2))
    x = _wrap32(1515870810 + srdhm(half_denominator, -1010580540))
    one_q2_29 = 1 << 29
    for _ in range(3):
        product = srdhm(half_denominator, x)
        correction = saturating_shift_left(srdhm(x, _wrap32(one_q2_29 - product)), 2)
        x = _wrap32(x + correction)
    return saturating_shift_left(x, 1)


def softmax(logits: np.ndarray, *, multiplier: int, left_shift: int, diff_min: int,
            output_zero_point: int = -128) -> np.ndarray:
    """(n, depth) int8 logits -> (n, depth) int8 probabilities (scale 1/256, zero point -128)."""
    logits = logits.astype(np.int64)
    diff = logits - logits.max(axis=1, keepdims=True)
    used = diff >= diff_min
    rescaled = srdhm(_wrap32(diff << left_shift), multiplier)
    exps = np.where(used, exp_on_negative_values(rescaled), 0)
    sum_of_exps = _wrap32(rounding_divide_by_pot(exps, _ACCUMULATION_INTEGER_BITS).sum(axis=1, keepdims=True))
    _, exponent = np.frexp(sum_of_exps.astype(np.float64))  # exact bit length: sums < 2**31
    headroom_plus_one = 32 - exponent.astype(np.int64)
    num_bits_over_unit = _ACCUMULATION_INTEGER_BITS - headroom_plus_one
    shifted_minus_one = _wrap32(((sum_of_exps << headroom_plus_one) & 0xFFFFFFFF) - (1 << 31))
    scale = _one_over_one_plus_x(shifted_minus_one)
    exponent = num_bits_over_unit + 31 - 8
    unsaturated = rounding_divide_by_pot(srdhm(scale, exps), exponent)
    out = np.clip(unsaturated + output_zero_point, -128, 127)
    return np.where(used, out, -128)
