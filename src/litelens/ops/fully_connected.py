"""FULLY_CONNECTED (fully_connected.cc, BUILTIN_REF): output = input @ weights.T + bias, fused clamp.

Inputs: input (any rank; flattened to [input.size / K, K]), weights [N, K], optional bias [N]
(index -1 = none). Output [input.size / K, N], or the input's shape with its last dim set to N under
``keep_num_dims``. Types:

* float32: the sequential float32 reference loop (bit-exact), fused NONE / RELU / RELU_N1_TO_1 / RELU6.
* int8 input/output, int8 weights (per tensor, or per channel along dim 0 with N scales), int32 bias.
* int16 input/output (zero points 0), int8 weights, int64 bias (or int32 when the options say
  ``quantized_bias_type = INT32``): the int16x8 flavor.
* hybrid (the ``dynamic`` flavor): float32 input/output, int8 weights (per tensor, or per channel
  along dim 0), float32 bias. Each input row is quantized on the fly (symmetric, or per-row
  asymmetric under ``asymmetric_quantize_inputs``), multiplied in int32 and scaled back to float
  (EvalHybridDense; the arithmetic is described in ``kernels/hybrid.py``). Weight zero points are
  ignored, as the official kernel ignores them. Every fused activation is allowed here, TANH and
  SIGN_BIT included. An all-zero input (NeonIsZeroVector) skips the product: output = bias.

Quantized requantization (reference/integer_ops/fully_connected.h): acc = Σ (w + w_offset)(x - x_zp)
+ bias in the accumulator type, then round(double(acc) * double(in_s) * double(w_s) / double(out_s))
half away from zero - a double multiply, not MultiplyByQuantizedMultiplier. Per-channel weights are
symmetric by spec: their zero points are ignored (w_offset = 0); per-tensor weights use -w_zp.
Not supported (clear errors): uint8, int4/int2 or int16 weights, sparse or shuffled weights,
TANH / SIGN_BIT fused activations outside the hybrid path (the official kernel refuses them too).
"""
from __future__ import annotations

import functools

from dataclasses import dataclass

import numpy as np

from litelens.kernels import int_gemm
from litelens.kernels.fixedpoint import quantize_multiplier
from litelens.kernels.fully_connected import (REQUANT_FP32, REQUANT_SINGLE, REQUANT_TIES_UP_DOUBLE,
                                              fully_connected_float, fully_connected_float_parts, fully_connected_int8,
                                              fully_connected_int8_parts, fully_connected_int8_path,
                                              requantize_double)
from litelens.kernels.requantize_paths import requantize_rows_fixedpoint, requantize_rows_fp32
from litelens.kernels.float_tile import TILE_ROWS as F32_TILE_ROWS
from litelens.kernels.gemm import exact_float_dtype, max_abs_offset_value
from litelens.kernels.requantize_simd import is_bounded
from litelens.kernels.xnnpack_dynamic import qd8_output, quantize_rows_qd8
from litelens.kernels.hybrid import (ACT_SIGN_BIT, ACT_TANH, activation_clamp, apply_activation, column_term,
                                     fill_rows, hybrid_fc_output, hybrid_fully_connected, hybrid_fully_connected_parts,
                                     is_zero_vector_x86, maddubs_correction, maddubs_pairs, quantize_rows,
                                     weight_row_sums)
from litelens.ops.activation_fn import (ACTIVATION_NAMES, NONE, RELU, RELU6, RELU_N1_TO_1, SIGN_BIT, TANH,
                                       float_activation_bounds, quantized_activation_range)
from litelens.ops.base import Node, Op, Prepared, TensorArg
from litelens.ops.registry import register
from litelens.parallel import FLOAT32_MACS_PER_NS, HYBRID_MACS_PER_NS, INT8_MACS_PER_NS, RowSplit, row_parts

FLOAT32_MAX = np.float32(np.finfo(np.float32).max)
# CalculateActivationRange<float> (kernel_util.h): NONE is [lowest, max], so +-inf clamps to +-FLT_MAX.
FLOAT_RANGES = {
    NONE: (-FLOAT32_MAX, FLOAT32_MAX),
    RELU: (np.float32(0), FLOAT32_MAX),
    RELU_N1_TO_1: (np.float32(-1), np.float32(1)),
    RELU6: (np.float32(0), np.float32(6)),
}
TENSOR_TYPE_FLOAT32, TENSOR_TYPE_INT32, TENSOR_TYPE_INT64 = 0, 2, 4  # schema TensorType


@dataclass(frozen=True)
class FullyConnectedOptions:
    activation: int = NONE
    weights_format: int = 0  # 0 DEFAULT, 1 SHUFFLED4x16INT8
    keep_num_dims: bool = False
    asymmetric_quantize_inputs: bool = False
    quantized_bias_type: int = TENSOR_TYPE_FLOAT32  # FLOAT32 means "not set"


@dataclass(frozen=True)
class Geometry:
    batch: int  # input.size / K
    k: int
    n: int


@dataclass(frozen=True)
class FloatPlan(RowSplit):
    geo: Geometry
    weights_t: np.ndarray | None  # float32 [K, N] when the weights are constant
    weights_buf: np.ndarray  # float32 [K, N] scratch for run-time weights
    zero_bias: np.ndarray  # float32 [N], used when there is no bias
    act_min: np.float32
    act_max: np.float32
    parts: tuple = ((0, 0),)  # row ranges run on separate threads (litelens.parallel)


