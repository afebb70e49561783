"""gemmlowp's 16-bit fixed-point tanh and logistic (fixedpoint/fixedpoint.h, scalar ``int16_t`` raw
type), which the optimized int16 TANH/LOGISTIC kernels run when the input scale is a power of two
(optimized_ops.h ``Tanh``/``Logistic`` int16: input F3 = Q3.12, output F0 = Q0.15).

Every int16 step as in C++: + and - wrap to int16; ``SaturatingRoundingDoublingHighMul`` rounds
(ab + 2**14 or 1 - 2**14) / 2**15 toward zero; ``RoundingDivideByPOT`` rounds half away from zero;
a positive ``SaturatingRoundingMultiplyByPOT`` saturates; 32-bit constants are rounding-shifted by
16 bits (``RescaleConstantInitializer``). The SIMD blocks (NEON, SSE4) compute the same integers.
The op tabulates all 65536 inputs at Prepare (``tanh_table`` / ``logistic_table``).
"""
import numpy as np

from litelens.kernels.config import jit

INT16_MIN, INT16_MAX = -32768, 32767


@jit
def w16(x):
    return ((np.int64(x) + 32768) & 0xFFFF) - 32768


@jit
def srdhm16(a, b):
    if a == b and a == INT16_MIN:
        return np.int64(INT16_MAX)
    ab = np.int64(a) * np.int64(b)
    nudge = (1 << 14) if ab >= 0 else 1 - (1 << 14)
    v = ab + nudge
    q = abs(v) // 32768  # C++ division truncates toward zero
    return w16(q if v >= 0 else -q)


@jit
def rdbpot16(x, exponent):
    mask = (np.int64(1) << exponent) - 1
    remainder = np.int64(x) & mask
    threshold = (mask >> 1) + (1 if x < 0 else 0)
    return w16((np.int64(x) >> exponent) + (1 if remainder > threshold else 0))


@jit
def srmbpot16(x, exponent):
    """``SaturatingRoundingMultiplyByPOT<exponent>`` on int16."""
    if exponent == 0:
        return np.int64(x)
    if exponent < 0:
        return rdbpot16(x, -exponent)
    threshold = (1 << (15 - exponent)) - 1
    if x > threshold:
        return np.int64(INT16_MAX)
    if x < -threshold:
        return np.int64(INT16_MIN)
    return np.int64(x) << exponent


@jit
def const16(v32):
    """``RescaleConstantInitializer`` for int16: RoundingDivideByPOT<int32>(v, 16)."""
    v = np.int64(v32)
    mask = np.int64(0xFFFF)
    threshold = (mask >> 1) + (1 if v < 0 else 0)
    return w16((v >> 16) + (1 if (v & mask) > threshold else 0))


@jit
def exp_on_interval_between_negative_one_quarter_and_0_excl(a):
    constant_term = const16(1895147668)
    one_third = const16(715827883)
    x = w16(a + (1 << 12))
    x2 = srdhm16(x, x)
    x3 = srdhm16(x2, x)
    x4 = srdhm16(x2, x2)
    x4_over_4 = srmbpot16(x4, -2)
    t = srmbpot16(w16(srdhm16(w16(x4_over_4 + x3), one_third) + x2), -1)
    return min(max(constant_term + srdhm16(constant_term, w16(x + t)), INT16_MIN), INT16_MAX)


@jit
def exp_on_negative_values(a, integer_bits):
    """exp(a) for a <= 0 given as Q(integer_bits).(15 - integer_bits); result Q0.15."""
    fractional_bits = 15 - integer_bits
    one_quarter = np.int64(1) << (fractional_bits - 2)
    a_mod = w16((np.int64(a) & (one_quarter - 1)) - one_quarter)
    result = exp_on_interval_between_negative_one_quarter_and_0_excl(srmbpot16(a_mod, integer_bits))
    remainder = w16(a_mod - a)
    exponents = (-2, -1, 0, 1, 2, 3, 4)
    multipliers = (1672461947, 1302514674, 790015084, 290630308, 39332535, 720401, 242)
    for k in range(7):
        if integer_bits > exponents[k]:
            bit = w16(np.int64(1) << (fractional_bits + exponents[k]))
            if remainder & bit:
                result = srdhm16(result, const16(multipliers[k]))
    if a == 0:
        result = np.int64(INT16_MAX)
    return result


@jit
def _newton_reciprocal(a):
    """The shared Newton-Raphson loop of one_minus_x_over_one_plus_x / one_over_one_plus_x: Q2.13."""
    total = np.int64(a) + INT16_MAX  # RoundingHalfSum(a, One): (sum +- 1) / 2, truncated toward zero
    v = total + (1 if total >= 0 else -1)
    half_denominator = w16(v // 2 if v >= 0 else -((-v) // 2))
    x = w16(const16(1515870810) + srdhm16(half_denominator, const16(-1010580540)))
    for _ in range(3):
        hdx = srdhm16(half_denominator, x)
        one_minus = w16((1 << 13) - hdx)
        x = w16(x + srmbpot16(srdhm16(x, one_minus), 2))
    return x


@jit
def tanh16(a):
    """gemmlowp ``tanh`` of a Q3.12 int16, Q0.15 result."""
    negative = a < 0
    n = np.int64(a) if negative else w16(-np.int64(a))
    e = exp_on_negative_values(n, 4)  # ExactMulByPot<1>: the same raw read as Q4.11
    t = srmbpot16(w16(_newton_reciprocal(e) - (1 << 13)), 2)
    if a == 0:
        return np.int64(0)
    return w16(-t) if negative else t


@jit
def logistic16(a):
    """gemmlowp ``logistic`` of a Q3.12 int16, Q0.15 result."""
    positive = a > 0
    magnitude = np.int64(a) if positive else w16(-np.int64(a))
    e = exp_on_negative_values(w16(-magnitude), 3)
    result_if_positive = srmbpot16(_newton_reciprocal(e), 1)
    if a == 0:
        return np.int64(1 << 14)
    return result_if_positive if positive else w16(INT16_MAX - result_if_positive)


@jit
def tanh_table(input_left_shift):
    """[65536] int16: entry (x + 32768) = tanh16(SaturatingRoundingMultiplyByPOT<shift>(x))."""
    table = np.empty(65536, np.int16)
    for i in range(65536):
        x = np.int64(i) - 32768
        if input_left_shift == 1:
            x = srmbpot16(x, 1)
        table[i] = tanh16(x)
    return table


@jit
def logistic_table():
    table = np.empty(65536, np.int16)
    for i in range(65536):
        table[i] = logistic16(np.int64(i) - 32768)
    return table


@jit
def lookup_int16_table(out, x, table):
    """[n] -> [n]: out = table[x + 32768]."""
    for i in range(x.size):
        out[i] = table[np.int64(x[i]) + 32768]
