"""256-entry lookup tables for int8/uint8 elementwise ops (TANH, LOGISTIC, GELU), and the float32
libm functions they (and the float32 kernels) are built from.

The official kernels call glibc's single-precision ``tanhf``, ``expf`` and ``erfcf`` (the wheel
imports them from libm). ``tanhf``, ``expf`` and ``erfcf`` here are litelens's own versions of
glibc 2.36's x86-64 results (kernels/libm.py), the same bits on every machine and with
``NUMBA_DISABLE_JIT=1``, instead of calls to whatever libm the machine has (glibc's aarch64 build
rounds tanhf and erfcf differently).
"""
import math

import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.libm import erfcf, expf, tanhf  # noqa: F401 (lut.tanhf/expf/erfcf)

INT32_MIN = -(2**31)

# Which function a table applies (the official transform each stands for).
TANH = 0  # std::tanh(float)                          activations.cc TanhPrepare
LOGISTIC = 1  # 1.0f / (1.0f + std::exp(-x))            activations.cc SigmoidPrepare
GELU = 2  # 0.5f * x * erfcf(x * -M_SQRT1_2)            reference/gelu.h GeluTransform
GELU_APPROXIMATE = 3  # 0.5f*x*(1 + tanhf(sqrt(2/pi) * (x + 0.044715f*x^3)))  GeluTransformApproximate

_SQRT_2_OVER_PI = np.float32(2.0 / math.sqrt(math.pi) * math.sqrt(0.5))  # M_2_SQRTPI * M_SQRT1_2
_NEG_SQRT1_2 = np.float32(-math.sqrt(0.5))  # static_cast<float>(-M_SQRT1_2)
_GELU_CUBIC = np.float32(0.044715)
_HALF = np.float32(0.5)
_ONE = np.float32(1.0)


@jit
def round_half_away(x):
    """``TfLiteRound`` / ``std::round``: nearest integer, ties away from zero (exact, as a float64)."""
    d = np.float64(x)
    t = np.trunc(d)
    if abs(d - t) >= 0.5:
        t += 1.0 if d > 0 else -1.0
    return t


@jit
def float_to_int32(x):
    """``static_cast<int32_t>(float)`` as compiled for x86: truncation; NaN or out of range -> INT32_MIN."""
    d = np.float64(x)
    if not (d > -2147483649.0 and d < 2147483648.0):
        return np.int64(INT32_MIN)
    return np.int64(np.trunc(d))


# The transforms a table samples, written exactly as the official ones (see above). Each has its own
# kernel so that a model compiles only the libm functions it uses (erfcf alone takes ~0.7 s).

@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def logistic_transform(x):
    x = np.float32(x)
    return _ONE / (_ONE + expf(-x))


@jit(error_model="numpy")
def gelu_transform(x):
    x = np.float32(x)
    return _HALF * x * erfcf(x * _NEG_SQRT1_2)


@jit(error_model="numpy")
def gelu_approximate_transform(x):
    x = np.float32(x)
    inner = _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x)
    return _HALF * x * (_ONE + tanhf(inner))


@jit(error_model="numpy")
def transform_f32(x, func):
    """The float32 function ``func`` (TANH, LOGISTIC, GELU, GELU_APPROXIMATE) at x."""
    x = np.float32(x)
    if func == TANH:
        return tanhf(x)
    if func == LOGISTIC:
        return logistic_transform(x)
    if func == GELU:
        return gelu_transform(x)
    return gelu_approximate_transform(x)


@jit
def tanh_values(out, x):
    """out[i] = tanhf(x[i]) in float32. [n] -> [n]."""
    for i in range(x.size):
        out[i] = tanhf(np.float32(x[i]))


@jit
def logistic_transform_values(out, x):
    for i in range(x.size):
        out[i] = logistic_transform(x[i])


@jit
def gelu_transform_values(out, x):
    for i in range(x.size):
        out[i] = gelu_transform(x[i])


@jit
def gelu_approximate_transform_values(out, x):
    for i in range(x.size):
        out[i] = gelu_approximate_transform(x[i])


