"""BATCH_MATMUL kernels: float32 with broadcast batches, and the integer requantizations.

The integer matrix product itself is a broadcasting BLAS matmul of offset-shifted operands (exact,
see ``gemm.py``); these kernels turn the accumulator into the output type.
"""
from __future__ import annotations

import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import multiply_by_quantized_multiplier, wrap_int32
from litelens.kernels.gemm import matmul_f32_sequential
from litelens.kernels.int_gemm import (int8_gemm, offset_columns, offset_rows, pack_columns_kn,
                                       pack_columns_nk)
from litelens.kernels.requantize_paths import requantize_rows_fp32
from litelens.kernels.requantize_simd import requantize_rows_mbqm


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


@jit
def batch_matmul_int8(isa, lhs, rhs, lhs_batch, rhs_batch, adj_x, adj_y, prepacked, a, row_sums, b_packed, b_sums,
                      acc, column_term, row_term, lhs_offset, rhs_offset, multiplier, shift, out_zp, qmin, qmax,
                      raw_int32, out, fp32, scale32):
    """int8 x int8 BATCH_MATMUL on the integer dot-product kernel (``int_gemm.py``).

    lhs [L, M, K] ([L, K, M] when adj_x), rhs [R, K, N] ([R, N, K] when adj_y) -> out [B, M, N];
    the index maps (Prepare) broadcast the batches. Per output batch: the lhs shifted to x + 128,
    the rhs packed with its column sums (b_packed [R, ...] / b_sums [R, N] packed in Prepare when
    ``prepacked``, else packed here into b_packed[0] / b_sums[0]), acc = Σ_k (l + 128) r; the
    official int32 accumulator Σ_k (l + lhs_offset)(r + rhs_offset) (reference_ops::BatchMatMul,
    reference/batch_matmul.h) is acc + column_term[n] + row_term[m], wrapped, with column_term =
    (lhs_offset - 128) Σ_k r + K lhs_offset rhs_offset and row_term = rhs_offset Σ_k l. It is then
    requantized with MultiplyByQuantizedMultiplier + out_zp and clamped (``requantize_simd.py``),
    or written as is (``raw_int32``: int8 x int8 -> int32, offsets 0). ``fp32``: XNNPACK's float32
    requantization instead (``requantize_paths.requantize_rows_fp32``, ``scale32`` float32 [>= N]).
    """
    m_size, n_size = out.shape[1], out.shape[2]
    if out.strides[2] != out.itemsize or acc.shape[0] < m_size or acc.shape[1] < n_size or \
            (fp32 and scale32.size < n_size):
        raise ValueError("batch_matmul_int8: the output needs contiguous rows and acc the padded shape")
    k_size = lhs.shape[1] if adj_x else lhs.shape[2]
    constant = np.int64(k_size) * lhs_offset * rhs_offset
    for b in range(out.shape[0]):
        if adj_x:
            offset_columns(lhs[lhs_batch[b]], a, row_sums, rhs_offset != 0)
        else:
            offset_rows(lhs[lhs_batch[b]], a, row_sums, rhs_offset != 0)
        r = rhs_batch[b] if prepacked else 0
        if not prepacked and adj_y:
            pack_columns_nk(rhs[rhs_batch[b]], b_packed[0], b_sums[0])
        elif not prepacked:
            pack_columns_kn(rhs[rhs_batch[b]], b_packed[0], b_sums[0])
        int8_gemm(isa, a, b_packed[r], acc)
        for n in range(n_size):
            column_term[n] = wrap_int32((lhs_offset - 128) * b_sums[r, n] + constant)
        for m in range(m_size):
            row_term[m] = wrap_int32(rhs_offset * row_sums[m])
        if raw_int32:
            for m in range(m_size):
                for n in range(n_size):
                    out[b, m, n] = wrap_int32(np.int64(acc[m, n]) + column_term[n] + row_term[m])
        elif fp32:
            requantize_rows_fp32(acc, column_term, row_term, scale32, out_zp, qmin, qmax, out[b])
        else:
            requantize_rows_mbqm(acc, column_term, row_term, multiplier, shift, out_zp, qmin, qmax, out[b])
