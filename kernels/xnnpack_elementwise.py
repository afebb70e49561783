"""XNNPACK's 8-bit ADD/SUB/MUL (the delegate's ``xnn_define_binary`` on qs8 tensors), x86-64.

Parameters follow XNNPACK ``src/microparams-init.c``:

* ADD/SUB, ``xnn_init_qs8_add_minmax_scalar_params``: per input r_k = s_k / s_out in float32 (SUB
  negates input 2's); shift = 20 - exponent(max |r_k|) (in [12, 30]); multiplier
  m_k = lrintf(|r_k| * 2**shift) with r_k's sign; bias = 2**(shift-1) - m_1 * zp_1 - m_2 * zp_2.
  Kernel (``qs8-vadd`` scalar / SSE4.1 / AVX2 / AVX-512 mul32, all the same integers):
  out = ((bias + m_1 * x_1 + m_2 * x_2) >> shift) + zp_out (arithmetic shift: ties up), clamped.
* MUL, ``xnn_init_qs8_mul_minmax_scalar_params`` (fp32 requantization): scale = float32(s_1 * s_2) /
  s_out; out = rne(float32((x_1 - zp_1) * (x_2 - zp_2)) * scale) + zp_out, clamped (``qs8-vmul``
  fp32 kernels: SSE ``cvtps2dq`` / scalar magic-bias rounding, both round half to even).

A fused activation becomes XNNPACK's clamp with bounds ``xnn_qs8_quantize`` (requantization.h):
lrintf(clamp(f / s_out + zp_out, -128, 127)) in float32, round half to even.
The vector kernels' int16 saturating packs cannot change a result here (|acc >> shift| and the
rounded product only exceed int16 when the int8 clamp saturates anyway). CPU features: any x86-64
(SSE2..AVX-512 kernels compute the same integers).
"""
import math

import numpy as np

from litelens.kernels.broadcast import row_offsets
from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import wrap_int32


def _f32(x) -> np.float32:
    return np.float32(x)


def qs8_add_params(s1: float, z1: int, s2: float, z2: int, s_out: float, sign: int) -> tuple[int, int, int, int]:
    """(bias, multiplier1, multiplier2, shift) of ``xnn_init_qs8_add_minmax_scalar_params``; SUB
    (sign -1) defines input 2's scale as negative. The delegate guarantees |r_k| in [2**-10, 2**8)."""
    with np.errstate(all="ignore"):
        r1 = _f32(_f32(s1) / _f32(s_out))
        r2 = _f32(_f32(s2) / _f32(s_out)) * np.float32(sign)
    a1, a2 = abs(r1), abs(r2)
    biggest = max(a1, a2)
    exponent = int((int(np.float32(biggest).view(np.uint32)) >> 23) - 127)
    shift = 20 - exponent

    def multiplier(a: np.float32, r: np.float32) -> int:
        scaled = (np.array(a, np.float32).view(np.uint32) + np.uint32(shift << 23)).view(np.float32)
        m = int(np.rint(scaled))  # lrintf: round half to even
        return -m if math.copysign(1.0, float(r)) < 0 else m

    m1, m2 = multiplier(a1, r1), multiplier(a2, r2)
    bias = (1 << (shift - 1)) - m1 * z1 - m2 * z2
    return bias, m1, m2, shift


def qs8_mul_scale(s1: float, s2: float, s_out: float) -> np.float32:
    with np.errstate(all="ignore"):
        return _f32(_f32(_f32(s1) * _f32(s2)) / _f32(s_out))


def qs8_quantize(value: float, scale: float, zero_point: int, lo: int = -128, hi: int = 127) -> int:
    """``xnn_qs8_quantize``: lrintf(min(max(value / scale + zp, lo), hi)) in float32."""
    with np.errstate(all="ignore"):
        v = _f32(_f32(_f32(value) / _f32(scale)) + _f32(zero_point))
    v = min(max(float(v), float(lo)), float(hi))
    return int(np.rint(np.float32(v)))


def xnnpack_activation_range(activation: int, scale: float, zero_point: int, lo: int = -128, hi: int = 127):
    """Quantized clamp of a fused activation as the delegate gives it to XNNPACK (0 NONE, 1 RELU,
    2 RELU_N1_TO_1, 3 RELU6)."""
    bounds = {0: (-math.inf, math.inf), 1: (0.0, math.inf), 2: (-1.0, 1.0), 3: (0.0, 6.0)}[activation]
    qlo = lo if bounds[0] == -math.inf else qs8_quantize(bounds[0], scale, zero_point, lo, hi)
    qhi = hi if bounds[1] == math.inf else qs8_quantize(bounds[1], scale, zero_point, lo, hi)
    return qlo, qhi


@jit
def _asr32(x, shift):
    return wrap_int32(x) >> shift


