"""gemmlowp fixed-point helpers (fixedpoint.h) used by DIV and RSQRT, beyond ``fixedpoint.py``.

``rounding_divide_by_pot_x86`` reproduces what the official x86-64 wheel computes when a rounding
shift gets an exponent outside [0, 31], which the int8 DIV kernel does routinely.
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import INT32_MAX, saturating_rounding_doubling_high_mul, wrap_int32


@jit
def count_leading_zeros32(x):
    """``CountLeadingZeros`` of x read as uint32 (32 for 0)."""
    x = np.int64(x) & np.int64(0xFFFFFFFF)
    if x == 0:
        return 32
    n = 0
    while x < np.int64(0x80000000):
        x <<= 1
        n += 1
    return n


@jit
def count_leading_sign_bits32(x):
    """``CountLeadingSignBits`` of an int32 (GCC ``__builtin_clrsb``; 31 for 0 and -1)."""
    x = np.int64(x)
    if x < 0:
        x = ~x
    return count_leading_zeros32(x) - 1


@jit
def saturating_shift_left(x, exponent):
    """``SaturatingRoundingMultiplyByPOT<exponent>`` for exponent > 0 on int32: x * 2**exponent, saturated."""
    threshold = (np.int64(1) << (31 - exponent)) - 1
    if x > threshold:
        return np.int64(INT32_MAX)
    if x < -threshold:
        return np.int64(-INT32_MAX - 1)
    return np.int64(x) << exponent


@jit
def rounding_divide_by_pot_x86(x, exponent):
    """``RoundingDivideByPOT`` on int32 as the official x86-64 build computes it for any exponent.

    The mask is ``(1ll << exponent) - 1`` truncated to int32 (all ones once exponent >= 32) and
    ``x >> exponent`` is a 32-bit shift, whose count the CPU takes modulo 32 (the asserts that
    would forbid such exponents are compiled out). For 0 <= exponent <= 31 this is the ordinary
    rounding shift, ties away from zero.
    """
    x = np.int64(x)
    mask = wrap_int32((np.int64(1) << (exponent & 63)) - 1)
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> (exponent & 31)) + (1 if (x & mask) > threshold else 0)


@jit
def one_over_one_plus_x_for_x_in_0_1(a):
    """``one_over_one_plus_x_for_x_in_0_1``: 1/(1+a) for a in [0, 1) (Q0.31 in, Q0.31 out).

    half_denominator = RoundingHalfSum(a, 1); x = 48/17 - 32/17 * half_denominator (Q2.29), then
    three Newton-Raphson steps x += x * (1 - half_denominator * x); the result is x / 2 in Q0.31.
    Additions wrap like int32.
    """
    total = np.int64(a) + INT32_MAX  # RoundingHalfSum(a, F0::One()), a >= 0
    half_denominator = (total + 1) // 2
    x = wrap_int32(1515870810 + saturating_rounding_doubling_high_mul(half_denominator, -1010580540))
    for _ in range(3):
        half_denominator_times_x = saturating_rounding_doubling_high_mul(half_denominator, x)
        one_minus = wrap_int32((1 << 29) - half_denominator_times_x)
        x = wrap_int32(x + saturating_shift_left(saturating_rounding_doubling_high_mul(x, one_minus), 2))
    return saturating_shift_left(x, 1)


@jit
def get_reciprocal(x):
    """``GetReciprocal(x, 31, &shift)`` (common.h) for x > 0: (Q0.31 reciprocal, num_bits_over_unit)."""
    headroom_plus_one = count_leading_zeros32(x)
    num_bits_over_unit = 31 - headroom_plus_one
    shifted = ((np.int64(x) << headroom_plus_one) & np.int64(0xFFFFFFFF)) - (np.int64(1) << 31)
    return one_over_one_plus_x_for_x_in_0_1(shifted), num_bits_over_unit


@jit
def rounding_divide_by_pot_sse(x, exponent):
    """``RoundingDivideByPOT`` as the official x86-64 wheel's vectorised (SSE2, 4 x int32) loops compute it.

    Same as ``rounding_divide_by_pot_x86`` except the shift: ``psrad`` with a count above 31 (a
    negative exponent reads as a huge unsigned count) fills with the sign bit instead of wrapping
    the count. Only differs from the scalar form when the exponent is outside [0, 31].
    """
    x = np.int64(x)
    mask = wrap_int32((np.int64(1) << (exponent & 63)) - 1)
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    if 0 <= exponent <= 31:
        shifted = x >> exponent
    else:
        shifted = -1 if x < 0 else 0
    return shifted + (1 if (x & mask) > threshold else 0)
