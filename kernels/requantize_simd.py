"""Requantizing an int32 accumulator matrix to int8, 16 outputs per step (Numba intrinsics in LLVM IR).

Numba's auto-vectoriser runs these loops 4 lanes wide at best, and they were most of an int8
FULLY_CONNECTED / BATCH_MATMUL; written as explicit 16-lane vectors they compile to two zmm
(AVX-512) or four ymm (AVX2) operations per step. Both start from

    total = acc[m, n] + column_term[n] + row_term[m]              (int32, wrapping)

and end with ``out = clamp(q + out_zp (int32, wrapping), qmin, qmax)`` stored as int8 (the last
partial step of a row is a masked store). In between:

:func:`requantize_rows_double` - the float requantization of ``reference_integer_ops::FullyConnected``
(``requantize_double`` in ``fully_connected.py``): v = double(total) * scale[n], r = round(v) half away
from zero, q = int32(r), or INT32_MIN when out of range or NaN (x86 cvttsd2si). Rounding: with
t = trunc(v) and f = v - t (exact), round(v) = t + trunc(2 f), since trunc(2 f) is +-1 exactly when
|f| >= 0.5. ``bounded`` (Prepare decides it): when every |scale[n]| < 0.999, |v| < 2**31 - 256 for
any int32 total, so q + out_zp never wraps and the clamp commutes with the monotone rounding:
out = round(clamp(v, qmin - out_zp, qmax - out_zp)) + out_zp - the same bits in fewer operations.

:func:`requantize_rows_mbqm` - ``MultiplyByQuantizedMultiplier`` (common.h, the double-rounding
build; ``multiply_by_quantized_multiplier`` in ``fixedpoint.py``): SaturatingRoundingDoublingHighMul
of total << max(shift, 0) (wrapping) by the multiplier in int64 lanes, then RoundingDivideByPOT by
max(-shift, 0), as BATCH_MATMUL's int8 path requantizes.

IEEE double and two's-complement integer operations give the same bits in a vector lane as in a
scalar register. With ``NUMBA_DISABLE_JIT=1`` the NumPy versions below run instead.
"""
from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

LANES = 16
BOUNDED_SCALE = 0.999  # |scale| below this: the bounded double path is exact
I1, I8, I32, I64, F64 = ir.IntType(1), ir.IntType(8), ir.IntType(32), ir.IntType(64), ir.DoubleType()
VI1, VI8, VI32, VI64, VF64 = (ir.VectorType(t, LANES) for t in (I1, I8, I32, I64, F64))


def is_bounded(scale: np.ndarray) -> bool:
    """Whether every scale allows the ``bounded`` double path (NaN and inf do not)."""
    return bool(np.all(np.abs(scale) < BOUNDED_SCALE))


class _Vectors:
    """IR helpers for 16-lane code inside one intrinsic."""

    def __init__(self, builder):
        self.b = builder

    def declare(self, name, ret, params):
        module = self.b.module
        return module.globals.get(name) or ir.Function(module, ir.FunctionType(ret, params), name)

    def splat(self, value, vtype):
        b = self.b
        if value.type != vtype.element:
            value = b.trunc(value, vtype.element) if value.type.width > vtype.element.width else \
                b.sext(value, vtype.element)
        v = b.insert_element(ir.Constant(vtype, ir.Undefined), value, ir.Constant(I32, 0))
        return b.shuffle_vector(v, ir.Constant(vtype, ir.Undefined), ir.Constant(VI32, None))

    @staticmethod
    def const(vtype, value):
        return ir.Constant(vtype, [value] * LANES)

    def clamp(self, q, lo, hi):
        b = self.b
        q = b.select(b.icmp_signed("<", q, lo), lo, q)
        return b.select(b.icmp_signed(">", q, hi), hi, q)

    def load(self, base, index, vtype, size):
        b = self.b
        return b.load(b.inttoptr(b.add(base, b.mul(index, ir.Constant(I64, size))), vtype.as_pointer()), align=size)


