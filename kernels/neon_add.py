"""The optimized int8 ADD as the official x86-64 wheel runs it (optimized/integer_ops/add.h).

On x86-64 the optimized kernels are compiled with ``USE_NEON`` through NEON_2_SSE (neon_check.h),
so ``AddElementwiseInt8`` and ``AddScalarBroadcast`` run their NEON blocks, emulated with SSE. Each
output element is computed in one of three ways (its *lane mode*, found at Prepare by
:func:`add_lane_modes` from ``ProcessBroadcastShapes`` and ``BinaryBroadcastFiveFold``):

* ``SCALAR`` — the plain C++ loop (tails, generic broadcasts): as the reference kernel,
  v_k = RDBPOT(SRDHM((q_k + off_k) << 20, M_k), -s_k);
* ``ELEMENTWISE`` — 16 lanes of AddElementwiseInt8: the input shift folds into the left shift,
  v_k = SRDHM((q_k + off_k) << (20 + s_k), M_k) (a negative total shifts right, truncating);
* ``BROADCAST`` — 8 lanes of AddScalarBroadcast: v_k = SRDHM((q_k + off_k) << 20, M_k) >> -s_k
  (``vshlq_s32`` by a negative count: an arithmetic, truncating shift).

The vector forms then compute SRDHM(v_1 + v_2, M_out), gemmlowp's SSE ``RoundingDivideByPOT``,
narrow to int16 (``vmovn_s32``, wrapping), add the output offset in int16 (wrapping), saturate to
int8 (``vqmovn_s16``) and clamp. CPU features: SSE4.1 or later (any x86-64 wheel build).
"""
import numpy as np

from litelens.kernels.broadcast import row_offsets
from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import (
    multiply_by_quantized_multiplier, saturating_rounding_doubling_high_mul, wrap_int32,
)
from litelens.kernels.gemmlowp import rounding_divide_by_pot_sse, rounding_divide_by_pot_x86
from litelens.kernels.elementwise import rescale_input

SCALAR, ELEMENTWISE, BROADCAST = 0, 1, 2
ELEMENTWISE_LANES, BROADCAST_LANES = 16, 8


def _five_fold(shape1, shape2):
    """``ProcessBroadcastShapes``: (category, [y0..y4]); category 'none', 'first', 'second' or 'generic'."""
    rank = max(len(shape1), len(shape2))
    a0 = (1,) * (rank - len(shape1)) + tuple(shape1)
    b0 = (1,) * (rank - len(shape2)) + tuple(shape2)
    if a0 == b0:
        return "none", None
    category = None
    for i in range(rank - 1, -1, -1):
        if a0[i] == b0[i]:
            continue
        if a0[i] == 1:
            category = "first"
        elif b0[i] == 1:
            category = "second"
        else:
            return "generic", None
        break
    a, b = (a0, b0) if category == "first" else (b0, a0)
    y = [1, 1, 1, 1, 1]
    i = rank - 1
    while i >= 0 and a[i] == b[i]:
        y[4] *= b[i]
        i -= 1
    while i >= 0 and a[i] == 1:
        y[3] *= b[i]
        i -= 1
    while i >= 0 and a[i] == b[i]:
        y[2] *= a[i]
        i -= 1
    while i >= 0 and b[i] == 1:
        y[1] *= a[i]
        i -= 1
    while i >= 0 and a[i] == b[i]:
        y[0] *= b[i]
        i -= 1
    return ("generic", None) if i >= 0 else (category, y)


