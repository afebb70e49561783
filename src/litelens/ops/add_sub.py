"""ADD and SUB (add.cc, sub.cc): float32, int32, int64, int16 and quantized int8/uint8/int16, with
NumPy broadcasting and a fused activation.

Quantized general path (int8, and int16 unless the power-of-two path applies), Prepare:
  left_shift = 20 (8-bit) or 15 (16-bit); t = 2 * max(s1, s2);
  (M_k, s_k) = QuantizeMultiplierSmallerThanOneExp(s_k / t);
  (M_out, s_out) from t / (2**left_shift * s_out) — below one for ADD (else the official kernel aborts);
  SUB takes QuantizeMultiplierGreaterThanOne when it exceeds one.
int16 power-of-two path: with pot_scale_int16 set and every scale a power of two, each input is
rounding-shifted to the output scale and the two are added with int16 saturation.

Kernel paths: ``optimized`` 8-bit ADD runs the NEON blocks of optimized_ops / optimized_integer_ops
(kernels/neon_add.py; NEON_2_SSE on x86-64) with per-element lane modes, same-shape int16 ADD the
NEON AddElementwiseInt16; optimized SUB computes as the reference. ``xnnpack`` (8-bit, float):
XNNPACK's qs8/qu8 vadd (kernels/xnnpack_elementwise.py) when ``xnnpack_rejects`` passes, float with
flush-to-zero and no FLT_MAX clamp.

Every 8-bit path computes per element, vectorised, with no table (``kernels/binary_int8.py``): each
chain of roundings becomes one exact integer step built here at Prepare (``_int8_steps``,
``add_sub_8bit``), and when the op's outputs on all 65536 input pairs fit a one-rounding linear form
(most do; XNNPACK's vadd is one), that form runs instead (``add_linear_8bit``). The few parameter sets
outside the steps' form (SUB with an output multiplier above one, shifts out of range) run the element
kernels those docstrings describe.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from litelens.kernels import binary_int8 as b8
from litelens.kernels import elementwise as k
from litelens.kernels import neon_add
from litelens.kernels import xnnpack_elementwise as xk
from litelens.kernels.broadcast import plan_broadcast
from litelens.kernels.fixedpoint import quantize_multiplier
from litelens.ops.activation_fn import NONE
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.binary_common import (
    BinaryParams, Operands, code_range, f32, float_activation_range, integer_activation_range,
    multiplier_below_one, prepare_operands, quantized_range, run_binary, scale_and_zero_point,
    xnnpack_activation_problem, xnnpack_binary_rejects, xnnpack_float_activation_range,
)
from litelens.ops.registry import register

DTYPES = (np.float32, np.int32, np.int64, np.int8, np.uint8, np.int16)


@dataclass(frozen=True)
class AddSubOptions:
    activation: int = NONE
    pot_scale_int16: bool = False  # a model without an options table runs the general int16 path


@dataclass(frozen=True)
class QuantizedAddSub:
    """What the general quantized kernel computes with (offsets are minus the zero points)."""

    offset1: int
    multiplier1: int
    shift1: int
    offset2: int
    multiplier2: int
    shift2: int
    left_shift: int
    sign: int  # +1 ADD, -1 SUB
    out_multiplier: int
    out_shift: int
    out_offset: int
    act_min: int
    act_max: int
    vector_count: int = 0  # leading outputs computed as the official SSE2 loop does (SUB, s_out > 0)


@dataclass(frozen=True)
class PowerOfTwoAddSub:
    right_shift1: int
    right_shift2: int
    sign: int
    act_min: int
    act_max: int


def checked_log2(x: float) -> tuple[bool, int]:
    """``CheckedLog2`` (quantization_util.cc): (is x a power of two within 1e-3 in log2, rounded log2)."""
    log2 = float(np.float32(np.log(np.float32(x)) * np.float32(1.0 / np.log(np.float32(2.0)))))
    rounded = math.copysign(math.floor(abs(log2) + 0.5), log2)
    return abs(log2 - rounded) < 1e-3, int(rounded)


@dataclass(frozen=True)
class XnnpackAddSub:
    """XNNPACK qs8 add (kernels/xnnpack_elementwise.py): ((bias + m1 x1 + m2 x2) >> shift) + zp_out."""

    bias: int
    multiplier1: int
    multiplier2: int
    shift: int
    out_zero_point: int
    act_min: int
    act_max: int


# XNNPACK's limits on input scale / output scale for ADD and SUB (VisitBinaryNode).
XNNPACK_SCALE_MIN, XNNPACK_SCALE_MAX = np.float32(1.0 / 1024.0), np.float32(256.0)


class _AddSub(Op):
    sign = 1

    def parse_options(self, raw) -> AddSubOptions:
        if raw is None:
            return AddSubOptions()
        return AddSubOptions(int(raw.FusedActivationFunction()), bool(raw.PotScaleInt16()))

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitBinaryNode`` for ADD/SUB: float or per-tensor int8/uint8, one type, ranks <= 6,
        each input scale / output scale (float32) in [1/1024, 256), activation NONE/RELU/RELU_N1_TO_1/RELU6."""
        problem = xnnpack_binary_rejects(node, quantized_8bit=True)
        if problem:
            return problem
        out = node.outputs[0]
        if out.dtype in (np.int8, np.uint8):
            so = np.float32(out.quantization.scale[0])
            for k, t in enumerate(node.inputs[:2]):
                with np.errstate(all="ignore"):
                    ratio = np.float32(np.float32(t.quantization.scale[0]) / so)
                if not (ratio >= XNNPACK_SCALE_MIN and not ratio >= XNNPACK_SCALE_MAX):
                    return (f"input {k + 1} scale / output scale = {float(ratio):.6g} is outside the delegate's "
                            "[1/1024, 256)")
        options = node.options or AddSubOptions()
        return xnnpack_activation_problem(options.activation)

    def prepare(self, node: Node) -> Prepared:
        ops = prepare_operands(node, DTYPES)
        dtype = ops.x1.dtype
        activation = node.options.activation
        op = k.ADD if self.sign > 0 else k.SUB
        quantized = [t.quantization is not None for t in (ops.x1, ops.x2, ops.out)]
        if dtype == np.float32:
            if node.flavor == "xnnpack":
                bounds = xnnpack_float_activation_range(activation)
                params = BinaryParams(ops.plan, xk.float_binary_ftz, (op, *bounds))
            else:
                params = BinaryParams(ops.plan, k.float_binary, (op, *float_activation_range(activation)))
        elif node.flavor == "xnnpack" and dtype in (np.int8, np.uint8):
            params = self._prepare_xnnpack(node, ops)
        elif dtype in (np.int32, np.int64) or (dtype == np.int16 and not any(quantized)):
            if dtype == np.int16 and self.sign < 0:
                raise node.error("SUB of unquantized int16 is not supported by the official kernel")
            lo, hi = integer_activation_range(activation, dtype)
            params = BinaryParams(ops.plan, k.integer_binary, (op, lo, hi, 8 * dtype.itemsize))
        elif not all(quantized):
            raise node.error(f"{dtype.name} inputs and output must all be quantized or all unquantized")
        elif dtype == np.int16 and node.options.pot_scale_int16 and self._all_pot(node, ops):
            params = self._prepare_pot(node, ops)
        else:
            params = self._prepare_general(node, ops)
        return Prepared(params, [ops.plan.out_shape])

    @staticmethod
    def _all_pot(node: Node, ops: Operands) -> bool:
        scales = [scale_and_zero_point(node, t, zero_point_must_be_zero=True)[0] for t in (ops.x1, ops.x2, ops.out)]
        return all(checked_log2(scale)[0] for scale in scales)

    def _prepare_general(self, node: Node, ops: Operands) -> BinaryParams:
        int16 = ops.x1.dtype == np.int16
        s1, z1 = scale_and_zero_point(node, ops.x1, zero_point_must_be_zero=int16)
        s2, z2 = scale_and_zero_point(node, ops.x2, zero_point_must_be_zero=int16)
        so, zo = scale_and_zero_point(node, ops.out, zero_point_must_be_zero=int16)
        left_shift = 15 if int16 else 20
        twice_max = 2.0 * max(s1, s2)
        m1, sh1 = multiplier_below_one(node, s1 / twice_max, "input 1")
        m2, sh2 = multiplier_below_one(node, s2 / twice_max, "input 2")
        real_out = twice_max / f32((1 << left_shift) * so)
        if self.sign < 0 and real_out > 1.0:  # QuantizeMultiplierGreaterThanOne
            mo, sho = quantize_multiplier(real_out)
        else:
            mo, sho = multiplier_below_one(node, real_out, "output")
        lo, hi = quantized_range(node, node.options.activation, ops.out)
        q = QuantizedAddSub(-z1, m1, sh1, -z2, m2, sh2, left_shift, self.sign, mo, sho, zo, lo, hi,
                            self._vector_count(ops, sho))
        args = (q.offset1, q.multiplier1, q.shift1, q.offset2, q.multiplier2, q.shift2, q.left_shift,
                q.sign, q.out_multiplier, q.out_shift, q.out_offset, q.act_min, q.act_max, q.vector_count)
        if int16:
            if node.flavor != "reference" and self.sign > 0 and ops.x1.shape == ops.x2.shape:
                # AddElementwiseInt16's NEON block (same shapes; a broadcast runs the reference loop)
                return BinaryParams(ops.plan, _same_shape_int16_add, (q,), q)
            return BinaryParams(ops.plan, k.quantized_add_sub, args, q)
        optimized = node.flavor != "reference" and self.sign > 0
        steps = self._int8_steps(ops, q, optimized)
        if steps is not None:
            # real slopes of out in x1 and x2 (s_k / s_out), from the integer multipliers
            out_scale = q.out_multiplier * 2.0**(q.out_shift - 31) * 2.0**left_shift
            slopes = (q.multiplier1 * 2.0**(q.shift1 - 31) * out_scale,
                      self.sign * q.multiplier2 * 2.0**(q.shift2 - 31) * out_scale)
            return _linear_form_of(ops, steps, slopes, q.act_min, q.act_max) or steps
        if optimized:
            return self._optimized_8bit_add(ops, q)
        return BinaryParams(ops.plan, k.quantized_add_sub, args, q)

    def _int8_steps(self, ops: Operands, q: QuantizedAddSub, optimized: bool) -> BinaryParams | None:
        """``add_sub_8bit`` for the reference (SCALAR lanes only) or the optimized ADD (its NEON lane
        pattern): s = c x_lin + step(x_other) with x_lin the input rescaled by exactly 1/2 (M = 2**30,
        shift 0: the one with the larger scale), out = finish(step_out(s)). None when a chain is outside
        the steps' form (SUB's output multiplier above one, an input shift below -20 in the NEON lanes)."""
        lin = next((k for k, (m, sh) in enumerate([(q.multiplier1, q.shift1), (q.multiplier2, q.shift2)])
                    if m == 1 << 30 and sh == 0), None)
        if lin is None or q.out_shift > 0:
            return None
        kinds = {b8.SCALAR: neon_add.SCALAR}
        period, vector_end = b8.UNIFORM, 0
        if optimized:
            uint8 = ops.x1.dtype == np.uint8
            modes = neon_add.add_lane_modes(ops.x1.shape, ops.x2.shape, ops.plan.size, 8, 8 if uint8 else 16)
            if uint8:  # uint8's elementwise loop computes as the scalar-broadcast one
                modes[modes == neon_add.ELEMENTWISE] = neon_add.BROADCAST
            period, vector_end, vector_kind = b8.lane_pattern(modes)
            kinds[b8.VECTOR] = vector_kind
        rows = np.zeros((2, len(b8.ADD_FIELDS)), np.int64)
        zero_point = q.out_offset
        for row, kind in kinds.items():
            steps = [self._input_step(kind, o, m, sh, q.left_shift)
                     for o, m, sh in [(q.offset1, q.multiplier1, q.shift1), (q.offset2, q.multiplier2, q.shift2)]]
            out_step = b8.rounding_step(q.out_multiplier, 0, -q.out_shift)
            other = 1 - lin
            if steps[other] is None or out_step is None:
                return None
            signs = (1, self.sign)
            c = signs[lin] << (q.left_shift - 1)  # (x + offset) * 2**19, the sign of its operand
            step = steps[other].negated() if signs[other] < 0 else steps[other]
            step = step.plus(c * (q.offset1, q.offset2)[lin])
            wrap = b8.WRAP_INT16 if row == b8.VECTOR else 0  # vmovn_s32 + vaddq_s16: the sum wraps in int16
            made = b8.add_constants(c, step, out_step, code_range(ops.x1.dtype), q.out_offset,
                                    (q.act_min, q.act_max), fold=not optimized, wrap=wrap)
            if made is None:
                return None
            rows[row], zero_point = made
        rows.setflags(write=False)
        return BinaryParams(ops.plan, b8.add_sub_8bit, (rows, period, vector_end, zero_point), q, swap=lin == 1)

    @staticmethod
    def _input_step(kind: int, offset: int, multiplier: int, shift: int, left_shift: int) -> b8.Step | None:
        """One input's rescaling as a step in its code: the reference chain RDBPOT(SRDHM((x + offset)
        << 20, M), -shift) (SCALAR lanes), or a NEON lane's: ELEMENTWISE SRDHM((x + offset) << (20 + shift),
        M) (a negative total shift, truncating first, is outside the form), BROADCAST SRDHM((x + offset)
        << 20, M) >> -shift (truncating)."""
        if kind == neon_add.ELEMENTWISE:
            return b8.rounding_step(multiplier, left_shift + shift, 0, offset)
        rounding = b8.FLOOR if kind == neon_add.BROADCAST else b8.AWAY
        return b8.rounding_step(multiplier, left_shift, -shift, offset, rounding)

    def _prepare_xnnpack(self, node: Node, ops: Operands) -> BinaryParams:
        s1, z1 = scale_and_zero_point(node, ops.x1)
        s2, z2 = scale_and_zero_point(node, ops.x2)
        so, zo = scale_and_zero_point(node, ops.out)
        bias, m1, m2, shift = xk.qs8_add_params(s1, z1, s2, z2, so, self.sign)
        info = np.iinfo(ops.x1.dtype)
        lo, hi = xk.xnnpack_activation_range(node.options.activation, so, zo, int(info.min), int(info.max))
        q = XnnpackAddSub(bias, m1, m2, shift, zo, lo, hi)
        # s = m1 x1 + (m2 x2 + bias) (int32); out = (s >> shift) + zp_out, clamped
        # already one rounding: ((bias + m1 x1 + m2 x2) >> shift) + zp = (m1 x1 + m2 x2 + bias') >> shift
        lo_code, hi_code = code_range(ops.x1.dtype)
        widest = abs(bias) + max(abs(lo_code), abs(hi_code)) * (abs(m1) + abs(m2))
        if widest >= 2**31 or max(abs(m1), abs(m2)) >= 2**31:  # the int32 accumulator could wrap
            return BinaryParams(ops.plan, xk.qs8_add, (bias, m1, m2, shift, zo, lo, hi), q)
        rows = np.array([(m1, m2, bias + (zo << shift), shift, lo, hi)] * 2, np.int64)
        rows.setflags(write=False)
        full = b8.full_range(ops.out.dtype, lo, hi)
        return BinaryParams(ops.plan, b8.add_linear_8bit, (rows, b8.UNIFORM, 0, full), q)

    def _optimized_8bit_add(self, ops: Operands, q: QuantizedAddSub) -> BinaryParams:
        """The optimized 8-bit ADD's NEON blocks element by element (kernels/neon_add.py ``neon_add_8bit``;
        NEON_2_SSE on x86-64, the same integers natively on ARM64): one lane mode per output element.
        Only for parameters ``_int8_steps`` cannot express."""
        uint8 = ops.x1.dtype == np.uint8
        modes = neon_add.add_lane_modes(ops.x1.shape, ops.x2.shape, ops.plan.size, 8, 8 if uint8 else 16)
        if uint8:  # uint8's elementwise loop computes as the scalar-broadcast one
            modes[modes == neon_add.ELEMENTWISE] = neon_add.BROADCAST
        info = np.iinfo(ops.x1.dtype)
        tail = (q.offset1, q.multiplier1, q.shift1, q.offset2, q.multiplier2, q.shift2, q.left_shift,
                q.out_multiplier, q.out_shift, q.out_offset, q.act_min, q.act_max, int(info.min), int(info.max))
        modes.setflags(write=False)
        return BinaryParams(ops.plan, neon_add.neon_add_8bit, (modes, 0, *tail), q)

    @staticmethod
    def _vector_count(ops: Operands, out_shift: int) -> int:
        """How many leading outputs the official x86-64 wheel computes in its SSE2 loop (4 lanes) when
        SUB's output shift is positive and so out of range: only the non-broadcast path (shapes equal
        once padded to the same rank) is vectorised; its last size % 4 elements run scalar code."""
        if out_shift <= 0:
            return 0
        rank = max(len(ops.x1.shape), len(ops.x2.shape))
        pad = lambda s: (1,) * (rank - len(s)) + tuple(s)  # noqa: E731
        if pad(ops.x1.shape) != pad(ops.x2.shape):
            return 0
        return ops.plan.size - ops.plan.size % 4

    def _prepare_pot(self, node: Node, ops: Operands) -> BinaryParams:
        log1, log2, logo = (checked_log2(t.quantization.single_scale)[1] for t in (ops.x1, ops.x2, ops.out))
        shift1, shift2 = log1 - logo, log2 - logo
        if not (shift1 == 0 or shift2 == 0) or shift1 > 0 or shift2 > 0:
            raise node.error(f"power-of-two int16 path: input scales 2**{log1}, 2**{log2} and output scale "
                             f"2**{logo}: one input must have the output scale and the other a smaller one")
        if self.sign > 0 and ops.x1.shape != ops.x2.shape:
            raise node.error("power-of-two int16 ADD does not broadcast in the official kernel")
        lo, hi = quantized_range(node, node.options.activation, ops.out)
        q = PowerOfTwoAddSub(-shift1, -shift2, self.sign, lo, hi)
        return BinaryParams(ops.plan, k.pot_add_sub_int16, (q.right_shift1, q.right_shift2, q.sign, lo, hi), q)

    def eval(self, params: BinaryParams, inputs, outputs) -> None:
        run_binary(params, inputs, outputs)