# func -> the kernel that applies its transform to an array
TRANSFORM_VALUES = {TANH: tanh_values, LOGISTIC: logistic_transform_values, GELU: gelu_transform_values,
                    GELU_APPROXIMATE: gelu_approximate_transform_values}


@jit
def lut_inputs_8bit(dequantized, qmin, input_scale, input_zero_point):
    """dequantized[v - qmin] = float(in_scale * (v - in_zp)) in float32, for the 256 codes v."""
    in_scale = np.float32(input_scale)
    for i in range(256):
        dequantized[i] = np.float32(in_scale * np.float32(qmin + i - input_zero_point))


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def quantize_lut_8bit(table, qmin, transformed, output_scale, output_zero_point):
    """table[i] = clamp(int32(round_half_away(transformed[i] * float(1 / out_scale)) + out_zp))."""
    inverse_scale = np.float32(np.float32(1.0) / np.float32(output_scale))
    qmax = qmin + 255
    for i in range(256):
        rescaled = round_half_away(np.float32(transformed[i] * inverse_scale))
        quantized = float_to_int32(np.float32(np.float32(rescaled) + np.float32(output_zero_point)))
        table[i] = min(max(quantized, qmin), qmax)


def populate_lut_8bit(table, qmin, input_scale, input_zero_point, output_scale, output_zero_point, func):
    """``LUTPopulateInt8`` (kernels/internal/common.h): table[v - qmin] for every code v of the type.

    dequantized = float(in_scale * (v - in_zp)); y = f(dequantized) in float32;
    out = clamp(int32(round_half_away(y * float(1 / out_scale)) + out_zp)). ``table`` has 256 entries,
    stored in code order (the official int8 table is rotated by the uint8 cast; same values). Three
    kernels (inputs, the transform's own kernel, quantization), so only ``func``'s libm is compiled.
    """
    dequantized = np.empty(256, np.float32)
    lut_inputs_8bit(dequantized, qmin, input_scale, input_zero_point)
    transformed = np.empty(256, np.float32)
    TRANSFORM_VALUES[func](transformed, dequantized)
    quantize_lut_8bit(table, qmin, transformed, output_scale, output_zero_point)


@jit
def lookup_8bit(output, x, table, qmin):
    """``LookupTable`` (reference/integer_ops/lut.h): output[i] = table[x[i] - qmin]. [n] -> [n]."""
    for i in range(x.size):
        output[i] = table[np.int64(x[i]) - qmin]


_LOGISTIC_CUTOFF_UPPER = np.float32(16.619047164916992188)
_LOGISTIC_CUTOFF_LOWER = np.float32(-9.0)


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def logistic_f32(x):
    """Reference float ``Logistic`` (reference/logistic.h): 1 above 16.619047, expf(x) below -9,
    else 1 / (1 + expf(-x)), all in float32."""
    x = np.float32(x)
    if x > _LOGISTIC_CUTOFF_UPPER:
        return _ONE
    if x < _LOGISTIC_CUTOFF_LOWER:
        return expf(x)
    return _ONE / (_ONE + expf(-x))


# ---------------------------------------------------------------- Eigen's float32 tanh / erfc
# The float GELU kernel (reference/gelu.h) evaluates Eigen array expressions, so it uses Eigen's own
# float32 approximations (Eigen/src/Core/arch/Default/GenericPacketMathFunctions*.h and
# SpecialFunctionsImpl.h, as built into the wheel: EIGEN_FAST_MATH, no FMA), not libm. Every
# operation below rounds to float32 as the packet code does; pmadd(a, b, c) is a*b + c rounded twice.

_EIGEN_TANH_CLAMP = np.float32(7.90738964080810547)  # smallest |x| where the rational gives exactly 1
_EIGEN_TANH_ALPHA = (np.float32(1.394553628e-8), np.float32(2.102733560e-5), np.float32(3.520756727e-3),
                     np.float32(1.340216100e-1))
