"""Requantizing an int32 accumulator matrix the way the official *optimized* and *XNNPACK* paths do.

All three start from ``total = acc[m, n] + column_term[n] + row_term[m]`` (int32, wrapping; the
terms as ``int_gemm.py`` defines them) and end with ``out = clamp(q + out_zp, qmin, qmax)`` as int8.
``q`` is, per column n (``mode``):

* ``TIES_UP_DOUBLE`` - ruy's x86 kernels (AVX2 / AVX-512, ``ruy/kernel_avx*.cc``, reached through
  tflite ``cpu_backend_gemm_x86.h``) and tflite's ``CustomGemv`` (``cpu_backend_gemm_custom_gemv.h``,
  batch 1, NEON intrinsics: ``vqrdmulhq_s32`` then ``vrshlq_s32``): x = int32(total << ls) (wraps),
  h = (x * M + 2**30) >> 31 (the doubling high multiply rounded half up, ties toward +inf),
  q = (h + 2**(rs - 1)) >> rs (rounding right shift, ties toward +inf), with ls = max(shift, 0),
  rs = max(-shift, 0). Unlike ``MultiplyByQuantizedMultiplier`` (gemmlowp) no tie goes away from zero.
* ``SINGLE`` - ruy's ARM64 kernels (``ruy/kernel_arm64.cc``: ``sshl``, ``sqdmulh``, ``srshl``):
  x = int32(total << ls), q = (x * M + 2**(30 + rs)) >> (31 + rs): one rounding, ties up (sqdmulh
  truncates, and floor(floor(a) + c) / 2**rs = floor((a + c) / 2**rs)).

:func:`requantize_rows_fp32` - XNNPACK's ``fp32`` requantization (``src/qs8-gemm/*-avx512vnni.c``,
``*-avx2.c``, ``xnn_init_qs8_qc8w_conv_minmax_fp32_*_params``): v = float32(total) * scale[n] in
float32 (scale itself float32: in_s * w_s / out_s in float), v = min(v, qmax - out_zp), q = cvtps2dq(v)
(round half to even; below -2**31 it gives INT32_MIN, which the saturating packs then clamp to qmin),
q + out_zp saturating, max with qmin. Assumes the x86 microkernels (SSE4.1 to AVX-512 VNNI / AMX all
requantize this way); ARM's ``fp32`` NEON kernels use the same formula (``vcvtnq_s32_f32``).

Kernels take arrays and scalars only; ``NUMBA_DISABLE_JIT=1`` runs the same code as Python.
"""
from __future__ import annotations

import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import wrap_int32

TIES_UP_DOUBLE, SINGLE = 1, 2
_TWO_POW_31 = np.float32(2147483648.0)


@jit
def fixedpoint_ties_up(total, multiplier, shift, mode):
    """One int32 total times (multiplier, shift) as ``mode`` (TIES_UP_DOUBLE or SINGLE) rounds it."""
    ls = shift if shift > 0 else 0
    rs = -shift if shift < 0 else 0
    x = wrap_int32(np.int64(total) << ls) if ls < 32 else np.int64(0)
    product = x * np.int64(multiplier)
    if mode == SINGLE:
        return (product + (np.int64(1) << (30 + rs))) >> (31 + rs)
    high = (product + (np.int64(1) << 30)) >> 31
    if rs == 0:
        return high
    return (high + (np.int64(1) << (rs - 1))) >> rs


@jit
def requantize_rows_fixedpoint(acc, column_term, row_term, multiplier, shift, mode, out_zp, qmin, qmax, out):
    """[M, N] int8 out from acc int32 [>= M, >= N]; multiplier / shift int64 [>= N] per column."""
    rows, cols = out.shape
    for m in range(rows):
        for n in range(cols):
            total = wrap_int32(np.int64(acc[m, n]) + np.int64(column_term[n]) + np.int64(row_term[m]))
            v = wrap_int32(fixedpoint_ties_up(total, multiplier[n], shift[n], mode) + out_zp)
            out[m, n] = min(max(v, qmin), qmax)


@jit
def requantize_rows_fp32(acc, column_term, row_term, scale, out_zp, qmin, qmax, out):
    """[M, N] int8 out from acc int32 [>= M, >= N]; scale float32 [>= N] per column (XNNPACK fp32)."""
    rows, cols = out.shape
    top = np.float32(qmax - out_zp)
    for m in range(rows):
        for n in range(cols):
            total = wrap_int32(np.int64(acc[m, n]) + np.int64(column_term[n]) + np.int64(row_term[m]))
            v = np.float32(np.float32(total) * scale[n])
            if v > top:
                v = top
            if v < -_TWO_POW_31:
                q = np.int64(-2147483648)
            else:
                q = np.int64(np.rint(v))
            out[m, n] = min(max(q + out_zp, qmin), qmax)


@jit
def requantize_flat_fixedpoint(acc, multiplier, shift, mode, out_zp, qmin, qmax, out):
    """Flat int32-valued acc -> flat out, one (multiplier, shift) for all (the int8 BATCH_MATMUL)."""
    for i in range(acc.size):
        v = wrap_int32(fixedpoint_ties_up(wrap_int32(np.int64(acc[i])), multiplier, shift, mode) + out_zp)
        out[i] = min(max(v, qmin), qmax)
