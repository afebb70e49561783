"""SOFTMAX over the last axis: the reference fixed-point int8/uint8 kernel, the int16 kernel (two
513-entry tables) and the float32 kernel (kernels/internal/reference/softmax.h).

The int8 path evaluates exp() with gemmlowp's fixed-point ``exp_on_negative_values`` and divides with
``one_over_one_plus_x_for_x_in_0_1`` (fixedpoint/fixedpoint.h); the helpers below follow those
functions operation by operation on int32 values held in int64.
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import (
    INT32_MAX,
    INT32_MIN,
    multiply_by_quantized_multiplier,
    rounding_divide_by_pot,
    saturating_rounding_doubling_high_mul,
    wrap_int32,
)
from litelens.kernels.libm import EXPF_SPECIAL, expf_usual
from litelens.kernels.lut import expf, lut16_value
from litelens.kernels.vector_width import prefer_512

SCALED_DIFF_INTEGER_BITS = 5  # exp() input is Q5.26
ACCUMULATION_INTEGER_BITS = 12  # sum of exps is Q12.19
FLT_MAX = np.float32(3.4028234663852886e38)


@jit
def _mul(a, b):
    """gemmlowp FixedPoint ``operator*``: SaturatingRoundingDoublingHighMul of the raw values."""
    return saturating_rounding_doubling_high_mul(a, b)


@jit
def _saturating_mul_by_pot(x, exponent):
    """gemmlowp ``SaturatingRoundingMultiplyByPOT<exponent>`` for int32 (left: saturate; right: round)."""
    if exponent == 0:
        return np.int64(x)
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (np.int64(1) << (31 - exponent)) - 1
    if x > threshold:
        return np.int64(INT32_MAX)
    if x < -threshold:
        return np.int64(INT32_MIN)
    return np.int64(x) << exponent


@jit
def _exp_on_interval_between_negative_one_quarter_and_0_excl(a):
    """gemmlowp ``exp_on_interval_between_negative_one_quarter_and_0_excl`` (Q0.31 in and out)."""
    constant_term = np.int64(1895147668)  # exp(-1/8)
    constant_1_over_3 = np.int64(715827883)
    x = wrap_int32(a + (np.int64(1) << 28))  # a + 1/8
    x2 = _mul(x, x)
    x3 = _mul(x2, x)
    x4 = _mul(x2, x2)
    x4_over_4 = rounding_divide_by_pot(x4, 2)
    poly = rounding_divide_by_pot(wrap_int32(_mul(wrap_int32(x4_over_4 + x3), constant_1_over_3) + x2), 1)
    return wrap_int32(constant_term + _mul(constant_term, wrap_int32(x + poly)))


@jit
def exp_on_negative_values(a, integer_bits):
    """gemmlowp ``exp_on_negative_values``: exp(a) for a <= 0 in Q(integer_bits).(31-integer_bits) -> Q0.31."""
    fractional_bits = 31 - integer_bits
    one_quarter = np.int64(1) << (fractional_bits - 2)
    mask = one_quarter - 1
    a_mod_quarter_minus_one_quarter = wrap_int32((a & mask) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        _saturating_mul_by_pot(a_mod_quarter_minus_one_quarter, integer_bits))
    remainder = wrap_int32(a_mod_quarter_minus_one_quarter - a)
    # Barrel shifter: multiply by exp(-2**k) for each bit k of the remainder (k = -2 .. 4).
    multipliers = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)
    for j in range(7):
        exponent = j - 2
        if integer_bits > exponent:
            shift = fractional_bits + exponent
            if remainder & (np.int64(1) << shift):
                result = _mul(result, np.int64(multipliers[j]))
    if integer_bits > 5:
        clamp = -(np.int64(1) << (36 - integer_bits))
        if a < clamp:
            result = np.int64(0)
    if a == 0:
        result = np.int64(INT32_MAX)
    return result


@jit
def one_over_one_plus_x_for_x_in_0_1(a):
    """gemmlowp ``one_over_one_plus_x_for_x_in_0_1``: 1/(1+a) for a in [0, 1) in Q0.31 (Newton-Raphson).

    Internally Q2.29: x0 = 48/17 - 32/17 * d with d = (1+a)/2, then three steps x += x*(1 - d*x).
    """
    # RoundingHalfSum(a, One()) with One() == INT32_MAX for Q0.31.
    total = np.int64(a) + np.int64(INT32_MAX)
    half_denominator = (total + 1) // 2 if total >= 0 else -((1 - total) // 2)  # (sum +- 1) / 2, C division
    constant_48_over_17 = np.int64(1515870810)
    constant_neg_32_over_17 = np.int64(-1010580540)
    one_q2 = np.int64(1) << 29
    x = wrap_int32(constant_48_over_17 + _mul(half_denominator, constant_neg_32_over_17))
    for _ in range(3):
        half_denominator_times_x = _mul(half_denominator, x)
        one_minus = wrap_int32(one_q2 - half_denominator_times_x)
        x = wrap_int32(x + _saturating_mul_by_pot(_mul(x, one_minus), 2))
    # Rescale<0>(ExactMulByPot<-1>(x)): reinterpret as Q1.30, then to Q0.31 saturating.
    return _saturating_mul_by_pot(x, 1)


@jit
def _clz32(x):
    """``CountLeadingZeros`` of x as uint32 (32 for 0)."""
    ux = np.int64(x) & np.int64(0xFFFFFFFF)
    n = 32
    while ux:
        ux >>= 1
        n -= 1
    return n


@jit
def get_reciprocal(x, x_integer_digits):
    """``GetReciprocal`` (kernels/internal/common.h): x normalised by its leading zeros to 1 + f,
    1/(1 + f) in Q0.31, and how many bits the normalisation moved (num_bits_over_unit)."""
    headroom_plus_one = _clz32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    ux = np.int64(x) & np.int64(0xFFFFFFFF)
    shifted = ((ux << headroom_plus_one) & np.int64(0xFFFFFFFF)) - (np.int64(1) << 31)
    return one_over_one_plus_x_for_x_in_0_1(wrap_int32(shifted)), num_bits_over_unit


@jit
def softmax_quantized(output, x, input_multiplier, input_left_shift, diff_min, out_bits, out_min, out_max):
    """Reference quantized ``Softmax`` (reference/softmax.h), 8-bit input, 8- or 16-bit output.

    [rows, depth] -> [rows, depth]. Per row: d = x - max; d < diff_min gives out_min;
    s = SRDHM(d << left_shift, multiplier) as Q5.26; e = exp_on_negative_values(s) (Q0.31);
    sum = sum of Rescale<12>(e); out = RDBPOT(SRDHM(reciprocal(sum), e), bits_over_unit + 31 - out_bits)
    + out_min, clamped.

    Returns -1, or the first row whose sum of exps is too large for that shift (8-bit output: about
    512 entries at the row maximum): the official kernel aborts there (TFLITE_CHECK exponent <= 31).
    """
    rows, depth = x.shape
    for r in range(rows):
        row_max = np.int64(x[r, 0])
        for c in range(1, depth):
            row_max = max(row_max, np.int64(x[r, c]))
        sum_of_exps = np.int64(0)
        for c in range(depth):
            diff = np.int64(x[r, c]) - row_max
            if diff >= diff_min:
                scaled = _mul(wrap_int32(diff << input_left_shift), input_multiplier)
                e = exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS)
                sum_of_exps = wrap_int32(
                    sum_of_exps + rounding_divide_by_pot(e, ACCUMULATION_INTEGER_BITS))
        shifted_scale, num_bits_over_unit = get_reciprocal(sum_of_exps, ACCUMULATION_INTEGER_BITS)
        exponent = num_bits_over_unit + 31 - out_bits
        if exponent < 0 or exponent > 31:
            return r
        for c in range(depth):
            diff = np.int64(x[r, c]) - row_max
            if diff >= diff_min:
                scaled = _mul(wrap_int32(diff << input_left_shift), input_multiplier)
                e = exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS)
                unsat = rounding_divide_by_pot(_mul(shifted_scale, e), exponent)
                output[r, c] = min(max(unsat + out_min, out_min), out_max)
            else:
                output[r, c] = out_min
    return -1


@jit
def exp_tables(exp_table, acc_table, input_multiplier, input_left_shift, diff_min):
    """Prepare-time tables for 8-bit input: for k = max - x in [0, len): exp(-k) and its Rescale<12>.

    Entry k holds exactly what ``softmax_quantized`` computes for diff = -k (0 where diff < diff_min),
    so the table kernel below gives the same bits with one lookup per element.
    """
    for k in range(exp_table.shape[0]):
        diff = -np.int64(k)
        if diff >= diff_min:
            scaled = _mul(wrap_int32(diff << input_left_shift), input_multiplier)
            e = exp_on_negative_values(scaled, SCALED_DIFF_INTEGER_BITS)
            exp_table[k] = e
            acc_table[k] = rounding_divide_by_pot(e, ACCUMULATION_INTEGER_BITS)
        else:
            exp_table[k] = 0
            acc_table[k] = 0


@jit
def softmax_quantized_lut(output, x, exp_table, acc_table, max_k, out_bits, out_min, out_max):
    """:func:`softmax_quantized_rows` with its own row table (for callers without a scratch)."""
    return softmax_quantized_rows(output, x, exp_table, acc_table, max_k, out_bits, out_min, out_max,
                                  np.zeros(exp_table.shape[0], np.int64))


@jit
def softmax_quantized_rows(output, x, exp_table, acc_table, max_k, out_bits, out_min, out_max, row_table):
    """``softmax_quantized`` with exp() read from ``exp_tables`` (same bits, one lookup per element).

    [rows, depth] -> [rows, depth]. k = max - x. The sum of exps is accumulated in int64 and wrapped
    to int32 once: wrapping commutes with addition, so this equals the reference's per-step int32
    wrap. Returns -1 or the first row the official kernel aborts on (see ``softmax_quantized``).

    Each output depends only on its k, so per row the outputs for k = 0 .. max - min are computed
    once into ``row_table`` (int64 [256] scratch; a contiguous loop that vectorises) and every
    element is then one lookup. For k > ``max_k`` (diff < diff_min) the table holds exp = 0, which
    gives out_min through the general formula, as the reference's explicit branch does. The
    reciprocal (``shifted_scale``) is positive and exp >= 0, so SaturatingRoundingDoublingHighMul is
    (s * e + 2**30) >> 31 and RoundingDivideByPOT of a non-negative p is (p >> e) + (p & mask > mask >> 1).
    """
    rows, depth = x.shape
    for r in range(rows):
        row = x[r]
        out_row = output[r]
        row_max = np.int64(row[0])
        row_min = np.int64(row[0])
        for c in range(1, depth):
            v = np.int64(row[c])
            row_max = max(row_max, v)
            row_min = min(row_min, v)
        total = np.int64(0)
        for c in range(depth):
            total += acc_table[row_max - np.int64(row[c])]
        shifted_scale, num_bits_over_unit = get_reciprocal(wrap_int32(total), ACCUMULATION_INTEGER_BITS)
        exponent = num_bits_over_unit + 31 - out_bits
        if exponent < 0 or exponent > 31:
            return r
        mask = (np.int64(1) << exponent) - 1
        half = mask >> 1
        for k in range(row_max - row_min + 1):
            product = (shifted_scale * exp_table[k] + (np.int64(1) << 30)) >> 31
            unsat = (product >> exponent) + ((product & mask) > half)
            row_table[k] = min(max(unsat + out_min, out_min), out_max)
        for c in range(depth):
            out_row[c] = row_table[row_max - np.int64(row[c])]
    return -1


ROWS_AT_ONCE = 8  # rows whose sequential sums are interleaved (independent chains keep the adder busy)


_MAGNITUDE = np.int32(0x7FFFFFFF)
_POS_INF_BITS = np.int32(0x7F800000)
_LOWEST_KEY = np.int32(-0x80000000)  # below every float's key: what a NaN gets
_NEG_FLT_MAX_KEY = np.int32(np.float32(-FLT_MAX).view(np.int32) ^ 0x7FFFFFFF)


@jit(inline="always")
def order_key(b):
    """The order key of float32 bits b (int32): b ^ ((b >> 31) & 0x7FFFFFFF) orders like the floats
    (-0.0 just below +0.0) and is its own inverse; a NaN's key is replaced by INT32_MIN (branch-free:
    the mask (0x7F800000 - |b|) >> 31 is -1 for a NaN), below every float's."""
    nan_mask = np.int32(np.int32(_POS_INF_BITS - np.int32(b & _MAGNITUDE)) >> np.int32(31))
    key = np.int32(b ^ np.int32((b >> np.int32(31)) & _MAGNITUDE))
    return np.int32((key & ~nan_mask) | (nan_mask & _LOWEST_KEY))


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def softmax_float(output, x, beta):
    """Reference float ``Softmax`` (reference/softmax.h). [rows, depth] -> [rows, depth].

    e = expf((x - max) * beta) in float32, summed left to right from 0; out = e / sum.

    The row maxima come first. The reference's running ``std::max(max, x)`` from lowest() - the
    largest non-NaN value, or -FLT_MAX (also for -inf) - is order-free up to the sign of a zero
    maximum, which no later step can see (x - (+-0) and expf(+-0) agree), so it runs as an integer
    max over :func:`order_key` from key(-FLT_MAX), which the compiler vectorizes (a float max
    without fastmath it does not). Each row's exponentials then run in a branch-free loop
    (``libm.expf_usual``; the rare |arg| >= 88, such as a -10000 attention mask, and NaN are redone
    by ``expf``), then the sums of ``ROWS_AT_ONCE`` rows advance column by column in eight registers
    - every row still adds its own values left to right, so each sum has the reference's bits - and
    each row is divided by its sum. 512-bit vectors (:func:`vector_width.prefer_512`). Rows are
    indexed [r, c], never taken as views (a view costs atomic reference counts per row).
    """
    prefer_512()
    rows, depth = x.shape
    beta = np.float32(beta)
    totals = np.zeros(ROWS_AT_ONCE, np.float32)
    bits = x.view(np.int32)
    maxima_bits = np.empty(rows, np.int32)
    for r in range(rows):  # the row maxima first: an integer max over order keys (vectorized)
        m = _NEG_FLT_MAX_KEY
        for c in range(depth):
            key = order_key(bits[r, c])
            m = key if key > m else m
        maxima_bits[r] = np.int32(m ^ np.int32((m >> np.int32(31)) & _MAGNITUDE))  # the float's bits
    maxima = maxima_bits.view(np.float32)
    for r0 in range(0, rows, ROWS_AT_ONCE):
        r1 = min(r0 + ROWS_AT_ONCE, rows)
        for r in range(r0, r1):
            row_max = maxima[r]
            unusual = 0
            for c in range(depth):
                usual, e = expf_usual(np.float32(np.float32(x[r, c] - row_max) * beta))
                output[r, c] = e
                unusual += not usual
            if unusual:
                for c in range(depth):
                    arg = np.float32(np.float32(x[r, c] - row_max) * beta)
                    if not abs(arg) < EXPF_SPECIAL:
                        output[r, c] = expf(arg)
        if r1 - r0 == ROWS_AT_ONCE:  # eight sums, each left to right, in registers
            t0 = t1 = t2 = t3 = t4 = t5 = t6 = t7 = np.float32(0.0)
            for c in range(depth):
                t0 = np.float32(t0 + output[r0, c])
                t1 = np.float32(t1 + output[r0 + 1, c])
                t2 = np.float32(t2 + output[r0 + 2, c])
                t3 = np.float32(t3 + output[r0 + 3, c])
                t4 = np.float32(t4 + output[r0 + 4, c])
                t5 = np.float32(t5 + output[r0 + 5, c])
                t6 = np.float32(t6 + output[r0 + 6, c])
                t7 = np.float32(t7 + output[r0 + 7, c])
            totals[0], totals[1], totals[2], totals[3] = t0, t1, t2, t3
            totals[4], totals[5], totals[6], totals[7] = t4, t5, t6, t7
        else:
            for r in range(r0, r1):
                total = np.float32(0.0)
                for c in range(depth):
                    total = np.float32(total + output[r, c])
                totals[r - r0] = total
        for r in range(r0, r1):
            total = totals[r - r0]
            for c in range(depth):
                output[r, c] = np.float32(output[r, c] / total)