_EIGEN_TANH_BETA = (np.float32(8.015776984e-7), np.float32(3.326951409e-4), np.float32(2.597254514e-2),
                    np.float32(4.673548340e-1), np.float32(1.0))
_EIGEN_ERFC_CLAMP = np.float32(11.0)
_EIGEN_ERFC_SMALL = (np.float32(5.61802298761904239654541015625e-04), np.float32(-4.91381669417023658752441406250e-03),
                     np.float32(2.67075151205062866210937500000e-02), np.float32(-1.12800106406211853027343750000e-01),
                     np.float32(3.76122951507568359375000000000e-01), np.float32(-1.12837910652160644531250000000e+00))
_EIGEN_ERFC_NUM = (np.float32(1.0208116471767425537109375e-01), np.float32(4.2920666933059692382812500e-01),
                   np.float32(3.2379078865051269531250000e-01), np.float32(5.3971976041793823242187500e-02))
_EIGEN_ERFC_DEN = (np.float32(1.7251677811145782470703125e-02), np.float32(3.9137163758277893066406250e-01),
                   np.float32(1.0), np.float32(6.2173241376876831054687500e-01),
                   np.float32(9.5662862062454223632812500e-02))
_EIGEN_EXP_P = (np.float32(0.49999988079071044921875), np.float32(0.16666518151760101318359375),
                np.float32(4.166965186595916748046875e-2), np.float32(8.36894474923610687255859375e-3),
                np.float32(1.37449637986719608306884765625e-3))  # p2 .. p6


@jit
def _madd(a, b, c):
    """Eigen ``pmadd`` without FMA: float32(float32(a * b) + c)."""
    return np.float32(np.float32(a * b) + c)


@jit
def _polevl(x, coefficients):
    """Eigen ``ppolevl``: Horner's rule, highest degree first."""
    p = coefficients[0]
    for i in range(1, len(coefficients)):
        p = _madd(p, x, coefficients[i])
    return p


@jit
def sse_min(a, b):
    """SSE ``minps`` (as Eigen's pmin and XNNPACK's x86 kernels use it): a < b ? a : b (b when either
    is NaN)."""
    return a if a < b else b


@jit
def sse_max(a, b):
    """SSE ``maxps``: a > b ? a : b (b when either is NaN)."""
    return a if a > b else b


@jit
def eigen_expf(x):
    """Eigen ``pexp_float``: x = m*ln2 + r (ln2 in two parts), exp(r) by a degree-6 polynomial, 2**m."""
    if x < np.float32(-104.0):
        return np.float32(0.0)
    xc = sse_min(x, np.float32(88.723))
    m = np.float32(np.floor(_madd(xc, np.float32(1.44269504088896341), np.float32(0.5))))
    r = _madd(m, np.float32(-0.693359375), xc)
    r = _madd(m, np.float32(2.12194440e-4), r)
    r2 = np.float32(r * r)
    p2, p3, p4, p5, p6 = _EIGEN_EXP_P
    p_even = _madd(r2, _madd(r2, p6, p4), p2)
    p_odd = _madd(r2, p5, p3)
    y = _madd(r2, _madd(r, p_odd, p_even), np.float32(r + _ONE))
    scaled = np.float32(math.ldexp(np.float64(y), int(m)))  # pldexp: one rounding at most
    return sse_max(scaled, x)


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def eigen_tanhf(x):
    """Eigen ``ptanh_float`` (fast-math version): odd/even 9/8 rational on [-c, c], exactly +-1 beyond."""
    x = sse_max(sse_min(x, _EIGEN_TANH_CLAMP), -_EIGEN_TANH_CLAMP)
    x2 = np.float32(x * x)
    x3 = np.float32(x2 * x)
    p = _madd(x3, _polevl(x2, _EIGEN_TANH_ALPHA), x)
    return np.float32(p / _polevl(x2, _EIGEN_TANH_BETA))


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def eigen_erfcf(x):
    """Eigen ``generic_fast_erfc<float>``: 1 + x*S(x^2) for |x| <= 1, else
    exp(-x^2) (with the low part of x^2 folded in) * P(1/x^2) / (x Q(1/x^2)) (+2 for x < 0)."""
    x = sse_min(sse_max(x, -_EIGEN_ERFC_CLAMP), _EIGEN_ERFC_CLAMP)
    x2 = np.float32(x * x)
    if not x2 > _ONE:
        return _madd(x, _polevl(x2, _EIGEN_ERFC_SMALL), _ONE)
    x2_lo = np.float32(np.float64(x) * np.float64(x) - np.float64(x2))  # twoprod_low: exact
    exp_hi = eigen_expf(-x2)
    z = np.float32(exp_hi - np.float32(exp_hi * x2_lo))  # pnmadd
    q2 = np.float32(_ONE / x2)
    r = np.float32(_polevl(q2, _EIGEN_ERFC_NUM) / np.float32(x * _polevl(q2, _EIGEN_ERFC_DEN)))
    return _madd(z, r, np.float32(2.0) if x < 0 else np.float32(0.0))


