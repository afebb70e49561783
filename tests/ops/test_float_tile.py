"""The register-tiled float32 matrix product against the plain sequential loop, bit for bit.

``matmul_f32_sequential`` must reproduce the reference order of float32 roundings (products, then a
running sum from 0.0f over k); the tile holds blocks of totals in registers, the plain loop
(``matmul_f32_loop``) is the oracle. Shapes cover whole tiles, edge rows and columns, K = 0, strided
views; values include inf, NaN, -0.0, subnormals and mixed magnitudes (where any reordering or an
FMA would change the bits). Non-NaN outputs must be equal bit for bit (so -0.0 != 0.0); a NaN
must be a NaN, with any sign and payload - LLVM treats fadd/fmul as commutative and the x86 result
NaN depends on operand order, so the NaN bits are not defined even in the reference (the project's
comparisons with the official interpreter use equal_nan too).
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from litelens.kernels import float_tile
from litelens.kernels.gemm import matmul_f32_loop, matmul_f32_sequential

R, C = float_tile.TILE_ROWS, float_tile.TILE_COLS
SHAPES = [(1, 1, 1), (3, 5, 7), (R, 32, C), (R + 1, 33, C + 3), (2 * R, 300, 2 * C), (17, 0, C), (128, 128, 128)]


def assert_same_bits(got, want):
    assert np.array_equal(np.isnan(got), np.isnan(want))
    keep = ~np.isnan(want)
    np.testing.assert_array_equal(got.view(np.int32)[keep], want.view(np.int32)[keep])


def _values(rng, shape):
    v = (rng.standard_normal(shape) * rng.choice([1e-30, 1e-3, 1.0, 1e3, 1e30], shape)).astype(np.float32)
    flat = v.reshape(-1)
    if flat.size > 8:
        flat[rng.integers(flat.size, size=4)] = [np.inf, -np.inf, np.nan, -0.0]
        flat[rng.integers(flat.size)] = np.float32(1e-42)  # subnormal
    return v


@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_tiled_product_equals_sequential_loop(shape):
    m, k, n = shape
    rng = np.random.default_rng(m * 7 + k * 3 + n)
    lhs, rhs = _values(rng, (m, k)), _values(rng, (k, n))
    got, want = np.full((m, n), 5, np.float32), np.full((m, n), 6, np.float32)
    matmul_f32_sequential(lhs, rhs, got)
    matmul_f32_loop(lhs, rhs, want, 0, 0)
    assert_same_bits(got, want)


def test_strided_views():
    rng = np.random.default_rng(1)
    lhs = _values(rng, (2 * R + 3, 70))[:, 3:67]  # rows wider than the view
    rhs = _values(rng, (64, 3 * C))[:, ::3]  # a non-unit column stride: the plain loop runs
    got, want = np.zeros((2 * R + 3, C), np.float32), np.zeros((2 * R + 3, C), np.float32)
    matmul_f32_sequential(lhs, rhs, got)
    matmul_f32_loop(np.ascontiguousarray(lhs), np.ascontiguousarray(rhs), want, 0, 0)
    assert_same_bits(got, want)


def test_numpy_tile_without_jit():
    code = ("import numpy as np\n"
            "from litelens.kernels.gemm import matmul_f32_sequential, matmul_f32_loop\n"
            "rng = np.random.default_rng(0)\n"
            "a = rng.standard_normal((9, 20)).astype(np.float32); b = rng.standard_normal((20, 40)).astype(np.float32)\n"
            "x = np.zeros((9, 40), np.float32); y = np.zeros((9, 40), np.float32)\n"
            "matmul_f32_sequential(a, b, x); matmul_f32_loop(a, b, y, 0, 0)\n"
            "assert np.array_equal(x.view(np.int32), y.view(np.int32)); print('ok')\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                          env=dict(os.environ, NUMBA_DISABLE_JIT="1"))
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr[-2000:]
