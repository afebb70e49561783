"""Dynamic-range ("hybrid") kernels: float32 activations, int8 weights, quantized on the fly.

The official hybrid FULLY_CONNECTED and BATCH_MATMUL quantize each input row to int8 at run time
(``tensor_utils::BatchQuantizeFloats``), take an integer dot product with the int8 weights and scale
it back to float. They call ``tensor_utils``, not the reference kernels, even under BUILTIN_REF; the
x86-64 wheel compiles ``tensor_utils`` with SSE4.1/AVX2, so what runs is:

* row quantization: ``NeonSymmetricQuantizeFloats`` / ``NeonAsymmetricQuantizeFloats``
  (optimized/neon_tensor_utils.cc) through Intel's NEON_2_SSE translation, not the portable code.
  Its ``RoundToNearest`` is trunc(v ± 0.5) with the ± 0.5 added in float32 (not std::round) on
  every full block of 8 values; the last ``K % 8`` values use std::round (the asymmetric tail's
  conversion saturates). The asymmetric range is ``NeonMinMax`` (capped at 0) and ``(rmax - rmin)``
  is a float32 subtraction.
* weight row sums (asymmetric mode): ``SseReductionSumVector``, whose int16 lanes wrap for large K.
* FULLY_CONNECTED dot products: ``Avx2MatrixBatchVectorMultiplyAccumulateImpl``
  (optimized/sse_tensor_utils.cc): int32 sums, ``sum -= zp * row_sum`` in int32, then
  ``result += float(sum) * float(weight_scale * input_scale)`` with two float32 roundings (no FMA).
  Its ``_mm256_maddubs_epi16`` step takes |q| and moves q's sign onto the weight, so a weight of
  -128 times a negative q counts as 128 * q instead of -128 * q (the negated weight wraps to -128)
  in the first ``K & ~15`` columns.
* BATCH_MATMUL: the plain loop of ``reference_ops::BatchMatMul`` (reference/batch_matmul.h):
  ``total -= row_sum * float(zp)`` in float32, truncated back to int32, then
  ``out = 0 + scale * float(total)``.

All kernels here are checked bit for bit against BUILTIN_REF (tests/ops/test_hybrid.py,
tests/ops/test_hybrid_speed_paths.py). The FULLY_CONNECTED path is written for speed: ranges by an
integer min / max, branch-free vectorizable loops, q + 128 written straight into the operand of
``int_gemm.int8_gemm``, one fused epilogue (see the section comments).
"""
from __future__ import annotations

import math

import numpy as np
from numba import prange

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import INT32_MAX, INT32_MIN, wrap_int32
from litelens.kernels.int_gemm import int8_gemm
from litelens.kernels.lut import eigen_tanhf, float_to_int32, round_half_away
from litelens.kernels.vector_width import prefer_512

# Fused activations (schema ActivationFunctionType) as the hybrid path applies them.
ACT_NONE, ACT_RELU, ACT_RELU_N1_TO_1, ACT_RELU6, ACT_TANH, ACT_SIGN_BIT = 0, 1, 2, 3, 4, 5

_HALF = np.float32(0.5)
_NEG_HALF = np.float32(-0.5)
_F127 = np.float32(127.0)
_F_TWO_POW_31 = 2147483648.0  # 2.14748364e+009f, NEON_2_SSE's overflow threshold, as a float


# ---------------------------------------------------------------- prepare-time helpers (Python)