@dataclass(frozen=True)
class QuantPlan:
    geo: Geometry
    input_offset: int  # -input zero point
    weights_offset: int  # -weights zero point (per tensor), 0 (per channel)
    weights_t: np.ndarray | None  # [K, N] (w + weights_offset) in the work dtype, when constant
    weights_buf: np.ndarray  # [K, N] scratch for run-time weights
    input_buf: np.ndarray  # [batch, K] (x + input_offset) in the work dtype
    acc_buf: np.ndarray  # [batch, N] the exact integer accumulator, held in the work dtype
    zero_bias: np.ndarray  # int64 [N], used when there is no bias
    scale: np.ndarray  # float64 [N]: double(in_s) * double(w_s[n]) / double(out_s)
    output_zero_point: int
    qmin: int  # fused-activation clamp, in output codes
    qmax: int
    wrap32: bool  # the official accumulator is int32 (wraps), else int64
    requant: Requant | None = None  # a non-reference int8 requantization (optimized / xnnpack)
    zero_rows: np.ndarray | None = None  # int32 [batch] zeros: no row term on this path


@dataclass(frozen=True)
class Requant:
    """How a non-reference path requantizes int8 (``kernels/requantize_paths.py``)."""

    mode: int  # REQUANT_TIES_UP_DOUBLE, REQUANT_SINGLE or REQUANT_FP32
    multiplier: np.ndarray  # int64 [Np] QuantizeMultiplier per column (fixed-point modes)
    shift: np.ndarray  # int64 [Np]
    scale32: np.ndarray  # float32 [Np] XNNPACK's in_s * w_s / out_s in float32 (REQUANT_FP32)


@dataclass(frozen=True)
class Int8Plan(RowSplit):
    """int8 x int8 on the integer dot-product kernel (``kernels/int_gemm.py``): the arithmetic of
    QuantPlan, accumulated exactly in int32 instead of in a float BLAS product."""

    geo: Geometry
    isa: int  # int_gemm instruction set
    input_offset: int  # -input zero point
    weights_offset: int  # -weights zero point (per tensor), 0 (per channel)
    w_packed: np.ndarray | None  # int8 [Np / NR, Kp / G, NR, G] when the weights are constant
    w_sums: np.ndarray | None  # int32 [N] Σ_k w[n, k] (modulo 2**32), when constant
    scale: np.ndarray  # float64 [Np]: double(in_s) * double(w_s[n]) / double(out_s), zero padded
    zero_bias: np.ndarray  # int32 [N], used when there is no bias
    output_zero_point: int
    qmin: int
    qmax: int
    bounded: bool  # every |scale| < 0.999: the requantization's shorter exact path
    # Work buffers, shared per thread (int_gemm.scratch): a = x + 128 [Mp, Kp], row sums int64 [Mp],
    # acc int32 [Mp, Np], column / row terms int32 [Np] / [Mp]; packed weights and their sums when
    # the weights are a run-time input.
    scratch: tuple
    weight_scratch: tuple
    requant: Requant | None = None  # None: the reference double requantization
    parts: tuple = ((0, 0),)  # row ranges run on separate threads (reference requantization only)


@dataclass(frozen=True)
class HybridPlan(RowSplit):
    geo: Geometry
    asymmetric: bool  # asymmetric_quantize_inputs
    activation: int
    weight_scales: np.ndarray  # float32 [N] (the single scale repeated when per tensor)
    weights_t: np.ndarray | None  # [K, N] int8 values in the work dtype, when constant
    row_sums: np.ndarray | None  # int32 [N] Σ_k w[n, k] as SseReductionSumVector sums it, when constant
    pairs: tuple[np.ndarray, np.ndarray] | None  # maddubs_pairs(w), when constant
    weights_buf: np.ndarray  # [K, N] scratch for run-time weights
    q_buf: np.ndarray  # [batch, K] the quantized input rows, in the work dtype
    scaling: np.ndarray  # float32 [batch] per-row input scale (empty on the integer kernel: scratch)
    offsets: np.ndarray  # int32 [batch] per-row input zero point, 0 when symmetric (likewise)
    acc_buf: np.ndarray  # [batch, N] the exact integer dot products, in the work dtype
    zero_bias: np.ndarray  # float32 [N], used when there is no bias
    column_term: np.ndarray | None  # int32 [N] -shift * Σ_k w (hybrid.column_term), when constant
    # The integer dot-product kernel (int_gemm.ISA not None) replaces the float BLAS product above:
    isa: int | None = None
    w_packed: np.ndarray | None = None  # int8 packed weights, when constant
    w_sums: np.ndarray | None = None  # int64 [N] exact Σ_k w[n, k], when constant
    scratch: tuple = ()  # int_gemm.scratch specs: a (q + 128), acc int32
    weight_scratch: tuple = ()  # packed run-time weights and their sums
    clamp: tuple = (False, np.float32(0), np.float32(0))  # kernels.hybrid.activation_clamp(activation)
    parts: tuple = ((0, 0),)  # row ranges run on separate threads (integer kernel only)


@dataclass(frozen=True)
class QD8Plan:
    """The XNNPACK delegate's hybrid FC (``kernels/xnnpack_dynamic.py``): rows quantized to qd8, the
    exact int32 product, then fmadd(float(acc) * inv_scale, w_scale, bias) and the activation clamp."""

    geo: Geometry
    weight_scales: np.ndarray  # float32 [N] (the single scale repeated when per tensor)
    zero_bias: np.ndarray  # float32 [N], used when there is no bias
    out_min: np.float32  # the delegate's activation range (-inf / +inf without activation)
    out_max: np.float32
    inv_scale: np.ndarray  # float32 [batch] per-row dequantization scale
    zero_point: np.ndarray  # int32 [batch] per-row zero point
    w_sums: np.ndarray  # int64 [N] Σ_k w[n, k]
    isa: int | None  # int_gemm instruction set, or None: exact float product below
    w_packed: np.ndarray | None  # int8 packed weights (isa), else None
    weights_t: np.ndarray | None  # float64 [K, N] weights (no isa), else None
    q_buf: np.ndarray  # [batch, K] quantized rows (float64 when no isa)
    acc_buf: np.ndarray  # float64 [batch, N] (no isa)
    scratch: tuple = ()  # int_gemm.scratch specs: q int8 [batch, K], a, row sums, acc int32


