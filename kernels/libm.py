"""glibc 2.36's float32 ``expf``, ``expm1f``, ``tanhf`` and ``erfcf`` as compiled for x86-64, written out
operation by operation so they give the same bits on every machine (x86-64, aarch64, no JIT).

The official interpreter's float kernels and its 8-bit table builders call the C library's ``tanhf``,
``expf`` and ``erfcf``. The goldens were recorded against glibc 2.36 on x86-64, where:

- ``tanhf`` / ``expm1f`` / ``erfcf`` are fdlibm's float algorithms (sysdeps/ieee754/flt-32/s_tanhf.c,
  s_expm1f.c, s_erff.c) compiled for baseline x86-64: every float operation rounded to float32, in
  source order, no fused multiply-add. glibc's aarch64 build contracts some of them into FMAs and
  rounds differently (e.g. tanhf(0.1091187) = 0x3dde97a4 here, 0x3dde97a3 there).
- ``expf`` is the table-driven double-precision algorithm (sysdeps/ieee754/flt-32/e_expf.c, ARM
  optimized-routines, 2017): x*32/ln2 = k + r, 2**(k/32) from a 32-entry table, 2**(r/32) by a cubic.
  On x86-64 glibc picks its ``__expf_fma`` build at load time on any CPU with FMA and AVX2 (the
  goldens' machine; any x86-64 since about 2013), in which five operations are fused multiply-adds
  (read from the disassembly of libm.so.6). Here they are explicit, correctly rounded ``fma`` calls
  (an IEEE operation, so the same bits everywhere); every other operation is a plain double
  operation. The same algorithm without FMA (``__expf_sse2``, older CPUs) differs on 2 of the 2**32
  inputs (x = 32.564632 and -63.09946). ``erfcf`` calls this same ``expf``.

Numba compiles these without fast-math flags, so LLVM never contracts a multiply and an add on its
own (on aarch64 either); ``fma`` is the ``llvm.fma.f64`` intrinsic (a hardware FMA, or glibc's exact
``fma`` where there is none). With ``NUMBA_DISABLE_JIT=1`` the same functions run on NumPy float32 /
float64 scalars, and ``fma`` is exact rational arithmetic rounded once (``fractions.Fraction``).

These pin glibc 2.36's x86-64 results, not the true function values: newer glibc releases replaced
tanhf and erfcf with correctly rounded versions (CORE-MATH), so an official interpreter linked to one
of those would give other bits than litelens on some inputs.
Verified bit for bit against this machine's libm (glibc 2.36, x86-64 with FMA) over every float32 bit
pattern (tests/ops/test_libm.py samples that check in CI).
"""
import struct
from fractions import Fraction

import numba
import numpy as np
from llvmlite import ir
from numba.core import cgutils, types
from numba.extending import intrinsic

from litelens.kernels.config import jit


def _f32(bits: int) -> np.float32:
    """The float32 with these bits (the C sources give their thresholds as bit patterns)."""
    return np.float32(struct.unpack("<f", struct.pack("<I", bits))[0])


# ---------------------------------------------------------------- fused multiply-add

if numba.config.DISABLE_JIT:

    def fma(a, b, c):
        """a * b + c rounded once to float64 (exact rational sum; int / int division rounds correctly)."""
        exact = Fraction(float(a)) * Fraction(float(b)) + Fraction(float(c))
        return np.float64(exact.numerator / exact.denominator)
else:

    @intrinsic
    def _fma_intrinsic(typingctx, a, b, c):
        def codegen(context, builder, signature, args):
            double = ir.DoubleType()
            fn = cgutils.get_or_insert_function(
                builder.module, ir.FunctionType(double, [double, double, double]), "llvm.fma.f64")
            return builder.call(fn, args)
        return types.float64(types.float64, types.float64, types.float64), codegen

    @jit
    def fma(a, b, c):
        """a * b + c rounded once to float64 (``llvm.fma.f64``)."""
        return _fma_intrinsic(np.float64(a), np.float64(b), np.float64(c))


