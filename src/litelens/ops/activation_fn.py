"""Fused activations (schema ``ActivationFunctionType``): float bounds and quantized clamp ranges.

The quantized range follows ``CalculateActivationRangeQuantized`` (kernel_util.cc): a real bound f maps
to zp + round_half_away(f / scale) computed in float32, then is clamped to the type's range.
"""
from __future__ import annotations

import numpy as np

from litelens.ops.base import Node, TensorArg

NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT = 0, 1, 2, 3, 4, 5
ACTIVATION_NAMES = {NONE: "NONE", RELU: "RELU", RELU_N1_TO_1: "RELU_N1_TO_1", RELU6: "RELU6",
                    TANH: "TANH", SIGN_BIT: "SIGN_BIT"}

# Real-valued bounds of each clamp-style activation.
_REAL_BOUNDS = {NONE: (-np.inf, np.inf), RELU: (0.0, np.inf), RELU_N1_TO_1: (-1.0, 1.0), RELU6: (0.0, 6.0)}


def float_activation_bounds(node: Node, activation: int) -> tuple[float, float]:
    if activation not in _REAL_BOUNDS:
        raise node.error(f"fused activation {ACTIVATION_NAMES.get(activation, activation)} is not supported")
    return _REAL_BOUNDS[activation]


def _round_half_away(x: np.float32) -> int:
    """std::round of a float: exact in float64 (adding 0.5 in float32 would round 0.49999997 up)."""
    x = float(x)
    return int(np.copysign(np.floor(abs(x) + 0.5), x))


def quantized_activation_range(node: Node, activation: int, out: TensorArg) -> tuple[int, int]:
    """(qmin, qmax) for the output's dtype and quantization under the fused activation."""
    info = np.iinfo(out.dtype)
    qmin, qmax = int(info.min), int(info.max)
    lo, hi = float_activation_bounds(node, activation)
    if activation == NONE:
        return qmin, qmax
    q = node.expect_quantized(out)
    scale, zp = np.float32(q.single_scale), q.single_zero_point

    def quantize(f: float) -> int:
        with np.errstate(over="ignore"):
            q = np.float32(np.float32(f) / scale)
        if not np.isfinite(q):
            raise node.error(f"fused activation {ACTIVATION_NAMES[activation]}: bound {f} / output scale {scale} "
                             "overflows float32")
        return zp + _round_half_away(q)

    if lo != -np.inf:
        qmin = max(qmin, quantize(lo))
    if hi != np.inf:
        qmax = min(qmax, quantize(hi))
    if qmin > qmax:
        raise node.error(f"fused activation {ACTIVATION_NAMES[activation]} leaves an empty output range")
    return qmin, qmax