@register("FULLY_CONNECTED")
class FullyConnected(Op):
    def parse_options(self, raw) -> FullyConnectedOptions:
        if raw is None:
            return FullyConnectedOptions()
        return FullyConnectedOptions(
            activation=int(raw.FusedActivationFunction()),
            weights_format=int(raw.WeightsFormat()),
            keep_num_dims=bool(raw.KeepNumDims()),
            asymmetric_quantize_inputs=bool(raw.AsymmetricQuantizeInputs()),
            quantized_bias_type=int(raw.QuantizedBiasType()),
        )

    def xnnpack_rejects(self, node: Node) -> str | None:
        """VisitFullyConnectedNode (xnnpack_delegate.cc) as the ai-edge-litert 2.3.0 wheel's default
        delegate applies it (checked with the official interpreter's op list)."""
        opts: FullyConnectedOptions = node.options
        if opts.weights_format != 0:
            return "non-default (shuffled) weights format"
        if len(node.inputs) not in (2, 3) or len(node.outputs) != 1 or node.inputs[0] is None \
                or node.inputs[1] is None:
            return "needs 2 or 3 inputs and 1 output"
        x, w, bias, out = node.inputs[0], node.inputs[1], node.optional_input(2), node.outputs[0]
        floats = (np.float32, np.float16)
        if x.dtype not in floats and x.dtype != np.int8:
            return f"input type {x.dtype.name} (XNNPACK takes float32, float16, int8)"
        if x.dtype == np.int8 and not _per_tensor(x):
            return "int8 input without per-tensor quantization"
        if len(w.shape) != 2:
            return f"weights of rank {len(w.shape)}, not 2"
        if w.data is None:
            return "the weights are not static (XNNPACK needs constant weights)"
        if w.dtype not in floats and w.dtype != np.int8:
            return f"weights type {w.dtype.name}"
        if w.dtype == np.int8:
            q = w.quantization
            if q is None or q.scale.size == 0:
                return "int8 weights without quantization"
            if q.scale.size > 1 and q.axis != 0:
                return f"per-channel weights quantized along dim {q.axis}, not 0"
        if bias is not None:
            if bias.size != w.shape[0]:
                return "bias size differs from the number of output channels"
            if bias.dtype not in floats and bias.dtype != np.int32:
                return f"bias type {bias.dtype.name}"
            if bias.data is None:
                return "the bias is not static"
        if out.dtype != x.dtype:
            return "input and output types differ"
        dynamic = x.dtype in floats and w.dtype == np.int8
        if x.dtype != w.dtype and not dynamic and not (x.dtype == np.int8 and w.dtype == np.int8):
            return "mixed input / weights types"
        if not dynamic and w.dtype == np.int8 and w.quantization.scale.size == 1 \
                and int(w.quantization.zero_point[0]) != 0:
            return f"int8 weights with zero point {int(w.quantization.zero_point[0])} (XNNPACK needs 0)"
        if opts.activation not in FLOAT_RANGES:
            return f"fused activation {ACTIVATION_NAMES.get(opts.activation, opts.activation)}"
        return None

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts((2, 3))
        opts: FullyConnectedOptions = node.options
        x, w, bias, out = node.input(0), node.input(1), node.optional_input(2), node.outputs[0]
        if opts.weights_format != 0:
            raise node.error(f"weights_format {opts.weights_format} (shuffled) is not supported; only DEFAULT")
        hybrid = x.dtype == np.float32 and w.dtype != np.float32
        hybrid_only = hybrid and opts.activation in (TANH, SIGN_BIT)  # ApplyActivationToVector takes them
        if opts.activation not in FLOAT_RANGES and not hybrid_only:
            raise node.error(f"fused activation {ACTIVATION_NAMES.get(opts.activation, opts.activation)} is "
                             "refused by the official kernel; only NONE, RELU, RELU_N1_TO_1, RELU6 "
                             "(TANH and SIGN_BIT only with float input and int8 weights)")
        if len(w.shape) != 2:
            raise node.error(f"weights {w.describe()} must have rank 2 [N, K]")
        geo, out_shape = _geometry(node, x, w, opts.keep_num_dims)
        if bias is not None and bias.size != geo.n:
            raise node.error(f"bias {bias.describe()} must have {geo.n} elements (weights rows)")

        if hybrid and node.flavor == "xnnpack":
            plan = _prepare_qd8(node, geo, x, w, bias, out)
        elif hybrid:
            plan = _prepare_hybrid(node, geo, x, w, bias, out)
        elif x.dtype == np.float32:
            plan = _prepare_float(node, geo, x, w, bias, out)
        elif x.dtype in (np.int8, np.int16):
            plan = _prepare_quantized(node, geo, x, w, bias, out)
        else:
            raise node.error(f"input {x.describe()} has dtype {x.dtype.name}; supported: float32, int8, int16")
        return Prepared(plan, [out_shape])

    def eval(self, plan, inputs, outputs) -> None:
        geo = plan.geo
        out = outputs[0].reshape(geo.batch, geo.n)  # a view of the output buffer
        if out.size == 0:  # an empty batch (e.g. an input resized to 0 rows): nothing to compute
            return
        if geo.k == 0:  # the official kernel memsets the output to 0 (not to the zero point)
            out[...] = 0
            return
        x = inputs[0].reshape(geo.batch, geo.k)  # [..., K] -> [batch, K]
        bias = plan.zero_bias if len(inputs) < 3 or inputs[2] is None else inputs[2].reshape(geo.n)
        if isinstance(plan, Int8Plan):
            a, row_sums, acc, column_term, row_term = int_gemm.scratch(plan.scratch)
            w_packed, w_sums = plan.w_packed, plan.w_sums
            if w_packed is None:  # run-time weights [N, K]
                w_packed, w_sums = int_gemm.scratch(plan.weight_scratch)
                int_gemm.pack_columns_nk(inputs[1], w_packed, w_sums)
            rq = plan.requant
            if len(plan.parts) > 1:
                _int8_in_parts(plan, x, a, row_sums, w_packed, w_sums, acc, bias, column_term, row_term, out)
            elif rq is None:
                fully_connected_int8(plan.isa, x, a, row_sums, w_packed, w_sums, acc, bias, plan.input_offset,
                                     plan.weights_offset, plan.scale, plan.output_zero_point, plan.qmin, plan.qmax,
                                     plan.bounded, column_term, row_term, out)
            else:
                fully_connected_int8_path(plan.isa, x, a, row_sums, w_packed, w_sums, acc, bias, plan.input_offset,
                                          plan.weights_offset, rq.mode, rq.multiplier, rq.shift, rq.scale32,
                                          plan.output_zero_point, plan.qmin, plan.qmax, column_term, row_term, out)
            return
        if isinstance(plan, QD8Plan):
            _eval_qd8(plan, x, bias, out)
            return
        if isinstance(plan, HybridPlan):
            _eval_hybrid(plan, x, inputs[1], bias, out)
            return
        if isinstance(plan, FloatPlan):
            weights_t = plan.weights_t
            if weights_t is None:  # [N, K] -> [K, N]
                weights_t = plan.weights_buf
                np.copyto(weights_t, inputs[1].T)
            if len(plan.parts) == 1:
                fully_connected_float(x, weights_t, bias, plan.act_min, plan.act_max, out)
            else:  # [rows, K] x [K, N] -> [rows, N] per thread
                fully_connected_float_parts(x, weights_t, bias, plan.act_min, plan.act_max, out, plan.bounds)
            return
        np.add(x, plan.input_offset, out=plan.input_buf, dtype=plan.input_buf.dtype)
        weights_t = plan.weights_t
        if weights_t is None:  # [N, K] -> [K, N], shifted by the weights offset
            weights_t = plan.weights_buf
            np.add(inputs[1].T, plan.weights_offset, out=weights_t, dtype=weights_t.dtype)
        np.matmul(plan.input_buf, weights_t, out=plan.acc_buf)  # [batch, K] x [K, N] -> [batch, N], exact
        rq = plan.requant
        if rq is not None:  # int8 only: the int32 bias is the column term
            if rq.mode == REQUANT_FP32:
                requantize_rows_fp32(plan.acc_buf, bias, plan.zero_rows, rq.scale32, plan.output_zero_point,
                                     plan.qmin, plan.qmax, out)
            else:
                requantize_rows_fixedpoint(plan.acc_buf, bias, plan.zero_rows, rq.multiplier, rq.shift, rq.mode,
                                           plan.output_zero_point, plan.qmin, plan.qmax, out)
            return
        requantize_double(plan.acc_buf, bias, plan.scale, plan.output_zero_point, plan.qmin, plan.qmax,
                          plan.wrap32, out)