# 2**e for e in [-160, 160] (exact doubles): scaling by a power of two is one exact multiply, where a
# call of ldexp would cost more than the rest of the function.
_POW2_BIAS = 160
_POW2 = np.array([2.0 ** e for e in range(-_POW2_BIAS, _POW2_BIAS + 1)], np.float64)
_POW2.flags.writeable = False


# ---------------------------------------------------------------- expf (e_expf.c, __expf_fma)

_EXP_TABLE_BITS = 5  # 32 entries
# 2**(i/32) rounded to the nearest double (glibc keeps them as bits minus i << 47; same values).
_EXP2_TABLE = np.array([float.fromhex(h) for h in (
    "0x1.0000000000000p+0", "0x1.059b0d3158574p+0", "0x1.0b5586cf9890fp+0", "0x1.11301d0125b51p+0",
    "0x1.172b83c7d517bp+0", "0x1.1d4873168b9aap+0", "0x1.2387a6e756238p+0", "0x1.29e9df51fdee1p+0",
    "0x1.306fe0a31b715p+0", "0x1.371a7373aa9cbp+0", "0x1.3dea64c123422p+0", "0x1.44e086061892dp+0",
    "0x1.4bfdad5362a27p+0", "0x1.5342b569d4f82p+0", "0x1.5ab07dd485429p+0", "0x1.6247eb03a5585p+0",
    "0x1.6a09e667f3bcdp+0", "0x1.71f75e8ec5f74p+0", "0x1.7a11473eb0187p+0", "0x1.82589994cce13p+0",
    "0x1.8ace5422aa0dbp+0", "0x1.93737b0cdc5e5p+0", "0x1.9c49182a3f090p+0", "0x1.a5503b23e255dp+0",
    "0x1.ae89f995ad3adp+0", "0x1.b7f76f2fb5e47p+0", "0x1.c199bdd85529cp+0", "0x1.cb720dcef9069p+0",
    "0x1.d5818dcfba487p+0", "0x1.dfc97337b9b5fp+0", "0x1.ea4afa2a490dap+0", "0x1.f50765b6e4540p+0")],
    np.float64)
_EXP2_TABLE.flags.writeable = False
_N = 1 << _EXP_TABLE_BITS
_INV_LN2_N = float.fromhex("0x1.71547652b82fep+0") * _N  # 32 / ln 2
_SHIFT = float.fromhex("0x1.8p+52")  # adding it rounds a double below 2**51 to an integer (ties even)
# 2**(r/32) ~ C0 r^3 + C1 r^2 + C2 r + 1 (the minimax cubic of 2**r, scaled by powers of two: exact)
_EXP_C0 = float.fromhex("0x1.c6af84b912394p-5") / _N / _N / _N
_EXP_C1 = float.fromhex("0x1.ebfce50fac4f3p-3") / _N / _N
_EXP_C2 = float.fromhex("0x1.62e42ff0c52d6p-1") / _N
_EXPF_SPECIAL = np.float32(88.0)  # |x| >= 88 (or NaN) goes through the special cases
EXPF_SPECIAL = _EXPF_SPECIAL
_EXPF_OVERFLOW = np.float32(float.fromhex("0x1.62e42ep6"))  # above: +inf
_EXPF_UNDERFLOW = np.float32(float.fromhex("-0x1.9fe368p6"))  # below: +0
_EXPF_MAY_UNDERFLOW = np.float32(float.fromhex("-0x1.9d1d9ep6"))  # below: the smallest subnormal
_F32_INF = np.float32(np.inf)
_F32_ZERO = np.float32(0.0)
_F32_MIN_SUBNORMAL = np.float32(2.0 ** -149)  # __math_may_uflowf: 0x1.4p-75f squared, rounded