@jit
def gelu_float(x, approximate):
    """The official float GELU (reference/gelu.h, Eigen arrays):
    exact 0.5*x*erfc(x * -sqrt(1/2)); approximate 0.5*x*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x^3)))."""
    x = np.float32(x)
    half_x = np.float32(_HALF * x)
    if approximate:
        cube = np.float32(np.float32(x * x) * x)
        inner = np.float32(_SQRT_2_OVER_PI * np.float32(x + np.float32(_GELU_CUBIC * cube)))
        return np.float32(half_x * np.float32(_ONE + eigen_tanhf(inner)))
    return np.float32(half_x * eigen_erfcf(np.float32(x * _NEG_SQRT1_2)))


@jit
def logistic_values(output, x):
    """out[i] = logistic_f32(x[i]). [n] -> [n]."""
    for i in range(x.size):
        output[i] = logistic_f32(x[i])


@jit
def gelu_values(output, x, approximate):
    """out[i] = gelu_float(x[i], approximate). [n] -> [n]."""
    for i in range(x.size):
        output[i] = gelu_float(x[i], approximate)


def elementwise_float(output, x, func):
    """The reference float32 kernels: TANH (``std::tanh``: :func:`tanh_values`), LOGISTIC
    (``logistic_f32``), GELU (``gelu_float``), each its own kernel (a model compiles only its own
    libm functions). [n] -> [n]."""
    if func == TANH:
        tanh_values(output, x)
    elif func == LOGISTIC:
        logistic_values(output, x)
    else:
        gelu_values(output, x, func == GELU_APPROXIMATE)


# ---------------------------------------------------------------- 513-entry int16 tables