def _emit_rows(context, builder, acc_type, acc_value, col_type, col_value, row_type, row_value, out_type,
               out_value, variants, choose=None):
    """The loop nest shared by both requantizations: per row m, per 16 columns: total (int32) ->
    ``variant(total, n0)`` -> int32 q -> masked int8 store. ``choose`` (an i1) picks variants[0]
    or variants[1] once per row."""
    vec = _Vectors(builder)
    acc = context.make_array(acc_type)(context, builder, acc_value)
    col = context.make_array(col_type)(context, builder, col_value)
    row = context.make_array(row_type)(context, builder, row_value)
    out = context.make_array(out_type)(context, builder, out_value)
    masked_store = vec.declare("llvm.masked.store.v16i8.p0", ir.VoidType(), [VI8, ir.PointerType(I8), I32, VI1])
    rows = builder.extract_value(out.shape, 0)
    cols = builder.extract_value(out.shape, 1)
    acc_stride = builder.extract_value(acc.strides, 0)
    out_stride = builder.extract_value(out.strides, 0)
    acc_base, out_base, col_base = (builder.ptrtoint(a.data, I64) for a in (acc, out, col))
    lane_ids = ir.Constant(VI32, list(range(LANES)))
    steps = builder.udiv(builder.add(cols, ir.Constant(I64, LANES - 1)), ir.Constant(I64, LANES))

    def row_loop(variant, acc_row, out_row, row_v):
        with cgutils.for_range(builder, steps) as loop_j:
            n0 = builder.mul(loop_j.index, ir.Constant(I64, LANES))
            total = builder.add(builder.add(vec.load(acc_row, n0, VI32, 4), vec.load(col_base, n0, VI32, 4)), row_v)
            q = variant(total, n0)
            mask = builder.icmp_signed("<", lane_ids, vec.splat(builder.sub(cols, n0), VI32))
            dest = builder.inttoptr(builder.add(out_row, n0), ir.PointerType(I8))
            builder.call(masked_store, [builder.trunc(q, VI8), dest, ir.Constant(I32, 1), mask])

    with cgutils.for_range(builder, rows) as loop_m:
        m = loop_m.index
        row_v = vec.splat(builder.load(builder.gep(row.data, [m])), VI32)
        acc_row = builder.add(acc_base, builder.mul(m, acc_stride))
        out_row = builder.add(out_base, builder.mul(m, out_stride))
        if choose is None:
            row_loop(variants[0], acc_row, out_row, row_v)
        else:
            with builder.if_else(choose) as (then, otherwise):
                for variant, branch in zip(variants, (then, otherwise)):
                    with branch:
                        row_loop(variant, acc_row, out_row, row_v)


def _double_codegen(context, builder, sig, args):
    acc_t, col_t, row_t, scale_t, _, _, _, _, out_t = sig.args
    vec = _Vectors(builder)
    scale_base = builder.ptrtoint(context.make_array(scale_t)(context, builder, args[3]).data, I64)
    zp, qmin, qmax = (vec.splat(a, VI32) for a in args[4:7])
    bounded = builder.icmp_unsigned("!=", args[7], ir.Constant(args[7].type, 0))
    trunc = vec.declare("llvm.trunc.v16f64", VF64, [VF64])
    lo = builder.sitofp(builder.sub(qmin, zp), VF64)  # bounded path: the clamp range before the zero point
    hi = builder.sitofp(builder.sub(qmax, zp), VF64)

    def round_half_away(v):
        t = builder.call(trunc, [v])
        f = builder.fsub(v, t)
        return builder.fadd(t, builder.call(trunc, [builder.fadd(f, f)]))

    def product(total, n0):
        return builder.fmul(builder.sitofp(total, VF64), vec.load(scale_base, n0, VF64, 8))

    def bounded_variant(total, n0):  # round(clamp(v, qmin - zp, qmax - zp)) + zp
        v = product(total, n0)
        v = builder.select(builder.fcmp_ordered("<", v, lo), lo, v)
        v = builder.select(builder.fcmp_ordered(">", v, hi), hi, v)
        return builder.add(builder.fptosi(round_half_away(v), VI32), zp)

    def general_variant(total, n0):  # the x86 int32 cast, + zp wrapping, clamp
        r = round_half_away(product(total, n0))
        in_range = builder.and_(builder.fcmp_ordered(">=", r, vec.const(VF64, -2147483648.0)),
                                builder.fcmp_ordered("<", r, vec.const(VF64, 2147483648.0)))
        q = builder.select(in_range, builder.fptosi(r, VI32), vec.const(VI32, -2147483648))
        return vec.clamp(builder.add(q, zp), qmin, qmax)

    _emit_rows(context, builder, acc_t, args[0], col_t, args[1], row_t, args[2], out_t, args[8],
               (bounded_variant, general_variant), bounded)
    return context.get_dummy_value()