@jit
def softmax_int16(output, x, input_multiplier, input_shift, exp_table, reciprocal_table):
    """Reference ``SoftmaxInt16`` (reference/softmax.h). [rows, depth] -> [rows, depth].

    e = exp_table[clamp(MBQM(x - max, M, shift) + 32767)] (Q0.15; x - max is rescaled so that
    [-65535, 0] spans [-10, 0]); sum in int32; its reciprocal from the 1/(1+x) table after
    normalising by the leading zeros; out = clamp((e * recip + round) >> (31 - clz(sum)), 0, 32767).
    """
    rows, depth = x.shape
    for r in range(rows):
        row_max = np.int64(-32768)
        for c in range(depth):
            row_max = max(row_max, np.int64(x[r, c]))
        sum_of_exps = np.int64(0)
        for c in range(depth):
            scaled = multiply_by_quantized_multiplier(np.int64(x[r, c]) - row_max, input_multiplier, input_shift)
            e = lut16_value(min(max(scaled + 32767, -32768), 32767), exp_table)
            output[r, c] = e  # the official kernel caches exp() in the output row too
            sum_of_exps = wrap_int32(sum_of_exps + e)
        headroom_plus_one = _clz32(sum_of_exps)
        shifted_sum = ((sum_of_exps << (headroom_plus_one - 1)) + (1 << 13)) >> 14
        sym_shifted_sum = shifted_sum - ((1 << 15) + (1 << 16))
        reciprocal = lut16_value(min(max(sym_shifted_sum, -32768), 32767), reciprocal_table)
        right_shift = 31 - headroom_plus_one
        rounding = np.int64(1) << (right_shift - 1)
        for c in range(depth):
            result = (np.int64(output[r, c]) * reciprocal + rounding) >> right_shift
            output[r, c] = min(max(result, 0), 32767)