def weight_row_sums(weights_nk: np.ndarray) -> np.ndarray:
    """Σ_k w[..., n, k] as ``SseReductionSumVector`` (optimized/sse_tensor_utils.cc) computes it.

    [..., N, K] int8 -> [..., N] int64. It sums in eight int16 lanes that wrap: lane l takes
    w[16b + 2l] + w[16b + 2l + 1] from every full block of 16 columns, then w[c + l] from one block of 8
    (if K & ~7 > K & ~15); the lanes, each wrapped to int16, plus the last K % 8 columns, give the
    int32 row sum. Exact for K <= 2048 (a lane then holds at most 128 pairs); beyond, large weights
    can wrap a lane and the sum is off by a multiple of 65536, as the official one.
    """
    w = weights_nk.astype(np.int64)
    k = w.shape[-1]
    k16, k8 = k & ~15, k & ~7
    lanes = w[..., :k16].reshape(w.shape[:-1] + (k16 // 16, 8, 2)).sum(axis=(-3, -1))  # [..., N, 8]
    if k8 > k16:
        lanes = lanes + w[..., k16:k8]
    lanes = (lanes + 2**15) % 2**16 - 2**15  # int16 wrap-around
    total = lanes.sum(axis=-1) + w[..., k8:].sum(axis=-1)
    return (total + 2**31) % 2**32 - 2**31


def maddubs_pairs(weights_nk: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, k) of every weight equal to -128 in the columns k < K & ~15 that the AVX2 loop feeds to
    ``_mm256_maddubs_epi16`` / ``_mm_maddubs_epi16`` (``DotProdInt8x4x8``): there the weight is
    negated when q < 0, wraps back to -128, and the product comes out as 128 * q, not -128 * q.

    [N, K] -> two int64 arrays of equal length (usually empty: converters write weights in [-127, 127]).
    """
    k16 = weights_nk.shape[1] & ~15
    n, k = np.nonzero(weights_nk[:, :k16] == -128)
    if n.size == 0:
        return _NO_PAIRS
    return n.astype(np.int64), k.astype(np.int64)


_NO_PAIRS = (np.zeros(0, np.int64), np.zeros(0, np.int64))  # shared by every op without -128 weights


# ---------------------------------------------------------------- scalar helpers

@jit
def cvt_f32_to_int32_neon2sse(v):
    """``vcvtq_s32_f32`` in NEON_2_SSE: ``_mm_cvttps_epi32`` (truncate; NaN and v < -2**31 give
    INT32_MIN) with v >= 2**31 turned into INT32_MAX."""
    if v >= _F_TWO_POW_31:
        return np.int64(INT32_MAX)
    return float_to_int32(v)


@jit
def round_to_nearest_x86(v):
    """``RoundToNearest`` (neon_tensor_utils.cc, the ``__ARM_ARCH < 8`` branch NEON_2_SSE compiles):
    vcvtq_s32_f32(v + (v < 0 ? -0.5f : 0.5f)), the addition rounded to float32.

    Not std::round: 0.49999997f + 0.5f rounds to 1.0f, so it gives 1, and likewise just below
    every other .5."""
    v = np.float32(v)
    half = _NEG_HALF if v < np.float32(0.0) else _HALF
    return cvt_f32_to_int32_neon2sse(np.float32(v + half))


@jit
def double_to_int8_x86(d):
    """``static_cast<int8_t>(double)`` on x86-64: cvttsd2si to int32 (NaN / out of range ->
    INT32_MIN), keep the low byte."""
    if d > -2147483649.0 and d < 2147483648.0:
        t = np.int64(np.trunc(d))
    else:
        t = np.int64(INT32_MIN)
    t = t & 0xFF
    return t - 256 if t >= 128 else t


@jit
def std_minmax(x, r, start):
    """``std::minmax_element`` (libstdc++) over x[r, start:] (at least one value): the values at the
    first minimum and last maximum, with its exact pairwise comparison order (which decides what a
    NaN does). Takes the matrix and a row index, not a row view (see the row quantization below)."""
    n = x.shape[1]
    lo = x[r, start]
    hi = x[r, start]
    if n - start == 1:
        return lo, hi
    if x[r, start + 1] < lo:
        lo = x[r, start + 1]
    else:
        hi = x[r, start + 1]
    i = start + 2
    while i < n:
        if i + 1 == n:
            if x[r, i] < lo:
                lo = x[r, i]
            elif not (x[r, i] < hi):
                hi = x[r, i]
            break
        a = x[r, i]
        b = x[r, i + 1]
        if b < a:
            if b < lo:
                lo = b
            if not (a < hi):
                hi = a
        else:
            if a < lo:
                lo = a
            if not (b < hi):
                hi = b
        i += 2
    return lo, hi


@jit
def neon_minmax(x, r):
    """``NeonMinMax`` under NEON_2_SSE of row r of x: (min(0, min x), max(0, max x)) computed as the
    x86 code does.

    Lanes of 4 fold with minps/maxps (a < b ? a : b, a > b ? a : b), then vmin_f32/vpmin_f32 and
    std::min with 0 (vmax likewise); the tail past ``size & ~3`` goes through std::minmax_element.
    A NaN never reaches the result: the comparisons against the 0 start value drop it.
    """
    n = x.shape[1]
    body = n & ~3
    rmin = np.float32(0.0)
    rmax = np.float32(0.0)
    if body:
        mn0, mn1, mn2, mn3 = x[r, 0], x[r, 1], x[r, 2], x[r, 3]
        mx0, mx1, mx2, mx3 = x[r, 0], x[r, 1], x[r, 2], x[r, 3]
        for i in range(4, body, 4):
            v0, v1, v2, v3 = x[r, i], x[r, i + 1], x[r, i + 2], x[r, i + 3]
            mn0 = mn0 if mn0 < v0 else v0
            mn1 = mn1 if mn1 < v1 else v1
            mn2 = mn2 if mn2 < v2 else v2
            mn3 = mn3 if mn3 < v3 else v3
            mx0 = mx0 if mx0 > v0 else v0
            mx1 = mx1 if mx1 > v1 else v1
            mx2 = mx2 if mx2 > v2 else v2
            mx3 = mx3 if mx3 > v3 else v3
        a = mn0 if mn0 < mn2 else mn2  # vmin_f32(low, high)
        b = mn1 if mn1 < mn3 else mn3
        lane_min = b if a > b else a  # vpmin_f32
        a = mx0 if mx0 > mx2 else mx2  # vmax_f32(low, high)
        b = mx1 if mx1 > mx3 else mx3
        lane_max = b if a < b else a  # vpmax_f32
        rmin = lane_min if lane_min < rmin else rmin  # std::min(rmin, x)
        rmax = lane_max if rmax < lane_max else rmax  # std::max(rmax, x)
    if body < n:
        lo, hi = std_minmax(x, r, body)
        rmin = lo if lo < rmin else rmin
        rmax = hi if rmax < hi else rmax
    return rmin, rmax


# ---------------------------------------------------------------- row quantization
#
# quantize_rows takes the rows in blocks of _ROW_BLOCK: the ranges of the block's rows (two
# vectorized integer max reductions each), then their scales (asymmetric: one branch-free loop over
# the block, vectorized, rows with a NaN redone in the official comparison order; symmetric: scalar,
# two float32 divisions per row), then their codes (one vectorized pass over the blocks of 8 - RoundToNearest - and a scalar
# tail - std::round). The codes are written as q + ``shift``, so the integer product can take them
# moved to 0..255 (shift 128) directly. Every loop over a row is written in quantize_rows itself,
# indexing [r, k], around scalar per-element helpers: a row view, or a helper that takes an array
# (even one inlined by Numba), makes Numba update atomic reference counts per row, and each such
# update is a locked instruction that stalls the pipeline - it cost more than quantizing a row of 128.

_POS_INF_BITS = 0x7F800000  # +inf as int32; a larger int32 pattern is a NaN with the sign bit clear
_NEG_INF_BITS = 0xFF800000  # -inf as uint32; a larger uint32 pattern is a NaN with the sign bit set
_SIGN_BIT = 0x80000000
_CLAMP = np.float32(256.0)  # |h| beyond this saturates to the same code: clamp before converting
_F_NEG_TWO_POW_31 = np.float32(-2147483648.0)
_F_TWO_POW_30 = np.float32(1073741824.0)
_ROW_BLOCK = 16  # rows whose ranges, then scales, then codes quantize_rows computes together
_ROW_ZERO, _ROW_BOUNDED, _ROW_FINITE, _ROW_ANY, _ROW_NAN = 0, 1, 2, 3, 4  # row kinds in quantize_rows


@jit(inline="always")
def range_bits(smax, umax):
    """(no_nan, lo, hi) of a non-empty row from the largest int32 (``smax``) and the largest uint32
    (``umax``) of its float32 bit patterns, lo / hi as int32 bit patterns.

    Read as int32, the patterns of non-negative floats (+0.0 .. +inf, then positive NaNs) are the
    non-negative ints, in float order; read as uint32, those of negative floats (-0.0 .. -inf, then
    negative NaNs) are the ints >= 2**31, in order of magnitude. So smax is the largest non-negative
    value (if the row has one) and umax the most negative one (if any), and each shows a NaN of its
    sign: two integer max reductions, which the compiler vectorizes (a float one, without fastmath,
    it does not). lo = min(0, min x), hi = max(0, max x) (a zero may come out as -0.0); no_nan False
    when the row holds a NaN (lo / hi are then meaningless and callers use the official comparison
    order instead). For a NaN-free row these give what both users need: the symmetric range
    max(|lo|, |hi|) = max |x| (std::minmax_element's extremes give the same), and the asymmetric
    NeonMinMax range (capped at 0) up to the sign of a zero, which it never sees (it compares with
    +0.0).
    """
    no_nan = smax <= np.int32(_POS_INF_BITS) and umax <= np.uint32(_NEG_INF_BITS)
    lo = np.int32(umax) if umax >= np.uint32(_SIGN_BIT) else np.int32(0)  # a negative value, or +0.0
    hi = smax if smax >= np.int32(0) else np.int32(0)  # a non-negative value, or +0.0
    return no_nan, lo, hi


@jit(inline="always")
def products_bounded(lo, hi, inv):
    """Whether every |x * inv| of a NaN-free row in [lo, hi] is below 2**30 (float32 rounding is
    monotone, so the largest |x| bounds them all); False for an infinite value or inv (or a NaN:
    the callers then ignore the answer)."""
    a_lo, a_hi = abs(lo), abs(hi)
    largest = a_hi if a_lo < a_hi else a_lo
    return np.float32(largest * inv) < _F_TWO_POW_30


@jit(inline="always")
def bounded_code(x, inv, offset, low, high):
    """clamp(RoundToNearest(x * inv) + offset, low, high), for |x * inv| < 2**30 (so h converts
    exactly). v ± 0.5 is written v + copysign(0.5, v): it differs only for v = -0.0, where both give
    code 0. Branch-free: the row loop around it vectorizes.

    With literal bounds (0, 255: quantize_rows compiled for the literal shift 128 that
    hybrid_fully_connected passes) the clamp and the narrowing store become one saturating conversion.
    Symmetric rows take the asymmetric bounds (-128 rather than -127): with inv = float(127 / range)
    and |x| <= range, |x * inv| <= 127 * (1 + 2**-24)**2, so h stays within +-127.50002 and trunc(h)
    within +-127.
    """
    v = np.float32(x * inv)
    c = np.int32(np.int32(np.float32(v + np.float32(math.copysign(_HALF, v)))) + offset)
    c = c if c > low else low
    return c if c < high else high


@jit(inline="always")
def symmetric_code(x, inv, shift):
    """clamp(RoundToNearest(x * inv), -127, 127) + shift for any x and inv (NaN, infinities, huge
    products). RoundToNearest gives INT32_MIN for NaN and v < -2**31 and INT32_MAX for v >= 2**31,
    both clamped to -127 / 127 - as clamping h to [-256, 256] first (NaN -> -256) does."""
    v = np.float32(x * inv)
    h = np.float32(v + (_NEG_HALF if v < np.float32(0.0) else _HALF))
    h = h if h > -_CLAMP else -_CLAMP
    h = h if h < _CLAMP else _CLAMP
    c = np.int32(h)
    c = c if c > np.int32(-127) else np.int32(-127)
    c = c if c < np.int32(127) else np.int32(127)
    return np.int32(c + shift)


@jit(inline="always")
def asymmetric_code(x, inv, zp, shift):
    """clamp(int32(RoundToNearest(x * inv) + zp), -128, 127) + shift for any x and inv. The int32
    addition wraps: INT32_MIN (NaN, h <= -2**31) plus a negative zero point gives 127, INT32_MAX
    (h >= 2**31) plus a positive one gives -128. Every other h converts exactly, and clamping it to
    [-256, 256] before converting changes no code (|zp| <= 128)."""
    v = np.float32(x * inv)
    h = np.float32(v + (_NEG_HALF if v < np.float32(0.0) else _HALF))
    if not (h > _F_NEG_TWO_POW_31):  # NaN too
        return np.int32((127 if zp < 0 else -128) + shift)
    if h >= _F_TWO_POW_31:
        return np.int32((-128 if zp > 0 else 127) + shift)
    h = h if h > -_CLAMP else -_CLAMP
    h = h if h < _CLAMP else _CLAMP
    c = np.int32(np.int32(h) + zp)
    c = c if c > np.int32(-128) else np.int32(-128)
    c = c if c < np.int32(127) else np.int32(127)
    return np.int32(c + shift)


@jit(error_model="numpy")  # division by zero gives inf/NaN, as in C
def symmetric_scale(lo, hi):
    """``NeonSymmetricQuantizeFloats``'s scale of a row with extremes lo, hi (std::minmax_element):
    (scaling factor, inverse, range). range = max(|min|, |max|); range 0 means q = 0 and scaling 1;
    else scaling = range / 127 and inv = 127 / range in float32."""
    a_lo, a_hi = abs(lo), abs(hi)
    value_range = a_hi if a_lo < a_hi else a_lo  # std::max(|min|, |max|)
    if value_range == np.float32(0.0):
        return np.float32(1.0), np.float32(0.0), value_range
    return np.float32(value_range / _F127), np.float32(_F127 / value_range), value_range


@jit(inline="always")
def symmetric_tail_code(x, inv, shift):
    """shift + clamp(int32(std::round(inv * x)), -127, 127) (the conversion gives INT32_MIN for NaN
    and +-inf): the symmetric code of a column past the last full block of 8."""
    return min(127, max(-127, float_to_int32(round_half_away(np.float32(inv * x))))) + shift


@jit(inline="always")
def asymmetric_tail_code(x, inv, zp, shift):
    """shift + clamp(int32(float(zp) + std::round(inv * x)), -128, 127), where the wheel's compiled
    conversion saturates: a NaN gives 0, +inf 127 and -inf -128 (measured; inv * x is infinite when
    1 / scale overflows, for ranges below about 1e-36): the asymmetric code of a column past the
    last full block of 8."""
    t = np.float32(np.float32(zp) + np.float32(round_half_away(np.float32(inv * x))))
    if np.isnan(t):
        return np.int32(shift)
    t = t if t < np.float32(127.0) else np.float32(127.0)  # saturating: +inf gives 127
    t = t if t > np.float32(-128.0) else np.float32(-128.0)
    return np.int32(np.int32(t) + shift)


@jit(inline="always")
def asymmetric_scale_select(rmin, rmax):
    """``NeonAsymmetricQuantizeFloats``'s scale of a row with NeonMinMax range (rmin, rmax) (capped at
    0; equal means q = 0, scaling 1, zero point 0): (scaling factor, zero point, inverse).

    In double: scale = float32(rmax - rmin) / 255, zero point from whichever end has the smaller
    error, nudged to [-128, 127] and rounded half away; scaling = float(scale), inv = float(1.0 /
    double(scaling)) (0 when scaling is 0). Written with selects instead of branches, so that
    quantize_rows's loop over a block's rows vectorizes (eight double divisions per instruction).
    Its caller compiles with error_model="numpy": the equal-ends row divides 0 by 0, then takes the
    (1, 0, 0) answer. round_half_away and double_to_int8_x86 are written out: the zero point,
    rounded, lies in [-128, 127] or is NaN (infinite ends), which gives 0."""
    scale = np.float64(np.float32(rmax - rmin)) / 255.0
    lo_scaled = np.float64(rmin) / scale
    hi_scaled = np.float64(rmax) / scale
    zp_from_min = -128.0 - lo_scaled
    zp_from_max = 127.0 - hi_scaled
    err_min = 128.0 + abs(lo_scaled)
    err_max = 127.0 + abs(hi_scaled)
    zp_double = zp_from_min if err_min < err_max else zp_from_max
    t = np.trunc(zp_double)  # round_half_away
    step = 1.0 if zp_double > 0.0 else -1.0
    t = t + step if abs(zp_double - t) >= 0.5 else t
    t = t if t == t else 0.0  # double_to_int8_x86(NaN) = 0; otherwise t is in [-128, 127] here
    zp = np.int32(-128) if zp_double <= -128.0 else (np.int32(127) if zp_double >= 127.0 else np.int32(t))
    sf = np.float32(scale)
    inv = np.float32(0.0) if sf == np.float32(0.0) else np.float32(1.0 / np.float64(sf))
    equal = rmin == rmax
    return (np.float32(1.0) if equal else sf), (np.int32(0) if equal else zp), (np.float32(0.0) if equal else inv)


@jit(error_model="numpy")
def quantize_rows(x, q, scaling, offsets, asymmetric, shift):
    """``BatchQuantizeFloats`` of every row of x into q + ``shift``: ``NeonAsymmetricQuantizeFloats``
    or ``NeonSymmetricQuantizeFloats`` per row (the range: :func:`range_bits`, or the official
    comparison order - :func:`neon_minmax`, :func:`std_minmax` - for a row with a NaN; the scales:
    :func:`asymmetric_scale_select`, :func:`symmetric_scale`; the codes: RoundToNearest on full blocks of 8
    - :func:`bounded_code` when every product is small, else :func:`asymmetric_code` /
    :func:`symmetric_code` - and std::round on the rest, :func:`asymmetric_tail_code` /
    :func:`symmetric_tail_code`).

    x [rows, K] float32 (C-contiguous) -> q [rows, >= K] (any numeric dtype), scaling [rows] float32,
    offsets [rows] int32 (0 when symmetric). Columns of q past K are set to 0 (the zero padding
    ``int_gemm.int8_gemm`` needs when q is its shifted left operand). 512-bit vectors
    (:func:`vector_width.prefer_512`): ~1.3x on the two vectorized passes. error_model="numpy":
    float divisions by zero give inf / NaN as in C (only asymmetric_scale_select's discarded
    equal-ends case divides by zero) instead of a test and an exception that stop vectorization.
    """
    prefer_512()
    rows, k_size = x.shape
    body = k_size & ~7
    bits = x.view(np.int32)
    ubits = x.view(np.uint32)
    shift = np.int32(shift)
    ext = np.zeros((2, _ROW_BLOCK), np.int32)  # per row of a block: lo, hi bit patterns (then floats)
    ext_f = ext.view(np.float32)
    inv_b = np.zeros(_ROW_BLOCK, np.float32)
    kind_b = np.zeros(_ROW_BLOCK, np.int32)
    for r0 in range(0, rows, _ROW_BLOCK):
        r1 = min(rows, r0 + _ROW_BLOCK)
        for r in range(r0, r1):  # ranges
            smax = np.int32(-0x80000000)
            umax = np.uint32(0)
            for k in range(k_size):
                b = bits[r, k]
                u = ubits[r, k]
                smax = b if b > smax else smax
                umax = u if u > umax else umax
            no_nan, lo_bits, hi_bits = range_bits(smax, umax)
            ext[0, r - r0] = lo_bits
            ext[1, r - r0] = hi_bits
            kind_b[r - r0] = _ROW_FINITE if no_nan and k_size > 0 else _ROW_ANY
        if asymmetric:
            for i in range(r1 - r0):  # scales, branch-free: the block's divisions run as vectors
                lo, hi = ext_f[0, i], ext_f[1, i]
                rmin = lo if lo < np.float32(0.0) else np.float32(0.0)
                sf, zp, inv = asymmetric_scale_select(rmin, hi)
                scaling[r0 + i] = sf
                offsets[r0 + i] = zp
                inv_b[i] = inv
                kind = _ROW_ZERO if rmin == hi else (_ROW_BOUNDED if products_bounded(lo, hi, inv) else _ROW_ANY)
                kind_b[i] = kind if kind_b[i] == _ROW_FINITE else _ROW_NAN
            for r in range(r0, r1):  # rows with a NaN: NeonMinMax's own comparison order
                i = r - r0
                if kind_b[i] == _ROW_NAN:
                    rmin, rmax = neon_minmax(x, r)
                    sf, zp, inv = asymmetric_scale_select(rmin, rmax)
                    scaling[r] = sf
                    offsets[r] = zp
                    inv_b[i] = inv
                    kind_b[i] = _ROW_ZERO if rmin == rmax else _ROW_ANY
        else:
            for r in range(r0, r1):  # scales: scalar (two float32 divisions), the rows' chains overlap
                i = r - r0
                no_nan = kind_b[i] == _ROW_FINITE
                lo, hi = ext_f[0, i], ext_f[1, i]
                if not no_nan:
                    lo, hi = std_minmax(x, r, 0)
                sf, inv, value_range = symmetric_scale(lo, hi)
                scaling[r] = sf
                offsets[r] = 0
                inv_b[i] = inv
                if value_range == np.float32(0.0):
                    kind_b[i] = _ROW_ZERO
                elif no_nan and products_bounded(lo, hi, inv):
                    kind_b[i] = _ROW_BOUNDED
                else:
                    kind_b[i] = _ROW_ANY
        for r in range(r0, r1):  # codes
            i = r - r0
            kind, inv, zp = kind_b[i], inv_b[i], offsets[r]
            if kind == _ROW_ZERO:
                for k in range(k_size):
                    q[r, k] = shift
            else:
                if kind != _ROW_BOUNDED:
                    if asymmetric:
                        for k in range(body):
                            q[r, k] = asymmetric_code(x[r, k], inv, zp, shift)
                    else:
                        for k in range(body):
                            q[r, k] = symmetric_code(x[r, k], inv, shift)
                else:  # (hybrid_fully_connected passes shift as the literal 128: 0..255, one saturating conversion)
                    offset = np.int32(zp + shift)
                    low, high = np.int32(shift - 128), np.int32(shift + 127)
                    for k in range(body):
                        q[r, k] = bounded_code(x[r, k], inv, offset, low, high)
                if asymmetric:
                    for k in range(body, k_size):
                        q[r, k] = asymmetric_tail_code(x[r, k], inv, zp, shift)
                else:
                    for k in range(body, k_size):
                        q[r, k] = symmetric_tail_code(x[r, k], inv, shift)
            for k in range(k_size, q.shape[1]):
                q[r, k] = 0


def quantize_rows_symmetric(x, q, scaling, offsets):
    """``NeonSymmetricQuantizeFloats`` per row: x [rows, K] float32 -> q [rows, K] (int8 values in
    q's dtype), scaling [rows] float32, offsets [rows] = 0. See :func:`quantize_row_symmetric`."""
    quantize_rows(np.ascontiguousarray(x), q, scaling, offsets, False, 0)


def quantize_rows_asymmetric(x, q, scaling, offsets):
    """``NeonAsymmetricQuantizeFloats`` per row: x [rows, K] float32 -> q [rows, K] (int8 values in
    q's dtype), scaling [rows] float32, offsets [rows] int32. See :func:`quantize_row_asymmetric`."""
    quantize_rows(np.ascontiguousarray(x), q, scaling, offsets, True, 0)


# ---------------------------------------------------------------- FULLY_CONNECTED

@jit
def is_zero_vector_x86(x):
    """``NeonIsZeroVector`` under NEON_2_SSE: blocks of 4 test |v| > 0 (a NaN counts as zero there),
    the tail past ``size & ~3`` tests v != 0.0 (a NaN counts as non-zero). [n] -> bool."""
    n = x.size
    body = n & ~3
    for i in range(body):
        if abs(x[i]) > np.float32(0.0):
            return False
    for i in range(body, n):
        if x[i] != np.float32(0.0):
            return False
    return True


@jit
def maddubs_correction(acc, q, pair_n, pair_k, shift):
    """Apply the maddubs sign wrap to the integer dot products: for every weight (n, k) = -128 with
    k < K & ~15 and every row with q[b, k] < 0, the official sum holds 128 * q instead of -128 * q,
    so acc[b, n] += 256 * q[b, k] (modulo 2**32, as the official int32 sum). [batch, N] in place;
    q [batch, K] holds q + ``shift`` (128 when it is the shifted operand of ``int_gemm``)."""
    for b in range(acc.shape[0]):
        for p in range(pair_n.size):
            v = np.int64(q[b, pair_k[p]]) - shift
            if v < 0:
                n = pair_n[p]
                acc[b, n] = wrap_int32(np.int64(acc[b, n]) + 256 * v)


@jit
def activation_clamp(activation):
    """(clamp, low, high) for :func:`hybrid_fc_output`: RELU, RELU_N1_TO_1 and RELU6 as
    :func:`apply_activation` computes them are v = high if high < v else v, then v if low < v else low
    (RELU with high = +inf; a NaN becomes low); NONE, TANH and SIGN_BIT clamp nothing here."""
    if activation == ACT_RELU:
        return True, np.float32(0.0), np.float32(np.inf)
    if activation == ACT_RELU_N1_TO_1:
        return True, np.float32(-1.0), np.float32(1.0)
    if activation == ACT_RELU6:
        return True, np.float32(0.0), np.float32(6.0)
    return False, np.float32(0.0), np.float32(0.0)


@jit
def hybrid_fc_output(acc, column_term, scaling, offsets, row_sums, weight_scales, bias, clamp, low, high, out):
    """out[b, n] = act(bias[n] + float(sum) * float(w_s[n] * s_b)), sum = int32(Σ_k q w) - zp_b * row_sum[n].

    acc [>= batch, >= N] integer dot products of the rows q + shift (any numeric dtype) and
    ``column_term`` int32 [N] = -shift * Σ_k w[n, k] (modulo 2**32), so Σ_k q w = acc + column_term
    (shift 128: ``int_gemm.int8_gemm``'s operand; 0: exact products). row_sums int32 [N] ->
    out [batch, N] float32. Matches the accumulation of ``Avx2MatrixBatchVectorMultiplyAccumulateImpl``
    (optimized/sse_tensor_utils.cc) after EvalHybridDense (fully_connected.cc) set the output to the
    bias (0 without one): the row offset zp * row_sum subtracted in int32 (every step is modulo 2**32,
    so the int32 arithmetic here gives the same sum), then ``*result += sum * row_scale`` with the
    int32 -> float conversion, the product and the sum each rounded to float32. With ``clamp`` the
    RELU-type activation of :func:`activation_clamp` follows; TANH and SIGN_BIT are left to
    :func:`apply_activation`. Branch-free inner loop (vectorizable).
    """
    prefer_512()
    batch, n_size = out.shape
    for b in range(batch):
        scale_b = scaling[b]
        zp = np.int64(offsets[b])
        for n in range(n_size):
            total = np.int32(np.int64(acc[b, n]) + column_term[n] - zp * row_sums[n])  # wraps to int32
            row_scale = np.float32(weight_scales[n] * scale_b)
            v = np.float32(bias[n] + np.float32(np.float32(total) * row_scale))
            c = high if high < v else v
            c = c if low < c else low
            out[b, n] = c if clamp else v


def column_term(w_sums: np.ndarray, shift: int) -> np.ndarray:
    """-shift * Σ_k w (int64 [N]) wrapped to int32: the column term of :func:`hybrid_fc_output`."""
    return (((-shift * w_sums.astype(np.int64)) + 2**31) % 2**32 - 2**31).astype(np.int32)


@jit
def fill_rows(values, out):
    """out[b, n] = values[n] (``VectorBatchVectorAssign``, or the 0.0f fill without a bias). [batch, N]."""
    for b in range(out.shape[0]):
        for n in range(out.shape[1]):
            out[b, n] = values[n]


@jit
def apply_activation(out, activation):
    """``tensor_utils::ApplyActivationToVector`` on a flat float32 array, in place.

    RELU std::max(0.0f, v); RELU_N1_TO_1 std::max(-1.0f, std::min(v, 1.0f)); RELU6 likewise with
    0 and 6 (so a NaN becomes 0, -1, 0); TANH Eigen's float tanh; SIGN_BIT std::signbit as 1.0/0.0.
    """
    if activation == ACT_NONE:
        return
    zero, one, six = np.float32(0.0), np.float32(1.0), np.float32(6.0)
    for i in range(out.size):
        v = out[i]
        if activation == ACT_RELU:
            v = v if zero < v else zero
        elif activation == ACT_RELU_N1_TO_1:
            v = one if one < v else v
            v = v if -one < v else -one
        elif activation == ACT_RELU6:
            v = six if six < v else v
            v = v if zero < v else zero
        elif activation == ACT_TANH:
            v = eigen_tanhf(v)
        else:  # SIGN_BIT
            v = one if math.copysign(1.0, v) < 0.0 else zero
        out[i] = v


@jit
def hybrid_fully_connected(isa, x, a, w_packed, acc, col_term, row_sums, pair_n, pair_k, weight_scales, bias,
                           asymmetric, activation, scaling, offsets, out):
    """EvalHybridDense (fully_connected.cc) on the integer kernel, in one call.

    x [batch, K] float32 -> out [batch, N] float32. An all-zero input (NeonIsZeroVector over the whole
    input) gives activation(bias). Else each row is quantized into a = q + 128 (``int_gemm.a_spec``
    layout, uint8 or int16), ``int_gemm.int8_gemm`` gives acc [Mp, Np] = Σ_k (q + 128) w against the
    packed weights, the maddubs sign wrap is applied for the (n, k) pairs of -128 weights, and
    :func:`hybrid_fc_output` scales back with ``col_term`` = -128 Σ_k w (int32 [N]) and the
    SseReductionSumVector row sums (int32 [N]). scaling / offsets [batch] receive the per-row input
    scale and zero point.
    """
    flat_out = out.reshape(-1)
    if is_zero_vector_x86(x.reshape(-1)):  # the whole input, not per row
        fill_rows(bias, out)
        apply_activation(flat_out, activation)
        return
    quantize_rows(x, a, scaling, offsets, asymmetric, 128)  # [batch, K] float -> [Mp, Kp] q + 128
    int8_gemm(isa, a, w_packed, acc)  # -> [Mp, Np] int32
    if pair_n.size:
        maddubs_correction(acc, a, pair_n, pair_k, 128)
    clamp, low, high = activation_clamp(activation)
    hybrid_fc_output(acc, col_term, scaling, offsets, row_sums, weight_scales, bias, clamp, low, high, out)
    if activation == ACT_TANH or activation == ACT_SIGN_BIT:
        apply_activation(flat_out, activation)


@jit(parallel=True)
def hybrid_fully_connected_parts(isa, x, a, w_packed, acc, col_term, row_sums, pair_n, pair_k, weight_scales,
                                 bias, asymmetric, activation, scaling, offsets, out, bounds):
    """:func:`hybrid_fully_connected` with its row blocks [bounds[p], bounds[p + 1]) in parallel (Numba
    prange). The all-zero test still covers the whole input, as the official one does; each block then
    quantizes, multiplies and scales its own rows exactly as one thread would (the last block also
    takes the padding rows of a and acc)."""
    flat_out = out.reshape(-1)
    if is_zero_vector_x86(x.reshape(-1)):
        fill_rows(bias, out)
        apply_activation(flat_out, activation)
        return
    clamp, low, high = activation_clamp(activation)
    last = bounds.size - 2
    for p in prange(bounds.size - 1):
        r0, r1 = bounds[p], bounds[p + 1]
        p1 = a.shape[0] if p == last else r1
        quantize_rows(x[r0:r1], a[r0:p1], scaling[r0:r1], offsets[r0:r1], asymmetric, 128)
        int8_gemm(isa, a[r0:p1], w_packed, acc[r0:p1])
        if pair_n.size:
            maddubs_correction(acc[r0:p1], a[r0:p1], pair_n, pair_k, 128)
        hybrid_fc_output(acc[r0:p1], col_term, scaling[r0:r1], offsets[r0:r1], row_sums, weight_scales, bias,
                         clamp, low, high, out[r0:r1])
        if activation == ACT_TANH or activation == ACT_SIGN_BIT:
            apply_activation(out[r0:r1].reshape(-1), activation)


# ---------------------------------------------------------------- BATCH_MATMUL

@jit
def hybrid_bmm_output(acc, scaling, offsets, row_sums, weight_scales, scale_base, row_sum_base, out):
    """The float epilogue of the hybrid ``reference_ops::BatchMatMul`` (reference/batch_matmul.h).

    acc [B, M, N] exact integer dot products -> out [B, M, N] float32. For output batch b, row j,
    column i: total = int32(acc); total = int32(float(total) - float(row_sum) * float(zp)) (float32,
    truncated back); out = 0.0f + float32(s * float(total)) with s = float32(scaling * w_s[i]).
    ``scale_base[b]`` / ``row_sum_base[b]`` are where the official loop reads this batch's scaling
    factors / zero points and row sums: it advances them by M (by N) per step of *every* batch dim
    the input (the weights) does not broadcast, without multiplying by the inner dims' sizes, so
    with two or more such dims it reads another batch's factors. Reproduced as is.
    """
    batch, m_size, n_size = acc.shape
    zero = np.float32(0.0)
    for b in range(batch):
        sb = scale_base[b]
        rb = row_sum_base[b]
        for j in range(m_size):
            scale_j = scaling[sb + j]
            offset_j = np.float32(offsets[sb + j])
            for i in range(n_size):
                total = wrap_int32(np.int64(acc[b, j, i]))
                correction = np.float32(np.float32(row_sums[rb + i]) * offset_j)
                total = float_to_int32(np.float32(np.float32(total) - correction))
                s = np.float32(scale_j * weight_scales[i])
                out[b, j, i] = np.float32(zero + np.float32(s * np.float32(total)))
