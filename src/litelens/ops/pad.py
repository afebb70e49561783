"""PAD and PADV2 (pad.cc): pad with the output zero point (quantized), 0, or PADV2's constant value."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.ops.base import Node, Op, Prepared
from litelens.ops.binary_common import xnnpack_shape_problem, xnnpack_type_problem
from litelens.ops.common import constant_ints, expect_max_rank, expect_same_dtype, same_quantization
from litelens.ops.registry import register

MAX_RANK = 5


@dataclass(frozen=True)
class PadPlan:
    window: tuple  # where the input lands inside the output
    fill: object  # value of every padded element


class _PadBase(Op):
    def _plan(self, node: Node, fill) -> Prepared:
        x, out = node.input(0), node.outputs[0]
        expect_same_dtype(node, out, x)
        expect_max_rank(node, x, MAX_RANK)
        if x.quantization is not None and not same_quantization(x, out):
            raise node.error("input and output must have the same scale and zero point")
        paddings = constant_ints(node, 1, "paddings", rank=None)
        rank = len(x.shape)
        if paddings.shape != (rank, 2):
            raise node.error(f"paddings must have shape [{rank}, 2], has {list(paddings.shape)}")
        if (paddings < 0).any():
            raise node.error(f"negative paddings {paddings.tolist()}")
        window = tuple(slice(int(b), int(b) + d) for (b, _), d in zip(paddings, x.shape))
        shape = tuple(int(b) + d + int(a) for (b, a), d in zip(paddings, x.shape))
        return Prepared(PadPlan(window, fill), [shape])

    def eval(self, plan: PadPlan, inputs, outputs):
        outputs[0].fill(plan.fill)
        outputs[0][plan.window] = inputs[0]


def _default_fill(out) -> object:
    return out.quantization.single_zero_point if out.quantization is not None and out.dtype.kind in "iu" else 0


@register("PAD")
class Pad(_PadBase):
    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitPadNode``: float or per-tensor int8/uint8 input and output of rank 1..6 with no empty
        dim, constant int32 paddings of shape [rank, 2], none negative. (PADV2 is not delegated.)"""
        if len(node.inputs) != 2 or len(node.outputs) != 1:
            return "the delegate needs 2 inputs and 1 output"
        x, paddings, out = node.input(0), node.input(1), node.outputs[0]
        problem = (xnnpack_type_problem(x) or xnnpack_shape_problem(x, min_rank=1) or xnnpack_type_problem(out)
                   or xnnpack_shape_problem(out, min_rank=1))
        if problem:
            return problem
        if paddings.dtype != np.int32:
            return f"paddings are {paddings.dtype.name}, not int32"
        if tuple(paddings.shape) != (len(x.shape), 2):
            return f"paddings have shape {list(paddings.shape)}"
        if paddings.data is None:
            return "paddings are not a constant"
        if (paddings.data < 0).any():
            return "negative paddings"
        return None

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(2)
        return self._plan(node, _default_fill(node.outputs[0]))


@register("PADV2")
class PadV2(_PadBase):
    def prepare(self, node: Node) -> Prepared:
        node.expect_counts((2, 3))
        fill = _default_fill(node.outputs[0])
        value = node.optional_input(2)
        if value is not None:
            if value.data is None or value.data.size != 1:
                raise node.error("the constant_values input must be a constant scalar")
            if value.dtype != node.outputs[0].dtype:
                raise node.error("constant_values must have the output's dtype")
            fill = value.data.reshape(-1)[0]
        return self._plan(node, fill)