@jit
def expf(x):
    """glibc 2.36 ``expf`` (sysdeps/ieee754/flt-32/e_expf.c as x86-64's ``__expf_fma``), in double:

    kd = round_even(x * 32/ln2) (one fma with the 1.5 * 2**52 shift), r = x * 32/ln2 - kd (one fma),
    s = 2**(kd/32) = table[kd % 32] * 2**(kd // 32),
    y = fma(fma(r, C0, C1), r*r, fma(r, C2, 1)) * s, rounded once to float32.
    |x| >= 88: -inf -> 0, inf/NaN -> x + x, x > 88.72 -> inf, x < -103.97 -> 0, x < -103.28 -> 2**-149.
    """
    x = np.float32(x)
    if not abs(x) < _EXPF_SPECIAL:
        if x == -_F32_INF:
            return _F32_ZERO
        if not abs(x) < _F32_INF:  # +inf or NaN
            return np.float32(x + x)
        if x > _EXPF_OVERFLOW:
            return _F32_INF
        if x < _EXPF_UNDERFLOW:
            return _F32_ZERO
        if x < _EXPF_MAY_UNDERFLOW:
            return _F32_MIN_SUBNORMAL
    return expf_main(x)


@jit(inline="always")
def expf_usual(x):
    """(True, expf(x)) when |x| < 88 or x < -103.97 (where expf is 0, -inf included), else
    (False, 1.0): branch-free, so a loop of it vectorises; the caller recomputes the unusual
    arguments (NaN, x >= 88, -103.97 <= x <= -88) with :func:`expf`."""
    usual = abs(x) < _EXPF_SPECIAL  # False for NaN too
    vanishes = x < _EXPF_UNDERFLOW
    value = expf_main(x if usual else _F32_ZERO)  # (the table index stays in range)
    return usual or vanishes, _F32_ZERO if vanishes else value


@jit(inline="always")
def expf_main(x):
    """The main path of :func:`expf`, for float32 |x| < 88 only."""
    xd = np.float64(x)
    kd = fma(_INV_LN2_N, xd, _SHIFT) - _SHIFT  # exact integer in [-150 * 32, 128 * 32]
    k = np.int64(kd)
    r = fma(_INV_LN2_N, xd, -kd)  # [-1/2, 1/2]
    s = _EXP2_TABLE[k & (_N - 1)] * _POW2[(k >> _EXP_TABLE_BITS) + _POW2_BIAS]  # exact: a normal double
    z = fma(r, _EXP_C0, _EXP_C1)
    r2 = r * r
    y = fma(r, _EXP_C2, 1.0)
    y = fma(z, r2, y)
    return np.float32(y * s)


# ---------------------------------------------------------------- expm1f (s_expm1f.c, fdlibm)

_ONE = np.float32(1.0)
_TWO = np.float32(2.0)
_HALF = np.float32(0.5)
_HUGE = np.float32(1.0e30)
_TINY = np.float32(1.0e-30)
_LN2_HI = _f32(0x3F317180)  # ln 2 to 16 bits: k * _LN2_HI is exact for the k used
_LN2_LO = _f32(0x3717F7D1)
_INV_LN2 = _f32(0x3FB8AA3B)
_EXPM1_Q = (_f32(0xBD088889), _f32(0x3AD00D01), _f32(0xB8A670CD), _f32(0x36867E54), _f32(0xB457EDBB))  # Q1..Q5
_EXPM1_O_THRESHOLD = _f32(0x42B17180)  # 88.7216796875: above it, overflow
_EXPM1_LARGE = _f32(0x4195B844)  # 27 ln 2: below -that, -1
_EXPM1_OVERFLOW_CHECK = _f32(0x42B17218)  # 88.72...
_EXPM1_HALF_LN2 = _f32(0x3EB17218)  # 0.5 ln 2
_EXPM1_3HALF_LN2 = _f32(0x3F851592)  # 1.5 ln 2
_EXPM1_TINY = _f32(0x33000000)  # 2**-25: below, x itself


@jit
def _scale_pow2(y, k):
    """y * 2**k for a positive float32 y whose result stays normal (C adds k to the exponent bits)."""
    return np.float32(np.float64(y) * _POW2[k + _POW2_BIAS])  # k in [-27, 128]


