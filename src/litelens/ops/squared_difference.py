"""SQUARED_DIFFERENCE (squared_difference.cc): (x1 - x2)**2 for float32, int32 and quantized int8,
broadcasting, no fused activation (a float infinity is not clamped). int16 is refused like the official
kernel refuses it (its Prepare accepts int16 but Eval fails: "SquaredDifference only supports FLOAT32 and
INT32 now"), so an int16x8 LayerNorm written with tf.math.squared_difference runs in neither.

int8, Prepare: left_shift = 7; t = 2 * max(s1, s2); the inputs are rescaled as in ADD
(QuantizeMultiplierSmallerThanOneExp(s_k / t)), and the squared difference by
QuantizeMultiplierSmallerThanOneExp(t * t / (2**14 * s_out)); the result is clamped to int8.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.kernels import elementwise as k
from litelens.kernels import xnnpack_elementwise as xk
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.binary_common import (
    BinaryParams, f32, integer_activation_range, maybe_pair_table, multiplier_below_one, prepare_operands,
    run_binary, scale_and_zero_point, xnnpack_binary_rejects,
)
from litelens.ops.activation_fn import NONE
from litelens.ops.registry import register

DTYPES = (np.float32, np.int32, np.int8)
LEFT_SHIFT = 7


@dataclass(frozen=True)
class QuantizedSquaredDifference:
    offset1: int
    multiplier1: int
    shift1: int
    offset2: int
    multiplier2: int
    shift2: int
    left_shift: int
    out_multiplier: int
    out_shift: int
    out_offset: int
    act_min: int
    act_max: int


@register("SQUARED_DIFFERENCE")
class SquaredDifference(Op):
    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitBinaryNode`` for SQUARED_DIFFERENCE: float only, input ranks <= 6, no empty dim."""
        return xnnpack_binary_rejects(node, quantized_8bit=False)

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(2)
        if node.input(0).dtype == np.int16:
            raise node.error("int16 SQUARED_DIFFERENCE is not supported: the official kernel has no int16 path "
                             "(its Eval fails: 'SquaredDifference only supports FLOAT32 and INT32 now')")
        ops = prepare_operands(node, DTYPES)
        dtype = ops.x1.dtype
        if dtype == np.float32:
            no_clamp = (np.float32(-np.inf), np.float32(np.inf))  # unlike ADD, an infinity stays infinite
            kernel = xk.float_binary_ftz if node.flavor == "xnnpack" else k.float_binary
            params = BinaryParams(ops.plan, kernel, (k.SQUARED_DIFFERENCE, *no_clamp))
        elif dtype == np.int32:
            lo, hi = integer_activation_range(NONE, dtype)
            params = BinaryParams(ops.plan, k.integer_binary, (k.SQUARED_DIFFERENCE, lo, hi, 32))
        else:
            s1, z1 = scale_and_zero_point(node, ops.x1)
            s2, z2 = scale_and_zero_point(node, ops.x2)
            so, zo = scale_and_zero_point(node, ops.out)
            twice_max = 2.0 * max(s1, s2)
            m1, sh1 = multiplier_below_one(node, s1 / twice_max, "input 1")
            m2, sh2 = multiplier_below_one(node, s2 / twice_max, "input 2")
            mo, sho = multiplier_below_one(node, twice_max * twice_max / f32((1 << 2 * LEFT_SHIFT) * so), "output")
            q = QuantizedSquaredDifference(-z1, m1, sh1, -z2, m2, sh2, LEFT_SHIFT, mo, sho, zo, -128, 127)
            args = (q.offset1, q.multiplier1, q.shift1, q.offset2, q.multiplier2, q.shift2, q.left_shift,
                    q.out_multiplier, q.out_shift, q.out_offset, q.act_min, q.act_max)
            params = maybe_pair_table(BinaryParams(ops.plan, k.quantized_squared_difference, args, q), dtype)
        return Prepared(params, [ops.plan.out_shape])

    def eval(self, params: BinaryParams, inputs, outputs) -> None:
        run_binary(params, inputs, outputs)
