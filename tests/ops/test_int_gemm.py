"""The fast integer kernels against slow, obvious oracles (NumPy int64 and the scalar reference kernels).

* ``int_gemm.int8_gemm`` on every instruction set this CPU runs (AVX-512 VNNI, AVX-VNNI, AVX2):
  Σ (x + 128) w in int32 with wrap-around, for edge shapes (1, odd, not multiples of the tile), K up
  to 70000 (the int32 sum wraps), and scratch buffers holding garbage from a previous op.
* the packing and row-shifting helpers, and the raw products the hybrid path uses, against NumPy.
* ``requantize_simd``: the 16-lane double requantization against ``requantize_double`` (the scalar
  FULLY_CONNECTED kernel) and the 16-lane MultiplyByQuantizedMultiplier against
  ``multiply_by_quantized_multiplier``, on random and extreme totals, scales, multipliers and shifts;
  and their NumPy fallbacks (what NUMBA_DISABLE_JIT=1 runs) against the same oracles.
* one FULLY_CONNECTED and one BATCH_MATMUL through the whole integer path under NUMBA_DISABLE_JIT=1.

All comparisons are exact.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

from litelens.kernels import int_gemm as g
from litelens.kernels import requantize_simd as rq
from litelens.kernels.batch_matmul import requantize_mbqm
from litelens.kernels.config import jit
from litelens.kernels.fully_connected import requantize_double

ISAS = g.supported_isas()
SHAPES = [(1, 1, 1), (1, 5, 3), (3, 4, 7), (8, 32, 32), (9, 33, 17), (17, 300, 65), (128, 128, 128), (2, 70000, 3)]


def wrap32(v):
    return ((np.asarray(v, dtype=np.int64) + 2**31) % 2**32 - 2**31).astype(np.int64)


pytestmark = pytest.mark.skipif(not ISAS, reason="no integer dot-product kernel on this CPU")


@pytest.mark.parametrize("isa", ISAS, ids=lambda i: g.ISA_NAMES[i])
@pytest.mark.parametrize("shape", SHAPES, ids=str)
def test_int8_gemm_exact(isa, shape):
    m, k, n = shape
    rng = np.random.default_rng(m * 1000 + k + n)
    x = rng.integers(-128, 128, (m, k)).astype(np.int8)
    w = rng.integers(-128, 128, (n, k)).astype(np.int8)
    a = np.asarray(rng.integers(0, 200, g.a_spec(m, k, isa)[1]), dtype=g.A_DTYPE[isa])  # garbage, as in scratch
    acc = rng.integers(-9, 9, g.acc_spec(m, n, isa)[1]).astype(np.int32)
    packed = g.packed_buffer(n, k, isa)
    packed[...] = rng.integers(-128, 128, packed.shape)  # garbage padding: a's zeroed k padding must hide it
    sums = np.zeros(n, np.int64)
    g.pack_columns_nk(w, packed, sums)
    row_sums = np.zeros(a.shape[0], np.int64)
    g.offset_rows(x, a, row_sums, True)
    g.int8_gemm(isa, a, packed, acc)
    expected = wrap32((x.astype(np.int64) + 128) @ w.T.astype(np.int64))
    np.testing.assert_array_equal(acc[:m, :n], expected)
    np.testing.assert_array_equal(sums, w.astype(np.int64).sum(axis=1))
    np.testing.assert_array_equal(row_sums[:m], x.astype(np.int64).sum(axis=1))


@pytest.mark.parametrize("isa", ISAS, ids=lambda i: g.ISA_NAMES[i])
def test_packing_helpers_agree(isa):
    rng = np.random.default_rng(1)
    for n, k in [(1, 1), (5, 3), (33, 70), (64, 128)]:
        w = rng.integers(-128, 128, (n, k)).astype(np.int8)
        reference = g.pack_columns(w, isa)
        for pack, operand in ((g.pack_columns_nk, w), (g.pack_columns_kn, np.ascontiguousarray(w.T))):
            packed, sums = g.packed_buffer(n, k, isa), np.zeros(n, np.int64)
            packed[...] = 99
            pack(operand, packed, sums)
            np.testing.assert_array_equal(packed, reference)
            np.testing.assert_array_equal(sums, g.column_sums(w))


@pytest.mark.parametrize("isa", ISAS, ids=lambda i: g.ISA_NAMES[i])
def test_exact_products_are_the_raw_int8_dot_products(isa):
    rng = np.random.default_rng(3)
    for m, k, n in [(1, 1, 1), (5, 37, 9), (128, 512, 33)]:
        q = rng.integers(-128, 128, (m, k)).astype(np.int8)
        w = rng.integers(-128, 128, (n, k)).astype(np.int8)
        a = np.zeros(g.a_spec(m, k, isa)[1], g.A_DTYPE[isa])
        acc = np.zeros(g.acc_spec(m, n, isa)[1], np.int32)
        g.exact_products(isa, q, a, np.zeros(a.shape[0], np.int64), g.pack_columns(w, isa), g.column_sums(w), acc)
        np.testing.assert_array_equal(acc[:m, :n], q.astype(np.int64) @ w.T.astype(np.int64))


def test_offset_columns_is_offset_rows_of_the_transpose():
    rng = np.random.default_rng(2)
    x = rng.integers(-128, 128, (7, 13)).astype(np.int8)  # [K, M]
    a1, a2 = np.full((16, 8), 77, np.uint8), np.full((16, 8), 55, np.uint8)
    s1, s2 = np.zeros(16, np.int64), np.zeros(16, np.int64)
    g.offset_columns(x, a1, s1, True)
    g.offset_rows(np.ascontiguousarray(x.T), a2, s2, True)
    np.testing.assert_array_equal(a1[:13], a2[:13])
    np.testing.assert_array_equal(s1[:13], s2[:13])


# ---------------------------------------------------------------- requantization

@jit
def _call_double(acc, column_term, row_term, scale, zp, qmin, qmax, bounded, out):
    rq.requantize_rows_double(acc, column_term, row_term, scale, zp, qmin, qmax, bounded, out)


@jit
def _call_mbqm(acc, column_term, row_term, multiplier, shift, zp, qmin, qmax, out):
    rq.requantize_rows_mbqm(acc, column_term, row_term, multiplier, shift, zp, qmin, qmax, out)


def _terms(rng, m, n_pad, extreme):
    if extreme:
        draw = lambda shape: rng.integers(-2**31, 2**31, shape, dtype=np.int64).astype(np.int32)  # noqa: E731
    else:
        draw = lambda shape: rng.integers(-20000, 20000, shape).astype(np.int32)  # noqa: E731
    return draw((m + 3, n_pad)), draw(n_pad), draw(m + 3)


@pytest.mark.parametrize("seed", range(40))
def test_requantize_double_matches_scalar_kernel(seed):
    rng = np.random.default_rng(seed)
    m, n = int(rng.integers(1, 40)), int(rng.integers(1, 70))
    n_pad = -(-n // 16) * 16
    acc, col, row = _terms(rng, m, n_pad, extreme=seed % 3 == 0)
    pool = [1e-9, 3e-3, 0.0117, 0.5, 0.998, 1 / 3, 0.25, 2 ** -20]
    if seed % 2:
        pool += [1.7, 1e10, np.inf, np.nan, -0.5, 0.0]
    scale = rng.choice(pool, n_pad) * (rng.random(n_pad) + 0.5 if seed % 5 else 1.0)
    zp, qmin, qmax = int(rng.integers(-128, 128)), int(rng.integers(-128, 0)), int(rng.integers(0, 128))
    bounded = rq.is_bounded(scale)
    total = wrap32(acc[:m, :n].astype(np.int64) + col[:n] + row[:m, None])
    expected = np.zeros((m, n), np.int8)
    requantize_double(total, np.zeros(n, np.int64), scale[:n], zp, qmin, qmax, True, expected)
    for fn in (_call_double, rq._double_numpy):
        got = np.zeros((m, n + 5), np.int8)  # a row stride wider than the row: masked tail stores
        fn(acc, col, row, scale, zp, qmin, qmax, bounded, got[:, :n])
        np.testing.assert_array_equal(got[:, :n], expected)
        assert not got[:, n:].any()


def test_requantize_double_rounds_ties_away_from_zero():
    totals = np.array([[1, 3, 5, -1, -3, -5, 7, -7] * 2], np.int32)  # * 0.5: exact ties
    got = np.zeros((1, 16), np.int8)
    _call_double(totals, np.zeros(16, np.int32), np.zeros(1, np.int32), np.full(16, 0.5), 0, -128, 127, True, got)
    np.testing.assert_array_equal(got[0, :8], [1, 2, 3, -1, -2, -3, 4, -4])


@pytest.mark.parametrize("seed", range(40))
def test_requantize_mbqm_matches_scalar_kernel(seed):
    rng = np.random.default_rng(100 + seed)
    m, n = int(rng.integers(1, 30)), int(rng.integers(1, 50))
    n_pad = -(-n // 16) * 16
    acc, col, row = _terms(rng, m, n_pad, extreme=seed % 2 == 0)
    multiplier = int(rng.choice([1 << 30, (1 << 31) - 1, int(rng.integers(1 << 30, 1 << 31)), 1384415944]))
    if seed == 7:
        multiplier = -(2**31)  # the one SaturatingRoundingDoublingHighMul overflow
    shift = int(rng.choice([-31, -20, -7, -1, 0, 1, 5, 30, 31, 35]))
    zp, qmin, qmax = int(rng.integers(-128, 128)), -128, 127
    if seed == 7:  # total -2**31 at [0, 0], times multiplier -2**31
        acc[0, 0], col[0], row[0] = -(2**31), 0, 0
    total = wrap32(acc[:m, :n].astype(np.int64) + col[:n] + row[:m, None])
    assert seed != 7 or total[0, 0] == -(2**31)
    expected = np.zeros(total.size, np.int8)
    requantize_mbqm(total.reshape(-1), multiplier, shift, zp, qmin, qmax, expected)
    for fn in (_call_mbqm, rq._mbqm_numpy):
        got = np.zeros((m, n + 3), np.int8)
        fn(acc, col, row, multiplier, shift, zp, qmin, qmax, got[:, :n])
        np.testing.assert_array_equal(got[:, :n], expected.reshape(m, n))


# ---------------------------------------------------------------- plain Python

_NO_JIT_SCRIPT = r"""
import numpy as np
from litelens.kernels import int_gemm as g
from litelens.ops.base import Node, Quantization, TensorArg
from litelens.ops.fully_connected import FullyConnected, FullyConnectedOptions, Int8Plan, QuantPlan
from litelens.ops.batch_matmul import BatchMatMul, BatchMatMulOptions
assert g.ISA is not None
rng = np.random.default_rng(0)
q = lambda s, z: Quantization(np.array([s], np.float32), np.array([z], np.int64))
x = rng.integers(-128, 128, (5, 37)).astype(np.int8)
w = rng.integers(-127, 128, (11, 37)).astype(np.int8)
bias = rng.integers(-500, 500, 11).astype(np.int32)
def fc_out(isa):
    g.ISA = isa
    node = Node(0, "FULLY_CONNECTED", FullyConnectedOptions(), [
        TensorArg(0, "x", np.dtype(np.int8), x.shape, q(0.05, 3)),
        TensorArg(1, "w", np.dtype(np.int8), w.shape, q(0.01, 0), w),
        TensorArg(2, "b", np.dtype(np.int32), bias.shape, q(0.0005, 0), bias)],
        [TensorArg(3, "y", np.dtype(np.int8), (5, 11), q(0.2, -7))])
    op = FullyConnected(); prepared = op.prepare(node)
    out = np.zeros((5, 11), np.int8); op.eval(prepared.params, [x, w, bias], [out])
    return type(prepared.params), out
