"""Broadcasting two operands onto one output, for every binary elementwise kernel.

Prepare (plain Python):

* ``broadcast_shape`` is ``CalculateShapeForBroadcast`` (kernel_util.cc): shapes are right-aligned,
  each pair of dimensions must be equal or contain a 1, a 0 wins over a 1 (empty output).
* ``plan_broadcast`` turns the two input shapes into a short loop nest over the output, like
  ``BroadcastBinaryOpSimple`` (reference/broadcast_loop.h): an input dimension of size 1 facing a
  larger output dimension gets stride 0, size-1 output dimensions vanish, and neighbouring
  dimensions that step both inputs the same way are fused into one loop. Same shapes fuse into a
  single loop over every element; a scalar operand becomes that loop with stride 0.

Eval (jitted): a kernel walks ``rows = size // loops[-1]`` rows; ``row_offsets`` gives where row r
starts in each input; inside a row, input k advances by ``strides_k[-1]`` (0 or 1).
The element order and the value computed per element do not depend on the plan, so the
same-shape, scalar and general N-D cases give identical bits.
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from litelens.kernels.config import jit

# BroadcastBinaryOpSimple keeps its loop nest in arrays of this size (kMaxRank in broadcast_loop.h).
MAX_BROADCAST_RANK = 8


def broadcast_shape(shape1: tuple[int, ...], shape2: tuple[int, ...]) -> tuple[int, ...] | None:
    """The broadcast output shape, or None when the shapes are not broadcastable."""
    rank = max(len(shape1), len(shape2))
    d1s = (1,) * (rank - len(shape1)) + tuple(shape1)
    d2s = (1,) * (rank - len(shape2)) + tuple(shape2)
    out = []
    for d1, d2 in zip(d1s, d2s):
        if not (d1 == d2 or d1 == 1 or d2 == 1):
            return None
        out.append(0 if d1 == 0 or d2 == 0 else max(d1, d2))
    return tuple(out)


@dataclass(frozen=True)
class BroadcastPlan:
    """A loop nest over the output: ``loops`` extents (outermost first) and per-input strides in elements."""

    out_shape: tuple[int, ...]
    size: int  # number of output elements
    loops: np.ndarray  # int64 [k], k >= 1
    strides1: np.ndarray  # int64 [k]
    strides2: np.ndarray  # int64 [k]


def _input_strides(shape: tuple[int, ...], out_shape: tuple[int, ...]) -> list[int]:
    """Element strides of a C-contiguous input aligned to the output's rank; 0 where it broadcasts."""
    shape = (1,) * (len(out_shape) - len(shape)) + tuple(shape)
    strides, step = [0] * len(shape), 1
    for d in range(len(shape) - 1, -1, -1):
        strides[d] = 0 if shape[d] == 1 else step
        step *= shape[d]
    return strides


@functools.lru_cache(maxsize=256)
def plan_broadcast(shape1: tuple[int, ...], shape2: tuple[int, ...], out_shape: tuple[int, ...]) -> BroadcastPlan:
    """Fuse the output dimensions into as few loops as possible (shapes already checked broadcastable).
    One plan per distinct triple of shapes, shared by every op that has it (kernels only read it)."""
    s1 = _input_strides(shape1, out_shape)
    s2 = _input_strides(shape2, out_shape)
    loops: list[list[int]] = []  # [extent, stride1, stride2], innermost first
    for d in range(len(out_shape) - 1, -1, -1):
        n = out_shape[d]
        if n == 1:
            continue
        if loops:
            inner = loops[-1]
            if s1[d] == inner[1] * inner[0] and s2[d] == inner[2] * inner[0]:
                inner[0] *= n  # steps both inputs exactly like one longer inner loop
                continue
        loops.append([n, s1[d], s2[d]])
    if not loops:
        loops = [[1, 0, 0]]
    loops.reverse()
    as_array = lambda k: np.array([loop[k] for loop in loops], dtype=np.int64)  # noqa: E731
    size = int(np.prod(out_shape, dtype=np.int64)) if out_shape else 1
    return BroadcastPlan(tuple(out_shape), size, as_array(0), as_array(1), as_array(2))


@jit
def row_offsets(row, loops, strides1, strides2):
    """Offsets in input 1 and input 2 of the first element of output row ``row`` (all loops but the last)."""
    offset1 = 0
    offset2 = 0
    for d in range(loops.shape[0] - 2, -1, -1):
        index = row % loops[d]
        row //= loops[d]
        offset1 += index * strides1[d]
        offset2 += index * strides2[d]
    return offset1, offset2
