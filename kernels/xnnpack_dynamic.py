"""XNNPACK's dynamically quantized (qd8) FULLY_CONNECTED / BATCH_MATMUL: float32 input, int8 weights.

What the XNNPACK delegate of ai-edge-litert 2.3.0 runs for a hybrid (the ``dynamic`` model flavor) FC or
BMM (xnnpack_delegate.cc: a ``convert`` f32 -> qdint8 node, then a qd8-f32-qc8w GEMM):

1. Per input row (each row of K values), ``xnn_compute_f32_qx8_convert`` (operator-run.c):
   (min, max) from the ``f32_rminmax`` microkernel (x86-64 with AVX-512F: ``avx512f_u64_acc4``, 16
   lanes x 4 accumulators of MINPS/MAXPS, then ``_mm512_reduce_min_ps``); then
   ``xnn_qd8_asymmetric_quantization_params`` (src/xnnpack/quantization.h), all in float32:
   rmin = min(0, min), rmax = max(0, max); scale = rmin == rmax ? 1 : 255 / (rmax - rmin);
   zero point = (-128 + rmin*scale) + (127 + rmax*scale) > 0 ? -128 - rmin*scale : 127 - rmax*scale,
   clamped to [-128, 127] and rounded by lrintf (ties to even); the GEMM's dequantization scale is
   ``inv_scale = 1.0f / scale``.
2. ``f32_qs8_vcvt`` (avx512skx): q = sat8(sat16(cvtps_epi32(min(x * scale, 32767))) + zp), rounding
   ties to even; a NaN product becomes 32767 (MINPS returns its second operand), so q = 127.
   (The qdu8 variant used by the VNNI kernels stores q + 128; the same arithmetic.)
3. The GEMM (qd8-f32-qc8w ``avx512amx`` / ``avx512vnni`` kernels on this CPU): the exact int32
   (wrapping) acc = Σ_k (q - zp) * w; out = fmadd(float(acc) * inv_scale, w_scale[n], bias[n]) - the
   product by inv_scale rounded to float32, then one fused multiply-add - then MAXPS with the
   activation's lower bound and MINPS with its upper bound (a NaN becomes the lower bound: -inf
   without activation).

CPU features assumed: x86-64 with AVX-512F/SKX (rminmax and convert kernels) and FMA; the GEMM's
integer part is exact on every kernel variant, so which one runs (AMX, AVX512-VNNI, AVX-VNNI) does not
matter. Checked bit for bit (float32 outputs included) against the official AUTO run.
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import wrap_int32
from litelens.kernels.float32_fma import fma_f32
from litelens.kernels.lut import sse_max, sse_min

_LANES = 16
_F255 = np.float32(255.0)
_QMIN = np.float32(-128.0)
_QMAX = np.float32(127.0)
_OVERFLOW_MAX = np.float32(32767.0)
_INT32_MIN = -2147483648


@jit
def rminmax_avx512(row):
    """``xnn_f32_rminmax_ukernel__avx512f_u64_acc4`` with the start values (+inf, -inf): the exact
    minimum and maximum of a row without NaN. With NaNs, the lane order of the microkernel decides what
    survives (MINPS keeps its second operand); reproduced lane by lane, with the final
    ``_mm512_reduce_min_ps`` as halving steps MINPS(low half, high half) - the order measured on the
    wheel: a NaN left in lane 15 of the last block reaches the result, one in any other lane is dropped."""
    n = row.size
    inf = np.float32(np.inf)
    vmin = np.full((4, _LANES), inf, np.float32)
    vmax = np.full((4, _LANES), -inf, np.float32)
    i = 0
    while n - i >= 4 * _LANES:
        for a in range(4):
            for lane in range(_LANES):
                v = row[i + a * _LANES + lane]
                vmin[a, lane] = sse_min(vmin[a, lane], v)
                vmax[a, lane] = sse_max(vmax[a, lane], v)
        i += 4 * _LANES
    for lane in range(_LANES):
        vmin[0, lane] = sse_min(vmin[0, lane], vmin[1, lane])
        vmax[0, lane] = sse_max(vmax[0, lane], vmax[1, lane])
        vmin[2, lane] = sse_min(vmin[2, lane], vmin[3, lane])
        vmax[2, lane] = sse_max(vmax[2, lane], vmax[3, lane])
        vmin[0, lane] = sse_min(vmin[0, lane], vmin[2, lane])
        vmax[0, lane] = sse_max(vmax[0, lane], vmax[2, lane])
    while n - i >= _LANES:
        for lane in range(_LANES):
            v = row[i + lane]
            vmin[0, lane] = sse_min(vmin[0, lane], v)
            vmax[0, lane] = sse_max(vmax[0, lane], v)
        i += _LANES
    while i < n:  # the tail: each value broadcast to every lane
        v = row[i]
        for lane in range(_LANES):
            vmin[0, lane] = sse_min(vmin[0, lane], v)
            vmax[0, lane] = sse_max(vmax[0, lane], v)
        i += 1
    width = _LANES
    while width > 1:
        width //= 2
        for lane in range(width):
            vmin[0, lane] = sse_min(vmin[0, lane], vmin[0, lane + width])
            vmax[0, lane] = sse_max(vmax[0, lane], vmax[0, lane + width])
    return vmin[0, 0], vmax[0, 0]


@jit
def _lrintf(v):
    """lrintf on x86-64 (cvtss2si): ties to even; NaN / out of range -> INT64_MIN-like; only called on
    values already clamped to [-128, 127] or NaN (then the int8 cast of 0x80000000 gives 0)."""
    if np.isnan(v):
        return 0
    return int(np.rint(v))


@jit(error_model="numpy")  # float division by zero gives inf / NaN, as in C
def quantize_rows_qd8(x, q, inv_scale, zero_point):
    """Per row: XNNPACK's qd8 parameters and the f32 -> qs8 convert (module docstring, steps 1-2).

    x [rows, K] float32 -> q [rows, K] int8 codes (any integer dtype), inv_scale [rows] float32 (the
    dequantization scale), zero_point [rows] int32."""
    rows, k_size = x.shape
    zero = np.float32(0.0)
    one = np.float32(1.0)
    for r in range(rows):
        lo, hi = rminmax_avx512(x[r])
        rmin = lo if lo < zero else zero  # math_min_f32(0, min): b < a ? b : a
        rmax = zero if hi < zero else hi  # math_max_f32(0, max): b < a ? a : b
        scale = one if rmin == rmax else np.float32(_F255 / np.float32(rmax - rmin))
        dmin = np.float32(rmin * scale)
        dmax = np.float32(rmax * scale)
        err_sum = np.float32(np.float32(_QMIN + dmin) + np.float32(_QMAX + dmax))
        zp = np.float32(_QMIN - dmin) if err_sum > zero else np.float32(_QMAX - dmax)
        zp = zp if _QMIN < zp else _QMIN  # math_max_f32(zp, qmin)
        zp = _QMAX if _QMAX < zp else zp  # math_min_f32(zp, qmax)
        zpi = _lrintf(zp)
        zero_point[r] = zpi
        inv_scale[r] = np.float32(one / scale)
        for k in range(k_size):
            v = np.float32(x[r, k] * scale)
            v = v if v < _OVERFLOW_MAX else _OVERFLOW_MAX  # MINPS(v, 32767)
            if np.isnan(v) or v < -2147483648.0:
                i = _INT32_MIN
            else:
                i = int(np.rint(v))
            i = max(-32768, min(32767, i))  # packs_epi32
            i = max(-32768, min(32767, i + zpi))  # adds_epi16
            q[r, k] = max(-128, min(127, i))  # packs_epi16


@jit
def qd8_output(acc, zero_point, col_sums, inv_scale, w_scales, bias, out_min, out_max, out):
    """The qd8-f32-qc8w GEMM epilogue (module docstring, step 3).

    acc [rows, N] exact Σ_k q * w (any numeric dtype), zero_point / inv_scale [rows], col_sums [N]
    Σ_k w (int64; zeros when acc already holds Σ (q - zp) w), w_scales / bias [N] float32 ->
    out [rows, N] float32."""
    rows, n_size = acc.shape
    for r in range(rows):
        zp = np.int64(zero_point[r])
        s = inv_scale[r]
        for n in range(n_size):
            total = wrap_int32(np.int64(acc[r, n]) - zp * np.int64(col_sums[n]))
            v = fma_f32(np.float32(np.float32(total) * s), w_scales[n], bias[n])
            v = v if v > out_min else out_min  # MAXPS(v, min)
            out[r, n] = v if v < out_max else out_max  # MINPS(v, max)
