"""MUL (mul.cc): float32, int32, int64, int16 and quantized int8/uint8/int16, broadcasting, fused activation.

Quantized, Prepare: m = s1 * s2 / s_out evaluated in float32 (the scales are floats in the official
code), then (M, shift) = QuantizeMultiplier(m). Eval: MBQM((x1 - z1) * (x2 - z2), M, shift) + z_out,
clamped. int16 requires zero points 0 (the product then fits in int32).

Kernel paths: ``optimized`` 8-bit MUL runs the NEON blocks (kernels/neon_add.py ``neon_mul_8bit``:
int16-saturated product, output offset added wrapping in int16); ``xnnpack`` 8-bit: XNNPACK's qs8/qu8
vmul, fp32 requantization on x86-64, rndnu fixed point on ARM64 (kernels/xnnpack_elementwise.py).

Every 8-bit path runs ``kernels/binary_int8.py`` ``mul_8bit``: the requantization as one exact integer
step built at Prepare (or XNNPACK's float one) per element, vectorised, with no table. Parameters
outside that form (a product that would wrap or saturate when shifted left) run the element kernels
named above.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.kernels import binary_int8 as b8
from litelens.kernels import elementwise as k
from litelens.kernels import neon_add
from litelens.kernels import xnnpack_elementwise as xk
from litelens.ops.activation_fn import NONE
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.common import checked_multiplier
from litelens.ops.binary_common import (
    BinaryParams, Operands, activation_of, code_range, f32, float_activation_range, integer_activation_range,
    prepare_operands, quantized_range, run_binary, scale_and_zero_point, xnnpack_activation_problem,
    xnnpack_binary_rejects, xnnpack_float_activation_range,
)
from litelens.ops.registry import register

DTYPES = (np.float32, np.int32, np.int64, np.int8, np.uint8, np.int16)


@dataclass(frozen=True)
class QuantizedMul:
    offset1: int
    offset2: int
    out_multiplier: int
    out_shift: int
    out_offset: int
    act_min: int
    act_max: int


@dataclass(frozen=True)
class XnnpackMul:
    """XNNPACK qs8 vmul fp32: rne(float32((x1 - zp1) * (x2 - zp2)) * scale) + zp_out, clamped."""

    zero_point1: int
    zero_point2: int
    scale: float  # float32(s1 * s2) / s_out in float32
    out_zero_point: int
    act_min: int
    act_max: int


XNNPACK_SCALE_MIN, XNNPACK_SCALE_MAX = np.float32(1.0 / 65536.0), np.float32(256.0)


@register("MUL")
class Mul(Op):
    def parse_options(self, raw) -> int:
        return activation_of(raw)

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitBinaryNode`` for MUL: float or per-tensor int8/uint8, one type, ranks <= 6,
        (s1 * s2) / s_out (float32) in [1/65536, 256), activation NONE/RELU/RELU_N1_TO_1/RELU6."""
        problem = xnnpack_binary_rejects(node, quantized_8bit=True)
        if problem:
            return problem
        x1, x2, out = node.inputs[0], node.inputs[1], node.outputs[0]
        if out.dtype in (np.int8, np.uint8):
            ratio = xk.qs8_mul_scale(x1.quantization.scale[0], x2.quantization.scale[0], out.quantization.scale[0])
            if not (ratio >= XNNPACK_SCALE_MIN and not ratio >= XNNPACK_SCALE_MAX):
                return f"(s1 * s2) / s_out = {float(ratio):.6g} is outside the delegate's [1/65536, 256)"
        return xnnpack_activation_problem(NONE if node.options is None else node.options)

    @staticmethod
    def _optimized_8bit(ops, q: QuantizedMul, dtype) -> BinaryParams:
        """The optimized 8-bit MUL's NEON blocks (kernels/neon_add.py ``neon_mul_8bit``): lane modes
        from the five-fold broadcast, 16 lanes (int8) or 8 (uint8) in both loops; as steps when it can."""
        uint8 = dtype == np.uint8
        lanes = 8 if uint8 else 16
        modes = neon_add.add_lane_modes(ops.x1.shape, ops.x2.shape, ops.plan.size, lanes, lanes)
        period, vector_end, kind = b8.lane_pattern(modes)
        # the vector lanes narrow the product to int16: vqmovn_s32 saturates, except in uint8's
        # MulSimpleBroadcast (vmovn_s32: wraps); the zero point is added wrapping (vaddq_s16)
        saturate = None if uint8 and kind == neon_add.BROADCAST else True
        step = _mbqm_step(ops, q.offset1, q.offset2, q.out_multiplier, q.out_shift)
        if step is not None:
            r_lo, r_hi = step.range_over(*_product_range(ops, q.offset1, q.offset2))
            if -32768 <= min(r_lo, r_lo + q.out_offset) and max(r_hi, r_hi + q.out_offset) <= 32767:
                # the int16 narrowing and wrapping cannot change a product: the lanes compute as the scalar code
                return Mul._reference(ops, q, dtype)
        # SCALAR lanes: the scalar code; VECTOR lanes: [saturate,] add the zero point wrapping in int16
        made = [step and b8.mul_constants((q.offset1, q.offset2), step, code_range(dtype), q.out_offset,
                                          (q.act_min, q.act_max), sat, fold=False, wrap=wrap)
                for sat, wrap in [(b8.NO_SATURATION, 0),
                                  (b8.INT16_SATURATION if saturate else b8.NO_SATURATION, b8.WRAP_INT16)]]
        if made[0] is not None and made[1] is not None:
            rows = np.array([made[0][0], made[1][0]], np.int64)
            rows.setflags(write=False)
            full = b8.full_range(dtype, q.act_min, q.act_max)
            args = (rows, period, vector_end, q.out_offset, True, full, None)
            return BinaryParams(ops.plan, b8.mul_8bit, args, q)
        info = np.iinfo(dtype)
        tail = (q.offset1, q.offset2, q.out_multiplier, q.out_shift, q.out_offset, q.act_min, q.act_max,
                int(info.min), int(info.max), uint8)
        modes.setflags(write=False)
        return BinaryParams(ops.plan, neon_add.neon_mul_8bit, (modes, 0, *tail), q)

    @staticmethod
    def _reference(ops, q: QuantizedMul, dtype) -> BinaryParams:
        """reference/integer_ops/mul.h: 8-bit as a step, int16 (and 8-bit parameters outside the steps'
        form) element by element (kernels/elementwise.py ``quantized_mul``)."""
        if dtype != np.int16:
            step = _mbqm_step(ops, q.offset1, q.offset2, q.out_multiplier, q.out_shift)
            made = step and b8.mul_constants((q.offset1, q.offset2), step, code_range(dtype), q.out_offset,
                                             (q.act_min, q.act_max), fold=True)
            if made is not None:
                rows = np.array([made[0]] * 2, np.int64)
                rows.setflags(write=False)
                full = b8.full_range(dtype, q.act_min, q.act_max)
                return BinaryParams(ops.plan, b8.mul_8bit, (rows, b8.UNIFORM, 0, made[1], None, full, None), q)
        args = (q.offset1, q.offset2, q.out_multiplier, q.out_shift, q.out_offset, q.act_min, q.act_max)
        return BinaryParams(ops.plan, k.quantized_mul, args, q)

    @staticmethod
    def _xnnpack_8bit(ops, q: XnnpackMul, s1: float, s2: float, so: float, arm64: bool) -> BinaryParams:
        """XNNPACK qs8/qu8 vmul: x86-64 fp32 requantization (``fscale``), ARM64 rndnu as a step."""
        z1, z2, zo, lo, hi = q.zero_point1, q.zero_point2, q.out_zero_point, q.act_min, q.act_max
        codes = code_range(ops.x1.dtype)
        fscale, made = None, None
        if arm64:  # ARM NEON kernels requantize in fixed point (rndnu), not in float
            m, pre, post = xk.qs8_mul_rndnu_params(s1, s2, so)
            # sat(p << pre) (no saturation: checked here), floor(2 p M / 2**32), rounding >> post
            step = b8.floor_step(m, pre, 1 << (30 + post), 31 + post)
            p_lo, p_hi = _product_range(ops, -z1, -z2)
            if step is not None and max(abs(p_lo), abs(p_hi)) << pre < 2**31:
                made = b8.mul_constants((-z1, -z2), step, codes, zo, (lo, hi), fold=True)
            if made is None:
                return BinaryParams(ops.plan, xk.qs8_mul_rndnu, (z1, z2, m, pre, post, zo, lo, hi), q)
        else:
            fscale = np.float32(q.scale)
            made = b8.mul_constants((-z1, -z2), None, codes, zo, (lo, hi), fold=False)
        rows = np.array([made[0]] * 2, np.int64)
        rows.setflags(write=False)
        full = b8.full_range(ops.out.dtype, lo, hi)
        return BinaryParams(ops.plan, b8.mul_8bit, (rows, b8.UNIFORM, 0, made[1], None, full, fscale), q)

    def prepare(self, node: Node) -> Prepared:
        activation = NONE if node.options is None else node.options
        ops = prepare_operands(node, DTYPES)
        dtype = ops.x1.dtype
        quantized = [t.quantization is not None for t in (ops.x1, ops.x2, ops.out)]
        if dtype == np.float32:
            if node.flavor == "xnnpack":
                bounds = xnnpack_float_activation_range(activation)
                params = BinaryParams(ops.plan, xk.float_binary_ftz, (k.MUL, *bounds))
            else:
                params = BinaryParams(ops.plan, k.float_binary, (k.MUL, *float_activation_range(activation)))
        elif node.flavor == "xnnpack" and dtype in (np.int8, np.uint8):
            s1, z1 = scale_and_zero_point(node, ops.x1)
            s2, z2 = scale_and_zero_point(node, ops.x2)
            so, zo = scale_and_zero_point(node, ops.out)
            scale = xk.qs8_mul_scale(s1, s2, so)
            info = np.iinfo(dtype)
            lo, hi = xk.xnnpack_activation_range(activation, so, zo, int(info.min), int(info.max))
            q = XnnpackMul(z1, z2, float(scale), zo, lo, hi)
            params = self._xnnpack_8bit(ops, q, s1, s2, so, node.arch == "arm64")
        elif dtype in (np.int32, np.int64) or (dtype == np.int16 and not any(quantized)):
            lo, hi = integer_activation_range(activation, dtype)
            params = BinaryParams(ops.plan, k.integer_binary, (k.MUL, lo, hi, 8 * dtype.itemsize))
        elif not all(quantized):
            raise node.error(f"{dtype.name} inputs and output must all be quantized or all unquantized")
        else:
            int16 = dtype == np.int16
            s1, z1 = scale_and_zero_point(node, ops.x1, zero_point_must_be_zero=int16)
            s2, z2 = scale_and_zero_point(node, ops.x2, zero_point_must_be_zero=int16)
            so, zo = scale_and_zero_point(node, ops.out, zero_point_must_be_zero=int16)
            multiplier, shift = checked_multiplier(node, f32(f32(s1 * s2) / so), "output")
            lo, hi = quantized_range(node, activation, ops.out)
            q = QuantizedMul(-z1, -z2, multiplier, shift, zo, lo, hi)
            if node.flavor != "reference" and not int16:
                params = self._optimized_8bit(ops, q, dtype)
            else:
                params = self._reference(ops, q, dtype)
        return Prepared(params, [ops.plan.out_shape])

    def eval(self, params: BinaryParams, inputs, outputs) -> None:
        run_binary(params, inputs, outputs)


def _product_range(ops: Operands, offset1: int, offset2: int) -> tuple[int, int]:
    """Smallest and largest (x1 + offset1) * (x2 + offset2) over all codes."""
    lo, hi = code_range(ops.x1.dtype)
    ends = [(a + offset1) * (b + offset2) for a in (lo, hi) for b in (lo, hi)]
    return min(ends), max(ends)


def _mbqm_step(ops: Operands, offset1: int, offset2: int, multiplier: int, shift: int) -> b8.Step | None:
    """MultiplyByQuantizedMultiplier(p, M, shift) of the 8-bit product p as a step in p, or None when
    p << shift could wrap int32 (or the step is outside the form)."""
    p_lo, p_hi = _product_range(ops, offset1, offset2)
    left, right = max(shift, 0), max(-shift, 0)
    if max(abs(p_lo), abs(p_hi)) << left >= 2**31:
        return None
    step = b8.rounding_step(multiplier, left, right)
    return step if step is not None and step.fits(p_lo, p_hi) else None