def _int8_in_parts(plan: Int8Plan, x, a, row_sums, w_packed, w_sums, acc, bias, column_term, row_term, out) -> None:
    """:func:`fully_connected_int8` with its rows split across threads (``fully_connected_int8_parts``)."""
    fully_connected_int8_parts(plan.isa, x, a, row_sums, w_packed, w_sums, acc, bias, plan.input_offset,
                               plan.weights_offset, plan.scale, plan.output_zero_point, plan.qmin, plan.qmax,
                               plan.bounded, column_term, row_term, out, plan.bounds)


def _no_bias(n: int, dtype) -> np.ndarray:
    """Zeros standing in for a missing bias, read-only like a model's constant bias, so that the kernels
    see one array type either way (a writable array would make Numba compile a second version). One
    shared array per size and type: a model has hundreds of FCs of a few widths."""
    return _shared_zeros(n, np.dtype(dtype))


@functools.lru_cache(maxsize=64)
def _shared_zeros(n: int, dtype: np.dtype) -> np.ndarray:
    zeros = np.zeros(n, dtype)
    zeros.setflags(write=False)
    return zeros


def _per_tensor(t: TensorArg) -> bool:
    q = t.quantization
    return q is not None and q.scale.size == 1


def _geometry(node: Node, x: TensorArg, w: TensorArg, keep_num_dims: bool):
    """Batch, K, N and the output shape, as fully_connected.cc's PrepareImpl computes them."""
    n, k = w.shape
    if keep_num_dims and len(x.shape) == 0:
        raise node.error(f"keep_num_dims needs an input of rank >= 1, got {x.describe()}")
    if k == 0:
        batch = int(np.prod(x.shape[:-1], dtype=np.int64)) if x.shape else 1
    else:
        if x.size % k:
            raise node.error(f"input {x.describe()} has {x.size} elements, not a multiple of K = {k} "
                             f"(weights {w.describe()})")
        batch = x.size // k
        if keep_num_dims and x.shape[-1] != k:
            raise node.error(f"keep_num_dims needs the input's last dim to be K = {k}, got {x.describe()}")
    out_shape = tuple(x.shape[:-1]) + (n,) if keep_num_dims else (batch, n)
    return Geometry(batch, k, n), out_shape


