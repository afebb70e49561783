"""MEAN and SUM over any set of axes (kernels/reduce.cc, reference kernels).

Prepare resolves the constant axis tensor (negative axes wrap, duplicates count once), computes the
output shape (keep_dims or not) and a view of the input as [outer, reduced, inner]: directly when
the reduced axes form one contiguous block, else through a transposed copy (kept axes first, reduced
axes last, both in ascending order) into a buffer allocated here.

8-bit and int16 tensors use ``QuantizedMeanOrSum``: an int32 sum requantized with
in_scale / out_scale (MEAN also folds in 1/count, see ``mean_multiplier``).

Official quirk, reproduced: the reference SUM for int8 calls ``QuantizedMeanOrSum`` through
``GetTensorData<uint8_t>`` (reduce.cc), so it reads the int8 codes as uint8 (-1 becomes 255), uses
the int8 zero points on them, clamps to [0, 255] and stores the bytes (255 reads back as -1).
For int16 the same cast reads half the input bytes and leaves half the output unwritten, so litelens
refuses an int16 SUM on the reference path rather than invent those values. MEAN is typed correctly.

Kernel paths (``node.flavor``):

* optimized: quantized SUM (int8/uint8/int16, typed correctly) rescales the int32 sum in float32
  (optimized_ops ``QuantizedMeanOrSum``); 8-bit MEAN over H and W of a 4-D input with keep_dims runs
  the dedicated NHWC kernel (integer_ops/mean.h); every other MEAN and every float/integer reduction
  runs the reference arithmetic (float sums start from the first element, as ``Reduce`` does).
* xnnpack: int8/uint8 SUM and MEAN take an int32 sum through XNNPACK's reference int32 -> q8 convert
  (float32, ties to even); float runs the reference arithmetic (agrees within the float tolerance).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.kernels import reduce as kernels
from litelens.kernels.xnnpack_rsum import xnnpack_float_reduce_rows
from litelens.kernels.fixedpoint import quantize_multiplier
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.registry import register

_TYPE_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}
_QUANTIZED = ("int8", "uint8", "int16")


@dataclass(frozen=True)
class ReducerOptions:
    keep_dims: bool = False


@dataclass(frozen=True)
class Layout:
    """How Eval sees the input: [outer, reduced, inner] -> output [outer, inner]."""

    view: tuple[int, int, int]
    permutation: tuple[int, ...] | None  # transpose first (kept axes, then reduced axes), or None
    scratch: np.ndarray | None  # the transposed copy's buffer


@dataclass(frozen=True)
class ReduceParams:
    layout: Layout
    kind: str  # "float", "int" or "quantized"
    start_with_first: bool = False  # float SUM over every axis (ReduceAllDims)
    input_zero_point: int = 0
    multiplier: int = 0
    shift: int = 0
    output_zero_point: int = 0
    qmin: int = 0
    qmax: int = 0
    as_uint8: bool = False  # the int8 SUM quirk: run on the bytes as uint8
    arm: bool = False  # "opt_sum" on arm64: fused multiply-add
    rows: tuple[int, int] = (0, 0)  # "float_xnnpack": the input as [rows, innermost reduced run]
    out_index: np.ndarray | None = None  # "float_xnnpack": int64 [rows], the output each row adds into
    scale: float = 0.0  # "opt_sum": float32 in_s / out_s; "xnnpack": float32 inverse output scale
    bias: float = 0.0  # "opt_sum": float32 -in_zp * scale * n; "xnnpack": the float32 output zero point


def resolve_axes(node: Node, rank: int) -> list[int]:
    """``ResolveAxis``: the constant int32 axis tensor, negatives wrapped, duplicates dropped, in order."""
    axis = node.input(1)
    if axis.data is None:
        raise node.error(f"the axis tensor ({axis.describe()}) must be a constant; litelens needs the "
                         "output shape at Prepare")
    if axis.dtype != np.int32:  # reduce.cc: TF_LITE_ENSURE_TYPES_EQ(axis->type, kTfLiteInt32)
        raise node.error(f"the axis tensor ({axis.describe()}) must be int32")
    resolved: list[int] = []
    if rank == 0:
        return resolved
    for a in axis.data.reshape(-1).tolist():
        current = a + rank if a < 0 else a
        if not 0 <= current < rank:
            raise node.error(f"axis {a} is out of range for an input of rank {rank}")
        if current not in resolved:
            resolved.append(current)
    return resolved


def output_shape(shape: tuple[int, ...], axes: list[int], keep_dims: bool) -> tuple[int, ...]:
    if keep_dims:
        return tuple(1 if i in axes else d for i, d in enumerate(shape))
    return tuple(d for i, d in enumerate(shape) if i not in axes)


def plan_layout(shape: tuple[int, ...], axes: list[int], dtype) -> Layout:
    """[..shape..] -> [outer, reduced, inner], transposing only when the reduced axes are not contiguous."""
    rank = len(shape)
    reduced = sorted(axes)
    n_reduced = int(np.prod([shape[a] for a in reduced], dtype=np.int64))
    if not reduced:
        return Layout((int(np.prod(shape, dtype=np.int64)), 1, 1), None, None)
    if reduced == list(range(reduced[0], reduced[-1] + 1)):
        outer = int(np.prod(shape[:reduced[0]], dtype=np.int64))
        inner = int(np.prod(shape[reduced[-1] + 1:], dtype=np.int64))
        return Layout((outer, n_reduced, inner), None, None)
    kept = [a for a in range(rank) if a not in reduced]
    permutation = tuple(kept + reduced)
    scratch = np.empty([shape[a] for a in permutation], dtype=dtype)
    outer = int(np.prod([shape[a] for a in kept], dtype=np.int64))
    return Layout((outer, n_reduced, 1), permutation, scratch)


def mean_multiplier(multiplier: int, shift: int, count: int) -> tuple[int, int]:
    """``QuantizedMeanOrSum`` for MEAN: fold 1/count into (multiplier, shift).

    k = min(floor(log2 count), 32, 31 + shift); multiplier' = (multiplier << k) // count (int64,
    truncating); shift' = shift - k.
    """
    if count <= 0:
        return multiplier, shift
    k = min(count.bit_length() - 1, 32, 31 + shift)
    return int((multiplier << k) // count), shift - k


def xnnpack_reduce_rejects(node: Node) -> str | None:
    """xnnpack_delegate.cc ``VisitReduceNode`` (MEAN, SUM): float or per-tensor int8/uint8 input and output,
    a static int32 axes tensor of rank <= 1 with 1 to 6 entries (not the lone axis 0 of a scalar)."""
    x, axis, out = node.input(0), node.input(1), node.outputs[0]
    for t in (x, out):
        if t.dtype in (np.float32, np.float16):
            continue
        if t.dtype not in (np.int8, np.uint8):
            return f"{t.describe()}: the XNNPACK delegate reduces float, int8 and uint8 only"
        q = t.quantization
        if q is None or q.scale.size != 1 or q.axis != 0 or (t.dtype == np.uint8 and q.zero_point.size != 1):
            return f"{t.describe()} is not quantized per tensor"
    if axis.dtype != np.int32:
        return f"the axes tensor ({axis.describe()}) is not int32"
    if len(axis.shape) > 1:
        return f"the axes tensor ({axis.describe()}) has rank {len(axis.shape)} > 1"
    if axis.data is None:
        return f"the axes tensor ({axis.describe()}) is not static"
    values = axis.data.reshape(-1)
    if values.size == 0 or (values.size == 1 and int(values[0]) == 0 and len(x.shape) == 0):
        return "empty reduction"
    if values.size > 6:
        return f"{values.size} reduction axes > 6"
    return None  # a rank > 6 input is accepted here and fails when the delegate defines it (see prepare)


def xnnpack_float_plan(shape: tuple[int, ...], axes: list[int], is_mean: bool):
    """Which XNNPACK float reduce reproduces this node exactly (x86-64, verified on this machine).

    XNNPACK merges adjacent reduced axes (``xnn_normalize_reduction``; size-1 dimensions are kept).
    * innermost axis reduced (the contiguous reduce): rows of the trailing reduced run, each summed by the
      AVX-512 microkernel and added (times the scale) into its output -> ("rows", rows, run, out_index).
      MEAN only when the reduced axes form that one run (several runs scale in an order not yet known).
    * one reduced run that is not innermost (the discontiguous reduce): a sequential sum from 0 of each
      output's inputs, times the scale -> ("block",).
    * anything else -> None (the reference order; within the float tolerance).
    """
    rank = len(shape)
    reduced = sorted(set(axes))
    if not reduced:
        return None
    one_run = reduced == list(range(reduced[0], reduced[-1] + 1))
    if reduced[-1] == rank - 1:
        k = rank
        while k > 0 and k - 1 in reduced:
            k -= 1
        if is_mean and k != reduced[0]:
            return None
        run = int(np.prod(shape[k:], dtype=np.int64))
        lead = shape[:k]
        rows = int(np.prod(lead, dtype=np.int64))
        if run == 0 or rows == 0:
            return None
        grid = np.indices(lead, dtype=np.int64).reshape(len(lead), -1) if lead else np.zeros((0, 1), np.int64)
        index = np.zeros(rows, np.int64)
        for i, d in enumerate(lead):
            if i not in reduced:
                index = index * d + grid[i]
        return ("rows", rows, run, index)
    return ("block",) if one_run else None


def eigen_last_axis(shape: tuple[int, ...], axes: list[int]) -> bool:
    """optimized ``Mean<float, float>`` takes its Eigen branch when, after ``reduce_utils::ResolveAxis``
    drops size-1 dimensions and merges neighbours, the input is [kept, reduced] (one reduced axis, last)."""
    flags = [i in axes for i, d in enumerate(shape) if d != 1]
    merged = [f for k, f in enumerate(flags) if k == 0 or f != flags[k - 1]]
    return merged == [False, True]


class _Reduce(Op):
    is_mean = False

    def parse_options(self, raw):
        return ReducerOptions(False if raw is None else bool(raw.KeepDims()))

    def xnnpack_rejects(self, node: Node) -> str | None:
        return xnnpack_reduce_rejects(node)

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(2)
        x, out = node.input(0), node.outputs[0]
        if node.flavor == "xnnpack" and max(len(x.shape), len(out.shape)) > 6:
            raise node.error("the official XNNPACK delegate takes this op but fails to define its rank > 6 "
                             "tensors (XNN_MAX_TENSOR_DIMS), so the official interpreter refuses the model")
        node.expect_dtype(x, np.float32, np.int8, np.uint8, np.int16, np.int32, np.int64)
        if out.dtype != x.dtype:
            raise node.error(f"input {x.describe()} and output {out.describe()} must have the same dtype")
        axes = resolve_axes(node, len(x.shape))
        layout = plan_layout(x.shape, axes, x.dtype)
        shape = output_shape(x.shape, axes, node.options.keep_dims)
        if x.dtype == np.float32 and self.is_mean and node.flavor == "optimized" and eigen_last_axis(x.shape, axes):
            params = ReduceParams(layout, "float_eigen")
        elif (x.dtype == np.float32 and node.flavor == "xnnpack" and node.arch == "x86_64"
              and (plan := xnnpack_float_plan(x.shape, axes, self.is_mean)) is not None):
            count = int(np.prod([x.shape[a] for a in axes], dtype=np.int64))
            scale = float(np.float32(1.0) / np.float32(count)) if self.is_mean else 1.0
            if plan[0] == "rows":
                params = ReduceParams(layout, "float_xnnpack", rows=plan[1:3], out_index=plan[3], scale=scale)
            else:
                params = ReduceParams(layout, "float_xnnpack_block", scale=scale)
        elif x.dtype == np.float32:
            first = (len(axes) == len(x.shape) or node.flavor != "reference") and not self.is_mean
            params = ReduceParams(layout, "float", start_with_first=first)
        elif x.dtype.name in _QUANTIZED and node.flavor == "xnnpack":
            params = self._prepare_xnnpack(node, layout)
        elif x.dtype.name in _QUANTIZED and node.flavor == "optimized":
            params = self._prepare_optimized(node, layout, axes)
        elif x.dtype.name in _QUANTIZED:
            params = self._prepare_quantized(node, layout)
        else:
            params = ReduceParams(layout, "int")
        return Prepared(params, [shape])

    def _prepare_quantized(self, node: Node, layout: Layout) -> ReduceParams:
        x, out = node.input(0), node.outputs[0]
        qx, qout = node.expect_quantized(x), node.expect_quantized(out)
        if x.dtype == np.int16 and (qx.single_zero_point or qout.single_zero_point):
            raise node.error(f"int16 {self.opcode} needs zero points 0 on input and output")
        if x.dtype == np.int16 and not self.is_mean:
            raise node.error("int16 SUM is not supported: the official reference kernel reads int16 data as "
                             "uint8 bytes and leaves half of its output unwritten (reduce.cc)")
        multiplier, shift = quantize_multiplier(float(np.float64(qx.scale[0]) / np.float64(qout.scale[0])))
        if self.is_mean:
            multiplier, shift = mean_multiplier(multiplier, shift, layout.view[1])
        as_uint8 = x.dtype == np.int8 and not self.is_mean
        qmin, qmax = _TYPE_RANGE["uint8" if as_uint8 else x.dtype.name]
        return ReduceParams(layout, "quantized", input_zero_point=qx.single_zero_point, multiplier=multiplier,
                            shift=shift, output_zero_point=qout.single_zero_point, qmin=qmin, qmax=qmax,
                            as_uint8=as_uint8)

    def _prepare_xnnpack(self, node: Node, layout: Layout) -> ReduceParams:
        """XNNPACK qs8/qu8 reduce: reduce-nd.c (scale, zero point of the int32 -> q8 convert)."""
        x, out = node.input(0), node.outputs[0]
        qx, qout = node.expect_quantized(x), node.expect_quantized(out)
        count = layout.view[1]
        f32 = np.float32
        with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
            scale = f32(qx.scale[0]) / f32(qout.scale[0])
            if self.is_mean:
                scale = f32(scale * (f32(1.0) / f32(count)))
            zero_point = f32(f32(qout.single_zero_point) - f32(f32(f32(count) * f32(qx.single_zero_point)) * scale))
        qmin, qmax = _TYPE_RANGE[x.dtype.name]
        return ReduceParams(layout, "xnnpack", qmin=qmin, qmax=qmax, scale=float(scale), bias=float(zero_point))

    def _prepare_optimized(self, node: Node, layout: Layout, axes: list[int]) -> ReduceParams:
        x, out = node.input(0), node.outputs[0]
        qx, qout = node.expect_quantized(x), node.expect_quantized(out)
        if x.dtype == np.int16 and (qx.single_zero_point or qout.single_zero_point):
            raise node.error(f"int16 {self.opcode} needs zero points 0 on input and output")
        qmin, qmax = _TYPE_RANGE[x.dtype.name]
        f32 = np.float32
        in_s, out_s = f32(qx.scale[0]), f32(qout.scale[0])
        in_zp, out_zp = qx.single_zero_point, qout.single_zero_point
        if not self.is_mean:  # optimized_ops::QuantizedMeanOrSum, compute_sum
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                scale = in_s / out_s
                bias = f32(f32(f32(-in_zp) * scale) * f32(layout.view[1]))
            return ReduceParams(layout, "opt_sum", output_zero_point=out_zp, qmin=qmin, qmax=qmax,
                                scale=float(scale), bias=float(bias), arm=node.arch == "arm64")
        if (x.dtype != np.int16 and node.options.keep_dims and len(x.shape) == 4
                and sorted(axes) == [1, 2]):  # reduce.cc EvalMean: the NHWC spatial-mean kernel
            with np.errstate(divide="ignore", over="ignore", invalid="ignore"):
                temp = f32(f32(f32(in_zp) * in_s) / out_s)
                temp = f32(temp + f32(0.5)) if temp > 0 else f32(temp - f32(0.5))
                real = f32(in_s / f32(f32(x.shape[1] * x.shape[2]) * out_s))
            bias = out_zp - int(np.trunc(temp)) if np.isfinite(temp) and abs(temp) < 2**31 else out_zp - -(2**31)
            multiplier, shift = quantize_multiplier(float(real))
            return ReduceParams(layout, "mean4d", multiplier=multiplier, shift=shift, output_zero_point=bias,
                                qmin=qmin, qmax=qmax)
        return self._prepare_quantized(node, layout)  # EvalQuantizedMean: the reference kernel

    def eval(self, params: ReduceParams, inputs, outputs):
        x, out = inputs[0], outputs[0]
        layout = params.layout
        if x.size == 0:  # official: NaN for a float MEAN, else zeros; XNNPACK converts a zero sum
            if params.kind == "xnnpack":
                out.fill(kernels.xnnpack_convert_int32(0, params.scale, params.bias, params.qmin, params.qmax))
            else:
                out.fill(np.nan if (self.is_mean and params.kind in ("float", "float_eigen")) else 0)
            return
        if params.kind == "float_xnnpack":
            xnnpack_float_reduce_rows(out.reshape(-1), x.reshape(params.rows), params.out_index, params.scale)
            return
        if layout.permutation is not None:
            np.copyto(layout.scratch, x.transpose(layout.permutation))
            x = layout.scratch
        x3 = x.reshape(layout.view)  # [..] -> [outer, reduced, inner]
        out2 = out.reshape(layout.view[0], layout.view[2])  # [..] -> [outer, inner]
        if params.as_uint8:
            x3, out2 = x3.view(np.uint8), out2.view(np.uint8)
        if params.kind == "opt_sum":
            kernels.quantized_sum_float_rescale(out2, x3, params.scale, params.bias, params.output_zero_point,
                                                params.qmin, params.qmax, params.arm)
        elif params.kind == "xnnpack":
            kernels.xnnpack_quantized_reduce(out2, x3, params.scale, params.bias, params.qmin, params.qmax)
        elif params.kind == "mean4d":
            kernels.mean_spatial_4d(out2, x3, params.multiplier, params.shift, params.output_zero_point,
                                    params.qmin, params.qmax)
        elif params.kind == "quantized":
            kernels.quantized_mean_or_sum(out2, x3, params.input_zero_point, params.multiplier, params.shift,
                                          params.output_zero_point, params.qmin, params.qmax)
        elif params.kind == "float_xnnpack_block":
            kernels.sum_then_scale(out2, x3, params.scale)
        elif params.kind == "float_eigen":
            kernels.mean_last_axis_eigen(out.reshape(-1), x3.reshape(layout.view[0], layout.view[1]))
        elif params.kind == "float":
            if self.is_mean:
                kernels.mean_float(out2, x3)
            else:
                kernels.sum_float(out2, x3, params.start_with_first)
        elif self.is_mean:
            kernels.mean_int(out2, x3)
        else:
            kernels.sum_int(out2, x3)


@register("MEAN")
class Mean(_Reduce):
    is_mean = True


@register("SUM")
class Sum(_Reduce):
    is_mean = False
