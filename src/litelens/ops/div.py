"""DIV (div.cc): float32, int32 and quantized int8/int16, broadcasting, fused activation.

float32 divides IEEE-style (x/0 is an infinity, then clamped to +-FLT_MAX when there is no
activation). int32 truncates toward zero. Quantized, Prepare: m = s1 / (s2 * s_out) in float32 ->
QuantizeMultiplier; Eval: see ``kernels/div.py``. A divisor equal to zero (its zero point, for
quantized tensors) anywhere in input 2 is an error in the official kernel, and an ``InputError`` here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from litelens.errors import InputError
from litelens.kernels import elementwise as k
from litelens.kernels import xnnpack_elementwise as xk
from litelens.kernels.div import quantized_div
from litelens.ops.activation_fn import NONE
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.common import checked_multiplier
from litelens.ops.binary_common import (
    BinaryParams, activation_of, f32, float_activation_range, integer_activation_range, maybe_pair_table,
    prepare_operands,
    quantized_range, run_binary, scale_and_zero_point, xnnpack_activation_problem, xnnpack_binary_rejects,
    xnnpack_float_activation_range,
)
from litelens.ops.registry import register

DTYPES = (np.float32, np.int32, np.int8, np.int16)


@dataclass(frozen=True)
class QuantizedDiv:
    offset1: int
    offset2: int
    out_multiplier: int
    out_shift: int
    out_offset: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class _NonZeroDivisor:
    """Eval check: input 2 must not hold ``zero`` anywhere (``CheckNonZero`` in div.cc)."""

    where: str
    zero: int

    def __call__(self, inputs, plan) -> None:
        if (inputs[1] == self.zero).any():
            at = tuple(int(i) for i in np.argwhere(inputs[1] == self.zero)[0])
            raise InputError(f"{self.where}: division by zero: the divisor holds {self.zero} "
                             f"(which means 0) at index {list(at)}")


@dataclass(frozen=True)
class _Int32DivisorCheck(_NonZeroDivisor):
    """Also refuses INT32_MIN / -1, which traps in the official kernel."""

    def __call__(self, inputs, plan) -> None:
        super().__call__(inputs, plan)
        bad = k.integer_div_problem(inputs[0].reshape(-1), inputs[1].reshape(-1), plan.loops,
                                    plan.strides1, plan.strides2, np.iinfo(np.int32).min)
        if bad >= 0:
            raise InputError(f"{self.where}: INT32_MIN / -1 overflows (output element {bad})")


@register("DIV")
class Div(Op):
    def parse_options(self, raw) -> int:
        return activation_of(raw)

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitBinaryNode`` for DIV: float only, input ranks <= 6 with no empty dim, activation
        NONE/RELU/RELU_N1_TO_1/RELU6."""
        return (xnnpack_binary_rejects(node, quantized_8bit=False)
                or xnnpack_activation_problem(NONE if node.options is None else node.options))

    def prepare(self, node: Node) -> Prepared:
        activation = NONE if node.options is None else node.options
        ops = prepare_operands(node, DTYPES)
        dtype = ops.x1.dtype
        where = f"op {node.index} DIV"
        if dtype == np.float32:
            if node.flavor == "xnnpack":
                bounds = xnnpack_float_activation_range(activation)
                params = BinaryParams(ops.plan, xk.float_binary_ftz, (k.DIV, *bounds))
            else:
                params = BinaryParams(ops.plan, k.float_binary, (k.DIV, *float_activation_range(activation)))
        elif dtype == np.int32:
            lo, hi = integer_activation_range(activation, dtype)
            zero = 0 if ops.x2.quantization is None else ops.x2.quantization.single_zero_point
            params = BinaryParams(ops.plan, k.integer_binary, (k.DIV, lo, hi, 32),
                                  check=_Int32DivisorCheck(where, zero))
        else:
            s1, z1 = scale_and_zero_point(node, ops.x1)
            s2, z2 = scale_and_zero_point(node, ops.x2)
            so, zo = scale_and_zero_point(node, ops.out)
            denominator = f32(s2 * so)
            real = f32(s1 / denominator) if denominator else math.inf
            multiplier, shift = checked_multiplier(node, real, "output")
            lo, hi = quantized_range(node, activation, ops.out)
            q = QuantizedDiv(-z1, -z2, multiplier, shift, zo, lo, hi)
            params = BinaryParams(ops.plan, quantized_div, (-z1, -z2, multiplier, shift, zo, lo, hi), q,
                                  check=_NonZeroDivisor(where, z2))
            params = maybe_pair_table(params, dtype, skip_divisor=z2)
        return Prepared(params, [ops.plan.out_shape])

    def eval(self, params: BinaryParams, inputs, outputs) -> None:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            run_binary(params, inputs, outputs)