EXP = 4  # std::exp(double), for the int16 SOFTMAX table (double precision)
ONE_OVER_ONE_PLUS_X = 5  # 1.0 / (1.0 + x), for the int16 SOFTMAX table (double precision)
LUT16_STEPS = 512


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def _transform_f64(x, func):
    if func == EXP:
        return np.exp(np.float64(x))
    return 1.0 / (1.0 + np.float64(x))


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def _lut16_entry(val, val_midpoint, val_next, output_scaling_inv):
    """One entry of ``LUTPopulateInt16``: the sample, corrected by half the error linear interpolation
    makes at the midpoint. Arithmetic in the type of the arguments (float32 or float64)."""
    sample_val = round_half_away(val * output_scaling_inv)
    midpoint_interp_val = round_half_away((val_next * output_scaling_inv + type(val)(sample_val)) / type(val)(2))
    midpoint_val = round_half_away(val_midpoint * output_scaling_inv)
    bias = round_half_away((midpoint_interp_val - midpoint_val) / 2)
    return min(max(sample_val - bias, -32768.0), 32767.0)


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def populate_lut_int16_f32(table, input_scale, input_zero_point, output_scale, output_zero_point, func):
    """``LUTPopulateInt16<float>`` (kernels/internal/common.h): 513 samples of f over the int16 input
    range, in float32, for ``lookup_int16``. The output zero point cancels out (outputs are symmetric)."""
    in_scale, out_scale = np.float32(input_scale), np.float32(output_scale)
    input_min = np.float32(in_scale * np.float32(-32768 - input_zero_point))
    input_max = np.float32(in_scale * np.float32(32767 - input_zero_point))
    output_min = np.float32(out_scale * np.float32(-32768 - output_zero_point))
    output_max = np.float32(out_scale * np.float32(32767 - output_zero_point))
    step = np.float32(np.float32(input_max - input_min) / np.float32(LUT16_STEPS))
    half_step = np.float32(step / np.float32(2))
    output_scaling_inv = np.float32(np.float32(65536) / np.float32(output_max - output_min))
    for i in range(LUT16_STEPS):
        at = np.float32(input_min + np.float32(np.float32(i) * step))
        val = transform_f32(at, func)
        val_midpoint = transform_f32(np.float32(at + half_step), func)
        val_next = transform_f32(np.float32(input_min + np.float32(np.float32(i + 1) * step)), func)
        table[i] = _lut16_entry(val, val_midpoint, val_next, output_scaling_inv)
    last = round_half_away(np.float32(transform_f32(input_max, func) * output_scaling_inv))
    table[LUT16_STEPS] = min(max(last, -32768.0), 32767.0)


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def populate_lut_int16_f64(table, input_scale, input_zero_point, output_scale, output_zero_point, func):
    """``LUTPopulateInt16<double>``: as ``populate_lut_int16_f32`` in double precision (the int16
    SOFTMAX tables of exp and 1/(1+x))."""
    input_min = input_scale * (-32768 - input_zero_point)
    input_max = input_scale * (32767 - input_zero_point)
    output_min = output_scale * (-32768 - output_zero_point)
    output_max = output_scale * (32767 - output_zero_point)
    step = (input_max - input_min) / LUT16_STEPS
    half_step = step / 2
    output_scaling_inv = 65536.0 / (output_max - output_min)
    for i in range(LUT16_STEPS):
        val = _transform_f64(input_min + i * step, func)
        val_midpoint = _transform_f64(input_min + i * step + half_step, func)
        val_next = _transform_f64(input_min + (i + 1) * step, func)
        table[i] = _lut16_entry(val, val_midpoint, val_next, output_scaling_inv)
    last = round_half_away(_transform_f64(input_max, func) * output_scaling_inv)
    table[LUT16_STEPS] = min(max(last, -32768.0), 32767.0)


@jit
def lut16_value(value, table):
    """``LUTLookup`` for int16: the high 9 bits pick an entry, the low 7 interpolate to the next."""
    value = np.int64(value)
    index = 256 + (value >> 7)
    offset = value & 0x7F
    base = np.int64(table[index])
    slope = np.int64(table[index + 1]) - base
    return base + ((slope * offset + 64) >> 7)


@jit
def lookup_int16(output, x, table):
    """``LookupTableInt16`` (reference/gelu.h): output[i] = lut16_value(x[i]). [n] -> [n]."""
    for i in range(x.size):
        output[i] = lut16_value(x[i], table)


# ---------------------------------------------------------------- int16 TANH / LOGISTIC (256-entry sigmoid table)

SIGMOID_TABLE_SIZE = 256
SIGMOID_TABLE_STEP = 24  # entry i stands for sigmoid(i / 24): the 256 entries span [0, 10.67)


def sigmoid_table_uint16() -> np.ndarray:
    """``sigmoid_table_uint16`` (kernels/internal/common.h) shared by the int16 TANH and LOGISTIC
    kernels: sigmoid(i / 24) in 0.16 fixed point, i = 0..255. Prepare-time, plain Python (float64).

    Each entry is the sample raised by half the error linear interpolation makes at the middle of
    the segment to its right (sigmoid is concave on x >= 0, so the chord lies below it):
    ``round(v_i + (v_{i+1/2} - (v_i + v_{i+1}) / 2) / 2)`` with ``v_t = 65536 * sigmoid(t / 24)``.
    The last entry is 65535, the saturation value the kernels use from entry 255 on (this formula
    would give 65534 there). Not copied: every entry was measured from the official interpreter
    (golden/int16_tables/, tests/ops/test_int16.py); none lies within 0.004 of a rounding tie.
    """
    def v(t):
        return 65536.0 / (1.0 + math.exp(-t / SIGMOID_TABLE_STEP))

    table = np.empty(SIGMOID_TABLE_SIZE, np.uint16)
    for i in range(SIGMOID_TABLE_SIZE - 1):
        raised = v(i) + (v(i + 0.5) - (v(i) + v(i + 1)) / 2.0) / 2.0
        table[i] = min(int(math.floor(raised + 0.5)), 65535)
    table[SIGMOID_TABLE_SIZE - 1] = 65535
    table.flags.writeable = False
    return table