def _mbqm_codegen(context, builder, sig, args):
    acc_t, col_t, row_t, _, _, _, _, _, out_t = sig.args
    vec = _Vectors(builder)
    multiplier, shift = args[3], args[4]
    zp, qmin, qmax = (vec.splat(a, VI32) for a in args[5:8])
    shift = builder.trunc(shift, I32) if shift.type != I32 else shift
    zero = ir.Constant(I32, 0)
    left = builder.select(builder.icmp_signed(">", shift, zero), shift, zero)
    right = builder.select(builder.icmp_signed("<", shift, zero), builder.sub(zero, shift), zero)
    wide_left = builder.icmp_signed(">=", left, ir.Constant(I32, 32))  # x << 32 or more wraps to 0
    left_v = vec.splat(builder.select(wide_left, zero, left), VI32)
    right_v = vec.splat(right, VI32)
    m32 = vec.splat(multiplier, VI32)
    m64 = builder.sext(m32, VI64)
    int32_min = vec.const(VI32, -2147483648)
    mask = builder.sub(builder.shl(vec.const(VI32, 1), right_v), vec.const(VI32, 1))
    half_mask = builder.ashr(mask, vec.const(VI32, 1))

    def mbqm(total, n0):
        x = builder.shl(total, left_v)  # int32, wrapping
        x = builder.select(vec.splat(wide_left, ir.VectorType(I1, LANES)), vec.const(VI32, 0), x)
        ab = builder.mul(builder.sext(x, VI64), m64)
        negative = builder.icmp_signed("<", ab, vec.const(VI64, 0))
        t = builder.add(ab, builder.select(negative, vec.const(VI64, 1 - (1 << 30)), vec.const(VI64, 1 << 30)))
        t_negative = builder.icmp_signed("<", t, vec.const(VI64, 0))
        t = builder.add(t, builder.select(t_negative, vec.const(VI64, (1 << 31) - 1), vec.const(VI64, 0)))
        high = builder.trunc(builder.ashr(t, vec.const(VI64, 31)), VI32)  # (ab + nudge) / 2**31 toward zero
        overflow = builder.and_(builder.icmp_signed("==", x, int32_min), builder.icmp_signed("==", m32, int32_min))
        high = builder.select(overflow, vec.const(VI32, 2147483647), high)
        remainder = builder.and_(high, mask)  # RoundingDivideByPOT(high, right)
        threshold = builder.add(half_mask, builder.zext(builder.icmp_signed("<", high, vec.const(VI32, 0)), VI32))
        q = builder.add(builder.ashr(high, right_v),
                        builder.zext(builder.icmp_signed(">", remainder, threshold), VI32))
        return vec.clamp(builder.add(q, zp), qmin, qmax)

    _emit_rows(context, builder, acc_t, args[0], col_t, args[1], row_t, args[2], out_t, args[8], (mbqm,))
    return context.get_dummy_value()


@intrinsic
def _double_intrinsic(typingctx, acc, column_term, row_term, scale, out_zp, qmin, qmax, bounded, out):
    return types.void(acc, column_term, row_term, scale, out_zp, qmin, qmax, bounded, out), _double_codegen


@intrinsic
def _mbqm_intrinsic(typingctx, acc, column_term, row_term, multiplier, shift, out_zp, qmin, qmax, out):
    return types.void(acc, column_term, row_term, multiplier, shift, out_zp, qmin, qmax, out), _mbqm_codegen


def _totals(acc, column_term, row_term, m, n):
    total = acc[:m, :n].astype(np.int64) + column_term[:n] + row_term[:m, None]
    return (total + 2**31) % 2**32 - 2**31


def _wrap_clamp(q, out_zp, qmin, qmax):
    return np.clip((q + out_zp + 2**31) % 2**32 - 2**31, qmin, qmax)


def _double_numpy(acc, column_term, row_term, scale, out_zp, qmin, qmax, bounded, out):
    """The general double formula in NumPy (the bounded path gives the same bits by construction)."""
    m, n = out.shape
    with np.errstate(invalid="ignore", over="ignore"):
        v = _totals(acc, column_term, row_term, m, n).astype(np.float64) * scale[:n]
        t = np.trunc(v)
        r = t + np.trunc(2 * (v - t))
        ok = (r >= -2147483648.0) & (r < 2147483648.0)
    q = np.where(ok, np.where(ok, r, 0).astype(np.int64), -(2**31))
    out[...] = _wrap_clamp(q, out_zp, qmin, qmax)


def _mbqm_numpy(acc, column_term, row_term, multiplier, shift, out_zp, qmin, qmax, out):
    """MultiplyByQuantizedMultiplier in NumPy int64 (Python ints for the one overflow case)."""
    m, n = out.shape
    left, right = max(shift, 0), max(-shift, 0)
    x = _totals(acc, column_term, row_term, m, n)
    x = ((x << left) + 2**31) % 2**32 - 2**31 if left < 32 else np.zeros_like(x)
    ab = x * multiplier
    t = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    high = np.where(t >= 0, t >> 31, -((-t) >> 31))
    high = np.where((x == -(2**31)) & (multiplier == -(2**31)), 2**31 - 1, high)
    mask = (1 << right) - 1
    threshold = (mask >> 1) + (high < 0)
    q = (high >> right) + ((high & mask) > threshold)
    out[...] = _wrap_clamp(q, out_zp, qmin, qmax)


# requantize_rows_double(acc, column_term, row_term, scale, out_zp, qmin, qmax, bounded, out) and
# requantize_rows_mbqm(acc, column_term, row_term, multiplier, shift, out_zp, qmin, qmax, out):
# acc int32 [>= M, Np], column_term int32 [Np], row_term int32 [>= M], scale float64 [Np], Np a
# multiple of 16 (the padding is read, never stored); out int8 [M, N] with contiguous rows.
requantize_rows_double = _double_numpy if numba.config.DISABLE_JIT else _double_intrinsic
requantize_rows_mbqm = _mbqm_numpy if numba.config.DISABLE_JIT else _mbqm_intrinsic
