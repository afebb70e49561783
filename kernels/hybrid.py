"""Dynamic-range ("hybrid") kernels: float32 activations, int8 weights, quantized on the fly.

The official hybrid FULLY_CONNECTED and BATCH_MATMUL quantize each input row to int8 at run time
(``tensor_utils::BatchQuantizeFloats``), take an integer dot product with the int8 weights and scale
it back to float. They call ``tensor_utils``, not the reference kernels, even under BUILTIN_REF; the
x86-64 wheel compiles ``tensor_utils`` with SSE4.1/AVX2, so what runs is:

* row quantization: ``NeonSymmetricQuantizeFloats`` / ``NeonAsymmetricQuantizeFloats``
  (optimized/neon_tensor_utils.cc) through Intel's NEON_2_SSE translation, not the portable code.
  Its ``RoundToNearest`` is trunc(v ± 0.5) with the ± 0.5 added in float32 (not std::round) on
  every full block of 8 values; the last ``K % 8`` values use std::round. The asymmetric range is
  ``NeonMinMax`` (capped at 0) and ``(rmax - rmin)`` is a float32 subtraction.
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

All kernels here are checked bit for bit against BUILTIN_REF (tests/ops/test_hybrid.py).
"""
from __future__ import annotations

import math

import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import INT32_MAX, INT32_MIN, wrap_int32
from litelens.kernels.lut import eigen_tanhf, float_to_int32, round_half_away

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
    return n.astype(np.int64), k.astype(np.int64)


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
def std_minmax(row):
    """``std::minmax_element`` (libstdc++): the values at the first minimum and last maximum, with
    its exact pairwise comparison order (which decides what a NaN does)."""
    n = row.size
    lo = row[0]
    hi = row[0]
    if n == 1:
        return lo, hi
    if row[1] < lo:
        lo = row[1]
    else:
        hi = row[1]
    i = 2
    while i < n:
        if i + 1 == n:
            if row[i] < lo:
                lo = row[i]
            elif not (row[i] < hi):
                hi = row[i]
            break
        a = row[i]
        b = row[i + 1]
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
def neon_minmax(row):
    """``NeonMinMax`` under NEON_2_SSE: (min(0, min x), max(0, max x)) computed as the x86 code does.

    Lanes of 4 fold with minps/maxps (a < b ? a : b, a > b ? a : b), then vmin_f32/vpmin_f32 and
    std::min with 0 (vmax likewise); the tail past ``size & ~3`` goes through std::minmax_element.
    A NaN never reaches the result: the comparisons against the 0 start value drop it.
    """
    n = row.size
    body = n & ~3
    rmin = np.float32(0.0)
    rmax = np.float32(0.0)
    if body:
        mn0, mn1, mn2, mn3 = row[0], row[1], row[2], row[3]
        mx0, mx1, mx2, mx3 = row[0], row[1], row[2], row[3]
        for i in range(4, body, 4):
            v0, v1, v2, v3 = row[i], row[i + 1], row[i + 2], row[i + 3]
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
        lo, hi = std_minmax(row[body:])
        rmin = lo if lo < rmin else rmin
        rmax = hi if rmax < hi else rmax
    return rmin, rmax


# ---------------------------------------------------------------- row quantization

@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def quantize_rows_symmetric(x, q, scaling, offsets):
    """``NeonSymmetricQuantizeFloats`` per row (through BatchQuantizeFloats, asymmetric = false).

    [rows, K] float32 -> q [rows, K] (int8 values, stored in q's dtype), scaling [rows] float32,
    offsets [rows] = 0. range = max(|min|, |max|) (std::minmax_element); range 0 -> q = 0, scale 1;
    else scale = range / 127, inv = 127 / range (float32), q = clamp(RoundToNearest(x * inv), -127, 127)
    on full blocks of 8 and clamp(int32(std::round(inv * x)), -127, 127) on the rest.
    """
    rows, k_size = x.shape
    body = k_size & ~7
    for r in range(rows):
        row = x[r]
        offsets[r] = 0
        lo, hi = std_minmax(row)
        a_lo, a_hi = abs(lo), abs(hi)
        value_range = a_hi if a_lo < a_hi else a_lo  # std::max(|min|, |max|)
        if value_range == np.float32(0.0):
            for k in range(k_size):
                q[r, k] = 0
            scaling[r] = np.float32(1.0)
            continue
        scaling[r] = np.float32(value_range / _F127)
        inv = np.float32(_F127 / value_range)
        for k in range(body):
            q[r, k] = min(127, max(-127, round_to_nearest_x86(np.float32(row[k] * inv))))
        for k in range(body, k_size):
            q[r, k] = min(127, max(-127, float_to_int32(round_half_away(np.float32(inv * row[k])))))


