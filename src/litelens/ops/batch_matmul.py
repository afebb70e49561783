"""BATCH_MATMUL (batch_matmul.cc, BUILTIN_REF): lhs [..., M, K] @ rhs [..., K, N] -> [..., M, N].

``adj_x`` / ``adj_y`` transpose the last two dims of lhs / rhs first. Ranks 2 to 5 (the official
limit); batch dims broadcast NumPy-style (equal, or one of them 1). No bias, no fused activation.
Types (reference/batch_matmul.h):

* float32: sequential float32 sums, bit-exact with the reference loop.
* int8 x int8 -> int8: acc = Σ (l - l_zp)(r - r_zp) in int32, then MultiplyByQuantizedMultiplier with
  the multiplier of double(float32(l_s * r_s)) / double(out_s), + out_zp, clamp to [-128, 127].
* int8 x int8 -> int32: the raw Σ l * r, zero points ignored (as the official EvalInt8Int32 does).
* int16 x int16 and int16 x int8 -> int16 (all zero points 0): int64 accumulator and the int64
  MultiplyByQuantizedMultiplier.

* hybrid (the ``dynamic`` flavor): float32 lhs, int8 rhs (per tensor, or per channel along the N
  axis), float32 output. Each lhs row is quantized on the fly (symmetric, or asymmetric under
  ``asymmetric_quantize_inputs``), multiplied in int32 and scaled back to float (EvalHybrid and the
  hybrid reference_ops::BatchMatMul; arithmetic in ``kernels/hybrid.py``). The rhs zero point is
  ignored, as the official kernel ignores it. With two or more batch dims the official loop reads
  the scaling factors (and row sums) of another batch; litelens reproduces that (see
  ``_hybrid_bases``).

A constant rhs is shifted by its zero point and laid out [..., K, N] once, in Prepare.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.kernels import int_gemm
from litelens.kernels.batch_matmul import (batch_matmul_float, batch_matmul_int8, requantize_mbqm,
                                           requantize_mbqm_int64, wrap_to_int32)
from litelens.kernels.gemm import exact_float_dtype, max_abs_offset_value
from litelens.kernels.hybrid import (hybrid_bmm_output, quantize_rows_asymmetric, quantize_rows_symmetric,
                                     weight_row_sums)
from litelens.kernels.requantize_paths import requantize_rows_fp32
from litelens.kernels.xnnpack_dynamic import qd8_output, quantize_rows_qd8
from litelens.ops.base import Node, Op, Prepared, TensorArg
from litelens.ops.fully_connected import xnnpack_scales
from litelens.ops.common import checked_multiplier, read_only
from litelens.ops.registry import register

MAX_RANK = 5  # batch_matmul.cc Prepare: "Support dimensions between 2 and 5, inclusive."
_NO_SCALES = np.zeros(1, np.float32)


@dataclass(frozen=True)
class BatchMatMulOptions:
    adj_x: bool = False
    adj_y: bool = False
    asymmetric_quantize_inputs: bool = False  # hybrid only


@dataclass(frozen=True)
class Layout:
    adj_x: bool
    adj_y: bool
    out_shape: tuple[int, ...]


@dataclass(frozen=True)
class FloatPlan:
    layout: Layout
    lhs_shape3: tuple[int, int, int]  # lhs as stored, batch dims flattened: [L, rows, cols]
    rhs_shape3: tuple[int, int, int]
    lhs_buf: tuple  # int_gemm.scratch spec of the float32 [L, M, K] transposed lhs when adj_x
    rhs_kn: np.ndarray | None  # float32 [R, K, N], constant rhs
    rhs_buf: tuple  # int_gemm.scratch spec of the float32 [R, K, N] transposed rhs when adj_y
    lhs_batch: np.ndarray  # int64 [B]: output batch -> lhs batch
    rhs_batch: np.ndarray  # int64 [B]: output batch -> rhs batch


@dataclass(frozen=True)
class QuantPlan:
    layout: Layout
    kind: str  # "int8" (MBQM int32), "int16" (MBQM int64), "raw_int32"
    lhs_offset: int  # -lhs zero point
    rhs_offset: int  # -rhs zero point
    lhs_buf: np.ndarray  # [..., M, K] (l + lhs_offset) in the work dtype
    rhs_kn: np.ndarray | None  # [..., K, N] (r + rhs_offset) in the work dtype, constant rhs
    rhs_buf: np.ndarray  # [..., K, N] scratch for a run-time rhs
    acc_buf: np.ndarray  # [out_shape] the exact integer accumulator, held in the work dtype
    scale32: np.ndarray | None  # float32 [N]: XNNPACK's fp32 requantization (xnnpack path), else None
    multiplier: int
    shift: int
    output_zero_point: int
    qmin: int
    qmax: int


@dataclass(frozen=True)
class Int8Plan:
    """int8 x int8 on the integer dot-product kernel (``kernels/int_gemm.py``): the arithmetic of
    QuantPlan (kinds "int8" and "raw_int32"), accumulated exactly in int32."""

    layout: Layout
    kind: str  # "int8" (MBQM int32) or "raw_int32"
    isa: int
    lhs_offset: int
    rhs_offset: int
    multiplier: int
    shift: int
    output_zero_point: int
    qmin: int
    qmax: int
    lhs_shape3: tuple[int, int, int]  # lhs as stored, batch dims flattened
    rhs_shape3: tuple[int, int, int]
    lhs_batch: np.ndarray  # int64 [B]: output batch -> lhs batch
    rhs_batch: np.ndarray  # int64 [B]: output batch -> rhs batch
    rhs_packed: np.ndarray | None  # int8 [R, Np / NR, Kp / G, NR, G], constant rhs
    rhs_sums: np.ndarray | None  # int64 [R, N], constant rhs
    scratch: tuple  # int_gemm.scratch specs: a, row sums, acc (+ packed rhs and sums when run-time)
    scale32: np.ndarray | None = None  # float32 [N]: XNNPACK's fp32 requantization (xnnpack path), else None


@dataclass(frozen=True)
class HybridPlan:
    layout: Layout
    asymmetric: bool  # asymmetric_quantize_inputs
    lhs_buf: np.ndarray  # float32 [..., M, K]: the lhs transposed, when adj_x
    q_buf: np.ndarray  # [..., M, K] the quantized lhs rows, in the work dtype
    scaling: np.ndarray  # float32 [rows] per-row input scale
    offsets: np.ndarray  # int32 [rows] per-row input zero point (0 when symmetric)
    rhs_kn: np.ndarray | None  # [..., K, N] int8 values in the work dtype, constant rhs
    row_sums: np.ndarray | None  # int64 [matrices * N] Σ_k of each rhs column, constant rhs
    rhs_buf: np.ndarray  # [..., K, N] scratch for a run-time rhs
    weight_scales: np.ndarray  # float32 [N] (the single scale repeated when per tensor)
    acc_buf: np.ndarray  # [out_shape] the exact integer dot products, in the work dtype
    acc_shape3: tuple[int, int, int]  # [batches, rows, N] as the official loop walks the output
    scale_base: np.ndarray  # int64 [batches]: first scaling factor / offset the loop reads
    row_sum_base: np.ndarray  # int64 [batches]: first row sum the loop reads


@dataclass(frozen=True)
class QD8Plan:
    """The XNNPACK delegate's hybrid BMM (``kernels/xnnpack_dynamic.py``): lhs rows quantized to qd8,
    exact Σ (q - zp) * rhs, then float(acc) * inv_scale * w_scale (bias 0, no clamp)."""

    layout: Layout
    lhs_buf: np.ndarray  # float32 [..., M, K]: the lhs transposed, when adj_x
    q_buf: np.ndarray  # float64 [..., M, K] q - zp of each lhs row
    inv_scale: np.ndarray  # float32 [lhs rows]
    zero_point: np.ndarray  # int32 [lhs rows]
    rhs_kn: np.ndarray  # float64 [..., K, N] the int8 rhs values (zeros for a run-time rhs, as the delegate reads)
    acc_buf: np.ndarray  # float64 [out_shape] exact Σ (q - zp) * r
    rows_shape: tuple[int, ...]  # lhs batch dims + (M,), broadcast to the output's batch dims + (M,)
    weight_scales: np.ndarray  # float32 [N]
    zero_bias: np.ndarray  # float32 [N]
    no_zero_point: np.ndarray  # int32 [output rows] zeros: q_buf is already centred
    no_col_sums: np.ndarray  # int64 [N] zeros


@register("BATCH_MATMUL")
class BatchMatMul(Op):
    def parse_options(self, raw) -> BatchMatMulOptions:
        if raw is None:
            return BatchMatMulOptions()
        return BatchMatMulOptions(bool(raw.AdjX()), bool(raw.AdjY()), bool(raw.AsymmetricQuantizeInputs()))

    def xnnpack_rejects(self, node: Node) -> str | None:
        """VisitBatchMatMulNode (xnnpack_delegate.cc) as the ai-edge-litert 2.3.0 wheel's default
        delegate applies it (checked with the official interpreter's op list)."""
        if len(node.inputs) != 2 or len(node.outputs) != 1 or None in node.inputs:
            return "needs 2 inputs and 1 output"
        lhs, rhs, out = node.inputs[0], node.inputs[1], node.outputs[0]
        floats = (np.float32, np.float16)
        for t, what in ((lhs, "lhs"), (out, "output")):
            if t.dtype not in floats and t.dtype != np.int8:
                return f"{what} type {t.dtype.name} (XNNPACK takes float32, float16, int8)"
            if t.dtype == np.int8 and (t.quantization is None or t.quantization.scale.size != 1):
                return f"int8 {what} without per-tensor quantization"
        if rhs.dtype not in floats and rhs.dtype != np.int8:
            return f"rhs type {rhs.dtype.name}"
        dynamic = lhs.dtype in floats and rhs.dtype == np.int8
        if rhs.dtype == np.int8:
            q = rhs.quantization
            if q is None or q.scale.size == 0:
                return "int8 rhs without quantization"
            n_axis = len(rhs.shape) - (2 if node.options.adj_y else 1)
            if q.scale.size > 1 and q.axis != n_axis:
                return f"per-channel rhs quantized along dim {q.axis}, not the N dim {n_axis}"
            if not dynamic:
                if q.scale.size > 1:
                    return "per-channel int8 rhs with an int8 lhs"
                if int(q.zero_point[0]) != 0:
                    return f"int8 rhs with zero point {int(q.zero_point[0])} (XNNPACK needs 0)"
        if lhs.dtype != rhs.dtype and not dynamic:
            return "mixed lhs / rhs types"
        if len(lhs.shape) < 2 or len(rhs.shape) < 2:
            return "an input of rank below 2"
        return None

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(2)
        lhs, rhs, out = node.input(0), node.input(1), node.outputs[0]
        layout = _layout(node, lhs, rhs)
        if lhs.dtype == np.float32 and rhs.dtype == np.float32:
            node.expect_dtype(out, np.float32)
            plan = _prepare_float(layout, lhs, rhs)
        elif lhs.dtype == np.float32 and rhs.dtype == np.int8 and node.flavor == "xnnpack":
            plan = _prepare_qd8(node, layout, lhs, rhs, out)
        elif lhs.dtype == np.float32 and rhs.dtype == np.int8:
            plan = _prepare_hybrid(node, layout, lhs, rhs, out)
        elif (lhs.dtype, rhs.dtype) in ((np.int8, np.int8), (np.int16, np.int16), (np.int16, np.int8)):
            plan = _prepare_quantized(node, layout, lhs, rhs, out)
        else:
            raise node.error(f"unsupported types lhs {lhs.dtype.name}, rhs {rhs.dtype.name}; supported: "
                             "float32 x float32, int8 x int8, int16 x int16, int16 x int8")
        return Prepared(plan, [layout.out_shape])

    def eval(self, plan, inputs, outputs) -> None:
        if outputs[0].size == 0:  # an empty batch or M/N of 0: nothing to compute
            return
        if isinstance(plan, Int8Plan):
            _eval_int8(plan, inputs, outputs[0])
        elif isinstance(plan, FloatPlan):
            _eval_float(plan, inputs, outputs[0])
        elif isinstance(plan, HybridPlan):
            _eval_hybrid(plan, inputs, outputs[0])
        elif isinstance(plan, QD8Plan):
            _eval_qd8(plan, inputs, outputs[0])
        else:
            _eval_quantized(plan, inputs, outputs[0])


def _layout(node: Node, lhs: TensorArg, rhs: TensorArg) -> Layout:
    """Checks ranks, broadcastable batch dims and matching K; the output shape (ResizeOutputTensor)."""
    opts: BatchMatMulOptions = node.options
    for t in (lhs, rhs):
        if not 2 <= len(t.shape) <= MAX_RANK:
            raise node.error(f"{t.describe()} has rank {len(t.shape)}; the official kernel supports "
                             f"2 to {MAX_RANK}")
    rank = max(len(lhs.shape), len(rhs.shape))
    lhs_ext = (1,) * (rank - len(lhs.shape)) + tuple(lhs.shape)
    rhs_ext = (1,) * (rank - len(rhs.shape)) + tuple(rhs.shape)
    batch = []
    for i, (a, b) in enumerate(zip(lhs_ext[:-2], rhs_ext[:-2])):
        if a != b and a != 1 and b != 1:
            raise node.error(f"batch dim {i} of lhs {lhs.describe()} and rhs {rhs.describe()} do not broadcast")
        batch.append(b if a == 1 else a)
    rows, k_lhs = (lhs_ext[-1], lhs_ext[-2]) if opts.adj_x else (lhs_ext[-2], lhs_ext[-1])
    k_rhs, cols = (rhs_ext[-1], rhs_ext[-2]) if opts.adj_y else (rhs_ext[-2], rhs_ext[-1])
    if k_lhs != k_rhs:
        raise node.error(f"lhs {lhs.describe()} (adj_x={opts.adj_x}) and rhs {rhs.describe()} "
                         f"(adj_y={opts.adj_y}) have different depths K: {k_lhs} vs {k_rhs}")
    return Layout(opts.adj_x, opts.adj_y, tuple(batch) + (rows, cols))


def _matrix_view(a: np.ndarray, transpose: bool) -> np.ndarray:
    """[..., r, c] -> [..., c, r] when transpose (a view)."""
    return a.swapaxes(-1, -2) if transpose else a


def _matrix_shape(shape: tuple[int, ...], transpose: bool) -> tuple[int, ...]:
    """The shape of :func:`_matrix_view` of an array of this shape."""
    return tuple(shape[:-2]) + (shape[-1], shape[-2]) if transpose else tuple(shape)


def _batch_map(shape: tuple[int, ...], out_batch: tuple[int, ...]) -> np.ndarray:
    """For each flat output batch, the flat batch index of an operand broadcast to ``out_batch``."""
    own = tuple(shape[:-2])
    own = (1,) * (len(out_batch) - len(own)) + own
    index = np.arange(int(np.prod(own, dtype=np.int64)), dtype=np.int64).reshape(own)
    return np.ascontiguousarray(np.broadcast_to(index, out_batch).reshape(-1))


def _as3(shape: tuple[int, ...]) -> tuple[int, int, int]:
    return (int(np.prod(shape[:-2], dtype=np.int64)), shape[-2], shape[-1])


def _prepare_float(layout: Layout, lhs: TensorArg, rhs: TensorArg) -> FloatPlan:
    out_batch = layout.out_shape[:-2]
    m, n = layout.out_shape[-2:]
    l3, r3 = _as3(lhs.shape), _as3(rhs.shape)
    k = l3[1] if layout.adj_x else l3[2]
    rhs_kn, rhs_buf_shape = None, (r3[0], k, n) if layout.adj_y else (0, 0, 0)
    if rhs.data is not None:  # [R, K, N] once
        rhs_kn = read_only(np.ascontiguousarray(_matrix_view(rhs.data.reshape(r3), layout.adj_y), dtype=np.float32))
        rhs_buf_shape = (0, 0, 0)
    return FloatPlan(
        layout=layout, lhs_shape3=l3, rhs_shape3=r3,
        # work buffers shared by every op on this thread (int_gemm.scratch), not one per op
        lhs_buf=("bmm_float_lhs", (l3[0], m, k) if layout.adj_x else (0, 0, 0), np.dtype(np.float32)),
        rhs_kn=rhs_kn, rhs_buf=("bmm_float_rhs", rhs_buf_shape, np.dtype(np.float32)),
        lhs_batch=_batch_map(lhs.shape, out_batch), rhs_batch=_batch_map(rhs.shape, out_batch),
    )


def _eval_float(plan: FloatPlan, inputs, output: np.ndarray) -> None:
    layout = plan.layout
    lhs = inputs[0].reshape(plan.lhs_shape3)
    if layout.adj_x:  # [L, K, M] -> [L, M, K]
        lhs_buf, = int_gemm.scratch((plan.lhs_buf,))
        np.copyto(lhs_buf, lhs.swapaxes(1, 2))
        lhs = read_only(lhs_buf)  # (read-only like the inputs: one kernel signature)
    rhs = plan.rhs_kn
    if rhs is None:
        rhs = inputs[1].reshape(plan.rhs_shape3)
        if layout.adj_y:  # [R, N, K] -> [R, K, N]
            rhs_buf, = int_gemm.scratch((plan.rhs_buf,))
            np.copyto(rhs_buf, rhs.swapaxes(1, 2))
            rhs = read_only(rhs_buf)
    m, n = layout.out_shape[-2:]
    out = output.reshape(plan.lhs_batch.size, m, n)
    batch_matmul_float(lhs, rhs, plan.lhs_batch, plan.rhs_batch, out)


def _prepare_quantized(node: Node, layout: Layout, lhs: TensorArg, rhs: TensorArg, out: TensorArg) -> QuantPlan:
    if lhs.dtype == np.int8 and out.dtype == np.int32:
        kind, lhs_offset, rhs_offset = "raw_int32", 0, 0
        multiplier = shift = out_zp = 0
        qmin, qmax = -(2**31), 2**31 - 1
    else:
        node.expect_dtype(out, lhs.dtype)
        ql, qr, qo = (node.expect_quantized(t) for t in (lhs, rhs, out))
        kind = "int8" if lhs.dtype == np.int8 else "int16"
        if kind == "int16" and (ql.single_zero_point or qr.single_zero_point or qo.single_zero_point):
            raise node.error("int16 BATCH_MATMUL needs zero point 0 on lhs, rhs and output")
        # GetQuantizedConvolutionMultipler (kernel_util.cc): the scale product is rounded to float32.
        product = np.float32(np.float32(ql.single_scale) * np.float32(qr.single_scale))
        if product < 0:
            raise node.error("lhs scale * rhs scale must not be negative")
        multiplier, shift = checked_multiplier(node, float(product) / float(np.float64(qo.single_scale)), "output")
        lhs_offset, rhs_offset = -ql.single_zero_point, -qr.single_zero_point
        out_zp = qo.single_zero_point
        info = np.iinfo(out.dtype)
        qmin, qmax = int(info.min), int(info.max)

    k = lhs.shape[-2] if layout.adj_x else lhs.shape[-1]
    scale32 = None
    if kind == "int8" and node.flavor == "xnnpack":  # float32 l_s * r_s / out_s, as the delegate's qs8 BMM
        n = layout.out_shape[-1]
        scale32 = np.zeros(max(n, 1) + 64, np.float32)  # padded past any accumulator width
        scale32[:n] = xnnpack_scales(node, ql.single_scale, np.full(n, qr.single_scale, np.float32),
                                     qo.single_scale)
    if lhs.dtype == np.int8 and int_gemm.ISA is not None:
        return _int8_plan(layout, kind, lhs, rhs, lhs_offset, rhs_offset, multiplier, shift, out_zp, qmin, qmax,
                          scale32)
    bound = max_abs_offset_value(lhs.dtype, lhs_offset) * max_abs_offset_value(rhs.dtype, rhs_offset) * k
    work = exact_float_dtype(bound)
    if work is None:
        raise node.error(f"accumulation depth K = {k} is too large for an exact accumulator")
    rhs_kn, rhs_buf_shape = None, _matrix_shape(rhs.shape, layout.adj_y)
    if rhs.data is not None:
        rhs_kn = np.ascontiguousarray(_matrix_view(rhs.data, layout.adj_y).astype(np.int64) + rhs_offset,
                                      dtype=work)
        rhs_buf_shape = (0,)
    return QuantPlan(
        layout=layout, kind=kind, lhs_offset=lhs_offset, rhs_offset=rhs_offset,
        lhs_buf=np.zeros(_matrix_shape(lhs.shape, layout.adj_x), work), rhs_kn=rhs_kn,
        rhs_buf=np.zeros(rhs_buf_shape, work),
        acc_buf=np.zeros(layout.out_shape, work), scale32=scale32, multiplier=multiplier, shift=shift,
        output_zero_point=out_zp, qmin=qmin, qmax=qmax,
    )


def _int8_plan(layout: Layout, kind: str, lhs: TensorArg, rhs: TensorArg, lhs_offset: int, rhs_offset: int,
               multiplier: int, shift: int, out_zp: int, qmin: int, qmax: int,
               scale32: np.ndarray | None = None) -> Int8Plan:
    isa = int_gemm.ISA
    m, n = layout.out_shape[-2:]
    l3, r3 = _as3(lhs.shape), _as3(rhs.shape)
    k = l3[1] if layout.adj_x else l3[2]
    out_batch = layout.out_shape[:-2]
    i64 = np.dtype(np.int64)
    a_spec, acc_spec = int_gemm.a_spec(m, k, isa), int_gemm.acc_spec(m, n, isa)
    i32 = np.dtype(np.int32)
    scratch = (a_spec, ("row_sums", (a_spec[1][0],), i64), acc_spec, ("column_term", (acc_spec[1][1],), i32),
               ("row_term", (acc_spec[1][0],), i32))
    packed_shape = int_gemm.packed_buffer(n, k, isa).shape
    rhs_packed = rhs_sums = None
    if rhs.data is not None:  # [R, K, N] (or [R, N, K]) -> packed once
        matrices = [_matrix_view(rhs.data.reshape(r3)[r], not layout.adj_y) for r in range(r3[0])]  # [N, K]
        rhs_packed = np.stack([int_gemm.pack_columns(w, isa) for w in matrices]) if matrices else \
            np.zeros((0,) + packed_shape, np.int8)
        rhs_sums = np.stack([int_gemm.column_sums(w) for w in matrices]) if matrices else np.zeros((0, n), np.int64)
    else:
        scratch += (("b_packed", (1,) + packed_shape, np.dtype(np.int8)), ("b_sums", (1, n), i64))
    return Int8Plan(
        layout=layout, kind=kind, isa=isa, lhs_offset=lhs_offset, rhs_offset=rhs_offset, multiplier=multiplier,
        shift=shift, output_zero_point=out_zp, qmin=qmin, qmax=qmax, lhs_shape3=l3, rhs_shape3=r3,
        lhs_batch=_batch_map(lhs.shape, out_batch), rhs_batch=_batch_map(rhs.shape, out_batch),
        rhs_packed=rhs_packed, rhs_sums=rhs_sums, scratch=scratch, scale32=scale32,
    )


def _eval_int8(plan: Int8Plan, inputs, output: np.ndarray) -> None:
    layout = plan.layout
    m, n = layout.out_shape[-2:]
    out = output.reshape(plan.lhs_batch.size, m, n)
    if out.size == 0:
        return
    if plan.rhs_packed is None:
        a, row_sums, acc, column_term, row_term, b_packed, b_sums = int_gemm.scratch(plan.scratch)
    else:
        a, row_sums, acc, column_term, row_term = int_gemm.scratch(plan.scratch)
        b_packed, b_sums = plan.rhs_packed, plan.rhs_sums
    batch_matmul_int8(plan.isa, inputs[0].reshape(plan.lhs_shape3), inputs[1].reshape(plan.rhs_shape3),
                      plan.lhs_batch, plan.rhs_batch, layout.adj_x, layout.adj_y, plan.rhs_packed is not None,
                      a, row_sums, b_packed, b_sums, acc, column_term, row_term, plan.lhs_offset, plan.rhs_offset,
                      plan.multiplier, plan.shift, plan.output_zero_point, plan.qmin, plan.qmax,
                      plan.kind == "raw_int32", out, plan.scale32 is not None,
                      _NO_SCALES if plan.scale32 is None else plan.scale32)


def _eval_quantized(plan: QuantPlan, inputs, output: np.ndarray) -> None:
    layout = plan.layout
    lhs = plan.lhs_buf  # [..., M, K]
    np.add(_matrix_view(inputs[0], layout.adj_x), plan.lhs_offset, out=lhs, dtype=lhs.dtype)
    rhs = plan.rhs_kn
    if rhs is None:  # [..., K, N]
        rhs = plan.rhs_buf
        np.add(_matrix_view(inputs[1], layout.adj_y), plan.rhs_offset, out=rhs, dtype=rhs.dtype)
    np.matmul(lhs, rhs, out=plan.acc_buf)  # broadcast batches: [..., M, K] x [..., K, N] -> [..., M, N], exact
    acc, out = plan.acc_buf.reshape(-1), output.reshape(-1)
    if plan.scale32 is not None:  # [..., M, N] as [rows, N], no column / row terms
        n = layout.out_shape[-1]
        rows = acc.size // n
        requantize_rows_fp32(plan.acc_buf.reshape(rows, n), np.zeros(n, np.int32), np.zeros(rows, np.int32),
                             plan.scale32, plan.output_zero_point, plan.qmin, plan.qmax, output.reshape(rows, n))
    elif plan.kind == "int8":
        requantize_mbqm(acc, plan.multiplier, plan.shift, plan.output_zero_point, plan.qmin, plan.qmax, out)
    elif plan.kind == "int16":
        requantize_mbqm_int64(acc, plan.multiplier, plan.shift, plan.output_zero_point, plan.qmin, plan.qmax, out)
    else:
        wrap_to_int32(acc, out)


def _hybrid_bases(node: Node, layout: Layout, lhs_shape: tuple[int, ...], rhs_shape: tuple[int, ...],
                  asymmetric: bool) -> tuple[tuple[int, int, int], np.ndarray, np.ndarray]:
    """Where the official hybrid loop reads scaling factors and row sums, per output batch.

    batch_matmul.cc Eval first folds lhs [..., Q, R, K] into [..., Q*R, K] when rhs is [..., 1, K, N]
    (rank > 2, no adj_x), dropping rhs's 1; reference_ops::BatchMatMul then walks up to 3 batch dims
    (ExtendedShape(5)) and advances the scaling-factor pointer by M, and the row-sum pointer by N,
    per step of each batch dim the lhs (rhs) does not broadcast - without the inner dims' sizes.
    Returns the [batches, M, N] shape of that walk and both bases per batch, in output order.
    """
    adj_x = layout.adj_x
    n = layout.out_shape[-1]
    if not adj_x and len(rhs_shape) > 2 and len(lhs_shape) > 2 and rhs_shape[-3] == 1:
        lhs_shape = lhs_shape[:-3] + (lhs_shape[-3] * lhs_shape[-2], lhs_shape[-1])
        rhs_shape = rhs_shape[:-3] + rhs_shape[-2:]
    m = lhs_shape[-1] if adj_x else lhs_shape[-2]
    in_b = (1,) * (5 - len(lhs_shape)) + tuple(lhs_shape[:-2])
    w_b = (1,) * (5 - len(rhs_shape)) + tuple(rhs_shape[:-2])
    dims = [w if i == 1 else i for i, w in zip(in_b, w_b)]  # broadcast_dim
    grid = np.indices(dims).reshape(3, -1)  # output batches in row-major order
    in_steps = np.array([d != 1 for d in in_b], np.int64)
    w_steps = np.array([d != 1 for d in w_b], np.int64)
    scale_base = np.ascontiguousarray((grid * in_steps[:, None]).sum(axis=0) * m, dtype=np.int64)
    row_sum_base = np.ascontiguousarray((grid * w_steps[:, None]).sum(axis=0) * n, dtype=np.int64)
    computed = w_b[1] * w_b[2] * n  # ReductionSumVector covers extended dims 1 and 2 only
    if asymmetric and row_sum_base.size and int(row_sum_base.max()) + n > computed:
        raise node.error("asymmetric_quantize_inputs with this rhs batch layout makes the official kernel "
                         "read row sums it never computed; not supported")
    return (int(np.prod(dims)), m, n), scale_base, row_sum_base


def _prepare_hybrid(node: Node, layout: Layout, lhs: TensorArg, rhs: TensorArg, out: TensorArg) -> HybridPlan:
    """Float32 lhs, int8 rhs (batch_matmul.cc EvalHybrid)."""
    node.expect_dtype(out, np.float32)
    opts: BatchMatMulOptions = node.options
    qr = node.expect_quantized(rhs, per_tensor=False)
    n = layout.out_shape[-1]
    if qr.per_channel:  # VerifyPerChannelQuantization: more than one scale, indexed by output column
        n_axis = len(rhs.shape) - (2 if layout.adj_y else 1)
        if qr.axis != n_axis or qr.scale.size != n:
            raise node.error(f"per-channel rhs {rhs.describe()} needs {n} scales on axis {n_axis} (N), "
                             f"has {qr.scale.size} on axis {qr.axis}")
        weight_scales = np.ascontiguousarray(qr.scale, dtype=np.float32)
    else:
        weight_scales = np.full(n, qr.single_scale, np.float32)
    acc_shape3, scale_base, row_sum_base = _hybrid_bases(node, layout, tuple(lhs.shape), tuple(rhs.shape),
                                                         opts.asymmetric_quantize_inputs)
    k = lhs.shape[-2] if layout.adj_x else lhs.shape[-1]
    if k == 0:  # the official quantizer would dereference the end of an empty row
        raise node.error("hybrid BATCH_MATMUL with depth K = 0 is not supported")
    work = exact_float_dtype(128 * 128 * k)  # |q| <= 128, |w| <= 128
    if work is None:
        raise node.error(f"accumulation depth K = {k} is too large for an exact accumulator")
    lhs_mk = _matrix_shape(lhs.shape, layout.adj_x)  # [..., M, K]
    rows = int(np.prod(lhs_mk[:-1], dtype=np.int64))
    rhs_kn_shape = _matrix_shape(rhs.shape, layout.adj_y)  # [..., K, N]
    rhs_kn = row_sums = None
    if rhs.data is not None:
        rhs_kn = np.ascontiguousarray(_matrix_view(rhs.data, layout.adj_y), dtype=work)
        row_sums = weight_row_sums(np.swapaxes(rhs_kn, -1, -2)).reshape(-1)
    return HybridPlan(
        layout=layout, asymmetric=opts.asymmetric_quantize_inputs,
        lhs_buf=np.zeros(lhs_mk if layout.adj_x else (0,), np.float32), q_buf=np.zeros(lhs_mk, work),
        scaling=np.zeros(rows, np.float32), offsets=np.zeros(rows, np.int32), rhs_kn=rhs_kn,
        row_sums=row_sums, rhs_buf=np.zeros(rhs_kn_shape if rhs_kn is None else (0,), work),
        weight_scales=weight_scales, acc_buf=np.zeros(layout.out_shape, work), acc_shape3=acc_shape3,
        scale_base=scale_base, row_sum_base=row_sum_base,
    )


def _lhs_mk(plan: HybridPlan | QD8Plan, lhs: np.ndarray) -> np.ndarray:
    """The float lhs as [..., M, K]: as given, or transposed into ``plan.lhs_buf`` when adj_x."""
    if not plan.layout.adj_x:
        return lhs
    np.copyto(plan.lhs_buf, lhs.swapaxes(-1, -2))  # [..., K, M] -> [..., M, K]
    return plan.lhs_buf


def _eval_hybrid(plan: HybridPlan, inputs, output: np.ndarray) -> None:
    layout = plan.layout
    lhs = _lhs_mk(plan, inputs[0])
    k = plan.q_buf.shape[-1]
    quantize = quantize_rows_asymmetric if plan.asymmetric else quantize_rows_symmetric
    quantize(lhs.reshape(-1, k), plan.q_buf.reshape(-1, k), plan.scaling, plan.offsets)  # per row of K
    rhs, row_sums = plan.rhs_kn, plan.row_sums
    if rhs is None:  # run-time rhs -> [..., K, N]
        rhs = plan.rhs_buf
        np.copyto(rhs, _matrix_view(inputs[1], layout.adj_y))
        row_sums = weight_row_sums(np.swapaxes(rhs, -1, -2)).reshape(-1)
    np.matmul(plan.q_buf, rhs, out=plan.acc_buf)  # broadcast batches: [..., M, K] x [..., K, N], exact
    hybrid_bmm_output(plan.acc_buf.reshape(plan.acc_shape3), plan.scaling, plan.offsets, row_sums,
                      plan.weight_scales, plan.scale_base, plan.row_sum_base, output.reshape(plan.acc_shape3))


def _prepare_qd8(node: Node, layout: Layout, lhs: TensorArg, rhs: TensorArg, out: TensorArg) -> QD8Plan:
    """VisitBatchMatMulNode's dynamically quantized branch (float32 lhs, int8 rhs).

    The delegate builds the qcint8 rhs from the tensor's data when the graph is delegated, before any
    input is set: a run-time rhs has no data then, and the official XNNPACK run multiplies by zeros
    (outputs 0, or NaN / -inf where a row's scale is not finite). litelens reproduces that."""
    node.expect_dtype(out, np.float32)
    qr = node.expect_quantized(rhs, per_tensor=False)
    n = layout.out_shape[-1]
    if np.any(qr.zero_point != 0):
        raise node.error(f"the XNNPACK delegate fails to prepare this node (\"failed to update filter tensor\"): "
                         f"int8 rhs with zero point {int(qr.zero_point.flat[0])}; XNNPACK needs 0")
    if qr.per_channel:
        n_axis = len(rhs.shape) - (2 if layout.adj_y else 1)
        if qr.axis != n_axis or qr.scale.size != n:
            raise node.error(f"per-channel rhs {rhs.describe()} needs {n} scales on axis {n_axis} (N), "
                             f"has {qr.scale.size} on axis {qr.axis}")
    weight_scales = np.ascontiguousarray(qr.scale if qr.per_channel else np.full(n, qr.single_scale),
                                         dtype=np.float32)
    lhs_mk = _matrix_shape(lhs.shape, layout.adj_x)  # [..., M, K]
    rows = int(np.prod(lhs_mk[:-1], dtype=np.int64))
    rhs_kn_shape = _matrix_shape(rhs.shape, layout.adj_y)  # [..., K, N]
    if rhs.data is not None:
        rhs_kn = np.ascontiguousarray(_matrix_view(rhs.data, layout.adj_y), dtype=np.float64)
    else:
        rhs_kn = np.zeros(rhs_kn_shape, np.float64)
    out_rows = int(np.prod(layout.out_shape[:-1], dtype=np.int64))
    return QD8Plan(
        layout=layout, lhs_buf=np.zeros(lhs_mk if layout.adj_x else (0,), np.float32),
        q_buf=np.zeros(lhs_mk, np.float64), inv_scale=np.zeros(rows, np.float32),
        zero_point=np.zeros(rows, np.int32), rhs_kn=rhs_kn, acc_buf=np.zeros(layout.out_shape, np.float64),
        rows_shape=tuple(lhs_mk[:-1]), weight_scales=weight_scales, zero_bias=np.zeros(n, np.float32),
        no_zero_point=np.zeros(out_rows, np.int32), no_col_sums=np.zeros(n, np.int64),
    )


def _eval_qd8(plan: QD8Plan, inputs, output: np.ndarray) -> None:
    layout = plan.layout
    lhs = _lhs_mk(plan, inputs[0])
    k = plan.q_buf.shape[-1]
    q = plan.q_buf.reshape(-1, k)
    quantize_rows_qd8(lhs.reshape(-1, k), q, plan.inv_scale, plan.zero_point)  # per row of K
    q -= plan.zero_point[:, None]  # q - zp, exact in float64
    np.matmul(plan.q_buf, plan.rhs_kn, out=plan.acc_buf)  # [..., M, K] x [..., K, N], exact (|sum| < 2**53)
    n = layout.out_shape[-1]
    out_rows = layout.out_shape[:-1]
    inv = np.ascontiguousarray(np.broadcast_to(plan.inv_scale.reshape(plan.rows_shape), out_rows)).reshape(-1)
    qd8_output(plan.acc_buf.reshape(-1, n), plan.no_zero_point, plan.no_col_sums, inv, plan.weight_scales,
               plan.zero_bias, np.float32(-np.inf), np.float32(np.inf), output.reshape(-1, n))