@jit
def _wrap32(x):
    """int32 wrap-around of an int64 (what the official int32 arithmetic does on overflow)."""
    return ((np.int64(x) + 2**31) & 0xFFFFFFFF) - 2**31


@jit
def _sigmoid16_input(x, multiplier, left_shift):
    """The common input step of the int16 TANH/LOGISTIC kernels, in int32 as compiled:
    ``(x * multiplier + round) >> left_shift`` with round = 2**(left_shift - 1) (0 for shift 0);
    multiplier 0 is the power-of-two case: multiplier 3 << left_shift, shift 0."""
    if multiplier == 0:
        multiplier = _wrap32(np.int64(3) << left_shift)
        left_shift = 0
    rounding = (np.int64(1) << (left_shift - 1)) if left_shift > 0 else np.int64(0)
    return _wrap32(_wrap32(np.int64(x) * multiplier) + rounding) >> left_shift


@jit
def tanh_int16(output, x, table, multiplier, left_shift):
    """int16 TANH, reference/integer_ops/tanh.h ``Tanh`` (int16 overload): tanh(x) = 2 sigmoid(2x) - 1.

    v = input step (``_sigmoid16_input``: input scale -> 1/(3 * 4096)); |v| = 256 uh + ut;
    uh >= 255 saturates (r = 0xFFFF << 8), else r = (t[uh] << 8) + ut (t[uh+1] - t[uh]);
    out = (r - 2**23 + 2**7) >> 8 for v >= 0, (-r + 2**23 + 2**7 - 1) >> 8 for v < 0. [n] -> [n]
    """
    for i in range(x.size):
        v = _sigmoid16_input(x[i], multiplier, left_shift)
        a = abs(v)  # abs(INT32_MIN) read as uint32 is 2**31: saturates below
        uh = a >> 8
        if uh >= 255:
            r = np.int64(0xFFFF << 8)
        else:
            ua = np.int64(table[uh])
            r = (ua << 8) + (a & 0xFF) * (np.int64(table[uh + 1]) - ua)
        if v >= 0:
            r = r - (1 << 23) + (1 << 7)
        else:
            r = -r + (1 << 23) + (1 << 7) - 1
        output[i] = r >> 8


@jit
def logistic_int16(output, x, table, multiplier, left_shift):
    """int16 LOGISTIC, reference/integer_ops/logistic.h ``Logistic`` (int16 overload).

    v = input step (``_sigmoid16_input``); |v| = 512 uh + ut; uh >= 255 saturates (r = 0x7FFF << 10),
    else r = (t[uh] << 9) + ut (t[uh+1] - t[uh]); out = (r + 2**9) >> 10 for v >= 0,
    (2**25 - r + 2**9 - 1) >> 10 for v < 0 (uint32 arithmetic, all terms non-negative). [n] -> [n]
    """
    for i in range(x.size):
        v = _sigmoid16_input(x[i], multiplier, left_shift)
        a = abs(v)
        uh = a >> 9
        if uh >= 255:
            r = np.int64(0x7FFF << 10)
        else:
            ua = np.int64(table[uh])
            r = (ua << 9) + (a & 0x1FF) * (np.int64(table[uh + 1]) - ua)
        if v >= 0:
            r = r + (1 << 9)
        else:
            r = (1 << 25) - r + (1 << 9) - 1
        output[i] = r >> 10