@jit
def qs8_add(out, x1, x2, loops, strides1, strides2, bias, multiplier1, multiplier2, shift,
            out_zero_point, act_min, act_max):
    """XNNPACK qs8 vadd (see module docstring): ((bias + m1 * x1 + m2 * x2) >> shift) + zp, clamped.
    The accumulator is int32 (it cannot wrap for |m_k| <= 2**21 and 8-bit inputs)."""
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            acc = bias + multiplier1 * np.int64(x1[start1 + i * step1]) + multiplier2 * np.int64(x2[start2 + i * step2])
            v = _asr32(acc, shift) + out_zero_point
            out[base + i] = min(max(v, act_min), act_max)


@jit
def qs8_mul(out, x1, x2, loops, strides1, strides2, zero_point1, zero_point2, scale, out_zero_point,
            act_min, act_max):
    """XNNPACK qs8 vmul fp32 (see module docstring): rne(float32(product) * scale) + zp, clamped."""
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            a = np.int64(x1[start1 + i * step1]) - zero_point1
            product = a * (np.int64(x2[start2 + i * step2]) - zero_point2)
            scaled = np.float32(np.float32(product) * scale)
            v = np.int64(np.rint(scaled)) + out_zero_point
            out[base + i] = min(max(v, act_min), act_max)


FLT_MIN = np.float32(1.1754944e-38)


@jit
def flush_subnormal(v):
    """MXCSR flush-to-zero / denormals-are-zero, which XNNPACK's float kernels run under: a subnormal
    float32 becomes a zero of its sign."""
    if v != 0 and abs(v) < FLT_MIN:
        return np.float32(0.0) * v
    return v


@jit(error_model="numpy")
def float_binary_ftz(out, x1, x2, loops, strides1, strides2, op, act_min, act_max):
    """XNNPACK f32 ADD/SUB/MUL/DIV/SQUARED_DIFFERENCE: IEEE float32 with subnormal inputs read as zero
    and subnormal results flushed to zero; clamp to [act_min, act_max] (+-inf without activation)."""
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            a = flush_subnormal(np.float32(x1[start1 + i * step1]))
            b = flush_subnormal(np.float32(x2[start2 + i * step2]))
            if op == 0:
                r = np.float32(a + b)
            elif op == 1:
                r = np.float32(a - b)
            elif op == 2:
                r = np.float32(a * b)
            elif op == 3:
                r = np.float32(a / b)
            else:
                d = flush_subnormal(np.float32(a - b))
                r = np.float32(d * d)
            r = flush_subnormal(r)
            if r < act_min:
                r = act_min
            if act_max < r:
                r = act_max
            out[base + i] = r


def qs8_mul_rndnu_params(s1: float, s2: float, s_out: float) -> tuple[int, int, int]:
    """ARM64: ``xnn_init_qs8_mul_minmax_rndnu_neon_params`` -> (multiplier, left_pre_shift, post_shift).
    The float32 scale's mantissa becomes a Q31 multiplier in [2**30, 2**31 - 128]; its exponent a
    shift split into a left pre-shift and a rounding post-shift of at least 1."""
    bits = int(np.array(qs8_mul_scale(s1, s2, s_out), np.float32).view(np.uint32))
    multiplier = ((bits & 0x007FFFFF) | 0x00800000) << 7
    shift = 127 + 31 - 32 - (bits >> 23)
    post_shift = max(shift, 1)
    return multiplier, post_shift - shift, post_shift


@jit
def qs8_mul_rndnu(out, x1, x2, loops, strides1, strides2, zero_point1, zero_point2, multiplier, left_pre_shift,
                  post_shift, out_zero_point, act_min, act_max):
    """XNNPACK qs8 vmul rndnu (ARM NEON, ``qs8-vmul-minmax-rndnu-neon``): p = (x1 - zp1) * (x2 - zp2);
    p = sat(p << left_pre_shift) (``vqshlq``); p = (2 * p * M) >> 32 floored (``vqdmulhq``); p =
    (p + 2**(post_shift - 1)) >> post_shift (``vrshlq``); + zp_out, saturated and clamped."""
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            p = (np.int64(x1[start1 + i * step1]) - zero_point1) * (np.int64(x2[start2 + i * step2]) - zero_point2)
            p = min(max(p << left_pre_shift, -2147483648), 2147483647)
            p = (2 * p * multiplier) >> 32  # |p * M| < 2**62: no saturation case (p = M = INT32_MIN)
            p = (p + (np.int64(1) << (post_shift - 1))) >> post_shift
            v = p + out_zero_point
            out[base + i] = min(max(v, act_min), act_max)


@jit
def flush_subnormals_inplace(out):
    """Flush every subnormal of a float32 array to a zero of its sign (XNNPACK's float unary kernels
    run with MXCSR flush-to-zero, e.g. TANH of a subnormal gives a signed zero). [n] -> [n]."""
    for i in range(out.shape[0]):
        out[i] = flush_subnormal(out[i])
