"""Shape-only ops: RESHAPE, SQUEEZE, EXPAND_DIMS. They copy bytes and keep quantization as is."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.ops.base import Node, Op, Prepared
from litelens.ops.binary_common import xnnpack_shape_problem, xnnpack_type_problem
from litelens.ops.common import constant_ints, expect_same_dtype, normalize_axis
from litelens.ops.registry import register


def _copy(params, inputs, outputs):
    # Same element count, same dtype: a flat copy whatever the shapes.
    np.copyto(outputs[0].reshape(-1), inputs[0].reshape(-1))


def resolve_new_shape(node: Node, requested, n_elements: int) -> tuple[int, ...]:
    """Resolve one -1 ('stretch') dimension and check the element count (reshape.cc rules)."""
    requested = [int(d) for d in requested]
    if requested.count(-1) > 1:
        raise node.error(f"new shape {requested} has more than one -1")
    if any(d < -1 for d in requested):
        raise node.error(f"new shape {requested} has a negative dimension")
    known = int(np.prod([d for d in requested if d != -1], dtype=np.int64))
    if -1 in requested:
        if known == 0 or n_elements % known:
            raise node.error(f"cannot reshape {n_elements} elements into {requested}")
        requested[requested.index(-1)] = n_elements // known
    elif known != n_elements:
        raise node.error(f"cannot reshape {n_elements} elements into {requested}")
    return tuple(requested)


@dataclass(frozen=True)
class ReshapeOptions:
    new_shape: tuple[int, ...] | None


@register("RESHAPE")
class Reshape(Op):
    """reshape.cc: the shape comes from the 1-D int32 shape tensor when present, else from the options."""

    def parse_options(self, raw):
        if raw is None or raw.NewShapeIsNone():
            return ReshapeOptions(None)
        return ReshapeOptions(tuple(int(raw.NewShape(i)) for i in range(raw.NewShapeLength())))

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitReshapeNode``: float or per-tensor int8/uint8 input and output of rank <= 6 with no
        empty dim, 8-bit input and output with one scale and zero point; a shape input must be a
        constant int32 vector (leading 1s allowed); the legacy scalar form [0] is refused."""
        if len(node.inputs) not in (1, 2) or len(node.outputs) != 1:
            return "the delegate needs 1 or 2 inputs and 1 output"
        x, out = node.input(0), node.outputs[0]
        for t in (x, out):
            problem = xnnpack_type_problem(t) or xnnpack_shape_problem(t)
            if problem:
                return problem
        if out.dtype in (np.int8, np.uint8):
            qx, qo = x.quantization, out.quantization
            if qx.scale[0] != qo.scale[0] or qx.zero_point[0] != qo.zero_point[0]:
                return "input and output quantization differ"
        if len(node.inputs) == 2:
            shape = node.input(1)
            if shape.dtype != np.int32:
                return f"the shape tensor is {shape.dtype.name}, not int32"
            if any(d != 1 for d in shape.shape[:-1]) or len(shape.shape) == 0:
                return "the shape tensor is not a vector"
            if shape.data is None:
                return "the shape tensor is not a constant"
            new_shape = shape.data.reshape(-1).tolist()
        else:
            new_shape = list((node.options or ReshapeOptions(None)).new_shape or ())
        if len(new_shape) == 1 and new_shape[0] in (0, -1):
            return "the legacy scalar reshape ([0] / [-1])"
        return None

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts((1, 2))
        x, out = node.input(0), node.outputs[0]
        expect_same_dtype(node, out, x)
        shape_tensor = node.optional_input(1)
        if shape_tensor is not None and len(shape_tensor.shape) == 1 and shape_tensor.data is not None:
            requested = constant_ints(node, 1, "the shape tensor")
        elif node.options.new_shape is not None:
            requested = node.options.new_shape
            if len(requested) == 1 and requested[0] == 0:  # legacy models write [0] for a scalar
                requested = ()
        elif shape_tensor is not None:
            requested = constant_ints(node, 1, "the shape tensor", rank=None).reshape(-1)
        else:
            raise node.error("has neither a shape tensor nor a new_shape option")
        return Prepared(None, [resolve_new_shape(node, requested, x.size)])

    copies_input = True
    eval = staticmethod(_copy)


@dataclass(frozen=True)
class SqueezeOptions:
    axes: tuple[int, ...]


@register("SQUEEZE")
class Squeeze(Op):
    """squeeze.cc: drop the listed size-1 dims, or every size-1 dim when none are listed."""

    def parse_options(self, raw):
        if raw is None:
            return SqueezeOptions(())
        return SqueezeOptions(tuple(int(raw.SqueezeDims(i)) for i in range(raw.SqueezeDimsLength())))

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(1)
        x = node.input(0)
        expect_same_dtype(node, node.outputs[0], x)
        rank = len(x.shape)
        axes = {normalize_axis(node, a, rank, "squeeze dim") for a in node.options.axes}
        for a in axes:
            if x.shape[a] != 1:
                raise node.error(f"cannot squeeze dim {a} of size {x.shape[a]}")
        keep = [d for i, d in enumerate(x.shape) if (i not in axes if axes else d != 1)]
        return Prepared(None, [tuple(keep)])

    copies_input = True
    eval = staticmethod(_copy)


@register("EXPAND_DIMS")
class ExpandDims(Op):
    """expand_dims.cc: insert a size-1 dim at the (constant) axis; axis may be negative (-rank-1..rank)."""

    def xnnpack_rejects(self, node: Node) -> str | None:
        return "the XNNPACK delegate's VisitExpandDimsNode refuses every EXPAND_DIMS (it returns an error first)"

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(2)
        x = node.input(0)
        expect_same_dtype(node, node.outputs[0], x)
        axis_values = constant_ints(node, 1, "the axis", rank=None).reshape(-1)
        if axis_values.size != 1:
            raise node.error("the axis tensor must hold exactly one value")
        rank = len(x.shape)
        axis = normalize_axis(node, int(axis_values[0]), rank + 1)
        shape = x.shape[:axis] + (1,) + x.shape[axis:]
        return Prepared(None, [shape])

    copies_input = True
    eval = staticmethod(_copy)