def _prepare_float(node: Node, geo: Geometry, x, w, bias, out) -> FloatPlan:
    for t in (bias, out):
        if t is not None:
            node.expect_dtype(t, np.float32)
    weights_t = None if w.data is None else np.ascontiguousarray(w.data.T, dtype=np.float32)
    buf_shape = (geo.k, geo.n) if weights_t is None else (0, 0)
    act_min, act_max = FLOAT_RANGES[node.options.activation]
    parts = row_parts(geo.batch, node.threads, align=F32_TILE_ROWS, ns_per_row=geo.k * geo.n / FLOAT32_MACS_PER_NS)
    return FloatPlan(geo, weights_t, np.zeros(buf_shape, np.float32), _no_bias(geo.n, np.float32),
                     act_min, act_max, parts)


def _prepare_quantized(node: Node, geo: Geometry, x, w, bias, out) -> QuantPlan:
    opts: FullyConnectedOptions = node.options
    node.expect_dtype(w, np.int8)
    node.expect_dtype(out, x.dtype)
    qx, qout = node.expect_quantized(x), node.expect_quantized(out)
    qw = node.expect_quantized(w, per_tensor=False)
    in_s, out_s = qx.single_scale, qout.single_scale
    per_channel = qw.per_channel
    if per_channel and (qw.axis != 0 or qw.scale.size != geo.n):
        raise node.error(f"per-channel weights {w.describe()} need {geo.n} scales on axis 0, "
                         f"have {qw.scale.size} on axis {qw.axis}")
    weights_offset = 0 if per_channel else -qw.single_zero_point

    wrap32 = True
    if x.dtype == np.int8:
        if bias is not None:
            node.expect_dtype(bias, np.int32)
    else:  # int16 activations, int8 weights
        if qx.single_zero_point != 0 or qout.single_zero_point != 0:
            raise node.error("int16 input and output must have zero point 0")
        wrap32 = _int16_bias_is_int32(node, opts.quantized_bias_type, bias)

    if not per_channel:
        _check_bias_scale(node, in_s, qw.single_scale, out_s, bias)
        if np.float32(np.float32(in_s) * np.float32(qw.single_scale)) < 0:
            raise node.error("input scale * weights scale must not be negative")
    w_scales = qw.scale if per_channel else np.full(geo.n, qw.single_scale, np.float32)
    scale = np.float64(in_s) * w_scales.astype(np.float64) / np.float64(out_s)
    qmin, qmax = quantized_activation_range(node, opts.activation, out)

    input_offset = -qx.single_zero_point
    requant = None
    if x.dtype == np.int8 and node.flavor != "reference":
        requant = _int8_requant(node, geo, per_channel, in_s, w_scales, out_s)
        if node.flavor == "xnnpack":
            qmin, qmax = xnnpack_output_range(node, opts.activation, out)
    if x.dtype == np.int8 and int_gemm.ISA is not None:
        return _int8_plan(geo, w, input_offset, weights_offset, scale, qout.single_zero_point, qmin, qmax, requant,
                          node.threads)
    x_abs = max_abs_offset_value(x.dtype, input_offset)
    if w.data is not None:
        shifted = w.data.astype(np.int64) + weights_offset  # [N, K]
        bound = x_abs * int(np.abs(shifted).sum(axis=1).max(initial=0))
    else:
        bound = x_abs * max_abs_offset_value(w.dtype, weights_offset) * geo.k
    work = exact_float_dtype(bound)
    if work is None:
        raise node.error(f"accumulation depth K = {geo.k} is too large for an exact accumulator")
    weights_t = None if w.data is None else np.ascontiguousarray(shifted.T, dtype=work)
    buf_shape = (geo.k, geo.n) if weights_t is None else (0, 0)
    return QuantPlan(
        geo=geo, input_offset=input_offset, weights_offset=weights_offset, weights_t=weights_t,
        weights_buf=np.zeros(buf_shape, work), input_buf=np.zeros((geo.batch, geo.k), work),
        acc_buf=np.zeros((geo.batch, geo.n), work), zero_bias=_no_bias(geo.n, np.int64), scale=scale,
        output_zero_point=qout.single_zero_point, qmin=qmin, qmax=qmax, wrap32=wrap32, requant=requant,
        zero_rows=np.zeros(geo.batch, np.int32),
    )


def _int8_requant(node: Node, geo: Geometry, per_channel: bool, in_s: float, w_scales: np.ndarray,
                  out_s: float) -> Requant:
    """The int8 requantization of the optimized / xnnpack path (Prepare-time multipliers).

    optimized: fully_connected.cc Prepare's multipliers (per tensor: double(float(in_s * w_s)) / out_s,
    per channel: double(in_s) * double(w_s[c]) / double(out_s), then QuantizeMultiplier), applied by
    ruy (x86: ties-up double rounding; ARM64: single rounding) or, on ARM64 with one input row,
    K >= 8 and N >= 4, by CustomGemv (ties-up double rounding, as ruy on x86).
    xnnpack: float32 in_s * w_s[c] / out_s (the delegate makes per-tensor weights per-channel).
    """
    pad = int_gemm.acc_spec(geo.batch, geo.n, int_gemm.ISA)[1][1] if int_gemm.ISA is not None else geo.n
    pad = max(pad, geo.n)
    multiplier, shift = np.zeros(pad, np.int64), np.zeros(pad, np.int64)
    scale32 = np.zeros(pad, np.float32)
    if node.flavor == "xnnpack":
        scale32[:geo.n] = xnnpack_scales(node, in_s, w_scales, out_s)
        return Requant(REQUANT_FP32, multiplier, shift, scale32)
    for c in range(geo.n):
        if per_channel:
            real = float(np.float64(in_s) * np.float64(w_scales[c]) / np.float64(out_s))
        else:
            real = float(np.float64(np.float32(np.float32(in_s) * np.float32(w_scales[c]))) / np.float64(out_s))
        multiplier[c], shift[c] = quantize_multiplier(real)
    mode = REQUANT_TIES_UP_DOUBLE
    if node.arch == "arm64" and not (geo.batch == 1 and geo.k >= 8 and geo.n >= 4):
        mode = REQUANT_SINGLE
    return Requant(mode, multiplier, shift, scale32)