kind_int, y_int = fc_out(g.AVX2)
kind_float, y_float = fc_out(None)
assert kind_int is Int8Plan and kind_float is QuantPlan
assert np.array_equal(y_int, y_float), (y_int, y_float)
l = rng.integers(-128, 128, (2, 6, 9)).astype(np.int8); r = rng.integers(-128, 128, (2, 5, 9)).astype(np.int8)
def bmm_out(isa):
    g.ISA = isa
    node = Node(0, "BATCH_MATMUL", BatchMatMulOptions(adj_y=True), [
        TensorArg(0, "l", np.dtype(np.int8), l.shape, q(0.05, 3)),
        TensorArg(1, "r", np.dtype(np.int8), r.shape, q(0.04, -2))],
        [TensorArg(2, "o", np.dtype(np.int8), (2, 6, 5), q(0.3, 1))])
    op = BatchMatMul(); prepared = op.prepare(node)
    out = np.zeros((2, 6, 5), np.int8); op.eval(prepared.params, [l, r], [out])
    return out
assert np.array_equal(bmm_out(g.VNNI512), bmm_out(None))
print("ok")
"""


def test_integer_path_runs_as_plain_python():
    """NUMBA_DISABLE_JIT=1: the tiles are NumPy, every driver plain Python; same bits as the BLAS path."""
    env = dict(os.environ, NUMBA_DISABLE_JIT="1")
    done = subprocess.run([sys.executable, "-c", _NO_JIT_SCRIPT], capture_output=True, text=True, env=env,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().endswith("ok")