@jit
def expm1f(x):
    """glibc 2.36 ``expm1f`` (sysdeps/ieee754/flt-32/s_expm1f.c, fdlibm), every operation in float32:

    x = k ln2 + r (ln2 in a 16-bit high part and a low part, c the reduction's rounding error),
    expm1(r) = r + r^2/2 + r^3/2 (3 - r1 r/2) / (6 - r (3 - r1 r/2)) with r1 = 1 + Q(r^2/2)
    (degree 5), then rebuilt as 2**k (expm1(r) + 1) - 1 in the order fdlibm chooses per range of k.
    """
    x = np.float32(x)
    if x != x:
        return np.float32(x + x)
    negative = x < _F32_ZERO
    ax = abs(x)
    if ax >= _EXPM1_LARGE:
        if ax >= _EXPM1_OVERFLOW_CHECK:
            if ax == _F32_INF:
                return x if not negative else -_ONE
            if x > _EXPM1_O_THRESHOLD:
                return np.float32(_HUGE * _HUGE)
        if negative:
            return np.float32(_TINY - _ONE)
    c = _F32_ZERO
    if ax > _EXPM1_HALF_LN2:
        if ax < _EXPM1_3HALF_LN2:
            if not negative:
                hi = np.float32(x - _LN2_HI)
                lo = _LN2_LO
                k = 1
            else:
                hi = np.float32(x + _LN2_HI)
                lo = -_LN2_LO
                k = -1
        else:
            k = int(np.float32(np.float32(_INV_LN2 * x) + (-_HALF if negative else _HALF)))  # truncates
            t = np.float32(k)
            hi = np.float32(x - np.float32(t * _LN2_HI))
            lo = np.float32(t * _LN2_LO)
        x = np.float32(hi - lo)
        c = np.float32(np.float32(hi - x) - lo)
    elif ax < _EXPM1_TINY:
        t = np.float32(_HUGE + x)
        return np.float32(x - np.float32(t - np.float32(_HUGE + x)))
    else:
        k = 0
    # x is now in [-ln2/2, ln2/2]
    q1, q2, q3, q4, q5 = _EXPM1_Q
    hfx = np.float32(_HALF * x)
    hxs = np.float32(x * hfx)
    p = np.float32(q4 + np.float32(hxs * q5))
    p = np.float32(q3 + np.float32(hxs * p))
    p = np.float32(q2 + np.float32(hxs * p))
    p = np.float32(q1 + np.float32(hxs * p))
    r1 = np.float32(_ONE + np.float32(hxs * p))
    t = np.float32(np.float32(3.0) - np.float32(r1 * hfx))
    e = np.float32(hxs * np.float32(np.float32(r1 - t) / np.float32(np.float32(6.0) - np.float32(x * t))))
    if k == 0:
        return np.float32(x - np.float32(np.float32(x * e) - hxs))
    e = np.float32(np.float32(x * np.float32(e - c)) - c)
    e = np.float32(e - hxs)
    if k == -1:
        return np.float32(np.float32(_HALF * np.float32(x - e)) - _HALF)
    if k == 1:
        if x < np.float32(-0.25):
            return np.float32(-_TWO * np.float32(e - np.float32(x + _HALF)))
        return np.float32(_ONE + np.float32(_TWO * np.float32(x - e)))
    if k <= -2 or k > 56:
        y = np.float32(_ONE - np.float32(e - x))
        return np.float32(_scale_pow2(y, k) - _ONE)
    if k < 23:
        t = np.float32(1.0 - _POW2[_POW2_BIAS - k])  # 1 - 2**-k, exact
        y = np.float32(t - np.float32(e - x))
    else:
        t = np.float32(_POW2[_POW2_BIAS - k])  # 2**-k
        y = np.float32(x - np.float32(e + t))
        y = np.float32(y + _ONE)
    return _scale_pow2(y, k)


# ---------------------------------------------------------------- tanhf (s_tanhf.c, fdlibm)

_TANH_ONE_BOUND = np.float32(22.0)  # |x| >= 22: +-1
_TANH_TINY = _f32(0x24000000)  # 2**-55: below, x (1 + x) = x