XNNPACK_MAX_SCALE = np.float32(256.0)  # xnn_create_fully_connected_nc_qs8*: requantization scale < 256


def xnnpack_scales(node: Node, in_s: float, w_scales: np.ndarray, out_s: float) -> np.ndarray:
    """XNNPACK's float32 requantization scales in_s * w_s[c] / out_s (float arithmetic); a scale of 256
    or more makes the delegate fail to prepare (the official interpreter then refuses the model)."""
    with np.errstate(over="ignore", divide="ignore", invalid="ignore"):
        scales = (np.float32(in_s) * np.asarray(w_scales, np.float32)) / np.float32(out_s)
    scales = scales.astype(np.float32)
    if not np.all(scales < XNNPACK_MAX_SCALE) or not np.all(scales > 0):
        raise node.error(f"the XNNPACK delegate fails to prepare this node: requantization scale "
                         f"{float(scales.max()):g} (input scale * weight scale / output scale) must be in (0, 256)")
    return scales


def xnnpack_output_range(node: Node, activation: int, out: TensorArg) -> tuple[int, int]:
    """XNNPACK's int8 output clamp: the delegate's float range of the fused activation, each end
    quantized by xnn_qs8_quantize: lrintf(min(max(v / scale + zp, -128), 127)) in float32 (ties to even)."""
    lo, hi = float_activation_bounds(node, activation)
    q = node.expect_quantized(out)
    scale, zp = np.float32(q.single_scale), np.float32(q.single_zero_point)

    def quantize(v: float) -> int:
        with np.errstate(over="ignore"):
            t = np.float32(np.float32(np.float32(v) / scale) + zp)
        return int(np.rint(min(max(t, np.float32(-128)), np.float32(127))))

    return quantize(lo), quantize(hi)


def _int8_plan(geo: Geometry, w: TensorArg, input_offset: int, weights_offset: int, scale: np.ndarray,
               output_zero_point: int, qmin: int, qmax: int, requant: Requant | None = None,
               threads: int = 1) -> Int8Plan:
    isa = int_gemm.ISA
    w_packed = w_sums = None
    if w.data is not None:
        # int32 sums (modulo 2**32 like every later step of the int32 sum): half the memory of int64
        w_packed, w_sums = int_gemm.pack_columns(w.data, isa), int_gemm.column_sums(w.data).astype(np.int32)
    a_spec, acc_spec = int_gemm.a_spec(geo.batch, geo.k, isa), int_gemm.acc_spec(geo.batch, geo.n, isa)
    rows, cols = acc_spec[1]
    padded_scale = np.zeros(cols, np.float64)
    padded_scale[:geo.n] = scale
    i32, i64 = np.dtype(np.int32), np.dtype(np.int64)
    packed_shape = int_gemm.packed_buffer(geo.n, geo.k, isa).shape
    return Int8Plan(
        geo=geo, isa=isa, input_offset=input_offset, weights_offset=weights_offset, w_packed=w_packed,
        w_sums=w_sums, scale=padded_scale, zero_bias=_no_bias(geo.n, np.int32),
        output_zero_point=output_zero_point, qmin=qmin, qmax=qmax, bounded=is_bounded(padded_scale),
        scratch=(a_spec, ("row_sums", (rows,), i64), acc_spec, ("column_term", (cols,), i32),
                 ("row_term", (rows,), i32)),
        weight_scratch=(("b_packed", packed_shape, np.dtype(np.int8)), ("b_sums", (geo.n,), i32)),
        requant=requant,
        parts=row_parts(geo.batch, threads if requant is None else 1, align=int_gemm.TILE_ROWS[isa],
                        ns_per_row=geo.k * geo.n / INT8_MACS_PER_NS),
    )


def _int16_bias_is_int32(node: Node, quantized_bias_type: int, bias: TensorArg | None) -> bool:
    """The int16 accumulator type. Official: INT32 only when the options say so, else int64."""
    if quantized_bias_type not in (TENSOR_TYPE_FLOAT32, TENSOR_TYPE_INT32, TENSOR_TYPE_INT64):
        raise node.error(f"quantized_bias_type {quantized_bias_type} must be INT32 or INT64")
    use_int32 = quantized_bias_type == TENSOR_TYPE_INT32
    if bias is not None:
        want = np.int32 if use_int32 else np.int64
        if bias.dtype != want:
            why = "as quantized_bias_type says" if quantized_bias_type else \
                "(an int32 bias needs quantized_bias_type = INT32 in the options)"
            raise node.error(f"bias {bias.describe()} must be {np.dtype(want).name} {why}")
    return use_int32


def _check_bias_scale(node: Node, in_s: float, w_s: float, out_s: float, bias: TensorArg | None) -> None:
    """GetQuantizedConvolutionMultipler (kernel_util.cc): |in_s*w_s - bias_s| / out_s <= 0.02."""
    if bias is None:
        return
    q = bias.quantization
    bias_s = float(q.scale[0]) if q is not None and q.scale.size == 1 else 0.0
    product = float(np.float64(in_s) * np.float64(w_s))
    if abs(product - bias_s) / float(np.float64(out_s)) > 0.02:
        raise node.error(f"bias {bias.describe()} scale {bias_s:g} is too far from input scale * weights scale "
                         f"{product:g} (the official kernel requires |difference| / output scale <= 0.02)")