@jit(error_model="numpy")  # float division by zero gives inf/NaN, as in C
def quantize_rows_asymmetric(x, q, scaling, offsets):
    """``NeonAsymmetricQuantizeFloats`` per row (through BatchQuantizeFloats, asymmetric = true).

    [rows, K] float32 -> q [rows, K] (int8 values in q's dtype), scaling [rows] float32, offsets [rows].
    (rmin, rmax) = NeonMinMax (capped at 0); equal -> q = 0, scale 1, offset 0. Else, in double:
    scale = float32(rmax - rmin) / 255, zero point from whichever end has the smaller error, nudged to
    [-128, 127] and rounded half away; scaling = float(scale), inv = float(1.0 / double(scaling)).
    q = clamp(RoundToNearest(x * inv) + zp, -128, 127) on full blocks of 8, and
    clamp(int32(float(zp) + std::round(inv * x)), -128, 127) on the rest, where the wheel's compiled
    conversion turns a NaN into 0 (a saturating conversion; measured: the symmetric tail gives
    INT32_MIN, this one 0).
    """
    rows, k_size = x.shape
    body = k_size & ~7
    for r in range(rows):
        row = x[r]
        rmin, rmax = neon_minmax(row)
        if rmin == rmax:
            for k in range(k_size):
                q[r, k] = 0
            scaling[r] = np.float32(1.0)
            offsets[r] = 0
            continue
        scale = np.float64(np.float32(rmax - rmin)) / 255.0
        lo = np.float64(rmin)
        hi = np.float64(rmax)
        zp_from_min = -128.0 - lo / scale
        zp_from_max = 127.0 - hi / scale
        err_min = 128.0 + abs(lo / scale)
        err_max = 127.0 + abs(hi / scale)
        zp_double = zp_from_min if err_min < err_max else zp_from_max
        if zp_double <= -128.0:
            zp = -128
        elif zp_double >= 127.0:
            zp = 127
        else:
            zp = double_to_int8_x86(round_half_away(zp_double))
        sf = np.float32(scale)
        scaling[r] = sf
        offsets[r] = zp
        inv = np.float32(0.0) if sf == np.float32(0.0) else np.float32(1.0 / np.float64(sf))
        zp_f = np.float32(zp)
        for k in range(body):
            v = wrap_int32(round_to_nearest_x86(np.float32(row[k] * inv)) + zp)
            q[r, k] = min(127, max(-128, v))
        for k in range(body, k_size):
            t = np.float32(zp_f + np.float32(round_half_away(np.float32(inv * row[k]))))
            q[r, k] = 0 if np.isnan(t) else min(127, max(-128, float_to_int32(t)))


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
def maddubs_correction(acc, q, pair_n, pair_k):
    """Apply the maddubs sign wrap to exact dot products: for every weight (n, k) = -128 with
    k < K & ~15 and every row with q[b, k] < 0, the official sum holds 128 * q instead of -128 * q,
    so acc[b, n] += 256 * q[b, k]. [batch, N] in place; q [batch, K]."""
    for b in range(acc.shape[0]):
        for p in range(pair_n.size):
            v = q[b, pair_k[p]]
            if v < 0:
                acc[b, pair_n[p]] += 256 * v


@jit
def hybrid_fc_output(acc, scaling, offsets, row_sums, weight_scales, bias, out):
    """out[b, n] = bias[n] + float(sum) * float(w_s[n] * s_b), sum = int32(acc[b, n]) - zp_b * row_sum[n].

    [batch, N] exact integer dot products (any numeric dtype) -> [batch, N] float32. Matches the
    accumulation of ``Avx2MatrixBatchVectorMultiplyAccumulateImpl`` (optimized/sse_tensor_utils.cc)
    after EvalHybridDense (fully_connected.cc) set the output to the bias (0 without one): the row
    offset zp * row_sum subtracted in int32 only when zp != 0, then ``*result += sum * row_scale``
    with the int32 -> float conversion, the product and the sum each rounded to float32.
    """
    batch, n_size = acc.shape
    for b in range(batch):
        scale_b = scaling[b]
        zp = np.int64(offsets[b])
        for n in range(n_size):
            total = wrap_int32(np.int64(acc[b, n]))
            if zp != 0:
                total = wrap_int32(total - wrap_int32(zp * np.int64(row_sums[n])))
            row_scale = np.float32(weight_scales[n] * scale_b)
            out[b, n] = np.float32(bias[n] + np.float32(np.float32(total) * row_scale))


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
