"""SLICE and STRIDED_SLICE (slice.cc, strided_slice.cc): copy a (strided) window of the input.

Begin, end/size and strides must be constants; Prepare turns them into one tuple of Python slices
plus the output shape, so Eval is a single NumPy copy. STRIDED_SLICE follows TensorFlow's
semantics for begin/end/ellipsis/new-axis/shrink-axis masks and ``offset`` (end relative to begin).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.ops.base import Node, Op, Prepared
from litelens.ops.common import constant_ints, expect_max_rank, expect_same_dtype
from litelens.ops.registry import register

MAX_RANK = 5


def _copy_window(window, inputs, outputs):
    np.copyto(outputs[0], inputs[0][window].reshape(outputs[0].shape))


@register("SLICE")
class Slice(Op):
    """out = input[begin : begin + size] per dim; size -1 means 'to the end'."""

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(3)
        x, out = node.input(0), node.outputs[0]
        expect_same_dtype(node, out, x)
        expect_max_rank(node, x, MAX_RANK)
        begin = constant_ints(node, 1, "begin")
        size = constant_ints(node, 2, "size")
        rank = len(x.shape)
        if begin.size != rank or size.size != rank:
            raise node.error(f"begin and size need {rank} entries, have {begin.size} and {size.size}")
        window, shape = [], []
        for d, b, s in zip(x.shape, begin.tolist(), size.tolist()):
            if s == -1:
                s = d - b
            if b < 0 or s < 0 or b + s > d:
                raise node.error(f"slice begin {begin.tolist()} size {size.tolist()} does not fit shape {list(x.shape)}")
            window.append(slice(b, b + s))
            shape.append(s)
        return Prepared(tuple(window), [tuple(shape)])

    eval = staticmethod(_copy_window)


@dataclass(frozen=True)
class StridedSliceOptions:
    begin_mask: int = 0
    end_mask: int = 0
    ellipsis_mask: int = 0
    new_axis_mask: int = 0
    shrink_axis_mask: int = 0
    offset: bool = False


def _dense_spec(node: Node, rank: int, begin, end, strides, o: StridedSliceOptions):
    """Expand the sparse spec (with ellipsis and new axes) to one (b, e, s, flags) entry per input dim.

    Returns a list whose entries are either ("newaxis",) or (dim, b, e, s, begin_masked, end_masked,
    shrink).
    """
    n = len(begin)
    if o.ellipsis_mask & (o.ellipsis_mask - 1):
        raise node.error("more than one ellipsis in ellipsis_mask")
    real_after = lambda i: sum(1 for j in range(i + 1, n) if not (o.new_axis_mask >> j) & 1)
    entries, dim = [], 0
    for i in range(n):
        bit = 1 << i
        if o.ellipsis_mask & bit:
            covered = rank - dim - real_after(i)
            for _ in range(max(covered, 0)):
                entries.append((dim, 0, 0, 1, True, True, False))
                dim += 1
        elif o.new_axis_mask & bit:
            entries.append(("newaxis",))
        else:
            entries.append((dim, begin[i], end[i], strides[i], bool(o.begin_mask & bit),
                            bool(o.end_mask & bit), bool(o.shrink_axis_mask & bit)))
            dim += 1
    while dim < rank:  # dims the spec does not mention are taken whole
        entries.append((dim, 0, 0, 1, True, True, False))
        dim += 1
    if dim != rank:
        raise node.error(f"the slice spec addresses {dim} dims of an input of rank {rank}")
    return entries


@register("STRIDED_SLICE")
class StridedSlice(Op):
    def parse_options(self, raw):
        if raw is None:
            return StridedSliceOptions()
        return StridedSliceOptions(int(raw.BeginMask()), int(raw.EndMask()), int(raw.EllipsisMask()),
                                   int(raw.NewAxisMask()), int(raw.ShrinkAxisMask()), bool(raw.Offset()))

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts((3, 4))
        x, out = node.input(0), node.outputs[0]
        expect_same_dtype(node, out, x)
        expect_max_rank(node, x, MAX_RANK)
        begin = constant_ints(node, 1, "begin").tolist()
        end = constant_ints(node, 2, "end").tolist()
        strides = constant_ints(node, 3, "strides").tolist() if node.optional_input(3) is not None else [1] * len(begin)
        if not len(begin) == len(end) == len(strides):
            raise node.error(f"begin, end and strides differ in length: {len(begin)}, {len(end)}, {len(strides)}")
        if node.options.offset:
            end = [b + e for b, e in zip(begin, end)]
        window, shape = [], []
        for entry in _dense_spec(node, len(x.shape), begin, end, strides, node.options):
            if entry[0] == "newaxis":
                window.append(np.newaxis)
                shape.append(1)
                continue
            dim, b, e, s, b_masked, e_masked, shrink = entry
            size = x.shape[dim]
            if s == 0:
                raise node.error("a stride is 0")
            if shrink:
                if b_masked:  # the official kernel lets begin_mask win over the shrink index
                    b = 0 if s > 0 else size - 1
                b = b + size if b < 0 else b
                if not 0 <= b < size:
                    raise node.error(f"shrink index {entry[1]} is out of range for dim {dim} of size {size}")
                window.append(b)
                continue
            lo, hi = (0, size) if s > 0 else (-1, size - 1)
            b = (lo if s > 0 else hi) if b_masked else min(max(b + size if b < 0 else b, lo), hi)
            e = (hi if s > 0 else lo) if e_masked else min(max(e + size if e < 0 else e, lo), hi)
            count = max(0, -(-(e - b) // s)) if s > 0 else max(0, -(-(b - e) // -s))
            window.append(slice(b, None if e < 0 else e, s) if count else slice(0, 0))
            shape.append(count)
        return Prepared(tuple(window), [tuple(shape)])

    eval = staticmethod(_copy_window)
