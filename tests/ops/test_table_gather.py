"""The int8 pair-table kernel (16-lane gathers and its scalar loops) against NumPy indexing, exactly.

Shapes cover every row pattern of the broadcast plan (both inputs moving - the gather path -, one
fixed, general strides), rows shorter and longer than 16 with tails, and the swapped table
orientation ``with_pair_table`` picks when the second input spans fewer elements. The op-level
tests (test_elementwise.py) check the tables' contents against the official interpreter.
"""
from __future__ import annotations

import numpy as np
import pytest

from litelens.kernels import elementwise as k
from litelens.kernels import table_gather
from litelens.kernels.broadcast import plan_broadcast
from litelens.ops import binary_common
from litelens.ops.binary_common import BinaryParams, run_binary

SHAPES = [((37,), (37,)), ((5, 16), (5, 16)), ((3, 129), (3, 129)), ((4, 7, 33), (1, 1, 33)),
          ((2, 3, 40), (2, 1, 40)), ((6, 50), (1,)), ((1,), (6, 50)), ((4, 1, 19), (1, 5, 1)), ((8, 1), (1, 8))]


def _bits(a):
    return a.view(np.uint8).astype(np.int64)


@pytest.mark.parametrize("shape1,shape2", SHAPES, ids=str)
def test_pair_table_lookup_matches_indexing(shape1, shape2):
    rng = np.random.default_rng(len(shape1) * 100 + shape1[-1])
    table = np.zeros(65536 + table_gather.TABLE_PAD, np.int8)
    table[:65536] = rng.integers(-128, 128, 65536)
    x1 = rng.integers(-128, 128, shape1).astype(np.int8)
    x2 = rng.integers(-128, 128, shape2).astype(np.int8)
    out_shape = np.broadcast_shapes(shape1, shape2)
    plan = plan_broadcast(shape1, shape2, out_shape)
    got = np.zeros(out_shape, np.int8)
    k.pair_table_lookup(got.reshape(-1), x1.reshape(-1), x2.reshape(-1), plan.loops, plan.strides1, plan.strides2,
                        table)
    a, b = np.broadcast_arrays(x1, x2)
    np.testing.assert_array_equal(got, table[(_bits(a) << 8) | _bits(b)])


def test_gather_row_numpy_fallback_matches():
    rng = np.random.default_rng(5)
    table = rng.integers(-128, 128, 65536 + table_gather.TABLE_PAD).astype(np.int8)
    x1, x2 = rng.integers(-128, 128, 64).astype(np.int8), rng.integers(-128, 128, 64).astype(np.int8)
    for step1, step2 in ((1, 1), (1, 0), (0, 1)):
        want, got = np.zeros(64, np.int8), np.zeros(64, np.int8)
        table_gather._gather_numpy(want, x1, x2, table, 3, 5, 0, 3, step1, step2)
        k.pair_table_lookup(got[:48], x1[3:51] if step1 else x1[3:4], x2[5:53] if step2 else x2[5:6],
                            np.array([48]), np.array([step1]), np.array([step2]), table)
        np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("shape1,shape2", [((6, 50), (50,)), ((50,), (6, 50)), ((4, 9), (4, 9))], ids=str)
def test_swapped_tables_give_the_same_op(shape1, shape2):
    """A table built for x1 op x2, transposed and run with the inputs swapped, gives the same output."""
    rng = np.random.default_rng(9)
    x1 = rng.integers(-128, 128, shape1).astype(np.int8)
    x2 = rng.integers(-128, 128, shape2).astype(np.int8)
    out_shape = np.broadcast_shapes(shape1, shape2)
    plan = plan_broadcast(shape1, shape2, out_shape)
    direct = BinaryParams(plan, k.quantized_mul, (3, -7, 1500000000, -6, 4, -128, 127))
    tabled = binary_common.with_pair_table(direct)
    assert tabled.swap == (int(np.prod(shape2)) < int(np.prod(shape1)))
    want, got = np.zeros(out_shape, np.int8), np.zeros(out_shape, np.int8)
    run_binary(direct, [x1, x2], [want])
    run_binary(tabled, [x1, x2], [got])
    np.testing.assert_array_equal(got, want)
