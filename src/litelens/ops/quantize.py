"""QUANTIZE (float -> integer, or integer -> integer requantize) and DEQUANTIZE (integer or float16 ->
float32): kernels/quantize.cc and kernels/dequantize.{h,cc}.

Kernel paths (``node.flavor``):

* reference: reference_ops ``AffineQuantize`` / ``PerChannelQuantize`` / ``Requantize`` /
  ``Dequantize``.
* optimized: optimized_ops.h -- per-tensor float -> int8/uint8/int16 and 8-bit DEQUANTIZE/int16
  DEQUANTIZE run NEON blocks of 8 (x86: through NEON_2_SSE) with a scalar tail; 8-bit <-> 8-bit
  requantize runs NEON blocks of 16 (``MultiplyByQuantizedMultiplier4Rows``) with a scalar tail.
  Per-channel, float16 and the other requantize pairs run the reference code.
* xnnpack: the delegate's f32 -> qs8/qu8, qs8 -> qs8, qu8 -> qu8 and qs8/qu8 -> f32 converts
  (``xnnpack_rejects`` lists what it leaves to the optimized kernels).
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
class OptimizedQuantizeParams:
    reverse_scale: float  # float32(1.0 / double(scale)), the NEON blocks' multiplier
    scale: float  # double(scale), the scalar tail's divisor
    zero_point: int
    qmin: int
    qmax: int
    arm: bool


@dataclass(frozen=True)
class XnnpackQuantizeParams:
    scale: float  # float32(1 / out_scale)
    zero_point: int
    qmin: int
    qmax: int
    arm: bool  # neonv8 kernel: saturating conversion, NaN -> 0


@dataclass(frozen=True)
class XnnpackRequantizeParams:
    multiplier: int  # lrintf(256 * float(in_scale / out_scale))
    input_zero_point: int
    output_zero_point: int
    qmin: int
    qmax: int


_RANK_LIMIT = 6  # XNN_MAX_TENSOR_DIMS


def _xnnpack_8bit_reason(t: TensorArg) -> str | None:
    """``CheckTensorFloat32OrQUInt8Type`` for an int8/uint8 tensor: per-tensor affine quantization."""
    q = t.quantization
    if q is None or q.scale.size != 1 or q.axis != 0 or (t.dtype == np.uint8 and q.zero_point.size != 1):
        return f"{t.describe()} is not quantized per tensor"
    return None


@dataclass(frozen=True)
class RequantizeParams:
    multiplier: int  # in_scale / out_scale = multiplier * 2**(shift - 31)
    shift: int
    input_zero_point: int
    output_zero_point: int
    qmin: int
    qmax: int
    neon_blocks: bool = False  # optimized 8-bit <-> 8-bit: blocks of 16 round their last shift ties-up


@register("QUANTIZE")
class Quantize(Op):
    def xnnpack_rejects(self, node: Node) -> str | None:
        """xnnpack_delegate.cc ``VisitUnaryNode`` for QUANTIZE: f32 -> per-tensor int8/uint8, or int8 -> int8 /
        uint8 -> uint8 with in_scale / out_scale (float) in [1/256, 128]; rank <= 6."""
        x, out = node.input(0), node.outputs[0]
        if len(x.shape) > _RANK_LIMIT:
            return f"{x.describe()} has rank {len(x.shape)} > {_RANK_LIMIT}"
        if x.dtype not in (np.float32, np.float16, np.int8, np.uint8):
            return f"the XNNPACK delegate does not quantize from {x.dtype.name}"
        if out.dtype not in (np.int8, np.uint8):
            return f"the XNNPACK delegate does not quantize to {out.dtype.name}"
        for t in ((out,) if x.dtype.kind == "f" else (x, out)):
            reason = _xnnpack_8bit_reason(t)
            if reason:
                return reason
        if x.dtype.kind == "f":
            return None
        if x.dtype != out.dtype:
            return f"the XNNPACK delegate does not convert {x.dtype.name} to {out.dtype.name}"
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            ratio = np.float32(x.quantization.scale[0]) / np.float32(out.quantization.scale[0])
        if not (ratio >= np.float32(1.0 / 256.0) and ratio <= np.float32(128.0)):
            return f"input/output scale ratio {float(ratio):g} is outside [1/256, 128]"
        return None

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(1)
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
            elif node.flavor == "xnnpack":
                params = XnnpackQuantizeParams(float(np.float32(1.0) / np.float32(qout.scale[0])),
                                               qout.single_zero_point, qmin, qmax, node.arch == "arm64")
            elif node.flavor == "optimized":
                scale = float(np.float32(qout.scale[0]))
                with np.errstate(divide="ignore", over="ignore"):
                    reverse = float(np.float32(1.0 / np.float64(scale))) if scale else float("inf")
                params = OptimizedQuantizeParams(reverse, scale, qout.single_zero_point, qmin, qmax,
                                                 node.arch == "arm64")
            else:
                params = AffineQuantizeParams(qout.single_scale, qout.single_zero_point, qmin, qmax)
            return Prepared(params, [x.shape])
        # Requantize: one multiplier from the (first) scales.
        qx = node.expect_quantized(x, per_tensor=False)
        if x.dtype == np.int16 and out.dtype == np.int16 and (qx.single_zero_point or qout.single_zero_point):
            raise node.error("int16 -> int16 QUANTIZE needs zero points 0 on input and output")
        with np.errstate(divide="ignore", over="ignore"):
            real = float(np.float64(qx.scale[0]) / np.float64(qout.scale[0]))
        if node.flavor == "xnnpack":
            ratio = np.float32(qx.scale[0]) / np.float32(qout.scale[0])
            multiplier = int(np.rint(np.float32(256.0) * ratio))  # lrintf: nearest, ties to even
            return Prepared(XnnpackRequantizeParams(multiplier, qx.single_zero_point, qout.single_zero_point,
                                                    qmin, qmax), [x.shape])
        multiplier, shift = checked_multiplier(node, real, "requantization")
        eight_bit = x.dtype.itemsize == 1 and out.dtype.itemsize == 1
        return Prepared(RequantizeParams(multiplier, shift, qx.single_zero_point, qout.single_zero_point,
                                         qmin, qmax, neon_blocks=eight_bit and node.flavor == "optimized"),
                        [x.shape])

    def eval(self, params, inputs, outputs):
        x, out = inputs[0], outputs[0]
        if isinstance(params, PerChannelQuantizeParams):
            kernels.per_channel_quantize(out.reshape(params.view), x.reshape(params.view), params.scales,
                                         params.zero_points, params.qmin, params.qmax)
        elif isinstance(params, AffineQuantizeParams):
            kernels.affine_quantize(out.reshape(-1), x.reshape(-1), params.scale, params.zero_point,
                                    params.qmin, params.qmax)
        elif isinstance(params, OptimizedQuantizeParams):
            kernels.affine_quantize_optimized(out.reshape(-1), x.reshape(-1), params.reverse_scale, params.scale,
                                              params.zero_point, params.qmin, params.qmax, params.arm)
        elif isinstance(params, XnnpackQuantizeParams):
            kernels.xnnpack_quantize(out.reshape(-1), x.reshape(-1), params.scale, params.zero_point,
                                     params.qmin, params.qmax, params.arm)
        elif isinstance(params, XnnpackRequantizeParams):
            kernels.xnnpack_requantize(out.reshape(-1), x.reshape(-1), params.multiplier, params.input_zero_point,
                                       params.output_zero_point, params.qmin, params.qmax)
        elif params.neon_blocks:
            kernels.requantize_optimized(out.reshape(-1), x.reshape(-1), params.multiplier, params.shift,
                                         params.input_zero_point, params.output_zero_point, params.qmin, params.qmax)
        else:
            kernels.requantize(out.reshape(-1), x.reshape(-1), params.multiplier, params.shift,
                               params.input_zero_point, params.output_zero_point, params.qmin, params.qmax)


@dataclass(frozen=True)
class DequantizeParams:
    scale: float  # used as a double, as the reference kernel does
    zero_point: int


@dataclass(frozen=True)
class OptimizedDequantizeParams:
    scale32: float  # float(scale), the NEON blocks' multiplier
    zero_times_scale: float  # float(-zp * double(scale))
    scale: float  # double(scale), the scalar tail
    zero_point: int
    arm: bool  # fused multiply-add in the blocks


@dataclass(frozen=True)
class XnnpackDequantizeParams:
    scale: float
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
    def xnnpack_rejects(self, node: Node) -> str | None:
        """xnnpack_delegate.cc: ``VisitUnaryNode`` takes per-tensor int8/uint8 -> float32 (rank <= 6). A constant
        int8 (any quantization) or float16 input is instead unpacked by the delegate at Prepare for its own
        consumers, and the node itself is left to the builtin kernel (``static_unpack_nodes_``)."""
        x, out = node.input(0), node.outputs[0]
        if x.is_constant and out.dtype == np.float32 and (
                x.dtype == np.float16 or (x.dtype == np.int8 and x.quantization is not None)):
            return "constant input: the delegate unpacks it itself and leaves the node to the builtin kernel"
        if x.dtype not in (np.int8, np.uint8):
            return f"the XNNPACK delegate does not dequantize {x.dtype.name}"
        if len(x.shape) > _RANK_LIMIT:
            return f"{x.describe()} has rank {len(x.shape)} > {_RANK_LIMIT}"
        if out.dtype != np.float32:
            return f"{out.describe()} is not float32"
        return _xnnpack_8bit_reason(x)

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(1)
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
        elif node.flavor == "xnnpack":
            params = XnnpackDequantizeParams(float(q.scale[0]), q.single_zero_point)
        elif node.flavor == "optimized":
            scale = float(q.scale[0])
            params = OptimizedDequantizeParams(scale, float(np.float32(-q.single_zero_point * scale)), scale,
                                               q.single_zero_point, node.arch == "arm64")
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
        elif isinstance(params, OptimizedDequantizeParams):
            kernels.dequantize_optimized(out.reshape(-1), x.reshape(-1), params.scale32, params.zero_times_scale,
                                         params.scale, params.zero_point, params.arm)
        elif isinstance(params, XnnpackDequantizeParams):
            kernels.xnnpack_dequantize(out.reshape(-1), x.reshape(-1), params.scale, params.zero_point)
        else:
            kernels.dequantize(out.reshape(-1), x.reshape(-1), params.scale, params.zero_point)
