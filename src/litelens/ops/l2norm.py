"""L2_NORMALIZATION (l2norm.cc): x / ||x||_2 over the last axis, for float32, int8 and uint8.

float32: n = max(sqrt(sum x**2), 1e-6f) (epsilon fixed in the kernel, not read from the model), then a
division per element. int8 / uint8: a fixed-point 1/sqrt of the row's sum of squared (x - zp) (the
input scale cancels out and is never read); the output scale must be exactly 1/128 with zero point 0
(int8) or 128 (uint8), i.e. outputs in [-1, 127/128]. An all-zero quantized row is treated as a sum of
1, giving zeros. The official Prepare refuses any fused activation but NONE, and rank-0 inputs.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.kernels import l2norm as k
from litelens.ops.activation_fn import ACTIVATION_NAMES, NONE
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.registry import register

EPSILON = np.float32(1e-6)  # l2norm.cc Eval: ``const float epsilon = 1e-6f``
OUTPUT_SCALE = 1.0 / 128.0
OUTPUT_ZERO_POINT = {"int8": 0, "uint8": 128}


@dataclass(frozen=True)
class L2NormOptions:
    activation: int = NONE


@dataclass(frozen=True)
class L2NormParams:
    dtype: np.dtype
    depth: int  # size of the last axis: the input is read as [size // depth, depth]
    input_zero_point: int = 0  # quantized only


@register("L2_NORMALIZATION")
class L2Normalization(Op):
    def parse_options(self, raw) -> L2NormOptions:
        return L2NormOptions() if raw is None else L2NormOptions(int(raw.FusedActivationFunction()))

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(1)
        x, out = node.input(0), node.outputs[0]
        if len(x.shape) < 1:
            raise node.error(f"{x.describe()} must have rank >= 1 (the norm runs over the last axis)")
        node.expect_dtype(x, np.float32, np.int8, np.uint8)
        if out.dtype != x.dtype:
            raise node.error(f"{out.describe()} must have the dtype of {x.describe()}")
        activation = (node.options or L2NormOptions()).activation
        if activation != NONE:
            raise node.error(f"fused activation {ACTIVATION_NAMES.get(activation, activation)}: the official "
                             "kernel supports only NONE")
        depth = x.shape[-1]
        if x.dtype == np.float32:
            return Prepared(L2NormParams(x.dtype, depth), [x.shape])
        self._check_output_quantization(node, out)
        return Prepared(L2NormParams(x.dtype, depth, self._input_zero_point(node, x)), [x.shape])

    @staticmethod
    def _check_output_quantization(node: Node, out) -> None:
        want = OUTPUT_ZERO_POINT[out.dtype.name]
        q = out.quantization
        scale, zp = (q.scale, q.zero_point) if q is not None else (np.zeros(0), np.zeros(0))
        if scale.size != 1 or float(scale[0]) != OUTPUT_SCALE or int(zp[0]) != want:
            got = f"scale {scale.tolist()} zero point {zp.tolist()}" if q is not None else "no quantization"
            raise node.error(f"{out.describe()} has {got}; the official kernel requires scale 1/128 and "
                             f"zero point {want}")

    @staticmethod
    def _input_zero_point(node: Node, x) -> int:
        """The input's zero point (its scale is never used). Unquantized reads as 0, as officially."""
        q = x.quantization
        if q is None or q.scale.size == 0:
            return 0
        if q.per_channel:
            raise node.error(f"{x.describe()} must be quantized per tensor, has {q.scale.size} scales")
        zp = q.single_zero_point
        info = np.iinfo(x.dtype)
        if not info.min <= zp <= info.max:
            raise node.error(f"{x.describe()} has zero point {zp}, outside the {x.dtype.name} range")
        return zp

    def eval(self, p: L2NormParams, inputs, outputs) -> None:
        x, out = inputs[0].reshape(-1), outputs[0].reshape(-1)  # [outer * depth]
        if x.size == 0:
            return
        if p.dtype == np.float32:
            with np.errstate(all="ignore"):
                k.l2_normalization_float(out, x, p.depth, EPSILON)
        elif p.dtype == np.int8:
            k.l2_normalization_int8(out, x, p.depth, p.input_zero_point)
        else:
            k.l2_normalization_uint8(out, x, p.depth, p.input_zero_point)
