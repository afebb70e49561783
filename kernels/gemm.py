"""Matrix-product cores shared by FULLY_CONNECTED and BATCH_MATMUL.

Integer products. The official int8/int16 kernels accumulate Σ (a + a_offset)·(b + b_offset) in
int32 (int64 on some int16 paths). Every term and every partial sum is an integer, so a BLAS float
matmul of the offset-shifted operands gives the same sum *exactly* as long as no partial sum - in
whatever order BLAS adds - leaves the float's exact-integer range: 2**24 for float32, 2**53 for
float64. A bound on Σ|terms| bounds every partial sum, so :func:`exact_float_dtype` picks the cheaper
float that is exact for that bound (Prepare-time). The requantization kernels then read the float
accumulator back as an integer and apply the int32 wrap-around themselves.

Float products. :func:`matmul_f32_sequential` reproduces the float32 reference kernels
(``reference_ops::FullyConnected``, ``reference_ops::BatchMatMul``): each output is
``total = 0.0f; total += a[k] * b[k]`` for k = 0..K-1, a float32 product then a float32 add, no
FMA - so it is bit-exact with BUILTIN_REF, not merely close.
"""
from __future__ import annotations

import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.float_tile import TILE_COLS as F32_TILE_COLS
from litelens.kernels.float_tile import TILE_ROWS as F32_TILE_ROWS
from litelens.kernels.float_tile import f32_tile

FLOAT32_EXACT = 2**24
FLOAT64_EXACT = 2**53


def exact_float_dtype(bound: int) -> np.dtype | None:
    """The cheapest float dtype whose matmul is exact when Σ|terms| <= bound; None if neither is."""
    if bound < FLOAT32_EXACT:
        return np.dtype(np.float32)
    if bound < FLOAT64_EXACT:
        return np.dtype(np.float64)
    return None


def max_abs_offset_value(dtype: np.dtype, offset: int) -> int:
    """Largest |q + offset| over every value q of the integer dtype."""
    info = np.iinfo(dtype)
    return max(abs(int(info.min) + offset), abs(int(info.max) + offset))


@jit
def matmul_f32_sequential(lhs, rhs, out):
    """out[m, n] = Σ_k lhs[m, k] * rhs[k, n], accumulated in float32 in the order k = 0..K-1.

    [M, K] x [K, N] -> [M, N]. Matches the float loops of reference_ops::FullyConnected
    (reference/fully_connected.h) and reference_ops::BatchMatMul (reference/batch_matmul.h):
    a float32 product rounded, then added to a float32 running total starting at 0.0f. Full
    MR x NR blocks run in the register tile of ``float_tile.py`` (same order of operations); the
    rows and columns left over go through :func:`matmul_f32_loop`.
    """
    m_size = lhs.shape[0]
    n_size = rhs.shape[1]
    if lhs.strides[1] != 4 or rhs.strides[1] != 4 or out.strides[1] != 4:  # the tile wants unit-stride rows
        matmul_f32_loop(lhs, rhs, out, 0, 0)
        return
    rows = m_size - m_size % F32_TILE_ROWS
    cols = n_size - n_size % F32_TILE_COLS
    for n0 in range(0, cols, F32_TILE_COLS):
        for m0 in range(0, rows, F32_TILE_ROWS):
            f32_tile(lhs, rhs, out, m0, n0)
    if cols < n_size:  # the last columns, every row
        matmul_f32_loop(lhs, rhs, out, 0, cols)
    if rows < m_size:  # the last rows, the tiled columns
        matmul_f32_loop(lhs[rows:], rhs[:, :cols], out[rows:, :cols], 0, 0)


@jit
def matmul_f32_loop(lhs, rhs, out, m_start, n_start):
    """The plain loop (the oracle): out[m, n] for m >= m_start, n >= n_start, same order of sums.

    The innermost loop runs over n, so each output keeps its own sequential order while the loop
    vectorises across outputs.
    """
    m_size, k_size = lhs.shape
    n_size = rhs.shape[1]
    for m in range(m_start, m_size):
        for n in range(n_start, n_size):
            out[m, n] = np.float32(0.0)
        for k in range(k_size):
            a = lhs[m, k]
            for n in range(n_start, n_size):
                out[m, n] = out[m, n] + a * rhs[k, n]
