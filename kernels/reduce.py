"""MEAN and SUM kernels (kernels/reduce.cc and kernels/internal/reference/reduce.h).

The op brings the input to [outer, reduced, inner] (one contiguous block of reduced dimensions, or
a transposed copy with kept axes first and reduced axes last). The reference kernel walks the input
in row-major order and adds each element into its output, so every output sums its inputs in
ascending order of the reduced index: the kernels below add in exactly that order, which is what
makes float sums bit-exact.
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import multiply_by_quantized_multiplier, wrap_int32
from litelens.kernels.float32_fma import fma_f32
from litelens.kernels.lut import float_to_int32, round_half_away
from litelens.kernels.quantize import rounding_mul_rows


@jit
def sum_float(output, x, start_with_first):
    """float32 reduce-sum. [outer, reduced, inner] -> [outer, inner].

    ``ReduceGeneric`` starts every output at 0.0f; ``ReduceAllDims`` (every axis reduced) starts at
    the first element (``start_with_first``), which differs only in the sign of an all -0.0 sum.
    """
    outer, reduced, inner = x.shape
    for o in range(outer):
        first = 0
        if start_with_first and reduced > 0:
            for i in range(inner):
                output[o, i] = x[o, 0, i]
            first = 1
        else:
            for i in range(inner):
                output[o, i] = np.float32(0.0)
        for r in range(first, reduced):
            for i in range(inner):
                output[o, i] = np.float32(output[o, i] + x[o, r, i])


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def mean_float(output, x):
    """Reference float ``Mean``: sum from 0.0f in order, then / float(reduced). [outer, reduced, inner] -> [outer, inner]."""
    outer, reduced, inner = x.shape
    count = np.float32(reduced)
    sum_float(output, x, False)
    for o in range(outer):
        for i in range(inner):
            output[o, i] = np.float32(output[o, i] / count)


@jit
def _sum_int64(acc, x, o):
    """acc[i] = sum over r of x[o, r, i], in int64."""
    reduced, inner = x.shape[1], x.shape[2]
    for i in range(inner):
        acc[i] = 0
    for r in range(reduced):
        for i in range(inner):
            acc[i] += np.int64(x[o, r, i])


@jit
def sum_int(output, x):
    """Integer reduce-sum in the input type, wrapping (``AddTensorValuesWithExpectedOverflow``).

    [outer, reduced, inner] -> [outer, inner] for int32 or int64 (an int64 sum wraps by itself).
    """
    outer, reduced, inner = x.shape
    acc = np.empty(inner, dtype=np.int64)
    for o in range(outer):
        _sum_int64(acc, x, o)
        for i in range(inner):
            output[o, i] = wrap_int32(acc[i]) if output.itemsize == 4 else acc[i]


@jit
def mean_int(output, x):
    """Reference ``Mean<int32|int64, int64>``: int64 sum / count, truncating toward zero."""
    outer, reduced, inner = x.shape
    acc = np.empty(inner, dtype=np.int64)
    for o in range(outer):
        _sum_int64(acc, x, o)
        for i in range(inner):
            quotient = abs(acc[i]) // reduced
            output[o, i] = quotient if acc[i] >= 0 else -quotient


@jit
def quantized_mean_or_sum(output, x, input_zero_point, multiplier, shift, output_zero_point, qmin, qmax):
    """Reference ``QuantizedMeanOrSum`` (reference/reduce.h). [outer, reduced, inner] -> [outer, inner].

    sum = wrapping int32 sum; v = int32(sum - in_zp * reduced); out = clamp(MBQM(v, M, shift) + out_zp).
    For MEAN the op has already folded 1/reduced into (M, shift).
    """
    outer, reduced, inner = x.shape
    acc = np.empty(inner, dtype=np.int64)
    offset = np.int64(input_zero_point) * reduced
    for o in range(outer):
        _sum_int64(acc, x, o)
        for i in range(inner):
            shifted = wrap_int32(wrap_int32(acc[i]) - offset)
            out = wrap_int32(multiply_by_quantized_multiplier(shifted, multiplier, shift) + output_zero_point)
            output[o, i] = min(max(out, qmin), qmax)


# --- optimized (optimized_ops reduce.h, optimized_integer_ops mean.h) and XNNPACK paths -------------


@jit
def quantized_sum_float_rescale(output, x, scale, bias, output_zero_point, qmin, qmax, arm):
    """optimized_ops ``QuantizedMeanOrSum`` with compute_sum (SUM of int8/uint8/int16).

    [outer, reduced, inner] -> [outer, inner]. s = wrapping int32 sum of the codes;
    out = clamp(int32(round_half_away(float(s) * scale + bias)) + out_zp), all float32, with
    scale = float(in_s / out_s) and bias = float(float(-in_zp * scale) * n) from Prepare. x86-64:
    multiply, then add; arm64 (clang contracts ``a * b + c``): one fused multiply-add.
    """
    outer, reduced, inner = x.shape
    acc = np.empty(inner, dtype=np.int64)
    scale = np.float32(scale)
    bias = np.float32(bias)
    for o in range(outer):
        _sum_int64(acc, x, o)
        for i in range(inner):
            if arm:
                v = fma_f32(np.float32(wrap_int32(acc[i])), scale, bias)
            else:
                v = np.float32(np.float32(np.float32(wrap_int32(acc[i])) * scale) + bias)
            q = wrap_int32(float_to_int32(round_half_away(v)) + output_zero_point)
            output[o, i] = min(max(q, qmin), qmax)


@jit
def mean_spatial_4d(output, x, multiplier, shift, bias, qmin, qmax):
    """optimized ``Mean`` for 8-bit NHWC input over H and W with keep_dims (integer_ops/mean.h, reduce.h).

    [batch, H*W, depth] -> [batch, depth]. acc = int32 sum of the codes (no zero point);
    out = clamp(mul(acc) + bias) where mul is the NEON ``MultiplyByQuantizedMultiplier4Rows`` (ties-up
    last shift) for channels in whole blocks of 16 and the scalar MBQM for the depth % 16 tail
    (single-threaded split: one task covers all channels).
    """
    batch, reduced, depth = x.shape
    blocked = (depth // 16) * 16
    for b in range(batch):
        for d in range(depth):
            acc = np.int64(0)
            for r in range(reduced):
                acc += np.int64(x[b, r, d])
            acc = wrap_int32(acc)
            if d < blocked:
                v = rounding_mul_rows(acc, multiplier, shift)
            else:
                v = multiply_by_quantized_multiplier(acc, multiplier, shift)
            v = wrap_int32(v + bias)
            output[b, d] = min(max(v, qmin), qmax)


@jit
def xnnpack_convert_int32(value, inv_scale, zero_point, qmin, qmax):
    """XNNPACK's reference int32 -> q8 convert: ``round_float_to_int(float(value) * inv_scale + zero_point)``
    (float32 without contraction; NaN -> 0, nearest-even, clamped)."""
    v = np.float32(np.float32(np.float32(value) * np.float32(inv_scale)) + np.float32(zero_point))
    if v != v:
        return np.int64(0)
    r = np.rint(np.float64(v))
    r = min(max(r, np.float64(qmin)), np.float64(qmax))
    return np.int64(r)


@jit
def xnnpack_quantized_reduce(output, x, inv_scale, zero_point, qmin, qmax):
    """XNNPACK qs8/qu8 SUM and MEAN (operators/reduce-nd.c): int32 sum, then the reference int32 -> q8
    convert: out = clamp(nearbyint(float(s) * inv_scale + zero_point)) in float32 (ties to even), with
    inv_scale = float(in_s / out_s) * (MEAN: float(1 / n)) and zero_point = out_zp - float(n * in_zp) * inv_scale.
    [outer, reduced, inner] -> [outer, inner].
    """
    outer, reduced, inner = x.shape
    acc = np.empty(inner, dtype=np.int64)
    inv_scale = np.float32(inv_scale)
    zero_point = np.float32(zero_point)
    for o in range(outer):
        _sum_int64(acc, x, o)
        for i in range(inner):
            output[o, i] = xnnpack_convert_int32(wrap_int32(acc[i]), inv_scale, zero_point, qmin, qmax)


@jit
def _eigen_sum_sse(x, r, start):
    """Eigen's ``redux`` (LinearVectorizedTraversal, SSE Packet4f) of row r of x: elements up to the first
    16-byte boundary (``start`` = the row's offset in floats from a 16-byte-aligned base) and the tail
    are added one by one after the packets; packets are summed in two interleaved accumulators, then
    reduced as (p0 + p2) + (p1 + p3)."""
    n = x.shape[1]
    mis = start % 4
    a0 = min(0 if mis == 0 else 4 - mis, n)
    aligned = ((n - a0) // 4) * 4
    aligned2 = ((n - a0) // 8) * 8
    if aligned == 0:
        total = x[r, 0]
        for i in range(1, n):
            total = np.float32(total + x[r, i])
        return total
    acc0 = np.empty(4, np.float32)
    acc1 = np.empty(4, np.float32)
    for k in range(4):
        acc0[k] = x[r, a0 + k]
    if aligned > 4:
        for k in range(4):
            acc1[k] = x[r, a0 + 4 + k]
        for i in range(a0 + 8, a0 + aligned2, 8):
            for k in range(4):
                acc0[k] = np.float32(acc0[k] + x[r, i + k])
                acc1[k] = np.float32(acc1[k] + x[r, i + 4 + k])
        for k in range(4):
            acc0[k] = np.float32(acc0[k] + acc1[k])
        if aligned > aligned2:
            for k in range(4):
                acc0[k] = np.float32(acc0[k] + x[r, a0 + aligned2 + k])
    total = np.float32(np.float32(acc0[0] + acc0[2]) + np.float32(acc0[1] + acc0[3]))
    for i in range(a0):
        total = np.float32(total + x[r, i])
    for i in range(a0 + aligned, n):
        total = np.float32(total + x[r, i])
    return total


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def mean_last_axis_eigen(output, x):
    """optimized ``Mean<float, float>`` over the trailing axis ("MeanLastDim/Float"): Eigen's
    ``colwise().sum() / n`` on a column-major [n, rows] map. [rows, n] -> [rows].

    Assumes the x86-64 wheel's Eigen packets are SSE (4 floats) and the input buffer is 16-byte
    aligned (the official arena aligns tensors to 64 bytes), so row r starts r * n floats past an
    aligned address -- verified bit-exact against the official optimized run on this machine.
    """
    rows, n = x.shape
    count = np.float32(n)
    for r in range(rows):
        output[r] = np.float32(_eigen_sum_sse(x, r, r * n) / count)


@jit
def sum_then_scale(output, x, scale):
    """XNNPACK's discontiguous float reduce over one run of axes: a sequential sum from +0.0 of each
    output's inputs, times ``scale`` (1 for SUM, float32(1 / n) for MEAN), added to +0.0.
    [outer, reduced, inner] -> [outer, inner]."""
    scale = np.float32(scale)
    sum_float(output, x, False)
    outer, inner = output.shape
    for o in range(outer):
        for i in range(inner):
            output[o, i] = np.float32(np.float32(0.0) + np.float32(output[o, i] * scale))
