"""Prepare-time pieces shared by the binary elementwise ops (ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE).

Each op's Prepare checks its two inputs with :func:`prepare_operands`, computes the broadcast plan,
and builds a :class:`BinaryParams`: the jitted kernel to run and its scalar arguments, plus a named
record of the arithmetic (multipliers, shifts, zero points, clamp range) for anyone inspecting it.
Eval is the same for all of them: :func:`run_binary`.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from litelens.kernels import elementwise as k
from litelens.kernels.broadcast import MAX_BROADCAST_RANK, BroadcastPlan, broadcast_shape, plan_broadcast
from litelens.kernels.fixedpoint import quantize_multiplier
from litelens.kernels.table_gather import TABLE_PAD
from litelens.ops.activation_fn import NONE, RELU, RELU6, RELU_N1_TO_1, quantized_activation_range
from litelens.ops.base import Node, TensorArg

FLOAT32_MAX = float(np.finfo(np.float32).max)


@dataclass(frozen=True)
class BinaryParams:
    plan: BroadcastPlan
    kernel: Callable  # kernel(out, x1, x2, loops, strides1, strides2, *args)
    args: tuple  # the kernel's scalar arguments, in order
    arithmetic: Any = None  # named record of what args mean (for display)
    check: Callable | None = None  # check(inputs, plan) raises InputError; runs before the kernel
    swap: bool = False  # the kernel takes the inputs (and their strides) in the other order


def activation_of(raw) -> int:
    """fused_activation_function of an Add/Sub/Mul/DivOptions table; NONE when the model stores none."""
    return NONE if raw is None else int(raw.FusedActivationFunction())


@dataclass(frozen=True)
class Operands:
    x1: TensorArg
    x2: TensorArg
    out: TensorArg
    plan: BroadcastPlan


def prepare_operands(node: Node, dtypes: tuple) -> Operands:
    """Two inputs of one supported dtype broadcast onto one output of that dtype."""
    node.expect_counts(2)
    x1, x2, out = node.input(0), node.input(1), node.outputs[0]
    node.expect_dtype(x1, *dtypes)
    for t in (x2, out):
        if t.dtype != x1.dtype:
            raise node.error(f"{t.describe()} must have the dtype of {x1.describe()}")
    if x1.shape == x2.shape:
        out_shape = tuple(x1.shape)
    else:
        out_shape = broadcast_shape(x1.shape, x2.shape)
        if out_shape is None:
            raise node.error(f"shapes {list(x1.shape)} and {list(x2.shape)} are not broadcastable")
        if len(out_shape) > MAX_BROADCAST_RANK:
            raise node.error(f"broadcasting rank {len(out_shape)} shapes; the official kernels support "
                             f"at most rank {MAX_BROADCAST_RANK}")
    return Operands(x1, x2, out, plan_broadcast(x1.shape, x2.shape, out_shape))


def float_activation_range(activation: int) -> tuple[np.float32, np.float32]:
    """``CalculateActivationRange<float>`` (kernel_util.h): with no clamp the bounds are -FLT_MAX and
    FLT_MAX, so an infinite result becomes the largest finite float. TANH and SIGN_BIT clamp nothing."""
    lo, hi = {RELU: (0.0, FLOAT32_MAX), RELU6: (0.0, 6.0), RELU_N1_TO_1: (-1.0, 1.0)}.get(
        activation, (-FLOAT32_MAX, FLOAT32_MAX))
    return np.float32(lo), np.float32(hi)


def integer_activation_range(activation: int, dtype: np.dtype) -> tuple[int, int]:
    """``CalculateActivationRange<T>`` for a plain integer type (int16/int32/int64)."""
    info = np.iinfo(dtype)
    return {RELU: (0, int(info.max)), RELU6: (0, 6), RELU_N1_TO_1: (-1, 1)}.get(
        activation, (int(info.min), int(info.max)))


def quantized_range(node: Node, activation: int, out: TensorArg) -> tuple[int, int]:
    """``CalculateActivationRangeQuantized`` (kernel_util.cc). Like the official kernels, a fused TANH
    or SIGN_BIT clamps nothing: only RELU, RELU6 and RELU_N1_TO_1 narrow the output range."""
    if activation not in (RELU, RELU6, RELU_N1_TO_1):
        info = np.iinfo(out.dtype)
        return int(info.min), int(info.max)
    return quantized_activation_range(node, activation, out)


def scale_and_zero_point(node: Node, t: TensorArg, zero_point_must_be_zero: bool = False) -> tuple[float, int]:
    """The per-tensor (scale, zero point) of a quantized tensor, checked to be usable."""
    q = node.expect_quantized(t)
    scale, zp = q.single_scale, q.single_zero_point
    if not (math.isfinite(scale) and scale > 0):
        raise node.error(f"{t.describe()} has scale {scale}; it must be positive and finite")
    info = np.iinfo(t.dtype)
    if not info.min <= zp <= info.max:
        raise node.error(f"{t.describe()} has zero point {zp}, outside the {t.dtype.name} range")
    if zero_point_must_be_zero and zp != 0:
        raise node.error(f"{t.describe()} has zero point {zp}; {t.dtype.name} quantization here must be symmetric")
    return scale, zp


def f32(x: float) -> float:
    """Round to float32 (the official Prepare code computes these scale products in float)."""
    return float(np.float32(x))


def multiplier_below_one(node: Node, real: float, what: str) -> tuple[int, int]:
    """``QuantizeMultiplierSmallerThanOneExp``: the official kernel aborts unless 0 < real < 1."""
    if not 0.0 < real < 1.0:
        raise node.error(f"{what} multiplier is {real!r}; the official kernel requires 0 < m < 1 "
                         "(the output scale is too small for the input scales)")
    return quantize_multiplier(real)


def code_range(dtype: np.dtype) -> tuple[int, int]:
    """The smallest and largest code of an integer type."""
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


# DIV and SQUARED_DIFFERENCE (int8) are evaluated through a 256 x 256 table built from their own kernel
# (same bits, faster; ADD, SUB and MUL compute with kernels/binary_int8.py instead, tableless).
# Set to False to run their arithmetic kernels element by element (e.g. to step through them).
PAIR_TABLES = True


def maybe_pair_table(params: BinaryParams, dtype: np.dtype, skip_divisor: int | None = None) -> BinaryParams:
    """``with_pair_table`` for int8 ops when ``PAIR_TABLES`` is on; other params unchanged."""
    if PAIR_TABLES and dtype == np.int8:
        return with_pair_table(params, skip_divisor)
    return params


def with_pair_table(params: BinaryParams, skip_divisor: int | None = None) -> BinaryParams:
    """The same int8 op computed by table: run ``params.kernel`` once on all 256 x 256 input pairs
    and let Eval look results up (``pair_table_lookup``). Rows and columns are ordered by the codes'
    bits read as uint8 (0..127, then -128..-1), so Eval indexes with the raw bytes.
    ``skip_divisor`` is a code of input 2 the op never accepts (DIV's zero point); its column stays 0."""
    codes = np.arange(256, dtype=np.uint8).view(np.int8)  # code of each uint8 bit pattern
    divisors = codes.copy()
    if skip_divisor is not None:  # any other code in its place; that column is zeroed below
        divisors[codes == skip_divisor] = codes[codes != skip_divisor][0]
    all_pairs = plan_broadcast((256, 1), (1, 256), (256, 256))
    table = np.empty((256, 256), dtype=np.int8)  # [bits of x1, bits of x2]
    params.kernel(table.reshape(-1), codes, divisors, all_pairs.loops, all_pairs.strides1, all_pairs.strides2,
                  *params.args)
    if skip_divisor is not None:
        table[:, skip_divisor & 0xFF] = 0  # the column of its bit pattern
    # The input that spans fewer elements (a broadcast vector or scalar) picks the table's row: its
    # few codes then keep the lookups inside a few contiguous 256-byte rows.
    swap = _span(params.plan.loops, params.plan.strides2) < _span(params.plan.loops, params.plan.strides1)
    flat = np.zeros(256 * 256 + TABLE_PAD, dtype=np.int8)  # the vector lookup reads 4 bytes at a time
    flat[:256 * 256] = (table.T if swap else table).reshape(-1)
    flat.setflags(write=False)
    return BinaryParams(params.plan, k.pair_table_lookup, (flat,), params.arithmetic, params.check, swap)


def _span(loops: np.ndarray, strides: np.ndarray) -> int:
    """How many elements of an input the broadcast loop nest visits."""
    return int(np.prod(loops[strides != 0], dtype=np.int64))


def run_binary(params: BinaryParams, inputs, outputs) -> None:
    """Eval of every binary elementwise op: the optional input check, then the kernel on flat views."""
    plan = params.plan
    if params.check is not None:
        params.check(inputs, plan)
    if plan.size == 0:
        return
    if params.swap:
        params.kernel(outputs[0].reshape(-1), inputs[1].reshape(-1), inputs[0].reshape(-1),
                      plan.loops, plan.strides2, plan.strides1, *params.args)
        return
    params.kernel(outputs[0].reshape(-1), inputs[0].reshape(-1), inputs[1].reshape(-1),
                  plan.loops, plan.strides1, plan.strides2, *params.args)


# --- The XNNPACK delegate's checks (tflite/delegates/xnnpack/xnnpack_delegate.cc) -----------------

XNN_MAX_TENSOR_DIMS = 6


def xnnpack_shape_problem(t: TensorArg, min_rank: int = 0, max_rank: int = XNN_MAX_TENSOR_DIMS) -> str | None:
    """``CheckTensorShape``: rank within [min_rank, max_rank] and every dim positive."""
    if not min_rank <= len(t.shape) <= max_rank:
        return f"{t.describe()} has rank {len(t.shape)}; the delegate takes ranks {min_rank}..{max_rank}"
    if any(d <= 0 for d in t.shape):
        return f"{t.describe()} has an empty dimension"
    return None


def xnnpack_type_problem(t: TensorArg, quantized_8bit: bool = True, float16: bool = True) -> str | None:
    """``CheckTensorFloatOrQUInt8Type`` (``quantized_8bit=False``: ``CheckTensorFloatType``): float32
    (float16), or int8/uint8 with one scale (and one zero point) on quantized dimension 0."""
    if t.dtype == np.float32 or (float16 and t.dtype == np.float16):
        return None
    if quantized_8bit and t.dtype in (np.int8, np.uint8):
        q = t.quantization
        if q is None or q.scale.size != 1 or q.axis != 0 or (t.dtype == np.uint8 and q.zero_point.size != 1):
            return f"{t.describe()} is not quantized per tensor"
        return None
    what = "float or per-tensor int8/uint8" if quantized_8bit else "float"
    return f"{t.describe()} is {t.dtype.name}; the delegate takes {what} here"


def xnnpack_binary_rejects(node: Node, quantized_8bit: bool) -> str | None:
    """``VisitBinaryNode``'s common checks: 2 inputs, 1 output, input ranks <= 6 with no empty
    dim, float (and for ADD/SUB/MUL per-tensor 8-bit) types, one type for all three."""
    if len(node.inputs) != 2 or len(node.outputs) != 1 or any(t is None for t in node.inputs):
        return "the delegate needs 2 inputs and 1 output"
    x1, x2, out = node.inputs[0], node.inputs[1], node.outputs[0]
    for t in (x1, x2):
        problem = xnnpack_shape_problem(t)
        if problem:
            return problem
    for t in (x1, x2, out):
        problem = xnnpack_type_problem(t, quantized_8bit)
        if problem:
            return problem
    if quantized_8bit and not x1.dtype == x2.dtype == out.dtype:
        return "mixed input/output types"
    return None


def xnnpack_activation_problem(activation: int) -> str | None:
    """``ConvertActivationToOutputRange``: NONE, RELU, RELU_N1_TO_1 and RELU6 only."""
    if activation in (NONE, RELU, RELU_N1_TO_1, RELU6):
        return None
    return f"fused activation {activation} (TANH/SIGN_BIT) is not supported by the delegate"


def xnnpack_float_activation_range(activation: int) -> tuple[np.float32, np.float32]:
    """XNNPACK's float clamp: +-inf without an activation (an infinite result stays infinite)."""
    lo, hi = {RELU: (0.0, np.inf), RELU6: (0.0, 6.0), RELU_N1_TO_1: (-1.0, 1.0)}.get(activation, (-np.inf, np.inf))
    return np.float32(lo), np.float32(hi)


def xnnpack_unary_rejects(node: Node, quantized_8bit: bool) -> str | None:
    """``VisitUnaryNode``'s checks: 1 input, 1 output, input rank <= 6 with no empty dim, float
    (``quantized_8bit``: or per-tensor int8/uint8, as TANH/LOGISTIC) input and output."""
    if len(node.inputs) != 1 or len(node.outputs) != 1 or node.inputs[0] is None:
        return "the delegate needs 1 input and 1 output"
    problem = xnnpack_shape_problem(node.inputs[0])
    if problem:
        return problem
    for t in (node.inputs[0], node.outputs[0]):
        problem = xnnpack_type_problem(t, quantized_8bit)
        if problem:
            return problem
    return None
