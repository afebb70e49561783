"""The arithmetic of one output element, op by op, as the official reference kernels compute it.

Each explainer receives the op's node, Prepare params, input codes and the output element, appends
:class:`Step` records (label, value, what the step does) and returns the output it recomputes; see
:mod:`litelens.inspect.explain` for the entry point. Every step calls the same fixed-point primitives
as litelens's kernels (``litelens.kernels.fixedpoint``, ``gemmlowp``, ``lut``, ...).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import numpy as np

from litelens.kernels import lut
from litelens.kernels import softmax as softmax_kernels
from litelens.kernels.batch_matmul import multiply_by_quantized_multiplier_int64
from litelens.kernels.fixedpoint import (
    multiply_by_quantized_multiplier, quantize_multiplier, rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul, wrap_int32,
)
from litelens.kernels.fully_connected import double_to_int32, round_half_away as round_half_away_double
from litelens.kernels.gemmlowp import (count_leading_sign_bits32, get_reciprocal as div_reciprocal,
                                       rounding_divide_by_pot_sse, rounding_divide_by_pot_x86)
from litelens.kernels.rsqrt import inv_sqrt_multiplier_exp


@dataclass
class Step:
    """One step of an explanation: what it computes, the value, and how."""

    label: str
    value: Any
    detail: str = ""


@dataclass
class Context:
    """What an explainer reads: the node, its Prepare params, its input codes, its output, the element."""

    node: Any
    params: Any
    inputs: list[np.ndarray | None]
    output: np.ndarray
    element: tuple[int, ...]

    @property
    def flat(self) -> int:
        return int(np.ravel_multi_index(self.element, self.output.shape)) if self.output.ndim else 0

    def operand(self, i: int) -> int:
        """The code of input i that output ``element`` reads (NumPy broadcasting)."""
        return int(np.broadcast_to(self.inputs[i], self.output.shape)[self.element])


EXPLAINERS: dict[str, Callable[[Context, list[Step]], Any]] = {}


def explains(*opcodes):
    def wrap(fn):
        for opcode in opcodes:
            EXPLAINERS[opcode] = fn
        return fn

    return wrap


def _i(x) -> int:
    return int(x)


def _clamp(steps: list[Step], raw: int, lo: int, hi: int, what: str = "clamp") -> int:
    out = min(max(raw, lo), hi)
    detail = "saturated" if out != raw else "within range"
    steps.append(Step(f"{what} to [{lo}, {hi}]", out, detail))
    return out


def _mbqm(steps: list[Step], x: int, multiplier: int, shift: int) -> int:
    """MultiplyByQuantizedMultiplier (common.h) with each of its two roundings as a step."""
    real = multiplier * 2.0 ** (shift - 31)
    steps.append(Step("value before rounding", x * real, f"{x} x M {multiplier} x 2^({shift} - 31) = {x} x {real:.9g}"))
    left, right = max(shift, 0), max(-shift, 0)
    shifted = _i(wrap_int32(x << left))
    if left:
        steps.append(Step(f"x << {left}", shifted, "left shift of the multiplier exponent, int32"))
    high = _i(saturating_rounding_doubling_high_mul(shifted, multiplier))
    steps.append(Step(f"SRDHM(x, {multiplier})", high, "x*M / 2^31 rounded to nearest, ties away from zero"))
    out = _i(rounding_divide_by_pot(high, right))
    steps.append(Step(f"RoundingDivideByPOT(., {right})", out, "/ 2^right rounded to nearest, ties away from zero"))
    assert out == _i(multiply_by_quantized_multiplier(x, multiplier, shift))
    return out


def _not_integer(ctx: Context, what: str = "") -> None:
    raise NotImplementedError(what or f"{ctx.node.opcode} here is not an integer-quantized op: no integer arithmetic")


# ---------------------------------------------------------------------- FULLY_CONNECTED
@explains("FULLY_CONNECTED")
def _fully_connected(ctx: Context, steps: list[Step]):
    plan = ctx.params
    if not hasattr(plan, "output_zero_point"):
        _not_integer(ctx)
    geo = plan.geo
    b, n = divmod(ctx.flat, geo.n)
    x = ctx.inputs[0].reshape(geo.batch, geo.k)[b].astype(np.int64)
    w = ctx.inputs[1].reshape(geo.n, geo.k)[n].astype(np.int64)
    bias = 0 if len(ctx.inputs) < 3 or ctx.inputs[2] is None else _i(ctx.inputs[2].reshape(-1)[n])
    steps.append(Step(f"input row x[{b}, :]", x, f"{geo.k} codes; input offset {plan.input_offset} (= -zero point)"))
    note = "per-channel weights: symmetric, zero point ignored" if plan.weights_offset == 0 else "per-tensor weights"
    steps.append(Step(f"weights row w[{n}, :]", w, f"weights offset {plan.weights_offset}; {note}"))
    acc = _i(((w + plan.weights_offset) * (x + plan.input_offset)).sum())
    steps.append(Step("accumulator", acc,
                      f"sum over K = {geo.k} of (w + {plan.weights_offset}) * (x + {plan.input_offset})"))
    total = acc + bias
    wrap32 = getattr(plan, "wrap32", ctx.node.inputs[0].dtype == np.int8)  # int8: always an int32 accumulator
    if wrap32:
        total = _i(wrap_int32(total))
    steps.append(Step("accumulator + bias", total, f"bias[{n}] = {bias}; {'int32 (wraps)' if wrap32 else 'int64'}"))
    scale = float(plan.scale[n])
    m, s = quantize_multiplier(scale)
    steps.append(Step("effective scale", scale,
                      f"double(input scale) * double(weights scale[{n}]) / double(output scale)"
                      f"; as a fixed-point multiplier M {m}, shift {s} - not used by this kernel"))
    before = float(np.float64(total) * scale)
    steps.append(Step("value before rounding", before, "accumulator * effective scale, in double"))
    rounded = _i(double_to_int32(round_half_away_double(before)))
    steps.append(Step("rounded", rounded, "round() in double: nearest, ties away from zero; then int32"))
    raw = _i(wrap_int32(rounded + plan.output_zero_point))
    steps.append(Step("+ output zero point", raw, f"zero point {plan.output_zero_point}"))
    return _clamp(steps, raw, plan.qmin, plan.qmax)


# ---------------------------------------------------------------------- BATCH_MATMUL
@explains("BATCH_MATMUL")
def _batch_matmul(ctx: Context, steps: list[Step]):
    plan = ctx.params
    if not hasattr(plan, "kind"):
        _not_integer(ctx)
    layout = plan.layout
    lhs = np.swapaxes(ctx.inputs[0], -1, -2) if layout.adj_x else ctx.inputs[0]  # [..., M, K]
    rhs = np.swapaxes(ctx.inputs[1], -1, -2) if layout.adj_y else ctx.inputs[1]  # [..., K, N]
    batch, i, j = ctx.element[:-2], ctx.element[-2], ctx.element[-1]
    out_batch = tuple(layout.out_shape[:-2])
    row = np.broadcast_to(lhs, out_batch + lhs.shape[-2:])[batch + (i,)].astype(np.int64)
    col = np.broadcast_to(rhs, out_batch + rhs.shape[-2:])[batch + (slice(None), j)].astype(np.int64)
    steps.append(Step(f"lhs row {list(batch) + [i]}", row, f"offset {plan.lhs_offset} (= -zero point)"))
    steps.append(Step(f"rhs column {list(batch) + [j]}", col, f"offset {plan.rhs_offset} (= -zero point)"))
    acc = _i(((row + plan.lhs_offset) * (col + plan.rhs_offset)).sum())
    steps.append(Step("accumulator", acc,
                      f"sum over K = {row.size} of (l + {plan.lhs_offset}) * (r + {plan.rhs_offset})"))
    if plan.kind == "raw_int32":
        out = _i(wrap_int32(acc))
        steps.append(Step("int32 output", out, "raw int8 x int8 -> int32 product: no zero points, no rescaling"))
        return out
    m, s = plan.multiplier, plan.shift
    steps.append(Step("multiplier, shift", (m, s), f"real multiplier {m * 2.0 ** (s - 31):.9g} = "
                      "float32(lhs scale * rhs scale) / output scale"))
    if plan.kind == "int8":
        total = _i(wrap_int32(acc))
        scaled = _mbqm(steps, total, m, s)
    else:
        steps.append(Step("value before rounding", acc * m * 2.0 ** (s - 31), "int64 accumulator"))
        reduced = (m + (1 << 15)) >> 16 if m < 0x7FFF0000 else 0x7FFF
        scaled = _i(multiply_by_quantized_multiplier_int64(acc, m, s))
        steps.append(Step("int64 MBQM", scaled, f"(acc * {reduced} + 2^{14 - s}) >> {15 - s}: 16-bit multiplier, "
                          "one rounding, ties upward"))
    raw = _i(wrap_int32(scaled + plan.output_zero_point))
    steps.append(Step("+ output zero point", raw, f"zero point {plan.output_zero_point}"))
    return _clamp(steps, raw, plan.qmin, plan.qmax)


# ---------------------------------------------------------------------- ADD / SUB / MUL / SQUARED_DIFFERENCE / DIV
def _arithmetic(ctx: Context):
    q = getattr(ctx.params, "arithmetic", None)
    if q is None:
        _not_integer(ctx)
    return q


def _rescale(steps: list[Step], k: int, code: int, offset: int, left_shift: int, multiplier: int, shift: int) -> int:
    shifted = (code + offset) << left_shift
    v = _i(multiply_by_quantized_multiplier(shifted, multiplier, shift))
    steps.append(Step(f"v{k} = MBQM((x{k} + {offset}) << {left_shift}, M{k}, {shift})", v,
                      f"x{k} = {code}; M{k} {multiplier} = {multiplier * 2.0 ** (shift - 31):.9g} "
                      "(its scale / twice the larger input scale)"))
    return v


@explains("ADD", "SUB")
def _add_sub(ctx: Context, steps: list[Step]):
    q = _arithmetic(ctx)
    x1, x2 = ctx.operand(0), ctx.operand(1)
    if not hasattr(q, "left_shift"):  # int16 with power-of-two scales
        v1, v2 = _i(rounding_divide_by_pot(x1, q.right_shift1)), _i(rounding_divide_by_pot(x2, q.right_shift2))
        steps.append(Step("x1, x2", (x1, x2), "power-of-two scales, zero points 0"))
        steps.append(Step(f"RoundingDivideByPOT by {q.right_shift1}, {q.right_shift2}", (v1, v2),
                          "to the output scale"))
        raw = min(max(v1 + q.sign * v2, -32768), 32767)
        steps.append(Step("v1 + v2" if q.sign > 0 else "v1 - v2", raw, "int16 saturation"))
        return _clamp(steps, raw, q.act_min, q.act_max)
    v1 = _rescale(steps, 1, x1, q.offset1, q.left_shift, q.multiplier1, q.shift1)
    v2 = _rescale(steps, 2, x2, q.offset2, q.left_shift, q.multiplier2, q.shift2)
    total = v1 + q.sign * v2
    steps.append(Step("v1 + v2" if q.sign > 0 else "v1 - v2", total,
                      f"in units of 2 * max(input scales) / 2^{q.left_shift}"))
    real = q.out_multiplier * 2.0 ** (q.out_shift - 31)
    steps.append(Step("value before rounding", total * real, f"x M_out {q.out_multiplier} x 2^({q.out_shift} - 31)"))
    high = _i(saturating_rounding_doubling_high_mul(total, q.out_multiplier))
    steps.append(Step(f"SRDHM(., {q.out_multiplier})", high, "ties away from zero"))
    vectorised = ctx.flat < q.vector_count
    divide = rounding_divide_by_pot_sse if vectorised else rounding_divide_by_pot_x86
    out = _i(divide(high, -q.out_shift))
    how = "the x86-64 SSE2 loop's shift" if vectorised else "ties away from zero"
    steps.append(Step(f"RoundingDivideByPOT(., {-q.out_shift})", out, how))
    raw = out + q.out_offset
    steps.append(Step("+ output zero point", raw, f"zero point {q.out_offset}"))
    return _clamp(steps, raw, q.act_min, q.act_max)


@explains("MUL")
def _mul(ctx: Context, steps: list[Step]):
    q = _arithmetic(ctx)
    x1, x2 = ctx.operand(0), ctx.operand(1)
    product = (x1 + q.offset1) * (x2 + q.offset2)
    steps.append(Step("(x1 - z1) * (x2 - z2)", product, f"x1 = {x1}, z1 = {-q.offset1}; x2 = {x2}, z2 = {-q.offset2}"))
    steps.append(Step("multiplier, shift", (q.out_multiplier, q.out_shift), "float32(s1 * s2) / s_out"))
    raw = _mbqm(steps, product, q.out_multiplier, q.out_shift) + q.out_offset
    steps.append(Step("+ output zero point", raw, f"zero point {q.out_offset}"))
    return _clamp(steps, raw, q.act_min, q.act_max)


@explains("SQUARED_DIFFERENCE")
def _squared_difference(ctx: Context, steps: list[Step]):
    q = _arithmetic(ctx)
    v1 = _rescale(steps, 1, ctx.operand(0), q.offset1, q.left_shift, q.multiplier1, q.shift1)
    v2 = _rescale(steps, 2, ctx.operand(1), q.offset2, q.left_shift, q.multiplier2, q.shift2)
    d = v1 - v2
    steps.append(Step("d * d", d * d, f"d = v1 - v2 = {d}"))
    raw = _mbqm(steps, d * d, q.out_multiplier, q.out_shift) + q.out_offset
    steps.append(Step("+ output zero point", raw, f"zero point {q.out_offset}"))
    return _clamp(steps, raw, q.act_min, q.act_max)


@explains("DIV")
def _div(ctx: Context, steps: list[Step]):
    q = _arithmetic(ctx)
    x1, x2 = ctx.operand(0), ctx.operand(1)
    v1, v2 = x1 + q.offset1, x2 + q.offset2
    steps.append(Step("v1 = x1 - z1, v2 = x2 - z2", (v1, v2), f"x1 = {x1}, x2 = {x2}"))
    if v2 < 0:
        v1, v2 = -v1, -v2
        steps.append(Step("signs moved to the dividend", (v1, v2), "the divisor must be positive"))
    inverse, recip_shift = (_i(v) for v in div_reciprocal(v2))
    steps.append(Step("GetReciprocal(v2)", (inverse, recip_shift), "1/v2 = inverse * 2^(shift - 31), Newton-Raphson"))
    headroom = _i(count_leading_sign_bits32(v1))
    unscaled = _i(saturating_rounding_doubling_high_mul(_i(wrap_int32(v1 << headroom)), inverse))
    steps.append(Step(f"SRDHM(v1 << {headroom}, inverse)", unscaled, "the dividend normalised by its headroom"))
    total_shift = q.out_shift - recip_shift - headroom
    scaled = _i(saturating_rounding_doubling_high_mul(unscaled, q.out_multiplier))
    steps.append(Step(f"SRDHM(., M {q.out_multiplier})", scaled, "M = float32(s1 / (s2 * s_out))"))
    out = _i(rounding_divide_by_pot_x86(scaled, -total_shift))
    steps.append(Step(f"RoundingDivideByPOT(., {-total_shift})", out,
                      "as the x86-64 build shifts, ties away from zero"))
    raw = out + q.out_offset
    steps.append(Step("+ output zero point", raw, f"zero point {q.out_offset}"))
    return _clamp(steps, raw, q.act_min, q.act_max)


# ---------------------------------------------------------------------- SOFTMAX
@explains("SOFTMAX")
def _softmax(ctx: Context, steps: list[Step]):
    p = ctx.params
    if not hasattr(p, "diff_min"):
        _not_integer(ctx, "step-by-step arithmetic is shown for 8-bit SOFTMAX only")
    row = ctx.inputs[0][ctx.element[:-1]].astype(np.int64)
    c = ctx.element[-1]
    row_max = _i(row.max())
    steps.append(Step("input row", row, f"{row.size} codes; this element is x[{c}] = {_i(row[c])}"))
    steps.append(Step("row maximum", row_max))
    diff = _i(row[c]) - row_max
    steps.append(Step("diff = x - max", diff, f"entries with diff < {p.diff_min} count as exp() = 0"))
    kb = softmax_kernels.SCALED_DIFF_INTEGER_BITS
    accumulation_bits = softmax_kernels.ACCUMULATION_INTEGER_BITS

    def exp_of(d: int) -> int:
        scaled = _i(saturating_rounding_doubling_high_mul(_i(wrap_int32(d << p.input_left_shift)), p.input_multiplier))
        return _i(softmax_kernels.exp_on_negative_values(scaled, kb))

    total = 0
    for value in row:
        d = _i(value) - row_max
        if d >= p.diff_min:
            total = _i(wrap_int32(total + _i(rounding_divide_by_pot(exp_of(d), accumulation_bits))))
    if diff < p.diff_min:
        steps.append(Step("exp() below the cut-off", 0, "output = the type minimum"))
        return p.out_min
    scaled = _i(saturating_rounding_doubling_high_mul(_i(wrap_int32(diff << p.input_left_shift)), p.input_multiplier))
    steps.append(Step("beta * scale * diff in Q5.26", scaled, f"= {scaled / 2.0 ** 26:.9g}; SRDHM(diff << "
                      f"{p.input_left_shift}, {p.input_multiplier})"))
    e = exp_of(diff)
    steps.append(Step("exp() in Q0.31", e, f"= {e / 2.0 ** 31:.9g} (exact exp: {math.exp(scaled / 2.0 ** 26):.9g}); "
                      "gemmlowp exp_on_negative_values"))
    steps.append(Step("sum of exp() in Q12.19", total, f"= {total / 2.0 ** 19:.9g} over the row"))
    reciprocal, bits_over_unit = (_i(v) for v in softmax_kernels.get_reciprocal(total, accumulation_bits))
    steps.append(Step("1 / sum", reciprocal, f"Q0.31 reciprocal of the sum normalised by {bits_over_unit} bits"))
    exponent = bits_over_unit + 31 - p.out_bits
    product = _i(saturating_rounding_doubling_high_mul(reciprocal, e))
    steps.append(Step("value before rounding", product / 2.0 ** exponent, f"exp * (1/sum) in units of 2^-{p.out_bits}"))
    unsat = _i(rounding_divide_by_pot(product, exponent))
    steps.append(Step(f"RoundingDivideByPOT(., {exponent})", unsat, "ties away from zero"))
    raw = unsat + p.out_min
    steps.append(Step("+ type minimum", raw, f"the output zero point {p.out_min} stands for probability 0"))
    return _clamp(steps, raw, p.out_min, p.out_max)


# ---------------------------------------------------------------------- QUANTIZE / DEQUANTIZE
@explains("QUANTIZE")
def _quantize(ctx: Context, steps: list[Step]):
    p = ctx.params
    x = ctx.inputs[0][ctx.element]
    if hasattr(p, "multiplier"):  # integer -> integer
        v = _i(wrap_int32(_i(x) - p.input_zero_point))
        steps.append(Step("x - input zero point", v, f"x = {_i(x)}, zero point {p.input_zero_point}"))
        steps.append(Step("multiplier, shift", (p.multiplier, p.shift), "input scale / output scale"))
        raw = _i(wrap_int32(_mbqm(steps, v, p.multiplier, p.shift) + p.output_zero_point))
        steps.append(Step("+ output zero point", raw, f"zero point {p.output_zero_point}"))
        return _clamp(steps, raw, p.qmin, p.qmax)
    if hasattr(p, "view"):  # per channel
        outer, channels, inner = p.view
        channel = (ctx.flat // inner) % channels
        scale, zero_point = float(p.scales[channel]), _i(p.zero_points[channel])
    else:
        scale, zero_point = float(p.scale), int(p.zero_point)
    value = np.float32(x)
    before = np.float32(value / np.float32(scale))
    steps.append(Step("x / scale", float(before), f"x = {float(value):.9g}, scale {scale:.9g}, in float32"))
    rounded = _i(lut.float_to_int32(lut.round_half_away(before)))
    steps.append(Step("rounded", rounded, "round(): nearest, ties away from zero"))
    raw = _i(wrap_int32(rounded + zero_point))
    steps.append(Step("+ zero point", raw, f"zero point {zero_point}"))
    return _clamp(steps, raw, p.qmin, p.qmax)


@explains("DEQUANTIZE")
def _dequantize(ctx: Context, steps: list[Step]):
    p = ctx.params
    x = ctx.inputs[0][ctx.element]
    if hasattr(p, "value"):
        steps.append(Step("float16 -> float32", float(np.float32(x)), "exact"))
        return np.float32(x)
    if hasattr(p, "view"):
        outer, channels, inner = p.view
        channel = (ctx.flat // inner) % channels
        scale, zp = np.float32(p.scales[channel]), _i(p.zero_points[channel])
        out = np.float32(scale * np.float32(_i(x) - zp))
        steps.append(Step("scale * (x - zero point)", float(out), f"x = {_i(x)}, channel {channel}; float32 product"))
        return out
    out = np.float32(np.float64(p.scale) * np.float64(_i(x) - p.zero_point))
    steps.append(Step("scale * (x - zero point)", float(out), f"x = {_i(x)}, scale {p.scale:.9g}, zero point "
                      f"{p.zero_point}; product in double, rounded once to float32"))
    return out


# ---------------------------------------------------------------------- table lookups
_LUT_FUNCS = {"TANH": lut.TANH, "LOGISTIC": lut.LOGISTIC}


@explains("TANH", "LOGISTIC", "GELU")
def _table(ctx: Context, steps: list[Step]):
    p = ctx.params
    if not hasattr(p, "qmin"):
        _not_integer(ctx, "step-by-step arithmetic is shown for the 8-bit tables only")
    func = _LUT_FUNCS.get(ctx.node.opcode)
    if func is None:
        func = lut.GELU_APPROXIMATE if ctx.node.options.approximate else lut.GELU
    x_t, out_t = ctx.node.inputs[0], ctx.node.outputs[0]
    qx, qo = x_t.quantization, out_t.quantization
    code = _i(ctx.inputs[0][ctx.element])
    dequantized = np.float32(np.float32(qx.scale[0]) * np.float32(code - _i(qx.zero_point[0])))
    steps.append(Step("dequantized input", float(dequantized), f"x = {code}: float32(scale * (x - zero point))"))
    y = np.float32(lut.transform_f32(dequantized, func))
    steps.append(Step(f"{ctx.node.opcode.lower()}(input)", float(y),
                      "float32, as the official table builder computes it"))
    before = np.float32(y * np.float32(np.float32(1.0) / np.float32(qo.scale[0])))
    steps.append(Step("value before rounding", float(before), f"* 1 / output scale {float(qo.scale[0]):.9g}, float32"))
    rounded = lut.round_half_away(before)
    raw = _i(lut.float_to_int32(np.float32(np.float32(rounded) + np.float32(_i(qo.zero_point[0])))))
    steps.append(Step("rounded + zero point", raw, f"ties away from zero; zero point {_i(qo.zero_point[0])}"))
    out = _clamp(steps, raw, p.qmin, p.qmin + 255)
    steps.append(Step(f"table[{code - p.qmin}]", _i(p.table[code - p.qmin]),
                      "built once at Prepare; Eval only looks up"))
    return out


@explains("RSQRT")
def _rsqrt(ctx: Context, steps: list[Step]):
    p = ctx.params
    if p.dtype != np.int8:
        _not_integer(ctx, "step-by-step arithmetic is shown for int8 RSQRT only")
    code = _i(ctx.inputs[0][ctx.element])
    v = code - p.zero_point
    steps.append(Step("v = x - zero point", v, f"x = {code}"))
    z_out = _i(ctx.node.outputs[0].quantization.zero_point[0])
    if v == 0:
        steps.append(Step("v == 0", 127, "1/sqrt(0): the type maximum"))
        return 127
    inv, inv_shift = (_i(t) for t in inv_sqrt_multiplier_exp(v))
    steps.append(Step("1/sqrt(v) as (M, shift)", (inv, inv_shift), f"= {inv * 2.0 ** (inv_shift - 31):.9g}; "
                      "GetInvSqrtQuantizedMultiplierExp, Newton-Raphson"))
    t = _i(multiply_by_quantized_multiplier(1, inv, inv_shift + 20))
    steps.append(Step("1/sqrt(v) in Q11.20", t, f"= {t / 2.0 ** 20:.9g}"))
    steps.append(Step("multiplier, shift", (p.multiplier, p.shift), "1 / (sqrt(input scale) * output scale)"))
    steps.append(Step("value before rounding", t * p.multiplier * 2.0 ** (p.shift - 20 - 31), ""))
    if p.shift - 20 > 0:
        out = _i(multiply_by_quantized_multiplier(t, p.multiplier, p.shift - 20))
    else:
        out = _i(rounding_divide_by_pot_x86(saturating_rounding_doubling_high_mul(t, p.multiplier), 20 - p.shift))
    steps.append(Step("MBQM(., M, shift - 20)", out, "ties away from zero"))
    raw = out + z_out
    steps.append(Step("+ output zero point", raw, f"zero point {z_out}"))
    return _clamp(steps, raw, -128, 127)


# ---------------------------------------------------------------------- MEAN / SUM
@explains("MEAN", "SUM")
def _reduce(ctx: Context, steps: list[Step]):
    p = ctx.params
    if p.kind != "quantized":
        _not_integer(ctx)
    x = ctx.inputs[0]
    layout = p.layout
    if layout.permutation is not None:
        x = np.ascontiguousarray(x.transpose(layout.permutation))
    outer, reduced, inner = layout.view
    o, i = divmod(ctx.flat, inner)
    values = x.reshape(layout.view)[o, :, i]
    if p.as_uint8:
        values = values.view(np.uint8)
        steps.append(Step("codes read as uint8", values.astype(np.int64), "the official int8 SUM reads its int8 data "
                          "through a uint8 pointer (reduce.cc): -1 counts as 255"))
    else:
        steps.append(Step("reduced codes", values.astype(np.int64), f"{reduced} codes"))
    total = _i(wrap_int32(_i(values.astype(np.int64).sum())))
    steps.append(Step("sum", total, "int32"))
    shifted = _i(wrap_int32(total - p.input_zero_point * reduced))
    steps.append(Step("sum - zero point * count", shifted, f"zero point {p.input_zero_point}, count {reduced}"))
    what = "input scale / output scale / count" if ctx.node.opcode == "MEAN" else "input scale / output scale"
    steps.append(Step("multiplier, shift", (p.multiplier, p.shift), what))
    raw = _i(wrap_int32(_mbqm(steps, shifted, p.multiplier, p.shift) + p.output_zero_point))
    steps.append(Step("+ output zero point", raw, f"zero point {p.output_zero_point}"))
    out = _clamp(steps, raw, p.qmin, p.qmax)
    if p.as_uint8:
        out = _i(np.array(out, np.uint8).view(np.int8))
        steps.append(Step("stored byte read back as int8", out, ""))
    return out
