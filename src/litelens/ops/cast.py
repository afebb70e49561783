"""CAST (cast.cc): a plain numeric conversion between the input and output dtypes (no quantization).

float -> integer truncates toward zero; values outside the target range saturate and NaN becomes 0
(verify against the goldens before relying on the out-of-range behaviour). Integer -> integer wraps
(C++ static_cast). Anything -> bool is ``x != 0``.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.ops.base import Node, Op, Prepared
from litelens.ops.registry import register

_SUPPORTED = ("float32", "float16", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32",
              "int64", "uint64", "bool")


@dataclass(frozen=True)
class CastPlan:
    float_to_int: bool
    lo: float = 0.0
    hi: float = 0.0


@register("CAST")
class Cast(Op):
    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(1)
        x, out = node.input(0), node.outputs[0]
        node.expect_dtype(x, *_SUPPORTED)
        node.expect_dtype(out, *_SUPPORTED)
        float_to_int = x.dtype.kind == "f" and out.dtype.kind in "iu"
        plan = CastPlan(float_to_int)
        if float_to_int:
            info = np.iinfo(out.dtype)
            plan = CastPlan(True, float(info.min), float(info.max))
        return Prepared(plan, [x.shape])

    def eval(self, plan: CastPlan, inputs, outputs):
        x, out = inputs[0], outputs[0]
        if plan.float_to_int:
            y = np.trunc(np.nan_to_num(x.astype(np.float64), nan=0.0))
            np.copyto(out, np.clip(y, plan.lo, plan.hi), casting="unsafe")
        elif out.dtype == np.bool_:
            np.not_equal(x, 0, out=out)
        else:
            np.copyto(out, x, casting="unsafe")