def _prepare_hybrid(node: Node, geo: Geometry, x, w, bias, out) -> HybridPlan:
    """Float32 input, int8 weights (fully_connected.cc CheckTypes / EvalHybridDense)."""
    if w.dtype != np.int8:
        raise node.error(f"weights {w.describe()} must be int8 (hybrid) or float32 for a float32 input; "
                         f"{w.dtype.name} weights are not supported")
    node.expect_dtype(out, np.float32)
    if bias is not None:
        node.expect_dtype(bias, np.float32)
    qw = node.expect_quantized(w, per_tensor=False)
    if qw.per_channel:  # VerifyPerChannelQuantization: more than one scale
        if qw.axis != 0 or qw.scale.size != geo.n:
            raise node.error(f"per-channel weights {w.describe()} need {geo.n} scales on axis 0, "
                             f"have {qw.scale.size} on axis {qw.axis}")
        weight_scales = np.ascontiguousarray(qw.scale, dtype=np.float32)
    else:
        weight_scales = np.full(geo.n, qw.single_scale, np.float32)

    if w.data is not None:
        weights_nk = w.data.reshape(geo.n, geo.k)
        bound = 128 * int(np.abs(weights_nk.astype(np.int64)).sum(axis=1).max(initial=0))
    else:
        bound = 128 * 128 * geo.k
    work = exact_float_dtype(bound)  # |q| <= 128, |w| <= 128
    if work is None:
        raise node.error(f"accumulation depth K = {geo.k} is too large for an exact accumulator")
    weights_t = row_sums = pairs = None
    if w.data is not None:
        row_sums, pairs = weight_row_sums(weights_nk).astype(np.int32), maddubs_pairs(weights_nk)
    opts: FullyConnectedOptions = node.options
    if int_gemm.ISA is not None:
        return _hybrid_int8_plan(geo, w, opts, weight_scales, row_sums, pairs, node.threads)
    if w.data is not None:
        weights_t = np.ascontiguousarray(weights_nk.T, dtype=work)  # [N, K] -> [K, N]
    return HybridPlan(
        geo=geo, asymmetric=opts.asymmetric_quantize_inputs, activation=opts.activation,
        clamp=activation_clamp(opts.activation),
        weight_scales=weight_scales, weights_t=weights_t, row_sums=row_sums, pairs=pairs,
        weights_buf=np.zeros((geo.k, geo.n) if weights_t is None else (0, 0), work),
        q_buf=np.zeros((geo.batch, geo.k), work), scaling=np.zeros(geo.batch, np.float32),
        offsets=np.zeros(geo.batch, np.int32), acc_buf=np.zeros((geo.batch, geo.n), work),
        zero_bias=_no_bias(geo.n, np.float32), column_term=np.zeros(geo.n, np.int32),  # shift 0
    )


def _hybrid_int8_plan(geo: Geometry, w: TensorArg, opts: FullyConnectedOptions, weight_scales: np.ndarray,
                      row_sums: np.ndarray | None, pairs, threads: int = 1) -> HybridPlan:
    """HybridPlan whose dot products run on the integer kernel (no float copies of the weights)."""
    isa = int_gemm.ISA
    w_packed = w_sums = None
    if w.data is not None:
        weights_nk = w.data.reshape(geo.n, geo.k)
        w_packed, w_sums = int_gemm.pack_columns(weights_nk, isa), int_gemm.column_sums(weights_nk)
    a_spec, acc_spec = int_gemm.a_spec(geo.batch, geo.k, isa), int_gemm.acc_spec(geo.batch, geo.n, isa)
    empty = np.zeros((0, 0), np.float32)
    return HybridPlan(
        geo=geo, asymmetric=opts.asymmetric_quantize_inputs, activation=opts.activation,
        clamp=activation_clamp(opts.activation), weight_scales=weight_scales, weights_t=None, row_sums=row_sums,
        pairs=pairs, weights_buf=empty,
        q_buf=empty, scaling=empty, offsets=empty,  # (per-row scales and zero points: thread scratch)
        acc_buf=empty, zero_bias=_no_bias(geo.n, np.float32), isa=isa, w_packed=w_packed,  # (w_sums: in column_term)
        column_term=None if w_sums is None else column_term(w_sums, 128),
        # the quantized rows go straight into a (q + 128, zero padded); each row's scale and zero point
        scratch=(a_spec, acc_spec, ("hybrid_scaling", (geo.batch,), np.dtype(np.float32)),
                 ("hybrid_offsets", (geo.batch,), np.dtype(np.int32))),
        weight_scratch=(("b_packed", int_gemm.packed_buffer(geo.n, geo.k, isa).shape, np.dtype(np.int8)),
                        ("b_sums", (geo.n,), np.dtype(np.int64))),
        parts=row_parts(geo.batch, threads, align=int_gemm.TILE_ROWS[isa],
                        ns_per_row=geo.k * geo.n / HYBRID_MACS_PER_NS),
    )


