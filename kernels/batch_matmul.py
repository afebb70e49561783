"""BATCH_MATMUL kernels: float32 with broadcast batches, and the integer requantizations.

The integer matrix product itself is a broadcasting BLAS matmul of offset-shifted operands (exact,
see ``gemm.py``); these kernels turn the accumulator into the output type.
"""
from __future__ import annotations

import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import multiply_by_quantized_multiplier, wrap_int32
from litelens.kernels.gemm import matmul_f32_sequential


@jit
def batch_matmul_float(lhs, rhs, lhs_batch, rhs_batch, out):
    """out[b] = lhs[lhs_batch[b]] @ rhs[rhs_batch[b]], each product summed sequentially in float32.

    [L, M, K] x [R, K, N] -> [B, M, N]; the index maps (built in Prepare) do the NumPy-style batch
    broadcasting. Matches the float ``reference_ops::BatchMatMul`` (reference/batch_matmul.h):
    ``total = 0; total += lhs * rhs`` over k in order, no bias, no activation.
    """
    for b in range(out.shape[0]):
        matmul_f32_sequential(lhs[lhs_batch[b]], rhs[rhs_batch[b]], out[b])


@jit
def requantize_mbqm(acc, multiplier, shift, out_zp, qmin, qmax, out):
    """out[i] = clamp(MBQM(int32(acc[i]), M, shift) + out_zp, qmin, qmax) over flat arrays.

    Matches the int8 ``reference_ops::BatchMatMul<int8_t, int32_t>`` (reference/batch_matmul.h):
    the int32 accumulator (wrapped, as the official int32 sum wraps), MultiplyByQuantizedMultiplier
    (double rounding, common.cc), ``+= output_offset``, clamp to the output type's range.
    """
    for i in range(acc.size):
        total = wrap_int32(np.int64(acc[i]))
        v = wrap_int32(multiply_by_quantized_multiplier(total, multiplier, shift) + out_zp)
        if v < qmin:
            v = qmin
        if v > qmax:
            v = qmax
        out[i] = v


@jit
def multiply_by_quantized_multiplier_int64(x, multiplier, shift):
    """The int64-input ``MultiplyByQuantizedMultiplier`` overload (common.cc, double-rounding build).

    The multiplier is reduced to 16 bits, (M + 2**15) >> 16 (0x7FFF when M >= 0x7FFF0000), then
    (x * reduced + 2**(14 - shift)) >> (15 - shift) in int64, truncated to int32. Valid for
    |x| < 2**47 and shift in [-31, 7], the official kernel's documented input contract.
    """
    reduced = (multiplier + (1 << 15)) >> 16 if multiplier < 0x7FFF0000 else 0x7FFF
    total_shift = 15 - shift
    x = np.int64(x) * np.int64(reduced) + (np.int64(1) << (total_shift - 1))
    return wrap_int32(x >> total_shift)


@jit
def requantize_mbqm_int64(acc, multiplier, shift, out_zp, qmin, qmax, out):
    """Like :func:`requantize_mbqm` for the int16 paths, whose accumulator is int64.

    Matches ``reference_ops::BatchMatMul<int16_t, int64_t>`` and ``<int8_t, int64_t, int16_t,
    int16_t>`` (reference/batch_matmul.h) with the int64 MultiplyByQuantizedMultiplier.
    """
    for i in range(acc.size):
        total = np.int64(acc[i])
        v = wrap_int32(multiply_by_quantized_multiplier_int64(total, multiplier, shift) + out_zp)
        if v < qmin:
            v = qmin
        if v > qmax:
            v = qmax
        out[i] = v


@jit
def wrap_to_int32(acc, out):
    """out[i] = int32(acc[i]) with two's-complement wrap: the raw int8 x int8 -> int32 BatchMatMul."""
    for i in range(acc.size):
        out[i] = wrap_int32(np.int64(acc[i]))