def add_lane_modes(shape1, shape2, out_size: int, broadcast_lanes: int = BROADCAST_LANES,
                   elementwise_lanes: int = ELEMENTWISE_LANES) -> np.ndarray:
    """The lane mode of every output element (uint8 [out_size], output order). Lanes per block: int8
    ADD 16 / 8 (elementwise / scalar broadcast), int8 MUL 16 / 16, uint8 ADD and MUL 8 / 8."""
    category, y = _five_fold(shape1, shape2)
    if category == "none":
        modes = np.zeros(out_size, np.uint8)
        modes[:out_size - out_size % elementwise_lanes] = ELEMENTWISE
        return modes
    if category == "generic":
        return np.zeros(out_size, np.uint8)
    if y[4] > 1:  # elementwise_f over rows of y4
        inner = np.where(np.arange(y[4]) < y[4] - y[4] % elementwise_lanes, ELEMENTWISE, SCALAR)
        return np.tile(inner.astype(np.uint8), out_size // y[4])
    inner = np.where(np.arange(y[3]) < y[3] - y[3] % broadcast_lanes, BROADCAST, SCALAR)
    return np.tile(inner.astype(np.uint8), out_size // y[3])


@jit
def _wrap_int16(x):
    return ((np.int64(x) + 32768) & 0xFFFF) - 32768


@jit
def _shift_left_or_truncate(x, amount):
    """``vshlq_s32``: a left shift, or an arithmetic (truncating) right shift for a negative amount."""
    if amount >= 0:
        return wrap_int32(np.int64(x) << amount)
    return x >> (-amount)


@jit
def neon_add_element(q1, q2, mode, offset1, multiplier1, shift1, offset2, multiplier2, shift2, left_shift,
                     out_multiplier, out_shift, out_offset, act_min, act_max, sat_min, sat_max):
    if mode == SCALAR:
        v1 = rescale_input(q1, offset1, left_shift, multiplier1, shift1)
        v2 = rescale_input(q2, offset2, left_shift, multiplier2, shift2)
        raw = rounding_divide_by_pot_x86(saturating_rounding_doubling_high_mul(v1 + v2, out_multiplier),
                                         -out_shift) + out_offset
        return min(max(raw, act_min), act_max)
    a = np.int64(q1) + offset1
    b = np.int64(q2) + offset2
    if mode == ELEMENTWISE:
        v1 = saturating_rounding_doubling_high_mul(_shift_left_or_truncate(a, left_shift + shift1), multiplier1)
        v2 = saturating_rounding_doubling_high_mul(_shift_left_or_truncate(b, left_shift + shift2), multiplier2)
    else:
        v1 = _shift_left_or_truncate(saturating_rounding_doubling_high_mul(a << left_shift, multiplier1), shift1)
        v2 = _shift_left_or_truncate(saturating_rounding_doubling_high_mul(b << left_shift, multiplier2), shift2)
    s = wrap_int32(v1 + v2)
    s = rounding_divide_by_pot_sse(saturating_rounding_doubling_high_mul(s, out_multiplier), -out_shift)
    s = _wrap_int16(_wrap_int16(s) + out_offset)  # vmovn_s32, then vaddq_s16 (both wrap)
    s = min(max(s, sat_min), sat_max)  # vqmovn_s16 (int8) / vqmovun_s16 (uint8)
    return min(max(s, act_min), act_max)


@jit
def neon_add_8bit(out, x1, x2, loops, strides1, strides2, modes, default_mode,
                  offset1, multiplier1, shift1, offset2, multiplier2, shift2, left_shift,
                  out_multiplier, out_shift, out_offset, act_min, act_max, sat_min, sat_max):
    """Optimized int8 / uint8 ADD; ``modes[i]`` is output i's lane mode, or all are ``default_mode``
    when ``modes`` is empty (how the pair table is built for a uniform op). [sat_min, sat_max] is the
    8-bit type's range. uint8 (optimized_ops.h ``AddElementwise`` / ``AddScalarBroadcast``, 8 lanes
    each) computes every vector lane in the BROADCAST form."""
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    uniform = modes.size == 0
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            mode = default_mode if uniform else modes[base + i]
            out[base + i] = neon_add_element(x1[start1 + i * step1], x2[start2 + i * step2], mode,
                                             offset1, multiplier1, shift1, offset2, multiplier2, shift2,
                                             left_shift, out_multiplier, out_shift, out_offset, act_min, act_max,
                                             sat_min, sat_max)


@jit
def neon_add_int16(out, x1, x2, offset1, multiplier1, shift1, offset2, multiplier2, shift2, left_shift,
                   out_multiplier, out_shift, out_offset, act_min, act_max):
    """Optimized int16 ADD of same-shape inputs (``AddElementwiseInt16``, its NEON block; the x86-64
    wheel is not built with ``__AVX2__``, so NEON_2_SSE runs it). [n] + [n] -> [n].

    16 lanes at a time: v_k = SRDHM((x_k + off_k) << (15 + s_k), M_k) (a negative total shifts right,
    truncating); out = RDBPOT(SRDHM(v_1 + v_2, M_out), -s_out) + zp_out, clamped, saturated to int16.
    The last n % 16 outputs run the scalar reference code.
    """
    n = out.size
    vector_end = n - n % ELEMENTWISE_LANES
    for i in range(n):
        if i < vector_end:
            a = _shift_left_or_truncate(np.int64(x1[i]) + offset1, left_shift + shift1)
            b = _shift_left_or_truncate(np.int64(x2[i]) + offset2, left_shift + shift2)
            v = wrap_int32(saturating_rounding_doubling_high_mul(a, multiplier1)
                           + saturating_rounding_doubling_high_mul(b, multiplier2))
            raw = rounding_divide_by_pot_sse(saturating_rounding_doubling_high_mul(v, out_multiplier),
                                             -out_shift) + out_offset
        else:
            v1 = rescale_input(x1[i], offset1, left_shift, multiplier1, shift1)
            v2 = rescale_input(x2[i], offset2, left_shift, multiplier2, shift2)
            raw = rounding_divide_by_pot_x86(saturating_rounding_doubling_high_mul(v1 + v2, out_multiplier),
                                             -out_shift) + out_offset
        out[i] = min(max(raw, act_min), act_max)


@jit
def neon_mul_8bit(out, x1, x2, loops, strides1, strides2, modes, default_mode,
                  offset1, offset2, out_multiplier, out_shift, out_offset, act_min, act_max,
                  sat_min, sat_max, broadcast_wraps):
    """Optimized int8 MUL (optimized/integer_ops/mul.h ``MulElementwise`` / ``MulSimpleBroadcast``,
    NEON blocks of 16 lanes; lane modes as for ADD with 16-lane broadcasts). Every mode computes
    v = MBQM((x1 + off1) * (x2 + off2), M, s); the scalar code clamps v + zp_out, the vector lanes
    saturate v to int16 (``vqmovn_s32``), add zp_out in int16 *wrapping* (``vaddq_s16``), saturate
    to int8 and clamp: with an output multiplier above one a saturated product can wrap around.
    uint8 (optimized_ops.h, 8 lanes each): saturates to [0, 255] (``vqmovun_s16``), and its
    MulSimpleBroadcast narrows with ``vmovn_s32`` (wrapping, ``broadcast_wraps``)."""
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    uniform = modes.size == 0
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            mode = default_mode if uniform else modes[base + i]
            product = (np.int64(x1[start1 + i * step1]) + offset1) * (np.int64(x2[start2 + i * step2]) + offset2)
            v = multiply_by_quantized_multiplier(product, out_multiplier, out_shift)
            if mode == SCALAR:
                v = v + out_offset
            else:
                narrowed = _wrap_int16(v) if (broadcast_wraps and mode == BROADCAST) else min(max(v, -32768), 32767)
                v = min(max(_wrap_int16(narrowed + out_offset), sat_min), sat_max)
            out[base + i] = min(max(v, act_min), act_max)
