"""MAXIMUM and MINIMUM (maximum_minimum.cc): elementwise max / min of two broadcast inputs.

Types: float32, float16, int8, uint8, int16, int32, int64; both inputs and the output share one.
There are no options and no fused activation. Quantized tensors are compared as raw codes: the
official kernel reads no scale or zero point, so inputs quantized differently from each other or
from the output give the official (meaningless) codes here too; the converter always gives all
three the same quantization. NaN: the second operand wins any comparison with a NaN (see
``kernels/minmax.py``). Broadcasting follows ``BroadcastBinaryOpSimple`` (up to rank 8; inputs of
the same shape, any rank). An empty input gives an empty output.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.kernels import minmax as k
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.binary_common import BinaryParams, prepare_operands, run_binary, xnnpack_binary_rejects
from litelens.ops.registry import register

DTYPES = (np.float32, np.float16, np.int8, np.uint8, np.int16, np.int32, np.int64)


@dataclass(frozen=True)
class MinMaxParams:
    binary: BinaryParams
    half: bool  # float16: the kernel runs on the bits, viewed as uint16


class _MaximumMinimum(Op):
    is_maximum = True

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitBinaryNode`` for MAXIMUM/MINIMUM: float only, input ranks <= 6, no empty dim."""
        return xnnpack_binary_rejects(node, quantized_8bit=False)

    def prepare(self, node: Node) -> Prepared:
        ops = prepare_operands(node, DTYPES)
        half = ops.x1.dtype == np.float16
        kernel = k.maximum_minimum_half if half else k.maximum_minimum
        swap = node.flavor == "xnnpack" and self._xnnpack_swaps(ops.x1.shape, ops.plan.out_shape)
        params = BinaryParams(ops.plan, kernel, (self.is_maximum,), swap=swap)
        return Prepared(MinMaxParams(params, half), [ops.plan.out_shape])

    @staticmethod
    def _xnnpack_swaps(shape1, out_shape) -> bool:
        """XNNPACK runs a binary op whose first input is broadcast along the innermost output dim that
        is not 1 (or whose output is a single element) as "op with constant" with the operands
        swapped. For MAXIMUM/MINIMUM that decides which operand a NaN or a signed zero comes from
        (the second one wins, as in maxps): found against the official AUTO run."""
        s1 = (1,) * (len(out_shape) - len(shape1)) + tuple(shape1)
        dims = [d for d, n in enumerate(out_shape) if n != 1]
        return not dims or s1[dims[-1]] == 1

    def eval(self, params: MinMaxParams, inputs, outputs) -> None:
        if params.half:
            inputs = [x.view(np.uint16) for x in inputs]
            outputs = [outputs[0].view(np.uint16)]
        run_binary(params.binary, inputs, outputs)


@register("MAXIMUM")
class Maximum(_MaximumMinimum):
    is_maximum = True


@register("MINIMUM")
class Minimum(_MaximumMinimum):
    is_maximum = False
