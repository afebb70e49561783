"""FULLY_CONNECTED kernels: float32 with a fused clamp, and the integer paths.

int8 x int8 runs :func:`fully_connected_int8`: the integer dot-product kernel (``int_gemm.py``) and
the 16-lane requantization (``requantize_simd.py``). Without that kernel (no AVX2, or int16
activations) the integer product is a BLAS call on offset-shifted operands (see ``gemm.py`` for why
that is exact) and :func:`requantize_double` finishes the job the official reference loop does per
output; it is also the oracle the fast path is tested against.
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import INT32_MIN, wrap_int32
from litelens.kernels.gemm import matmul_f32_sequential
from litelens.kernels.int_gemm import int8_gemm, offset_rows
from litelens.kernels.requantize_paths import requantize_rows_fixedpoint, requantize_rows_fp32
from litelens.kernels.requantize_simd import requantize_rows_double

# How fully_connected_int8 requantizes (the kernel path; see requantize_paths.py for 1 to 3).
REQUANT_DOUBLE, REQUANT_TIES_UP_DOUBLE, REQUANT_SINGLE, REQUANT_FP32 = 0, 1, 2, 3


@jit
def round_half_away(x):
    """C ``round()`` on a double: nearest integer, ties away from zero (exact for every double)."""
    a = abs(x)
    r = math.floor(a)
    if a - r >= 0.5:  # a - floor(a) is exact in binary floating point
        r += 1.0
    return -r if x < 0 else r


@jit
def double_to_int32(r):
    """``static_cast<int32_t>(double)`` as x86-64 does it (cvttsd2si): out of range or NaN -> INT32_MIN."""
    if r >= -2147483648.0 and r < 2147483648.0:
        return np.int64(r)
    return np.int64(INT32_MIN)


@jit
def requantize_double(acc, bias, scale, out_zp, qmin, qmax, wrap32, out):
    """out[b, n] = clamp(round(double(acc[b, n] + bias[n]) * scale[n]) + out_zp, qmin, qmax).

    [batch, N] accumulator (integer values, any numeric dtype) -> [batch, N] int8/int16 output.
    Matches the float-requant ``reference_integer_ops::FullyConnected`` and
    ``FullyConnectedPerChannel`` (reference/integer_ops/fully_connected.h, LiteRT since April 2025):
    ``acc += bias`` in the accumulator type (int32 wraps when ``wrap32``; int64 does not), then
    ``static_cast<int32_t>(round(double(acc) * effective_scale))`` with effective_scale =
    double(in_s) * double(w_s[n]) / double(out_s) computed in Prepare, ``+= out_zp`` in int32, clamp.
    """
    batch, n_size = acc.shape
    for b in range(batch):
        for n in range(n_size):
            total = np.int64(acc[b, n]) + np.int64(bias[n])
            if wrap32:
                total = wrap_int32(total)
            scaled = double_to_int32(round_half_away(np.float64(total) * scale[n]))
            v = wrap_int32(scaled + out_zp)
            if v < qmin:
                v = qmin
            if v > qmax:
                v = qmax
            out[b, n] = v


@jit
def fully_connected_float(x, weights_t, bias, act_min, act_max, out):
    """out[b, n] = min(max(Σ_k x[b, k] * w[n, k] + bias[n], act_min), act_max), all in float32.

    [batch, K] x [K, N] (weights transposed in Prepare) -> [batch, N]. Matches the float
    ``reference_ops::FullyConnected`` (reference/fully_connected.h): the sequential float32 sum,
    then ``total + bias_value`` (0.0f without a bias), then ActivationFunctionWithMinMax, i.e.
    std::min(std::max(v, lo), hi) - NaN passes through, +-inf clamps to +-FLT_MAX without activation.
    """
    matmul_f32_sequential(x, weights_t, out)
    batch, n_size = out.shape
    for b in range(batch):
        for n in range(n_size):
            v = out[b, n] + bias[n]
            if v < act_min:
                v = act_min
            if act_max < v:
                v = act_max
            out[b, n] = v


@jit
def fully_connected_int8_columns(w_sums, bias, x_offset, w_offset, k_size, column_term):
    """column_term[n] = wrap32((x_offset - 128) Σ_k w[n, k] + K x_offset w_offset + bias[n]), [N]."""
    constant = np.int64(k_size) * x_offset * w_offset
    for n in range(w_sums.size):
        column_term[n] = wrap_int32((x_offset - 128) * w_sums[n] + constant + bias[n])


@jit
def fully_connected_int8_rows(isa, x, a, row_sums, w_packed, acc, w_offset, row_term):
    """acc = Σ_k (x + 128) w for the rows of x ([rows, K] -> [rows padded, Np]) and
    row_term[m] = wrap32(w_offset Σ_k x[m, k]); a, row_sums, acc, row_term are this block's rows."""
    offset_rows(x, a, row_sums, w_offset != 0)
    int8_gemm(isa, a, w_packed, acc)
    for m in range(x.shape[0]):
        row_term[m] = wrap_int32(w_offset * row_sums[m])


@jit
def fully_connected_int8_terms(isa, x, a, row_sums, w_packed, w_sums, acc, bias, x_offset, w_offset,
                               column_term, row_term):
    """The int32 product and the terms of :func:`fully_connected_int8`, without requantizing."""
    fully_connected_int8_columns(w_sums, bias, x_offset, w_offset, x.shape[1], column_term)
    fully_connected_int8_rows(isa, x, a, row_sums, w_packed, acc, w_offset, row_term)


