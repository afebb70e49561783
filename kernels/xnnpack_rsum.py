"""XNNPACK float SUM / MEAN when the innermost (normalized) dimension is reduced: the contiguous reduce
(operators/reduce-nd.c, ``xnn_compute_contiguous_reduce``) with the x86-64 AVX-512F microkernel
``xnn_f32_rsum_ukernel__avx512f_u32_acc2`` (src/f32-rsum/simd.c.in).

Assumes an AVX-512F machine (as this one; the delegate picks avx_u32_acc4 / sse2_u16_acc4 without it)
and XNNPACK's ``-ffp-contract=off`` build. Bit-exact against the official AUTO run on this machine.
"""
import numpy as np

from litelens.kernels.config import jit


@jit
def _hadd16(v):
    """``_mm512_reduce_add_ps``: 256-bit halves, 128-bit halves, then (v0 + v2) + (v1 + v3)."""
    t8 = np.empty(8, np.float32)
    for k in range(8):
        t8[k] = np.float32(v[k] + v[k + 8])
    t4 = np.empty(4, np.float32)
    for k in range(4):
        t4[k] = np.float32(t8[k] + t8[k + 4])
    return np.float32(np.float32(t4[0] + t4[2]) + np.float32(t4[1] + t4[3]))


@jit
def _rsum_row(x, r, acc0, acc1):
    """The microkernel's sum of row r: 32-element tiles into two 16-lane accumulators, one more 16-element
    block into the first, accumulators added, a zero-padded tail added, then the horizontal sum."""
    n = x.shape[1]
    for k in range(16):
        acc0[k] = np.float32(0.0)
        acc1[k] = np.float32(0.0)
    i = 0
    while n - i >= 32:
        for k in range(16):
            acc0[k] = np.float32(acc0[k] + x[r, i + k])
            acc1[k] = np.float32(acc1[k] + x[r, i + 16 + k])
        i += 32
    if n - i >= 16:
        for k in range(16):
            acc0[k] = np.float32(acc0[k] + x[r, i + k])
        i += 16
    for k in range(16):
        acc0[k] = np.float32(acc0[k] + acc1[k])
    if n - i > 0:
        for k in range(16):
            acc0[k] = np.float32(acc0[k] + (x[r, i + k] if i + k < n else np.float32(0.0)))
    return _hadd16(acc0)


@jit
def xnnpack_float_reduce_rows(output, x, out_index, scale):
    """[rows, run] -> [outputs]: output[out_index[r]] += rsum(row r) * scale, rows in memory order,
    outputs starting at +0.0 (``scale`` = 1 for SUM, float32(1 / n) for MEAN)."""
    scale = np.float32(scale)
    for o in range(output.size):
        output[o] = np.float32(0.0)
    acc0 = np.empty(16, np.float32)
    acc1 = np.empty(16, np.float32)
    for r in range(x.shape[0]):
        o = out_index[r]
        output[o] = np.float32(output[o] + np.float32(_rsum_row(x, r, acc0, acc1) * scale))