def _eval_hybrid(plan: HybridPlan, x: np.ndarray, weights: np.ndarray, bias: np.ndarray, out: np.ndarray) -> None:
    """EvalHybridDense: bias, zero-input shortcut, row quantization, int dot products, float epilogue."""
    row_sums, pairs, col_term = plan.row_sums, plan.pairs, plan.column_term
    if row_sums is None:  # run-time weights [N, K]
        row_sums, pairs = weight_row_sums(weights).astype(np.int32), maddubs_pairs(weights)
    if plan.isa is not None:
        a, acc, scaling, offsets = int_gemm.scratch(plan.scratch)
        w_packed = plan.w_packed
        if w_packed is None:
            w_packed, w_sums = int_gemm.scratch(plan.weight_scratch)
            int_gemm.pack_columns_nk(weights, w_packed, w_sums)
            col_term = column_term(w_sums, 128)
        if len(plan.parts) > 1:  # row blocks on separate threads
            hybrid_fully_connected_parts(plan.isa, x, a, w_packed, acc, col_term, row_sums, pairs[0], pairs[1],
                                         plan.weight_scales, bias, plan.asymmetric, plan.activation, scaling,
                                         offsets, out, plan.bounds)
            return
        hybrid_fully_connected(plan.isa, x, a, w_packed, acc, col_term, row_sums, pairs[0], pairs[1],
                               plan.weight_scales, bias, plan.asymmetric, plan.activation, scaling,
                               offsets, out)  # [batch, K] -> [batch, N]
        return
    flat_out = out.reshape(-1)
    if is_zero_vector_x86(x.reshape(-1)):  # the whole input, not per row
        fill_rows(bias, out)
        apply_activation(flat_out, plan.activation)
        return
    weights_t = plan.weights_t
    if weights_t is None:  # [N, K] -> [K, N]
        weights_t = plan.weights_buf
        np.copyto(weights_t, weights.T)
    q, acc = plan.q_buf, plan.acc_buf
    quantize_rows(x, q, plan.scaling, plan.offsets, plan.asymmetric, 0)  # [batch, K] float -> q
    np.matmul(q, weights_t, out=acc)  # [batch, K] x [K, N] -> [batch, N] Σ_k q w, exact
    if pairs[0].size:
        maddubs_correction(acc, q, pairs[0], pairs[1], 0)
    clamp, low, high = plan.clamp  # RELU / RELU_N1_TO_1 / RELU6 applied in the epilogue
    hybrid_fc_output(acc, col_term, plan.scaling, plan.offsets, row_sums, plan.weight_scales, bias, clamp, low, high,
                     out)
    if plan.activation in (ACT_TANH, ACT_SIGN_BIT):
        apply_activation(flat_out, plan.activation)


def _prepare_qd8(node: Node, geo: Geometry, x, w, bias, out) -> QD8Plan:
    """The XNNPACK delegate's dynamically quantized FC (float32 input, constant int8 weights)."""
    if w.dtype != np.int8:
        raise node.error(f"weights {w.describe()} must be int8 for XNNPACK's dynamically quantized FC")
    if w.data is None:
        raise node.error("XNNPACK's dynamically quantized FC needs constant weights")
    node.expect_dtype(out, np.float32)
    if bias is not None:
        node.expect_dtype(bias, np.float32)
    qw = node.expect_quantized(w, per_tensor=False)
    if qw.per_channel and (qw.axis != 0 or qw.scale.size != geo.n):
        raise node.error(f"per-channel weights {w.describe()} need {geo.n} scales on axis 0, "
                         f"have {qw.scale.size} on axis {qw.axis}")
    if np.any(qw.zero_point != 0):  # xnn_define_channelwise_quantized_tensor_value fails; so does the model
        raise node.error(f"the XNNPACK delegate fails to prepare this node (\"failed to update filter tensor\"): "
                         f"int8 weights with zero point {int(qw.zero_point.flat[0])}; XNNPACK needs 0")
    weight_scales = np.ascontiguousarray(qw.scale if qw.per_channel else np.full(geo.n, qw.single_scale),
                                         dtype=np.float32)
    lo, hi = float_activation_bounds(node, node.options.activation)
    weights_nk = w.data.reshape(geo.n, geo.k)
    w_sums = weights_nk.astype(np.int64).sum(axis=1)
    isa = int_gemm.ISA
    common = dict(geo=geo, weight_scales=weight_scales, zero_bias=_no_bias(geo.n, np.float32),
                  out_min=np.float32(lo), out_max=np.float32(hi), inv_scale=np.zeros(geo.batch, np.float32),
                  zero_point=np.zeros(geo.batch, np.int32), w_sums=w_sums, isa=isa)
    empty = np.zeros((0, 0), np.float64)
    if isa is None:  # |q| <= 128, |w| <= 128: float64 holds every partial sum exactly up to K = 2**39
        return QD8Plan(**common, w_packed=None, weights_t=np.ascontiguousarray(weights_nk.T, dtype=np.float64),
                       q_buf=np.zeros((geo.batch, geo.k), np.float64), acc_buf=np.zeros((geo.batch, geo.n)))
    a_spec, acc_spec = int_gemm.a_spec(geo.batch, geo.k, isa), int_gemm.acc_spec(geo.batch, geo.n, isa)
    return QD8Plan(**common, w_packed=int_gemm.pack_columns(weights_nk, isa), weights_t=None, q_buf=empty,
                   acc_buf=empty,
                   scratch=(("q", (geo.batch, geo.k), np.dtype(np.int8)), a_spec,
                            ("row_sums", (a_spec[1][0],), np.dtype(np.int64)), acc_spec))


def _eval_qd8(plan: QD8Plan, x: np.ndarray, bias: np.ndarray, out: np.ndarray) -> None:
    if plan.isa is not None:
        q, a, a_row_sums, acc = int_gemm.scratch(plan.scratch)
        quantize_rows_qd8(x, q, plan.inv_scale, plan.zero_point)  # [batch, K] float -> int8
        int_gemm.exact_products(plan.isa, q, a, a_row_sums, plan.w_packed, plan.w_sums, acc)  # -> [batch, N]
        acc = acc[:plan.geo.batch, :plan.geo.n]
    else:
        q, acc = plan.q_buf, plan.acc_buf
        quantize_rows_qd8(x, q, plan.inv_scale, plan.zero_point)
        np.matmul(q, plan.weights_t, out=acc)  # [batch, K] x [K, N] -> [batch, N], exact
    qd8_output(acc, plan.zero_point, plan.w_sums, plan.inv_scale, plan.weight_scales, bias, plan.out_min,
               plan.out_max, out)