@jit
def fully_connected_int8_block(isa, x, a, row_sums, w_packed, acc, w_offset, scale, out_zp, qmin, qmax,
                               bounded, column_term, row_term, out):
    """Rows of :func:`fully_connected_int8` once ``column_term`` is known: x, a, row_sums, acc,
    row_term and out hold one block of rows (a thread's share; ``litelens.parallel``)."""
    if out.strides[1] != 1 or acc.shape[0] < x.shape[0] or acc.shape[1] < out.shape[1] or scale.size < acc.shape[1]:
        raise ValueError("fully_connected_int8_block: the output needs contiguous rows and acc / scale the padded shape")
    fully_connected_int8_rows(isa, x, a, row_sums, w_packed, acc, w_offset, row_term)
    requantize_rows_double(acc, column_term, row_term, scale, out_zp, qmin, qmax, bounded, out)


@jit
def fully_connected_int8(isa, x, a, row_sums, w_packed, w_sums, acc, bias, x_offset, w_offset, scale,
                         out_zp, qmin, qmax, bounded, column_term, row_term, out):
    """int8 FULLY_CONNECTED on the integer dot-product kernel (``int_gemm.py``), then the vector
    requantization (``requantize_simd.py``).

    [batch, K] int8 x, weights packed [Np / NR, Kp / G, NR, G] -> [batch, N] int8. The official int32
    accumulator Σ_k (x + x_offset)(w + w_offset) + bias[n] (reference/integer_ops/fully_connected.h)
    is rebuilt from acc = Σ_k (x + 128) w as acc + column_term[n] + row_term[m], wrapped to int32
    (equal modulo 2**32), with column_term = (x_offset - 128) Σ_k w + K x_offset w_offset + bias[n]
    and row_term = w_offset Σ_k x; then requantized as :func:`requantize_double` does.
    ``scale`` and ``column_term`` are padded to acc's width; ``row_term`` to its height; ``bounded``
    as ``requantize_simd.is_bounded(scale)``.
    """
    if out.strides[1] != 1 or acc.shape[0] < x.shape[0] or acc.shape[1] < out.shape[1] or scale.size < acc.shape[1]:
        raise ValueError("fully_connected_int8: the output needs contiguous rows and acc / scale the padded shape")
    fully_connected_int8_terms(isa, x, a, row_sums, w_packed, w_sums, acc, bias, x_offset, w_offset,
                               column_term, row_term)
    requantize_rows_double(acc, column_term, row_term, scale, out_zp, qmin, qmax, bounded, out)


@jit
def fully_connected_int8_path(isa, x, a, row_sums, w_packed, w_sums, acc, bias, x_offset, w_offset, mode,
                              multiplier, shift, scale32, out_zp, qmin, qmax, column_term, row_term, out):
    """:func:`fully_connected_int8` with a non-reference requantization (``requantize_paths.py``):
    ``mode`` REQUANT_TIES_UP_DOUBLE (ruy x86, CustomGemv) or REQUANT_SINGLE (ruy ARM64) with per-column
    ``multiplier`` / ``shift`` int64 [>= N], or REQUANT_FP32 (XNNPACK) with per-column float32 ``scale32``."""
    if out.shape[1] > multiplier.size or out.shape[1] > shift.size or out.shape[1] > scale32.size \
            or acc.shape[0] < x.shape[0] or acc.shape[1] < out.shape[1]:
        raise ValueError("fully_connected_int8_path: multipliers / scales or acc smaller than the output")
    fully_connected_int8_terms(isa, x, a, row_sums, w_packed, w_sums, acc, bias, x_offset, w_offset,
                               column_term, row_term)
    if mode == REQUANT_FP32:
        requantize_rows_fp32(acc, column_term, row_term, scale32, out_zp, qmin, qmax, out)
    else:
        requantize_rows_fixedpoint(acc, column_term, row_term, multiplier, shift, mode, out_zp, qmin, qmax, out)


@jit(parallel=True)
def fully_connected_float_parts(x, weights_t, bias, act_min, act_max, out, bounds):
    """:func:`fully_connected_float` on the row blocks [bounds[p], bounds[p + 1]) in parallel (Numba
    prange: each block on its own thread, every output computed exactly as on one thread)."""
    for p in prange(bounds.size - 1):
        r0, r1 = bounds[p], bounds[p + 1]
        fully_connected_float(x[r0:r1], weights_t, bias, act_min, act_max, out[r0:r1])


@jit(parallel=True)
def fully_connected_int8_parts(isa, x, a, row_sums, w_packed, w_sums, acc, bias, x_offset, w_offset, scale,
                               out_zp, qmin, qmax, bounded, column_term, row_term, out, bounds):
    """:func:`fully_connected_int8` with its row blocks [bounds[p], bounds[p + 1]) in parallel: the
    column terms once, then each block's rows of a, acc, the row terms and the output (the last block
    also takes the padding rows of the scratch buffers); block starts are multiples of the kernel's
    row tile."""
    fully_connected_int8_columns(w_sums, bias, x_offset, w_offset, x.shape[1], column_term)
    last = bounds.size - 2
    for p in prange(bounds.size - 1):
        r0, r1 = bounds[p], bounds[p + 1]
        p1 = a.shape[0] if p == last else r1
        fully_connected_int8_block(isa, x[r0:r1], a[r0:p1], row_sums[r0:p1], w_packed, acc[r0:p1], w_offset,
                                   scale, out_zp, qmin, qmax, bounded, column_term, row_term[r0:p1], out[r0:r1])