@jit
def tanhf(x):
    """glibc 2.36 ``tanhf`` (sysdeps/ieee754/flt-32/s_tanhf.c, fdlibm), in float32 on ``expm1f``:

    |x| >= 1: 1 - 2 / (expm1f(2|x|) + 2);  |x| < 1: -t / (t + 2) with t = expm1f(-2|x|);
    sign of x restored; |x| >= 22 -> +-1, |x| < 2**-55 -> x (1 + x), +-0 and NaN -> x (quieted).
    """
    x = np.float32(x)
    if x != x:
        return np.float32(x + x)
    ax = abs(x)
    if ax == _F32_INF:
        return _ONE if x > _F32_ZERO else -_ONE
    if ax < _TANH_ONE_BOUND:
        if ax == _F32_ZERO:
            return x
        if ax < _TANH_TINY:
            return np.float32(x * np.float32(_ONE + x))
        if ax >= _ONE:
            t = expm1f(np.float32(_TWO * ax))
            z = np.float32(_ONE - np.float32(_TWO / np.float32(t + _TWO)))
        else:
            t = expm1f(np.float32(-_TWO * ax))
            z = np.float32(-t / np.float32(t + _TWO))
    else:
        z = np.float32(_ONE - _TINY)
    return z if x > _F32_ZERO else -z


# ---------------------------------------------------------------- erfcf (s_erff.c, fdlibm)

_ERX = _f32(0x3F58560B)  # erf(1) to float precision
# erf on [0, 0.84375]: x + x * PP(x^2) / QQ(x^2)
_PP = (_f32(0x3E0375D4), _f32(0xBEA66BEB), _f32(0xBCE9528F), _f32(0xBBBD1489), _f32(0xB7C756B1))
_QQ = (_f32(0x3ECBBBCE), _f32(0x3D852A63), _f32(0x3BA68116), _f32(0x390AEE49), _f32(0xB684E21A))  # qq1..qq5
# erf on [0.84375, 1.25]: erx + PA(s) / QA(s), s = |x| - 1
_PA = (_f32(0xBB1ACDC6), _f32(0x3ED46805), _f32(0xBEBE9208), _f32(0x3EA2FE54), _f32(0xBDE31CC2),
       _f32(0x3D1151B3), _f32(0xBB0DF9C0))
_QA = (_f32(0x3DD9F331), _f32(0x3F0A5785), _f32(0x3D931AE7), _f32(0x3E013307), _f32(0x3C5F6E13),
       _f32(0x3C445AA3))  # qa1..qa6
# erfc on [1.25, 1/0.35]: exp(-x^2 - 0.5625 + RA(s) / SA(s)) / x, s = 1/x^2
_RA = (_f32(0xBC21A093), _f32(0xBF31A0B7), _f32(0xC128F022), _f32(0xC2798057), _f32(0xC322658C),
       _f32(0xC3389AE7), _f32(0xC2A2932B), _f32(0xC11D077E))
_SA = (_f32(0x419D35CE), _f32(0x4309A863), _f32(0x43D9486F), _f32(0x442158C9), _f32(0x43D6810B),
       _f32(0x42D9451F), _f32(0x40D23F7C), _f32(0xBD777F97))  # sa1..sa8
# erfc on [1/0.35, 28]: the same with RB / SB
_RB = (_f32(0xBC21A092), _f32(0xBF4C9DD4), _f32(0xC18E104B), _f32(0xC320A2EA), _f32(0xC41F6441),
       _f32(0xC480230B), _f32(0xC3F1C275))
_SB = (_f32(0x41F2B459), _f32(0x43A2E571), _f32(0x44C01759), _f32(0x4547FDBB), _f32(0x451F90CE),
       _f32(0x43ED43A7), _f32(0xC1B38712))  # sb1..sb7
_ERFC_SMALL = np.float32(0.84375)
_ERFC_TINY = _f32(0x32800000)  # 2**-26: below, 1 - x
_ERFC_QUARTER = np.float32(0.25)
_ERFC_MID = np.float32(1.25)
_ERFC_BIG = np.float32(28.0)
_ERFC_RA_END = _f32(0x4036DB6D)  # ~ 1/0.35
_ERFC_NEG_SIX = np.float32(-6.0)
_ERFC_EXP_OFFSET = np.float32(0.5625)


