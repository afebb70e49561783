"""RSQRT (elementwise.cc): 1/sqrt(x) for float32, int8 and int16.

int8: the output for each of the 256 input codes is computed once in Prepare with the official
fixed-point pipeline (``kernels/rsqrt.py``, multiplier m = 1 / (sqrt(s_in) * s_out) with the
product in float32); Eval is a table lookup. int16 (zero points 0) uses the official 513-entry
interpolated table. A quantized input below its zero point (a negative real value) is an error in
the official kernel and an ``InputError`` here; the interpreter stays usable afterwards.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from litelens.errors import InputError
from litelens.kernels import rsqrt as k
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.common import checked_multiplier
from litelens.ops.binary_common import f32, scale_and_zero_point, xnnpack_unary_rejects
from litelens.ops.registry import register


@dataclass(frozen=True)
class RsqrtParams:
    where: str
    dtype: np.dtype
    table: np.ndarray | None = None  # int8: output per (q - zero point); int16: the 513-entry LUT
    zero_point: int = 0
    multiplier: int = 0  # int8, for display: m = 1 / (sqrt(s_in) * s_out)
    shift: int = 0
    xnnpack: bool = False  # float32 under the XNNPACK delegate: its rsqrt14 + Newton kernel


@register("RSQRT")
class Rsqrt(Op):
    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitUnaryNode`` for RSQRT: one input and output, float32/float16, rank <= 6, no empty dim."""
        return xnnpack_unary_rejects(node, quantized_8bit=False)

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(1)
        x, out = node.input(0), node.outputs[0]
        node.expect_dtype(x, np.float32, np.int8, np.int16)
        if out.dtype != x.dtype:
            raise node.error(f"{out.describe()} must have the dtype of {x.describe()}")
        where = f"op {node.index} RSQRT"
        if x.dtype == np.float32:
            return Prepared(RsqrtParams(where, x.dtype, xnnpack=node.flavor == "xnnpack"), [x.shape])
        int16 = x.dtype == np.int16
        s_in, z_in = scale_and_zero_point(node, x, zero_point_must_be_zero=int16)
        s_out, z_out = scale_and_zero_point(node, out, zero_point_must_be_zero=int16)
        if int16:
            table = k.rsqrt_int16_table(s_in, z_in, s_out, z_out)
            return Prepared(RsqrtParams(where, x.dtype, table, z_in), [x.shape])
        denominator = f32(f32(math.sqrt(f32(s_in))) * s_out)
        multiplier, shift = checked_multiplier(node, 1.0 / denominator if denominator else math.inf, "output")
        table = k.rsqrt_int8_table(multiplier, shift, z_out)
        return Prepared(RsqrtParams(where, x.dtype, table, z_in, multiplier, shift), [x.shape])

    def eval(self, p: RsqrtParams, inputs, outputs) -> None:
        x, out = inputs[0].reshape(-1), outputs[0].reshape(-1)
        if p.dtype == np.float32:
            with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
                (k.xnnpack_rsqrt_f32 if p.xnnpack else k.float_rsqrt)(out, x)
            return
        kernel = k.rsqrt_int16 if p.dtype == np.int16 else k.rsqrt_int8
        bad = kernel(out, x, p.table, p.zero_point)
        if bad >= 0:
            at = [int(i) for i in np.unravel_index(bad, inputs[0].shape)]
            raise InputError(f"{p.where}: RSQRT is only defined for values >= 0, but input element {at} is "
                             f"{int(x[bad])}, below the zero point {p.zero_point}")
