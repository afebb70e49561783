"""QUANTIZE (float -> integer, or integer -> integer requantize) and DEQUANTIZE (integer or float16 ->
float32): kernels/quantize.cc and kernels/dequantize.{h,cc}, reference kernels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.kernels import quantize as kernels
from litelens.ops.base import Node, Op, Prepared, Quantization, TensorArg
from litelens.ops.common import checked_multiplier
from litelens.ops.registry import register

_TYPE_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767), "int32": (-(2**31), 2**31 - 1)}

# QUANTIZE input dtype -> the output dtypes quantize.cc's Prepare accepts.
_QUANTIZE_OUTPUTS = {
    "float32": ("uint8", "int8", "int16"),
    "int16": ("int8", "int16", "int32"),
    "int32": ("int8", "int16"),
    "int8": ("uint8", "int8", "int16"),
    "uint8": ("uint8", "int8", "int16"),
}


def _channel_view_shape(node: Node, t: TensorArg, q: Quantization, shape: tuple[int, ...]) -> tuple[int, int, int]:
    """``shape`` [..., C, ...] -> (outer, C, inner) around t's quantized dimension, after checking it fits."""
    axis = q.axis
    if not 0 <= axis < len(shape) or shape[axis] != q.scale.size:
        raise node.error(f"{t.describe()} has {q.scale.size} per-channel scales on dimension {axis}, "
                         f"which does not fit the shape {list(shape)}")
    outer = int(np.prod(shape[:axis], dtype=np.int64))
    inner = int(np.prod(shape[axis + 1:], dtype=np.int64))
    return outer, shape[axis], inner


@dataclass(frozen=True)
class AffineQuantizeParams:
    scale: float  # float32 value
    zero_point: int
    qmin: int
    qmax: int


@dataclass(frozen=True)
class PerChannelQuantizeParams:
    view: tuple[int, int, int]  # (outer, channels, inner)
    scales: np.ndarray  # float32 [channels]
    zero_points: np.ndarray  # int64 [channels]
    qmin: int
    qmax: int


@dataclass(frozen=True)
class RequantizeParams:
    multiplier: int  # in_scale / out_scale = multiplier * 2**(shift - 31)
    shift: int
    input_zero_point: int
    output_zero_point: int
    qmin: int
    qmax: int


@register("QUANTIZE")
class Quantize(Op):
    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(1)
        if node.flavor != "reference":
            raise node.error(f"flavor {node.flavor!r} is not implemented; only 'reference'")
        x, out = node.input(0), node.outputs[0]
        node.expect_dtype(x, *_QUANTIZE_OUTPUTS)
        node.expect_dtype(out, *_QUANTIZE_OUTPUTS[x.dtype.name])
        qout = node.expect_quantized(out, per_tensor=False)
        qmin, qmax = _TYPE_RANGE[out.dtype.name]
        if x.dtype == np.float32:
            if qout.per_channel:
                params = PerChannelQuantizeParams(_channel_view_shape(node, out, qout, x.shape),
                                                  qout.scale.astype(np.float32),
                                                  qout.zero_point.astype(np.int64), qmin, qmax)
            else:
                params = AffineQuantizeParams(qout.single_scale, qout.single_zero_point, qmin, qmax)
            return Prepared(params, [x.shape])
        # Requantize: one multiplier from the (first) scales.
        qx = node.expect_quantized(x, per_tensor=False)
        if x.dtype == np.int16 and out.dtype == np.int16 and (qx.single_zero_point or qout.single_zero_point):
            raise node.error("int16 -> int16 QUANTIZE needs zero points 0 on input and output")
        with np.errstate(divide="ignore", over="ignore"):
            real = float(np.float64(qx.scale[0]) / np.float64(qout.scale[0]))
        multiplier, shift = checked_multiplier(node, real, "requantization")
        return Prepared(RequantizeParams(multiplier, shift, qx.single_zero_point, qout.single_zero_point,
                                         qmin, qmax), [x.shape])

    def eval(self, params, inputs, outputs):
        x, out = inputs[0], outputs[0]
        if isinstance(params, PerChannelQuantizeParams):
            kernels.per_channel_quantize(out.reshape(params.view), x.reshape(params.view), params.scales,
                                         params.zero_points, params.qmin, params.qmax)
        elif isinstance(params, AffineQuantizeParams):
            kernels.affine_quantize(out.reshape(-1), x.reshape(-1), params.scale, params.zero_point,
                                    params.qmin, params.qmax)
        else:
            kernels.requantize(out.reshape(-1), x.reshape(-1), params.multiplier, params.shift,
                               params.input_zero_point, params.output_zero_point, params.qmin, params.qmax)


@dataclass(frozen=True)
class DequantizeParams:
    scale: float  # used as a double, as the reference kernel does
    zero_point: int


@dataclass(frozen=True)
class PerChannelDequantizeParams:
    view: tuple[int, int, int]  # (outer, channels, inner)
    scales: np.ndarray  # float32 [channels]
    zero_points: np.ndarray  # int64 [channels]


@dataclass(frozen=True)
class HalfDequantizeParams:
    value: np.ndarray | None  # the float32 result, computed once when the input is a constant


@register("DEQUANTIZE")
class Dequantize(Op):
    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(1)
        if node.flavor != "reference":
            raise node.error(f"flavor {node.flavor!r} is not implemented; only 'reference'")
        x, out = node.input(0), node.outputs[0]
        node.expect_dtype(x, np.int8, np.uint8, np.int16, np.float16)
        node.expect_dtype(out, np.float32)
        if x.dtype == np.float16:
            value = None if x.data is None else x.data.astype(np.float32)  # float16 -> float32 is exact
            return Prepared(HalfDequantizeParams(value), [x.shape])
        q = node.expect_quantized(x, per_tensor=False)
        if x.dtype == np.int16 and q.single_zero_point != 0:
            raise node.error(f"{x.describe()}: int16 DEQUANTIZE needs zero point 0")
        if q.per_channel:
            if x.dtype == np.int16:
                raise node.error(f"{x.describe()}: per-channel DEQUANTIZE supports int8 and uint8 only")
            params = PerChannelDequantizeParams(_channel_view_shape(node, x, q, x.shape), q.scale.astype(np.float32),
                                                q.zero_point.astype(np.int64))
        else:
            params = DequantizeParams(float(q.scale[0]), q.single_zero_point)
        return Prepared(params, [x.shape])

    def eval(self, params, inputs, outputs):
        x, out = inputs[0], outputs[0]
        if isinstance(params, HalfDequantizeParams):
            np.copyto(out, x if params.value is None else params.value, casting="same_kind")
        elif isinstance(params, PerChannelDequantizeParams):
            kernels.per_channel_dequantize(out.reshape(params.view), x.reshape(params.view), params.scales,
                                           params.zero_points)
        else:
            kernels.dequantize(out.reshape(-1), x.reshape(-1), params.scale, params.zero_point)
