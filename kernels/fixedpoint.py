"""Fixed-point primitives shared by the int8 kernels.

Each matches a function of the official runtime (gemmlowp ``fixedpoint.h`` and TFLite
``kernels/internal/common.h`` / ``quantization_util.cc``); the docstrings name which. All integer
arithmetic is done in int64 and wrapped back to int32 exactly where the official code wraps.
"""
import math

import numpy as np

from litelens.kernels.config import jit

INT32_MIN = -(2**31)
INT32_MAX = 2**31 - 1


def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """``QuantizeMultiplier`` (quantization_util.cc): real -> (int32 multiplier M, shift).

    real == M * 2**(shift - 31). Rounds q * 2**31 half away from zero (TfLiteRound); M == 2**31
    becomes 2**30 with shift + 1; a shift below -31 flushes to (0, 0). Runs in Prepare (Python).
    """
    if real_multiplier == 0.0:
        return 0, 0
    q, shift = math.frexp(real_multiplier)
    m = int(math.copysign(math.floor(abs(q) * 2**31 + 0.5), q))
    if m == 2**31:
        m //= 2
        shift += 1
    if shift < -31:
        return 0, 0
    return m, shift


@jit
def saturating_rounding_doubling_high_mul(a, b):
    """gemmlowp ``SaturatingRoundingDoublingHighMul``: round(a*b / 2**31), ties toward +inf.

    Only a == b == INT32_MIN overflows; it saturates to INT32_MAX.
    """
    a = np.int64(a)
    b = np.int64(b)
    if a == INT32_MIN and b == INT32_MIN:
        return np.int64(INT32_MAX)
    ab = a * b
    nudge = np.int64(1 << 30) if ab >= 0 else np.int64(1 - (1 << 30))
    total = ab + nudge
    # Division truncating toward zero, as C++ int64 division does.
    if total >= 0:
        return total >> 31
    return -((-total) >> 31)


@jit
def rounding_divide_by_pot(x, exponent):
    """gemmlowp ``RoundingDivideByPOT``: x / 2**exponent rounded to nearest, ties away from zero."""
    x = np.int64(x)
    mask = (np.int64(1) << exponent) - 1
    remainder = x & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return (x >> exponent) + (1 if remainder > threshold else 0)


@jit
def wrap_int32(x):
    """Two's-complement wrap of an int64 value to int32 range (C++ int32 overflow on x86/ARM)."""
    x = np.int64(x) & np.int64(0xFFFFFFFF)
    if x >= np.int64(0x80000000):
        x -= np.int64(0x100000000)
    return x


@jit
def multiply_by_quantized_multiplier(x, multiplier, shift):
    """TFLite ``MultiplyByQuantizedMultiplier`` (common.h, double-rounding build used by pip wheels).

    RDBPOT(SRDHM(x * 2**max(shift, 0), M), max(-shift, 0)); the left shift wraps in int32.
    """
    left = shift if shift > 0 else 0
    right = -shift if shift < 0 else 0
    shifted = wrap_int32(np.int64(x) << left)
    return rounding_divide_by_pot(saturating_rounding_doubling_high_mul(shifted, multiplier), right)
