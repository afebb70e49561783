"""QUANTIZE and DEQUANTIZE kernels (kernels/quantize.cc, kernels/dequantize.h and
kernels/internal/reference/{quantize,requantize,dequantize}.h).

Per-channel kernels see the tensor as [outer, channels, inner] with the quantized dimension in the
middle; per-tensor kernels see it flat.
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    multiply_by_quantized_multiplier,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from litelens.kernels.float32_fma import fma_f32
from litelens.kernels.lut import float_to_int32, round_half_away


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def _quantize_value(value, scale, zero_point, qmin, qmax):
    """int32(round_half_away(value / scale)) + zero_point (int32 wrap), clamped; float32 division."""
    q = float_to_int32(round_half_away(np.float32(value / scale)))
    return min(max(wrap_int32(q + zero_point), qmin), qmax)


@jit
def affine_quantize(output, x, scale, zero_point, qmin, qmax):
    """Reference ``AffineQuantize``: float32 -> integer, one scale. [n] -> [n].

    out = clamp(int32(round_half_away(x / float(scale))) + zero_point, qmin, qmax).
    """
    scale = np.float32(scale)
    for i in range(x.size):
        output[i] = _quantize_value(x[i], scale, zero_point, qmin, qmax)


@jit
def per_channel_quantize(output, x, scales, zero_points, qmin, qmax):
    """Reference ``PerChannelQuantize``: as ``affine_quantize`` with scale/zero point of channel c.

    [outer, channels, inner] -> [outer, channels, inner]; ``scales`` float32 [channels].
    """
    outer, channels, inner = x.shape
    for o in range(outer):
        for c in range(channels):
            for i in range(inner):
                output[o, c, i] = _quantize_value(x[o, c, i], scales[c], zero_points[c], qmin, qmax)


@jit
def requantize(output, x, multiplier, shift, input_zero_point, output_zero_point, qmin, qmax):
    """Reference ``Requantize`` (reference/requantize.h): integer -> integer. [n] -> [n].

    out = clamp(MBQM(x - in_zp, multiplier, shift) + out_zp). (The official int8<->uint8 "xor 0x80"
    fast path taken for equal scales gives the same values.)
    """
    for i in range(x.size):
        v = wrap_int32(np.int64(x[i]) - input_zero_point)
        out = wrap_int32(multiply_by_quantized_multiplier(v, multiplier, shift) + output_zero_point)
        output[i] = min(max(out, qmin), qmax)


@jit
def dequantize(output, x, scale, zero_point):
    """Reference ``Dequantize`` (reference/integer_ops/dequantize.h): integer -> float32. [n] -> [n].

    out = float32(double(scale) * (x - zero_point)): the product is taken in double, then rounded once.
    """
    scale = np.float64(scale)
    for i in range(x.size):
        output[i] = np.float32(scale * np.float64(np.int64(x[i]) - zero_point))


@jit
def per_channel_dequantize(output, x, scales, zero_points):
    """Reference ``PerChannelDequantize``: out = float32(scale[c]) * float32(x - zp[c]), in float32.

    [outer, channels, inner] -> [outer, channels, inner].
    """
    outer, channels, inner = x.shape
    for o in range(outer):
        for c in range(channels):
            scale = np.float32(scales[c])
            zero_point = zero_points[c]
            for i in range(inner):
                output[o, c, i] = np.float32(scale * np.float32(np.int64(x[o, c, i]) - zero_point))


# --- optimized (builtin optimized_ops) and XNNPACK paths -------------------------------------------
# x86-64: the official wheel compiles the NEON code of optimized_ops.h through NEON_2_SSE, so the
# "NEON" blocks run on x86 too (SSE4.1 emulation; vcvtnq_s32_f32 is _mm_cvtps_epi32 under the default
# round-to-nearest-even mode). arm64: the same blocks run natively (saturating conversions, fused
# multiply-add in ScaleWithNewZeroPoint because __ARM_FEATURE_FMA is defined).


@jit
def cvt_nearest_even(v, arm):
    """``vcvtnq_s32_f32`` lane: nearest integer, ties to even. x86 (``_mm_cvtps_epi32``): NaN and
    out-of-range give INT32_MIN; arm64: saturates, NaN gives 0."""
    d = np.float64(v)
    if d != d:
        return np.int64(0) if arm else np.int64(INT32_MIN)
    r = np.rint(d)
    if r >= 2147483648.0:
        return np.int64(INT32_MAX) if arm else np.int64(INT32_MIN)
    if r < -2147483648.0:
        return np.int64(INT32_MIN)
    return np.int64(r)


@jit
def truncate_to_int32(d, arm):
    """``static_cast<int32_t>(double)``: truncation; x86 NaN/out of range -> INT32_MIN, arm64 saturates (NaN -> 0)."""
    if not arm:
        return float_to_int32(d)
    if d != d:
        return np.int64(0)
    if d >= 2147483647.0:
        return np.int64(INT32_MAX)
    if d <= -2147483648.0:
        return np.int64(INT32_MIN)
    return np.int64(np.trunc(d))


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def affine_quantize_optimized(output, x, reverse_scale, scale, zero_point, qmin, qmax, arm):
    """optimized_ops ``AffineQuantize`` (int8, uint8, int16 outputs). [n] -> [n].

    Blocks of 8 (the NEON loop): clamp(cvt_nearest_even(x * float(1.0 / double(scale))) + zp);
    the remaining n % 8 elements: clamp(int32(round_half_away(x / double(scale))) + zp).
    """
    n = x.size
    blocked = (n // 8) * 8
    for i in range(blocked):
        q = wrap_int32(cvt_nearest_even(np.float32(x[i] * reverse_scale), arm) + zero_point)
        output[i] = min(max(q, qmin), qmax)
    for i in range(blocked, n):
        q = wrap_int32(truncate_to_int32(round_half_away(np.float64(x[i]) / scale), arm) + zero_point)
        output[i] = min(max(q, qmin), qmax)


@jit
def rounding_mul_rows(x, multiplier, shift):
    """``MultiplyByQuantizedMultiplier4Rows`` (common.h, double rounding) on one lane:
    vrshlq(vqrdmulhq(vshlq(x, max(shift, 0)), M), min(shift, 0)) -- the final rounding shift
    rounds ties toward +inf, unlike the scalar RoundingDivideByPOT (ties away from zero)."""
    left = max(shift, 0)
    right = -min(shift, 0)
    v = wrap_int32(np.int64(x) << left)
    h = saturating_rounding_doubling_high_mul(v, multiplier)
    if right > 0:
        h = (h + (np.int64(1) << (right - 1))) >> right
    return h


@jit
def requantize_optimized(output, x, multiplier, shift, input_zero_point, output_zero_point, qmin, qmax):
    """optimized_ops ``Requantize`` for 8-bit <-> 8-bit (int8/uint8 both ways). [n] -> [n].

    Blocks of 16 (NEON loop): ``rounding_mul_rows``; the n % 16 tail: the scalar MBQM.
    """
    n = x.size
    blocked = (n // 16) * 16
    for i in range(n):
        v = wrap_int32(np.int64(x[i]) - input_zero_point)
        if i < blocked:
            m = rounding_mul_rows(v, multiplier, shift)
        else:
            m = multiply_by_quantized_multiplier(v, multiplier, shift)
        out = wrap_int32(m + output_zero_point)
        output[i] = min(max(out, qmin), qmax)


@jit
def dequantize_optimized(output, x, scale32, zero_times_scale, scale, zero_point, arm):
    """optimized_ops ``Dequantize`` (int8, uint8, int16). [n] -> [n].

    Blocks of 8 (NEON loop, ``ScaleWithNewZeroPoint``): float(q) * float(scale) + float(-zp * scale),
    x86: a float32 multiply then a float32 add; arm64: one fused multiply-add (``fma_f32``, exact).
    Tail: float32(double(scale) * (q - zp)).
    """
    n = x.size
    blocked = (n // 8) * 8
    for i in range(blocked):
        f = np.float32(np.int64(x[i]))
        if arm:
            output[i] = fma_f32(f, np.float32(scale32), np.float32(zero_times_scale))
        else:
            output[i] = np.float32(np.float32(f * scale32) + zero_times_scale)
    for i in range(blocked, n):
        output[i] = np.float32(scale * np.float64(np.int64(x[i]) - zero_point))


@jit
def xnnpack_quantize(output, x, scale, zero_point, qmin, qmax, arm):
    """XNNPACK f32 -> qs8/qu8 convert (``f32-qs8-vcvt``). [n] -> [n].

    x86 (AVX2/AVX-512 kernels): v = cvt_nearest_even(min(x * scale, 32767)) (scale = float(1 / out_scale);
    NaN -> 32767); arm64 (neonv8): v = vcvtnq(x * scale), saturating, NaN -> 0. Then packed to int16 with
    saturation, + zp with int16 saturation, packed to 8 bits with saturation.
    """
    for i in range(x.size):
        v = np.float32(x[i] * scale)
        if not arm and not v < np.float32(32767.0):  # _mm_min_ps(v, 32767) returns 32767 for NaN too
            v = np.float32(32767.0)
        q = cvt_nearest_even(v, arm)
        q = min(max(q, -32768), 32767)
        q = min(max(q + zero_point, -32768), 32767)
        output[i] = min(max(q, qmin), qmax)


@jit
def xnnpack_requantize(output, x, multiplier, input_zero_point, output_zero_point, qmin, qmax):
    """XNNPACK qs8 -> qs8 / qu8 -> qu8 convert (``qs8-vcvt``): multiplier = lrintf(256 * s_in / s_out);
    out = clamp((((x - zp_in) * multiplier + 128) >> 8) + zp_out). [n] -> [n]."""
    for i in range(x.size):
        acc = (np.int64(x[i]) - input_zero_point) * multiplier + 128
        out = (acc >> 8) + output_zero_point
        output[i] = min(max(out, qmin), qmax)


@jit
def xnnpack_dequantize(output, x, scale, zero_point):
    """XNNPACK qs8/qu8 -> f32 convert: float(x - zp) * float(scale). [n] -> [n]."""
    scale = np.float32(scale)
    for i in range(x.size):
        output[i] = np.float32(np.float32(np.int64(x[i]) - zero_point) * scale)
