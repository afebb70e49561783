"""RSQRT kernels: float32, int8 (fixed-point Newton-Raphson, tabulated in Prepare) and int16 (the
official 513-entry interpolated lookup table).

The official int8 and int16 kernels refuse an input below its zero point; the lookups here return
the index of the first such element (or -1) so the op can raise ``InputError`` with a clear message.
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import (
    INT32_MAX, multiply_by_quantized_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from litelens.kernels.gemmlowp import count_leading_zeros32, rounding_divide_by_pot_x86, saturating_shift_left

F32 = np.float32


@jit(error_model="numpy")
def float_rsqrt(out, x):
    """``1.f / std::sqrt(f)`` (elementwise.cc RsqrtEval): sqrt(-x) is NaN, 1/0 is inf."""
    for i in range(x.size):
        out[i] = F32(F32(1.0) / np.sqrt(F32(x[i])))


@jit
def inv_sqrt_multiplier_exp(value):
    """``GetInvSqrtQuantizedMultiplierExp(value, kReverseShift = -1)`` (common.h) for value >= 0:
    (M, shift) with 1/sqrt(value) ~ M * 2**(shift - 31). Values 0 and 1 give (INT32_MAX, 0).

    The input is normalised to [2**27, 2**29) in steps of 4, read as Q3.28 (raw >> 1), and five
    Newton-Raphson steps x <- 1.5 x - (value/2) x**3 run in gemmlowp fixed point; the result is
    multiplied by sqrt(2)/2.
    """
    value = np.int64(value)
    if value <= 1:
        return np.int64(INT32_MAX), 0
    shift = 11
    while value >= (1 << 29):
        value //= 4
        shift += 1
    left_shift_bit_pairs = (count_leading_zeros32(value) - 1) // 2 - 1
    shift -= left_shift_bit_pairs
    value <<= 2 * left_shift_bit_pairs
    half_input = rounding_divide_by_pot(value >> 1, 1)  # F3, SaturatingRoundingMultiplyByPOT<-1>
    half_three = (1 << 28) + (1 << 27)  # 1.5 in Q3.28
    x = np.int64(1 << 28)  # F3::One()
    for _ in range(5):
        x2 = saturating_rounding_doubling_high_mul(x, x)  # Q6
        x3 = saturating_shift_left(saturating_rounding_doubling_high_mul(x2, x), 6)  # Q9 -> Q3
        t = wrap_int32(saturating_rounding_doubling_high_mul(half_three, x)
                       - saturating_rounding_doubling_high_mul(half_input, x3))  # Q6
        x = saturating_shift_left(t, 3)  # Q6 -> Q3
    x = saturating_rounding_doubling_high_mul(x, 1518500250)  # * sqrt(2)/2 (Q0.31)
    if shift < 0:
        x = wrap_int32(x << -shift)
        shift = 0
    return x, -shift


@jit
def rsqrt_int8_table(multiplier, shift, out_offset):
    """RSQRT output for every v = q - zero_point in [0, 255] (elementwise.cc ``RsqrtEvalQuantizedInt8``):

    v == 0 -> 127; else (inv, s) = GetInvSqrtQuantizedMultiplierExp(v);
    t = MBQM(1, inv, s + 20); out = MBQM(t, M, shift - 20) + zp_out, clamped to int8. A right shift
    over 31 (multiplier below 2**-12) follows the official x86-64 build (``rounding_divide_by_pot_x86``).
    """
    table = np.empty(256, dtype=np.int8)
    table[0] = 127
    for v in range(1, 256):
        inv, inv_shift = inv_sqrt_multiplier_exp(v)
        t = multiply_by_quantized_multiplier(1, inv, inv_shift + 20)
        if shift - 20 > 0:
            raw = multiply_by_quantized_multiplier(t, multiplier, shift - 20) + out_offset
        else:  # a right shift that may exceed 31 for tiny multipliers, computed as the x86-64 wheel does
            raw = rounding_divide_by_pot_x86(saturating_rounding_doubling_high_mul(t, multiplier), 20 - shift)
            raw += out_offset
        table[v] = min(max(raw, -128), 127)
    return table


@jit
def rsqrt_int8(out, x, table, zero_point):
    """out[i] = table[x[i] - zero_point]; returns the index of the first x[i] < zero_point, else -1."""
    for i in range(x.size):
        v = np.int64(x[i]) - zero_point
        if v < 0:
            return i
        out[i] = table[v]
    return -1


@jit
def _round_half_away(x):
    """``TfLiteRound`` on a float32 (std::round)."""
    r = np.floor(np.abs(np.float64(x)) + 0.5)
    return F32(r if x >= 0 else -r)


@jit
def _rsqrt_transform(value, output_scale):
    """The int16 table transform: 1/sqrt(v), or INT16_MAX * output_scale for v <= 0."""
    if value <= F32(0.0):
        return F32(F32(32767.0) * output_scale)
    return F32(F32(1.0) / np.sqrt(value))


@jit
def rsqrt_int16_table(input_scale, input_zero_point, output_scale, output_zero_point):
    """``LUTPopulateInt16<float>`` (common.h) for RSQRT: 512 samples over the input range with a
    bias that halves the midpoint interpolation error, plus one end point. Every step in float32."""
    input_scale = F32(input_scale)
    output_scale = F32(output_scale)
    input_min = F32(input_scale * F32(-32768 - input_zero_point))
    input_max = F32(input_scale * F32(32767 - input_zero_point))
    output_min = F32(output_scale * F32(-32768 - output_zero_point))
    output_max = F32(output_scale * F32(32767 - output_zero_point))
    step = F32(F32(input_max - input_min) / F32(512.0))
    half_step = F32(step / F32(2.0))
    scaling_inv = F32(F32(65536.0) / F32(output_max - output_min))
    lut = np.empty(513, dtype=np.int16)
    for i in range(512):
        at = F32(input_min + F32(F32(i) * step))
        val = _rsqrt_transform(at, output_scale)
        val_midpoint = _rsqrt_transform(F32(at + half_step), output_scale)
        val_next = _rsqrt_transform(F32(input_min + F32(F32(i + 1) * step)), output_scale)
        sample_val = _round_half_away(F32(val * scaling_inv))
        interp = _round_half_away(F32(F32(F32(val_next * scaling_inv) + sample_val) / F32(2.0)))
        midpoint_val = _round_half_away(F32(val_midpoint * scaling_inv))
        bias = _round_half_away(F32(F32(interp - midpoint_val) / F32(2.0)))
        lut[i] = min(max(F32(sample_val - bias), F32(-32768.0)), F32(32767.0))
    end = _round_half_away(F32(_rsqrt_transform(input_max, output_scale) * scaling_inv))
    lut[512] = min(max(end, F32(-32768.0)), F32(32767.0))
    return lut


@jit
def rsqrt_int16(out, x, lut, zero_point):
    """``LUTLookup(int16)`` (common.h): base lut[256 + (x >> 7)] plus the int16 slope to the next entry
    times the low 7 bits, rounded; returns the index of the first x[i] < zero_point, else -1."""
    for i in range(x.size):
        value = np.int64(x[i])
        if value < zero_point:
            return i
        index = 256 + (value >> 7)
        base = np.int64(lut[index])
        slope = np.int64(lut[index + 1]) - base
        slope = ((slope + 32768) & 0xFFFF) - 32768  # stored in an int16
        delta = (slope * (value & 0x7F) + 64) >> 7
        out[i] = ((base + delta + 32768) & 0xFFFF) - 32768
    return -1


@jit
def _ftz(v):
    """Flush a float32 subnormal to a zero of its sign (MXCSR FTZ/DAZ, as XNNPACK runs)."""
    if v != 0 and abs(v) < F32(1.1754944e-38):
        return F32(0.0) * v
    return v


@jit(error_model="numpy")
def xnnpack_rsqrt_f32(out, x):
    """XNNPACK ``f32-vrsqrt`` avx512f_rsqrt (src/f32-vrsqrt/gen/f32-vrsqrt-avx512f-rsqrt.c) with the
    delegate's flush-to-zero/denormals-are-zero: y0 = rsqrt14(x) (here the correctly rounded 1/sqrt,
    within rsqrt14's 2**-14), one Newton step y = y0 - (0.5 * y0) * (x * y0**2 - 1) in float32, and 0
    for x = +inf. So 0 and subnormals give NaN (0 * inf), negatives NaN, and when y0**2 underflows
    (x > ~8.5e37) the step degenerates to 1.5 * y0. Needs AVX-512F (other CPUs take the AVX/SSE2
    rsqrt kernels: 12-bit y0, same step)."""
    for i in range(x.size):
        v = _ftz(F32(x[i]))
        y = F32(F32(1.0) / np.sqrt(v))
        t1 = _ftz(F32(y * y))
        t2 = _ftz(F32(v * t1))
        t3 = F32(t2 - F32(1.0))
        t4 = _ftz(F32(F32(0.5) * y))
        t5 = _ftz(F32(t3 * t4))
        y = _ftz(F32(y - t5))
        if v == F32(np.inf):
            y = F32(0.0)
        out[i] = y
