"""Quantized DIV (int8/int16), reference/div.h ``DivElementwise``.

The divisor is inverted with ``GetReciprocal`` (a Newton-Raphson 1/(1+x)), the dividend is
normalised by its headroom, and two fixed-point multiplications give the quotient. The final
rounding shift is often out of range for small dividends; it is reproduced as the official x86-64
build computes it (``rounding_divide_by_pot_x86``), so e.g. 0 / y gives zero_point + 1.
"""
import numpy as np

from litelens.kernels.broadcast import row_offsets
from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import saturating_rounding_doubling_high_mul, wrap_int32
from litelens.kernels.gemmlowp import count_leading_sign_bits32, get_reciprocal, rounding_divide_by_pot_x86


@jit
def divide_element(v1, v2, out_multiplier, out_shift):
    """One quotient before the output offset: v1 / v2 (v2 != 0) scaled by (M, shift)."""
    if v2 < 0:
        v1 = -v1
        v2 = -v2
    inverse, recip_shift = get_reciprocal(v2)
    headroom = count_leading_sign_bits32(v1)
    unscaled = saturating_rounding_doubling_high_mul(wrap_int32(np.int64(v1) << headroom), inverse)
    total_shift = out_shift - recip_shift - headroom
    scaled = saturating_rounding_doubling_high_mul(unscaled, out_multiplier)
    return rounding_divide_by_pot_x86(scaled, -total_shift)


@jit
def quantized_div(out, x1, x2, loops, strides1, strides2, offset1, offset2,
                  out_multiplier, out_shift, out_offset, act_min, act_max):
    """Quantized DIV, int8 or int16 (``DivElementwise`` / ``BroadcastDivSlowQuantized``):

    v1 = x1 - z1, v2 = x2 - z2 (both negated if v2 < 0); (inv, r) = GetReciprocal(v2);
    h = CountLeadingSignBits(v1); q = SRDHM(v1 << h, inv);
    out = RDBPOT(SRDHM(q, M), h + r - shift) + z_out, clamped to [act_min, act_max].
    The caller guarantees x2 never equals its zero point.
    """
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            v1 = np.int64(x1[start1 + i * step1]) + offset1
            v2 = np.int64(x2[start2 + i * step2]) + offset2
            raw = divide_element(v1, v2, out_multiplier, out_shift) + out_offset
            out[base + i] = min(max(raw, act_min), act_max)
