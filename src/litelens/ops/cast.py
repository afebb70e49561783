"""CAST (cast.cc): a plain numeric conversion between the input and output dtypes (no quantization).

float -> integer truncates toward zero and saturates: values beyond the target range (and +-inf) become
its minimum or maximum, and NaN becomes the maximum — what the official kernel gives on x86-64
(found by the fuzzer, checked by its saved cases). Integer -> integer wraps (C++ static_cast).
Anything -> bool is ``x != 0``.
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
            y = np.trunc(x.astype(np.float64))
            # Compare with the exact bounds in float64, then convert only in-range values: float(INT64_MAX)
            # rounds up to 2**63, whose conversion would wrap.
            too_high = np.isnan(y) | (y >= plan.hi)
            too_low = y <= plan.lo
            inside = np.where(too_high | too_low, 0.0, y)
            np.copyto(out, inside, casting="unsafe")
            out[too_high] = np.iinfo(out.dtype).max
            out[too_low] = np.iinfo(out.dtype).min
        elif out.dtype == np.bool_:
            np.not_equal(x, 0, out=out)
        else:
            np.copyto(out, x, casting="unsafe")