def _same_shape_int16_add(out, x1, x2, loops, strides1, strides2, q: QuantizedAddSub) -> None:
    """Adapter: the int16 kernel walks flat same-shape arrays (no broadcast plan needed)."""
    neon_add.neon_add_int16(out, x1, x2, q.offset1, q.multiplier1, q.shift1, q.offset2, q.multiplier2, q.shift2,
                              q.left_shift, q.out_multiplier, q.out_shift, q.out_offset, q.act_min, q.act_max)


@register("ADD")
class Add(_AddSub):
    sign = 1


@register("SUB")
class Sub(_AddSub):
    sign = -1



def _linear_form_of(ops: Operands, steps: BinaryParams, slopes: tuple[float, float], act_min: int,
                    act_max: int) -> BinaryParams | None:
    """``add_linear_8bit`` computing what ``steps`` (an ``add_sub_8bit`` params) computes, when its outputs
    on all 65536 input pairs fit one rounding of a linear form (``kernels/binary_int8.py``
    ``linear_form``), for each lane kind it uses; else None. Exact by construction: the form is fitted
    to those outputs."""
    rows, period, vector_end = steps.args[0], steps.args[1], steps.args[2]
    kinds = [b8.SCALAR] if vector_end == 0 else [b8.VECTOR] if vector_end >= period else [b8.SCALAR, b8.VECTOR]
    x1, x2 = b8.all_pairs(ops.x1.dtype)
    pairs = plan_broadcast(x1.shape, x2.shape, x1.shape)
    form = np.zeros((2, len(b8.LINEAR_FIELDS)), np.int64)
    for kind in kinds:
        targets = np.empty(x1.size, ops.x1.dtype)
        lanes = (b8.UNIFORM, 0) if kind == b8.SCALAR else (b8.UNIFORM, b8.UNIFORM)
        a, b = (x2, x1) if steps.swap else (x1, x2)
        steps.kernel(targets, a, b, pairs.loops, pairs.strides1, pairs.strides2, rows, *lanes, *steps.args[3:])
        found = b8.linear_form(targets, x1, x2, *slopes, (act_min, act_max))
        if found is None:
            return None
        form[kind] = (*found, act_min, act_max)
        if len(kinds) == 1:
            form[1 - kind] = form[kind]
    form.setflags(write=False)
    full = b8.full_range(ops.out.dtype, act_min, act_max)
    return BinaryParams(ops.plan, b8.add_linear_8bit, (form, period, vector_end, full), steps.arithmetic)
