"""256-entry lookup tables for int8/uint8 elementwise ops (TANH, LOGISTIC, GELU), and the float32
libm functions they (and the float32 kernels) are built from.

The official kernels call glibc's single-precision ``tanhf``, ``expf`` and ``erfcf`` (the wheel
imports them from libm). Numba compiles ``math.tanh`` / ``math.exp`` / ``math.erfc`` on a float32
argument to calls of those very functions, so the jitted kernels reproduce them bit for bit. With
``NUMBA_DISABLE_JIT=1`` the same names are bound to the libm functions through ctypes instead (Python's
``math`` works in double precision and would round differently).
"""
import ctypes
import ctypes.util
import math

import numba
import numpy as np

from litelens.kernels.config import jit

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


if numba.config.DISABLE_JIT:
    _libm = ctypes.CDLL(ctypes.util.find_library("m"))

    def _bind(name):
        fn = getattr(_libm, name)
        fn.argtypes = [ctypes.c_float]
        fn.restype = ctypes.c_float
        return lambda x: np.float32(fn(float(x)))

    tanhf = _bind("tanhf")
    expf = _bind("expf")
    erfcf = _bind("erfcf")
else:

    @jit
    def tanhf(x):
        """glibc ``tanhf`` on a float32."""
        return math.tanh(np.float32(x))

    @jit
    def expf(x):
        """glibc ``expf`` on a float32."""
        return math.exp(np.float32(x))

    @jit
    def erfcf(x):
        """glibc ``erfcf`` on a float32."""
        return math.erfc(np.float32(x))


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


@jit
def transform_f32(x, func):
    """The float32 function a table samples, written exactly as the official transform (see above)."""
    x = np.float32(x)
    if func == TANH:
        return tanhf(x)
    if func == LOGISTIC:
        return _ONE / (_ONE + expf(-x))
    if func == GELU:
        return _HALF * x * erfcf(x * _NEG_SQRT1_2)
    # GELU_APPROXIMATE
    inner = _SQRT_2_OVER_PI * (x + _GELU_CUBIC * x * x * x)
    return _HALF * x * (_ONE + tanhf(inner))


@jit
def populate_lut_8bit(table, qmin, input_scale, input_zero_point, output_scale, output_zero_point, func):
    """``LUTPopulateInt8`` (kernels/internal/common.h): table[v - qmin] for every code v of the type.

    dequantized = float(in_scale * (v - in_zp)); y = f(dequantized) in float32;
    out = clamp(int32(round_half_away(y * float(1 / out_scale)) + out_zp)). ``table`` has 256 entries,
    stored in code order (the official int8 table is rotated by the uint8 cast; same values).
    """
    in_scale = np.float32(input_scale)
    inverse_scale = np.float32(np.float32(1.0) / np.float32(output_scale))
    qmax = qmin + 255
    for i in range(256):
        v = qmin + i
        dequantized = np.float32(in_scale * np.float32(v - input_zero_point))
        transformed = transform_f32(dequantized, func)
        rescaled = round_half_away(np.float32(transformed * inverse_scale))
        quantized = float_to_int32(np.float32(np.float32(rescaled) + np.float32(output_zero_point)))
        table[i] = min(max(quantized, qmin), qmax)


@jit
def lookup_8bit(output, x, table, qmin):
    """``LookupTable`` (reference/integer_ops/lut.h): output[i] = table[x[i] - qmin]. [n] -> [n]."""
    for i in range(x.size):
        output[i] = table[np.int64(x[i]) - qmin]


_LOGISTIC_CUTOFF_UPPER = np.float32(16.619047164916992188)
_LOGISTIC_CUTOFF_LOWER = np.float32(-9.0)


@jit
def logistic_f32(x):
    """Reference float ``Logistic`` (reference/logistic.h): 1 above 16.619047, expf(x) below -9,
    else 1 / (1 + expf(-x)), all in float32."""
    x = np.float32(x)
    if x > _LOGISTIC_CUTOFF_UPPER:
        return _ONE
    if x < _LOGISTIC_CUTOFF_LOWER:
        return expf(x)
    return _ONE / (_ONE + expf(-x))


@jit
def elementwise_float(output, x, func):
    """The reference float32 kernels of TANH (``std::tanh``), LOGISTIC (``logistic_f32``) and GELU
    (the transforms above; the official float GELU runs Eigen's vectorized tanh/erfc, which differ
    by a few ulp). [n] -> [n]."""
    for i in range(x.size):
        if func == LOGISTIC:
            output[i] = logistic_f32(x[i])
        else:
            output[i] = transform_f32(x[i], func)


# ---------------------------------------------------------------- 513-entry int16 tables

EXP = 4  # std::exp(double), for the int16 SOFTMAX table (double precision)
ONE_OVER_ONE_PLUS_X = 5  # 1.0 / (1.0 + x), for the int16 SOFTMAX table (double precision)
LUT16_STEPS = 512


@jit
def _transform_f64(x, func):
    if func == EXP:
        return np.exp(np.float64(x))
    return 1.0 / (1.0 + np.float64(x))


@jit
def _lut16_entry(val, val_midpoint, val_next, output_scaling_inv):
    """One entry of ``LUTPopulateInt16``: the sample, corrected by half the error linear interpolation
    makes at the midpoint. Arithmetic in the type of the arguments (float32 or float64)."""
    sample_val = round_half_away(val * output_scaling_inv)
    midpoint_interp_val = round_half_away((val_next * output_scaling_inv + type(val)(sample_val)) / type(val)(2))
    midpoint_val = round_half_away(val_midpoint * output_scaling_inv)
    bias = round_half_away((midpoint_interp_val - midpoint_val) / 2)
    return min(max(sample_val - bias, -32768.0), 32767.0)


@jit
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


@jit
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
