"""QUANTIZE and DEQUANTIZE kernels (kernels/quantize.cc, kernels/dequantize.h and
kernels/internal/reference/{quantize,requantize,dequantize}.h).

Per-channel kernels see the tensor as [outer, channels, inner] with the quantized dimension in the
middle; per-tensor kernels see it flat.
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import multiply_by_quantized_multiplier, wrap_int32
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
