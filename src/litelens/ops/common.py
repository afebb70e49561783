"""Small Prepare-time helpers shared by several ops."""
from __future__ import annotations

import math

import numpy as np

from litelens.kernels.fixedpoint import quantize_multiplier
from litelens.ops.base import Node, TensorArg

INT_INDEX_TYPES = (np.int32, np.int64)


def constant_ints(node: Node, i: int, what: str, rank: int | None = 1) -> np.ndarray:
    """Input i as a constant integer array (int32 or int64), or a clear error if it is not one."""
    t = node.input(i)
    if t.data is None:
        raise node.error(f"{what} ({t.describe()}) must be a constant; litelens does not support "
                         "shapes that are only known at run time")
    node.expect_dtype(t, *INT_INDEX_TYPES)
    if rank is not None and t.data.ndim != rank:
        raise node.error(f"{what} ({t.describe()}) must have rank {rank}")
    return t.data.astype(np.int64)


def normalize_axis(node: Node, axis: int, rank: int, what: str = "axis") -> int:
    if not -rank <= axis < rank:
        raise node.error(f"{what} {axis} is out of range for rank {rank}")
    return axis + rank if axis < 0 else axis


def same_quantization(a: TensorArg, b: TensorArg) -> bool:
    qa, qb = a.quantization, b.quantization
    if qa is None or qb is None:
        return qa is None and qb is None
    return (np.array_equal(qa.scale, qb.scale) and np.array_equal(qa.zero_point, qb.zero_point))


def expect_same_dtype(node: Node, out: TensorArg, *ins: TensorArg) -> None:
    for t in ins:
        if t.dtype != out.dtype:
            raise node.error(f"{t.describe()} and output {out.describe()} must have the same dtype")


def expect_max_rank(node: Node, t: TensorArg, max_rank: int) -> None:
    if len(t.shape) > max_rank:
        raise node.error(f"{t.describe()} has rank {len(t.shape)}; the official kernel supports at most {max_rank}")


def checked_multiplier(node: Node, real: float, what: str) -> tuple[int, int]:
    """``quantize_multiplier`` of a multiplier computed from scales, refused when that arithmetic
    overflowed (inf) or gave NaN: no fixed-point multiplier represents it."""
    if not math.isfinite(real):
        raise node.error(f"the {what} multiplier is {real}: the tensors' quantization scales are out of range")
    return quantize_multiplier(real)


def read_only(array: np.ndarray) -> np.ndarray:
    """The array read-only: itself when it already is (a model's constant), else a read-only view.
    Kernels then see every input with one array type, so Numba compiles one version instead of two -
    and cannot write into it."""
    if not array.flags.writeable:  # a model's constant already is (no second view per use)
        return array
    view = array.view()
    view.flags.writeable = False
    return view