@jit
def _horner(s, coefficients):
    """c0 + s (c1 + s (c2 + ...)) in float32, innermost first (fdlibm's nesting)."""
    n = len(coefficients)
    p = coefficients[n - 1]
    for i in range(n - 2, -1, -1):
        p = np.float32(coefficients[i] + np.float32(s * p))
    return p


@jit
def _one_plus_horner(s, coefficients):
    """1 + s (c1 + s (c2 + ...)) in float32 (the denominators, whose constant term is 1)."""
    return np.float32(_ONE + np.float32(s * _horner(s, coefficients)))


@jit
def _truncate_11_bits(x):
    """x with the low 13 of its 23 mantissa bits cleared (C: bits & 0xffffe000), for x in [1, 32):
    floor(x * 2**(10 - e)) * 2**(e - 10) with 2**e <= x < 2**(e + 1)."""
    e = 0
    while e < 4 and x >= _POW2[_POW2_BIAS + e + 1]:
        e += 1
    d = np.float64(x)
    return np.float32(np.floor(d * _POW2[_POW2_BIAS + 10 - e]) * _POW2[_POW2_BIAS + e - 10])


@jit(error_model="numpy")  # division as in C (no ZeroDivisionError)
def erfcf(x):
    """glibc 2.36 ``erfcf`` (sysdeps/ieee754/flt-32/s_erff.c, fdlibm), every operation in float32:

    |x| < 0.84375: 1 - (x + x y) (x < 1/4) or 1/2 - (x y + (x - 1/2)), y = PP(x^2) / QQ(x^2);
    |x| < 1.25: (1 - erx) - PA/QA (x > 0) or 1 + (erx + PA/QA), s = |x| - 1;
    |x| < 28: r = expf(-z^2 - 0.5625) expf((z - x)(z + x) + R/S) with z = x to 11 bits,
    R/S = RA/SA below 1/0.35 else RB/SB (s = 1/x^2); r/x (x > 0) or 2 - r/x; x <= -6 beyond 1/0.35: 2;
    |x| >= 28: 0 or 2. NaN -> NaN, +inf -> 0, -inf -> 2.
    """
    x = np.float32(x)
    if x != x:
        return np.float32(x + x)
    ax = abs(x)
    if ax == _F32_INF:
        return _F32_ZERO if x > _F32_ZERO else _TWO
    if ax < _ERFC_SMALL:
        if ax < _ERFC_TINY:
            return np.float32(_ONE - x)
        z = np.float32(x * x)
        r = _horner(z, _PP)
        s = _one_plus_horner(z, _QQ)
        y = np.float32(r / s)
        if x < _ERFC_QUARTER:
            return np.float32(_ONE - np.float32(x + np.float32(x * y)))
        r = np.float32(x * y)
        r = np.float32(r + np.float32(x - _HALF))
        return np.float32(_HALF - r)
    if ax < _ERFC_MID:
        s = np.float32(ax - _ONE)
        p = _horner(s, _PA)
        q = _one_plus_horner(s, _QA)
        if x > _F32_ZERO:
            z = np.float32(_ONE - _ERX)
            return np.float32(z - np.float32(p / q))
        z = np.float32(_ERX + np.float32(p / q))
        return np.float32(_ONE + z)
    if ax < _ERFC_BIG:
        s = np.float32(_ONE / np.float32(ax * ax))
        if ax < _ERFC_RA_END:
            r = _horner(s, _RA)
            q = _one_plus_horner(s, _SA)
        else:
            if x <= _ERFC_NEG_SIX:
                return np.float32(_TWO - _TINY)
            r = _horner(s, _RB)
            q = _one_plus_horner(s, _SB)
        z = _truncate_11_bits(ax)
        e1 = expf(np.float32(np.float32(-z * z) - _ERFC_EXP_OFFSET))
        e2 = expf(np.float32(np.float32(np.float32(z - ax) * np.float32(z + ax)) + np.float32(r / q)))
        r = np.float32(e1 * e2)
        if x > _F32_ZERO:
            return np.float32(r / ax)
        return np.float32(_TWO - np.float32(r / ax))
    if x > _F32_ZERO:
        return np.float32(_TINY * _TINY)
    return np.float32(_TWO - _TINY)
