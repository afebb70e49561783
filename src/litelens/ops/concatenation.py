"""CONCATENATION (concatenation.cc): join inputs along ``axis``.

int8 inputs must carry the output's scale and zero point (the official kernel checks this and copies
bytes); int16 needs zero point 0 everywhere and copies codes whatever the scales; only uint8 rescales,
which litelens does not support. A fused activation other than NONE is refused, as the official kernel
refuses it — except under the XNNPACK delegate, which takes the op and concatenates without it.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.ops.base import Node, Op, Prepared
from litelens.ops.common import expect_same_dtype, normalize_axis, same_quantization
from litelens.ops.registry import register
from litelens.ops.activation_fn import ACTIVATION_NAMES
from litelens.ops.binary_common import xnnpack_type_problem


@dataclass(frozen=True)
class ConcatOptions:
    axis: int = 0
    activation: int = 0


@register("CONCATENATION")
class Concatenation(Op):
    def parse_options(self, raw):
        if raw is None:
            return ConcatOptions()
        return ConcatOptions(int(raw.Axis()), int(raw.FusedActivationFunction()))

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitConcatenationNode``: 2 to 5 inputs, float or per-tensor int8/uint8 tensors, axis below
        every input's rank (a negative axis passes), uint8 inputs with the output's scale and zero point.
        The fused activation is not checked: XNNPACK concatenates and ignores it."""
        if not 2 <= len(node.inputs) <= 5 or len(node.outputs) != 1 or any(t is None for t in node.inputs):
            return f"the delegate takes 2 to 5 inputs, this CONCATENATION has {len(node.inputs)}"
        out = node.outputs[0]
        problem = xnnpack_type_problem(out)
        if problem:
            return problem
        axis = (node.options or ConcatOptions()).axis
        for t in node.inputs:
            if axis >= len(t.shape):
                return f"axis {axis} is not below the rank of {t.describe()}"
        if out.dtype == np.uint8 and not all(same_quantization(t, out) for t in node.inputs):
            return "uint8 inputs with another scale or zero point than the output's"
        for t in node.inputs:
            problem = xnnpack_type_problem(t)
            if problem:
                return problem
        return None

    def prepare(self, node: Node) -> Prepared:
        if not node.inputs or len(node.outputs) != 1:
            raise node.error("expects at least one input and one output")
        ins = [node.input(i) for i in range(len(node.inputs))]
        out = node.outputs[0]
        expect_same_dtype(node, out, *ins)
        rank = len(ins[0].shape)
        if rank == 0:
            raise node.error(f"{ins[0].describe()} is a scalar; concatenation needs inputs of rank >= 1")
        axis = normalize_axis(node, node.options.axis, rank)
        for t in ins[1:]:
            if len(t.shape) != rank or any(a != b for i, (a, b) in enumerate(zip(t.shape, ins[0].shape)) if i != axis):
                raise node.error(f"{t.describe()} does not match {ins[0].describe()} outside axis {axis}")
        if node.options.activation != 0 and node.flavor != "xnnpack":  # concatenation.cc refuses any
            raise node.error(f"fused activation {ACTIVATION_NAMES.get(node.options.activation)} is not supported; "
                             "the official kernel accepts only NONE")
        if out.dtype == np.int16:
            # concatenation.cc: int16 needs zero point 0 everywhere and copies codes whatever the scales.
            if any(t.quantization is not None and t.quantization.single_zero_point != 0 for t in ins + [out]):
                raise node.error("int16 inputs and output must have zero point 0")
        elif out.dtype.kind not in "f":
            if out.dtype == np.uint8 and not all(same_quantization(t, out) for t in ins):
                raise node.error("uint8 inputs with a scale or zero point other than the output's are not supported")
            if out.quantization is not None and not all(same_quantization(t, out) for t in ins):
                raise node.error("every quantized input must have the output's scale and zero point")
        shape = list(ins[0].shape)
        shape[axis] = sum(t.shape[axis] for t in ins)
        return Prepared(axis, [tuple(shape)])

    def eval(self, axis, inputs, outputs):
        np.concatenate(inputs, axis=axis, out=outputs[0])
