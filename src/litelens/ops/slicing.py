"""SLICE and STRIDED_SLICE (slice.cc, strided_slice.cc): copy a (strided) window of the input.

Begin, end/size and strides must be constants; Prepare turns them into one tuple of Python slices
plus the output shape, so Eval is a single NumPy copy. STRIDED_SLICE follows TensorFlow's
semantics for begin/end/ellipsis/new-axis/shrink-axis masks and ``offset`` (end relative to begin).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.ops.base import Node, Op, Prepared
from litelens.ops.binary_common import XNN_MAX_TENSOR_DIMS, xnnpack_type_problem
from litelens.ops.common import constant_ints, expect_max_rank, expect_same_dtype
from litelens.ops.registry import register

MAX_RANK = 5


def _param_problem(node: Node, i: int, what: str, int64_ok: bool) -> str | None:
    """A begin/size/end/strides input as the delegate wants it: constant, 1-D, int32 (or int64)."""
    t = node.optional_input(i)
    if t is None:
        return f"no {what} input"
    if t.data is None:
        return f"{what} is not a constant"
    if len(t.shape) != 1:
        return f"{what} is not 1-D"
    if not (t.dtype == np.int32 or (int64_ok and t.dtype == np.int64)):
        return f"{what} is {t.dtype.name}"
    return None


def _xnnpack_rank0_refusal(node: Node) -> None:
    """The delegate takes a rank-0 slice (nothing in its checks looks at the input's rank) and the
    XNNPACK runtime then fails to reshape it: the official AUTO interpreter errors out, so does this."""
    if node.flavor == "xnnpack" and len(node.input(0).shape) == 0:
        raise node.error("the XNNPACK delegate takes this rank-0 slice and then fails "
                         "('XNNPack delegate failed to reshape runtime'), as the official interpreter does")


def _xnnpack_window(shape, begins, ends) -> Prepared:
    """XNNPACK's static slice (src/subgraph/static-slice.c, reshape): per dim, a negative begin counts
    from the end (floored at 0); an end <= 0 counts from the end (0: the end itself); the size is
    end - begin, never negative, clamped to the dim. No error for out-of-range values."""
    doz = lambda a, b: max(a - b, 0)  # noqa: E731 - XNNPACK's "difference or zero"
    window, out_shape = [], []
    for dim, b, e in zip(shape, begins, ends):
        offset = doz(dim, -b) if b < 0 else b
        size = doz(doz(dim, -e), offset) if e <= 0 else doz(e, offset)
        offset = min(offset, dim)
        size = min(size, doz(dim, offset))
        window.append(slice(offset, offset + size))
        out_shape.append(size)
    return Prepared(tuple(window), [tuple(out_shape)])


def _copy_window(window, inputs, outputs):
    np.copyto(outputs[0], inputs[0][window].reshape(outputs[0].shape))


@register("SLICE")
class Slice(Op):
    """out = input[begin : begin + size] per dim; size -1 means 'to the end'."""

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitSliceNode``: begin and size constant 1-D int32/int64 of one length, every size
        positive (-1 is refused), float or per-tensor int8/uint8 input and output."""
        if len(node.inputs) != 3 or len(node.outputs) != 1:
            return "the delegate needs 3 inputs and 1 output"
        for i, what in ((1, "begin"), (2, "size")):
            problem = _param_problem(node, i, what, int64_ok=True)
            if problem:
                return problem
        if node.input(1).shape[0] != node.input(2).shape[0]:
            return "begin and size differ in length"
        for t in (node.input(0), node.outputs[0]):
            problem = xnnpack_type_problem(t)
            if problem:
                return problem
        if (node.input(2).data <= 0).any():
            return f"size {node.input(2).data.tolist()} has an entry <= 0"
        return None

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(3)
        _xnnpack_rank0_refusal(node)
        x, out = node.input(0), node.outputs[0]
        expect_same_dtype(node, out, x)
        expect_max_rank(node, x, MAX_RANK)
        begin = constant_ints(node, 1, "begin")
        size = constant_ints(node, 2, "size")
        rank = len(x.shape)
        if begin.size != rank or size.size != rank:
            raise node.error(f"begin and size need {rank} entries, have {begin.size} and {size.size}")
        if node.flavor == "xnnpack":  # the delegate slices from begin to begin + size, its own way
            return _xnnpack_window(x.shape, begin.tolist(), (begin + size).tolist())
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

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitStridedSliceNode``: no ellipsis/new-axis/shrink masks, strides all 1, begin, end and
        strides constant 1-D int32 with one entry per input dim, float or per-tensor int8/uint8."""
        o = node.options or StridedSliceOptions()
        if o.ellipsis_mask or o.new_axis_mask or o.shrink_axis_mask:
            return "ellipsis, new-axis or shrink-axis masks"
        if len(node.inputs) != 4 or len(node.outputs) != 1:
            return "the delegate needs 4 inputs (with strides) and 1 output"
        problem = _param_problem(node, 3, "strides", int64_ok=False)
        if problem:
            return problem
        if (node.input(3).data != 1).any():
            return f"strides {node.input(3).data.tolist()} are not all 1"
        rank = len(node.input(0).shape)
        for i, what in ((1, "begin"), (2, "end"), (3, "strides")):
            problem = _param_problem(node, i, what, int64_ok=False)
            if problem:
                return problem
            if node.input(i).shape[0] != rank:
                return f"{what} has {node.input(i).shape[0]} entries for an input of rank {rank}"
        for t in (node.input(0), node.outputs[0]):
            problem = xnnpack_type_problem(t)
            if problem:
                return problem
        return None

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts((3, 4))
        _xnnpack_rank0_refusal(node)
        x, out = node.input(0), node.outputs[0]
        expect_same_dtype(node, out, x)
        expect_max_rank(node, x, MAX_RANK)
        begin = constant_ints(node, 1, "begin").tolist()
        end = constant_ints(node, 2, "end").tolist()
        strides = constant_ints(node, 3, "strides").tolist() if node.optional_input(3) is not None else [1] * len(begin)
        if not len(begin) == len(end) == len(strides):
            raise node.error(f"begin, end and strides differ in length: {len(begin)}, {len(end)}, {len(strides)}")
        if node.flavor == "xnnpack":  # taken by the delegate: masks to 0 ("to the end"), then offset
            o = node.options
            begins = [0 if (o.begin_mask >> i) & 1 else b for i, b in enumerate(begin)]
            ends = [0 if (o.end_mask >> i) & 1 else (e + begins[i] if o.offset else e) for i, e in enumerate(end)]
            return _xnnpack_window(x.shape, begins, ends)
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
