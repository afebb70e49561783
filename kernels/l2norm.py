"""L2_NORMALIZATION kernels over the last axis (kernels/l2norm.cc): float32, int8, uint8.

Each takes flat views of input and output, ``x`` read as [outer, depth] rows.
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import (
    multiply_by_quantized_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul, wrap_int32,
)
from litelens.kernels.rsqrt import inv_sqrt_multiplier_exp

F32 = np.float32

# The int8 output is in units of 2**-7 (scale 1/128): the kernel folds that into the shift.
OUTPUT_SCALE_BITS = 7


@jit(error_model="numpy")
def l2_normalization_float(out, x, depth, epsilon):
    """reference/l2normalization.h ``L2Normalization`` (float): per row,
    n = max(sqrt(sum_c x_c * x_c), epsilon) with a sequential float32 sum, then out_c = x_c / n.

    ``std::max(n, epsilon)`` keeps a NaN norm (NaN < epsilon is false): a row holding a NaN is NaN
    throughout. A row whose sum of squares overflows has an infinite norm: its finite elements give
    +-0, its infinities NaN. An all-zero row gives zeros (0 / epsilon).
    """
    epsilon = F32(epsilon)
    for row in range(x.size // depth):  # [outer, depth] -> [outer, depth]
        start = row * depth
        squared = F32(0.0)
        for c in range(depth):
            v = x[start + c]
            squared = F32(squared + F32(v * v))
        norm = F32(np.sqrt(squared))
        if norm < epsilon:
            norm = epsilon
        for c in range(depth):
            out[start + c] = F32(x[start + c] / norm)


@jit
def _row_inverse_norm(x, start, depth, zero_point):
    """``GetInvSqrtQuantizedMultiplierExp(sum_c (x_c - zp)**2, kReverseShift)`` of one row; the int32 sum
    wraps as the official accumulator does once a row is longer than 33025 elements."""
    acc = np.int64(0)
    for c in range(depth):
        d = np.int64(x[start + c]) - zero_point
        acc += d * d
    return inv_sqrt_multiplier_exp(wrap_int32(acc))


@jit
def l2_normalization_int8(out, x, depth, zero_point):
    """reference/integer_ops/l2normalization.h ``L2Normalization`` (int8, output scale 1/128, zp 0):

    (M, s) = GetInvSqrtQuantizedMultiplierExp(sum_c (x_c - zp)**2), M * 2**(s - 31) ~ 1/sqrt(sum)
    (a sum of 0 or 1 gives M = INT32_MAX, s = 0); out_c = clamp(MBQM(x_c - zp, M, s + 7), -128, 127).
    """
    for row in range(x.size // depth):  # [outer, depth] -> [outer, depth]
        start = row * depth
        multiplier, shift = _row_inverse_norm(x, start, depth, zero_point)
        for c in range(depth):
            d = np.int64(x[start + c]) - zero_point
            raw = multiply_by_quantized_multiplier(d, multiplier, shift + OUTPUT_SCALE_BITS)
            out[start + c] = min(max(raw, -128), 127)


@jit
def l2_normalization_uint8(out, x, depth, zero_point):
    """reference/l2normalization.h ``L2Normalization`` (uint8, output scale 1/128, zp 128):

    (M, s) as for int8; out_c = clamp(128 + RDBPOT(SRDHM(128 * (x_c - zp), M), -s), 0, 255)
    (``MultiplyByQuantizedMultiplierSmallerThanOneExp``; s <= 0 always).
    """
    for row in range(x.size // depth):  # [outer, depth] -> [outer, depth]
        start = row * depth
        multiplier, shift = _row_inverse_norm(x, start, depth, zero_point)
        for c in range(depth):
            d = np.int64(x[start + c]) - zero_point
            raw = rounding_divide_by_pot(saturating_rounding_doubling_high_mul(128 * d, multiplier), -shift)
            out[start + c] = min(max(128 + raw, 0), 255)
