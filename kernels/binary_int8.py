"""8-bit ADD, SUB and MUL with no table: every requantization chain as one exact integer *step*.

The official 8-bit kernels chain roundings: gemmlowp's SaturatingRoundingDoublingHighMul (SRDHM),
RoundingDivideByPOT (RDBPOT, ties away from zero), truncating shifts (``vshlq_s32`` by a negative
count), XNNPACK's rounding shifts. Each is a floor of a rational, and nested floors merge
(floor((floor(y) + n) / d) = floor((y + n) / d) for integers n and d > 0), so every chain from an
integer x to one value collapses to

    step(x) = (x * m + (a if x * m < t else b)) >> k        (x and m fit int32; the sum fits int64)

with m, t, a, b, k fixed at Prepare by :func:`rounding_step` / :func:`floor_step`. For instance
RDBPOT(SRDHM(x, M), e), e >= 0: SRDHM(x, M) = h = floor((x M + 2**30) / 2**31) (its nudge and its
truncating division are exactly that floor, M > 0), RDBPOT(h, e) = floor((h + 2**(e-1) - [h < 0]) / 2**e)
(e > 0), so the chain is floor((x M + 2**30 + (2**(e-1) - [h < 0]) * 2**31) / 2**(31 + e)), where h < 0
exactly when x M < -2**30. x * m is one 32 x 32 -> 64-bit multiply (VPMULDQ); with a compare, a blend,
an add and a shift per step LLVM vectorises the loops below 8 int64 lanes wide, with no table to load.

Kernels (``consts[SCALAR]`` / ``consts[VECTOR]``: the fields ADD_FIELDS / MUL_FIELDS for the two lane
kinds of the optimized NEON blocks; output i uses VECTOR when i % period < vector_end, other paths
pass vector_end = 0):

* :func:`add_sub_8bit` - s = c * x1 + step(x2), out = clamp(step_out(s) + zero_point). One input of every 8-bit
  ADD/SUB is exactly linear: the reference/optimized input with the larger scale is rescaled by exactly
  one half ((x - zp) * 2**19), XNNPACK's by m1 * x1; SUB's sign is folded into the steps, and Prepare
  swaps the inputs so that x1 is the linear one. step_out's product s * out_m is formed as
  ((x1 * k1) << shift1) + step(x2) * out_m: three 32 x 32-bit multiplies.
* :func:`add_linear_8bit` - out = clamp((x1 * m1 + x2 * m2 + bias) >> shift): one rounding, twice as fast.
  XNNPACK's vadd is this form; for the others Prepare runs ``add_sub_8bit`` on all 65536 input pairs and
  fits m1, m2 (the real slopes to ~30 bits), shift and the interval of biases that reproduces every one
  of those outputs (:func:`linear_form`), which is exact by construction. Most ADDs fit (286 of the 291
  of the int8 MobileBERT); ties rounded away from zero in the output's unclamped range, for example,
  do not.
* :func:`mul_8bit` - p = (x1 + o1) * (x2 + o2), out = clamp(step(p) + zero_point), or with ``fscale`` XNNPACK's fp32
  requantization rne(float32(float32(p) * fscale)).

Each output ends as clamp(r + zero_point) (``zero_point`` 0: Prepare folded it into the last step;
``full``: [act_min, act_max] is the type's range, as compile-time constants, so the clamp and the store
are one saturating narrowing). The optimized paths' VECTOR lanes narrow to int16 first: MUL's saturate
to [sat_min, sat_max] (``vqmovn_s32``), and the zero point is added wrapping in int16 (a row's ``wrap``
48; ``vaddq_s16``); ``mul_8bit`` includes those steps only with ``lanes``. ``lanes`` / ``full`` /
``fscale`` are None or a value and Numba compiles each combination without the unused code; the rest
are plain integers, so a flavor compiles each kernel once (a cold start compiles every kernel a model
needs: these stay small, one vectorised loop per kernel). With ``NUMBA_DISABLE_JIT=1`` the same code
runs as plain Python.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from litelens.kernels.broadcast import row_offsets
from litelens.kernels.config import jit

SCALAR, VECTOR = 0, 1
UNIFORM = 1 << 62  # a period longer than any tensor: the lane kind never changes
ADD_FIELDS = ("k1", "shift1", "m", "t", "a", "b", "k", "out_m", "out_t", "out_a", "out_b", "out_k", "wrap",
              "act_min", "act_max")
MUL_FIELDS = ("offset1", "offset2", "m", "t", "a", "b", "k", "sat_min", "sat_max", "wrap", "act_min", "act_max")
LINEAR_FIELDS = ("m1", "m2", "bias", "shift", "act_min", "act_max")
INT16_SATURATION = (-32768, 32767)  # (sat_min, sat_max) of vqmovn_s32: the value saturated to int16
NO_SATURATION = (-(1 << 62), 1 << 62)  # (sat_min, sat_max) of lanes that do not saturate
WRAP_INT16 = 48  # a row's ``wrap``: (r << 48) >> 48 wraps r to int16 (0: no wrapping)
AWAY, FLOOR = "away", "floor"


# --- Prepare (plain Python) ---------------------------------------------------------------------

@dataclass(frozen=True)
class Step:
    """step(x) = (x * m + (a if x * m < t else b)) >> k, monotone in x (a <= b)."""

    m: int
    t: int
    a: int
    b: int
    k: int

    def __call__(self, x: int) -> int:
        p = int(x) * self.m
        return (p + (self.a if p < self.t else self.b)) >> self.k

    def negated(self) -> Step:
        """-step(x): -floor(y / 2**k) = floor((-y + 2**k - 1) / 2**k), and x m < t iff x (-m) >= 1 - t."""
        top = (1 << self.k) - 1
        return Step(-self.m, 1 - self.t, top - self.b, top - self.a, self.k)

    def plus(self, c: int) -> Step:
        """step(x) + c, folded into the addends."""
        return Step(self.m, self.t, self.a + (c << self.k), self.b + (c << self.k), self.k)

    def range_over(self, lo: int, hi: int) -> tuple[int, int]:
        """(min, max) of step(x) for integers lo <= x <= hi (a monotone step: at the ends)."""
        ends = (self(lo), self(hi))
        return min(ends), max(ends)

    def fits(self, lo: int, hi: int) -> bool:
        """Whether the kernel computes this step exactly for every x in [lo, hi]: x and m fit int32,
        no int64 overflow, a shift below 64."""
        big = max(abs(lo), abs(hi))
        return (big < 2**31 and -2**31 < self.m < 2**31 and 0 <= self.k < 63 and self.a <= self.b
                and big * abs(self.m) + max(abs(self.a), abs(self.b)) < 2**63)

    def as_tuple(self) -> tuple[int, int, int, int, int]:
        return self.m, self.t, self.a, self.b, self.k


def rounding_step(multiplier: int, pre_shift: int = 0, right_shift: int = 0, offset: int = 0,
                  rounding: str = AWAY) -> Step | None:
    """RDBPOT(SRDHM((x + offset) * 2**pre_shift, multiplier), right_shift) as a Step in x; ``rounding``
    FLOOR: an arithmetic (truncating) right shift instead of RDBPOT. None when the chain is outside
    the form (a negative shift, a pre-shift above 30, a negative or too large multiplier). The caller
    checks that (x + offset) * 2**pre_shift fits int32 (SRDHM's input does not wrap)."""
    if not (0 <= multiplier < 2**31 and 0 <= pre_shift <= 30 and 0 <= right_shift <= 31):
        return None
    e = right_shift
    half = (1 << (e - 1)) if e > 0 else 0
    pos = (1 << 30) + (half << 31)  # h >= 0: floor((h + 2**(e-1)) / 2**e)
    neg = pos - (1 << 31) if e > 0 else pos  # h < 0: ties away from zero, one less
    if rounding == FLOOR:
        pos = neg = 1 << 30  # floor(h / 2**e)
    # P = (x m + offset m) 2**pre; result = floor((P + pos or neg) / 2**(31 + e)), neg when P < -2**30.
    om = offset * multiplier
    return Step(multiplier, -((1 << 30) >> pre_shift) - om, (neg >> pre_shift) + om, (pos >> pre_shift) + om,
                31 + e - pre_shift)


def floor_step(multiplier: int, pre_shift: int, addend: int, shift: int) -> Step | None:
    """floor((x * multiplier * 2**pre_shift + addend) / 2**shift) as a Step in x (no sign-dependent
    rounding), or None when shift < pre_shift."""
    if not 0 <= pre_shift <= shift:
        return None
    c = addend >> pre_shift  # floor((y 2**pre + addend) / 2**s) = floor((y + floor(addend / 2**pre)) / 2**(s - pre))
    return Step(multiplier, 0, c, c, shift - pre_shift)


def linear_step(multiplier: int, addend: int) -> Step:
    """x * multiplier + addend."""
    return Step(multiplier, 0, addend, addend, 0)


def linear_factor(c: int, out_multiplier: int) -> tuple[int, int] | None:
    """(k1, shift1) with c * out_multiplier = k1 * 2**shift1 and k1 fitting int32 (``add_sub_8bit``
    multiplies x1 by k1 and shifts, instead of forming s), or None."""
    if c == 0 or out_multiplier == 0:
        return 0, 0
    shift = (abs(c) & -abs(c)).bit_length() - 1  # trailing zero bits of c
    k1 = (c >> shift) * out_multiplier
    return (k1, shift) if -2**31 < k1 < 2**31 else None


def add_constants(c: int, step: Step, out_step: Step, codes: tuple[int, int], zero_point: int,
                  act: tuple[int, int], fold: bool, wrap: int = 0) -> tuple[tuple, int] | None:
    """One row of ``add_sub_8bit``'s constants (ADD_FIELDS) for s = c x1 + step(x2), out = out_step(s) +
    zero_point (``wrap`` WRAP_INT16: that sum wraps in int16), and the kernel's ``zero_point`` argument:
    0 when ``fold`` and out_step can add it exactly. None when the kernel would not compute this exactly
    for every pair of codes in ``codes``."""
    lo, hi = codes
    v_lo, v_hi = step.range_over(lo, hi)
    linear = max(abs(c * lo), abs(c * hi))
    s_lo, s_hi = v_lo - linear, v_hi + linear  # bounds on s (and on each of its terms' products below)
    factor = linear_factor(c, out_step.m)
    if (factor is None or not step.fits(lo, hi) or not -2**31 <= v_lo <= v_hi < 2**31
            or not out_step.fits(s_lo, s_hi)
            or (linear + max(abs(v_lo), abs(v_hi))) * abs(out_step.m) + max(abs(out_step.a), abs(out_step.b)) >= 2**63):
        return None
    folded = out_step.plus(zero_point)
    if fold and folded.fits(s_lo, s_hi):
        return (*factor, *step.as_tuple(), *folded.as_tuple(), wrap, *act), 0
    return (*factor, *step.as_tuple(), *out_step.as_tuple(), wrap, *act), zero_point


def mul_constants(offsets: tuple[int, int], step: Step | None, codes: tuple[int, int], zero_point: int,
                  act: tuple[int, int], sat: tuple[int, int] = NO_SATURATION, fold: bool = True,
                  wrap: int = 0) -> tuple[tuple, int] | None:
    """One row of ``mul_8bit``'s constants (MUL_FIELDS) for out = step((x1 + o1) (x2 + o2)) + zero_point
    (no step: XNNPACK's float requantization, zero point not folded; ``sat``, ``wrap``: the optimized
    NEON lanes' int16 saturation and wrapping, used with the kernel's ``lanes``), and the kernel's
    ``zero_point`` argument (0 when folded); None when the kernel would not compute this exactly."""
    lo, hi = codes
    ends = [(a + offsets[0]) * (b + offsets[1]) for a in (lo, hi) for b in (lo, hi)]
    p_lo, p_hi = min(ends), max(ends)
    if step is None:
        return (*offsets, *linear_step(0, 0).as_tuple(), *sat, wrap, *act), zero_point
    if not step.fits(p_lo, p_hi):
        return None
    folded = step.plus(zero_point)
    if fold and folded.fits(p_lo, p_hi):
        return (*offsets, *folded.as_tuple(), *sat, wrap, *act), 0
    return (*offsets, *step.as_tuple(), *sat, wrap, *act), zero_point


def full_range(dtype: np.dtype, act_min: int, act_max: int) -> bool | None:
    """The kernels' ``full`` argument: True when the clamp is the output type's whole range, else None."""
    info = np.iinfo(dtype)
    return True if (act_min, act_max) == (int(info.min), int(info.max)) else None


def lane_pattern(modes: np.ndarray) -> tuple[int, int, int]:
    """(period, vector_end, vector mode) with mode(i) = vector mode if i % period < vector_end else 0
    (SCALAR), for a lane-mode array of the optimized kernels (kernels/neon_add.py ``add_lane_modes``:
    every period starts with its vector lanes). Raises ValueError if ``modes`` has another shape."""
    vector = modes != 0
    if not vector.any():
        return UNIFORM, 0, 0
    kinds = np.unique(modes[vector])
    if kinds.size != 1:
        raise ValueError("more than one vector lane kind")
    starts = np.flatnonzero(vector[1:] & ~vector[:-1]) + 1  # where a vector run begins after a scalar one
    period = int(starts[0]) if starts.size else UNIFORM
    vector_end = int(np.argmin(vector)) if not vector.all() else UNIFORM
    expanded = (np.arange(modes.size) % period) < vector_end
    if not np.array_equal(expanded, vector):
        raise ValueError("lane modes are not periodic")
    return period, vector_end, int(kinds[0])


def all_pairs(dtype: np.dtype) -> tuple[np.ndarray, np.ndarray]:
    """Every (x1, x2) pair of 8-bit codes as two flat arrays: x1 = codes[i // 256], x2 = codes[i % 256]."""
    codes = np.arange(256, dtype=np.uint8).view(dtype)
    x1, x2 = np.repeat(codes, 256), np.tile(codes, 256)
    for x in (x1, x2):  # read-only like every input at Eval: the kernels compile once for both
        x.setflags(write=False)
    return x1, x2


def linear_form(targets: np.ndarray, x1: np.ndarray, x2: np.ndarray, slope1: float, slope2: float,
                act: tuple[int, int]) -> tuple[int, int, int, int] | None:
    """(m1, m2, bias, shift) with clamp((x1 m1 + x2 m2 + bias) >> shift, *act) == targets on every pair
    (x1, x2, targets: all 65536 pairs and an op's exact outputs on them), or None. m1, m2 are the slopes
    to ~30 bits (rounded, then one unit either way); for given m1, m2 the biases that fit are an interval,
    computed exactly from every pair (``_bias_interval``), so a form found here is exact by construction."""
    biggest = max(abs(slope1), abs(slope2))
    shift = 0 if biggest == 0 else min(40, max(0, 29 - math.frexp(biggest)[1]))  # m below 2**29
    base1, base2 = round(slope1 * 2.0**shift), round(slope2 * 2.0**shift)
    for d1, d2 in ((0, 0), (1, 0), (-1, 0), (0, 1), (0, -1), (1, 1), (-1, -1), (1, -1), (-1, 1)):
        m1, m2 = base1 + d1, base2 + d2
        if not (abs(m1) < 2**30 and abs(m2) < 2**30):
            continue
        low, high = _bias_interval(x1, x2, targets, m1, m2, shift, act[0], act[1])
        if low <= high:
            return m1, m2, int(low + (high - low) // 2), shift
    return None


# --- Eval (jitted) --------------------------------------------------------------------------------
#
# Compile time matters as much as speed here (every process with a cold cache compiles these): each
# kernel has one body per lane-ops / ``full`` / ``fscale`` variant, and that body holds one vectorised
# loop for every row layout - a fixed input (inner stride 0) enters it as a constant factor: its
# element is read once and the moving input's element stands in, masked to 0 (MUL) or multiplied by 0
# (the linear form). ``add_sub_8bit`` (the few ADD/SUB without a linear form, and Prepare's fit) is a
# plain scalar loop.


@jit
def add_sub_8bit(out, x1, x2, loops, strides1, strides2, consts, period, vector_end, zero_point):
    """8-bit ADD/SUB as steps (module docstring): out = clamp(wrap(step_out(c x1 + step(x2)) + zero_point)),
    consts [2, 15] (ADD_FIELDS), the VECTOR row for outputs i with i % period < vector_end; ``zero_point``
    0 when Prepare folded it into the output step; ``wrap`` (a row's field) 48 when the sum wraps in int16,
    else 0. A plain scalar loop: it runs at Prepare (to fit ``add_linear_8bit``'s form) and for the few
    ADD/SUB without such a form. step_out's product s * out_m is formed as ((x1 * k1) << shift1) +
    step(x2) * out_m (c * out_m = k1 * 2**shift1).

    Matches reference/integer_ops/add.h ``AddFunc`` and reference/sub.h (general quantized path),
    optimized/integer_ops/add.h ``AddElementwiseInt8`` / ``AddScalarBroadcast`` (NEON lanes, see
    kernels/neon_add.py) and XNNPACK's qs8/qu8 vadd (kernels/xnnpack_elementwise.py), by Prepare's
    constants."""
    inner = loops[-1]
    rows = out.size // inner
    step1 = strides1[-1]
    step2 = strides2[-1]
    zp = np.int64(zero_point)
    for row in range(rows):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        for i in range(inner):
            o = row * inner + i
            kind = SCALAR
            if vector_end != 0 and (vector_end >= period or o % period < vector_end):
                kind = VECTOR
            q = np.int64(x2[start2 + i * step2]) * consts[kind, 2]
            v = (q + (consts[kind, 4] if q < consts[kind, 3] else consts[kind, 5])) >> consts[kind, 6]
            s = ((np.int64(x1[start1 + i * step1]) * consts[kind, 0]) << consts[kind, 1]) + v * consts[kind, 7]
            r = ((s + (consts[kind, 9] if s < consts[kind, 8] else consts[kind, 10])) >> consts[kind, 11]) + zp
            w = consts[kind, 12]
            out[o] = min(max((r << w) >> w, consts[kind, 13]), consts[kind, 14])


@jit
def _lane_run(row, col, rows, inner, period, vector_end):
    """(row_to, col_to, kind): the block of outputs from (row, col) on with one lane kind - the whole
    tensor when one kind covers it (vector_end 0: SCALAR, vector_end >= period: VECTOR), else the run of
    one kind within this row (output o is VECTOR when o % period < vector_end)."""
    if vector_end >= period:
        return rows, inner, VECTOR
    if vector_end == 0:
        return rows, inner, SCALAR
    j = (row * inner + col) % period
    if j < vector_end:
        return row + 1, col + min(inner - col, vector_end - j), VECTOR
    return row + 1, col + min(inner - col, period - j), SCALAR


# The two vectorised kernels below walk the output in blocks: the whole tensor when one lane kind covers
# it (vector_end 0: SCALAR, vector_end >= period: VECTOR), else runs of one kind within a row. In a row,
# a (the moving input) and b are read at unsigned offsets (no negative-index wraparound, contiguous
# accesses for LLVM); a fixed input (inner stride 0) is read once into a constant, the moving input
# standing in for b with a zero factor. Integers that fit int32 are widened with np.int64(np.int32(v))
# so that LLVM multiplies them with VPMULDQ.


@jit
def mul_8bit(out, x1, x2, loops, strides1, strides2, consts, period, vector_end, zero_point, lanes, full, fscale):
    """8-bit MUL as a step (module docstring): out = clamp(step((x1 + o1) (x2 + o2)) + zero_point), consts
    [2, 12] (MUL_FIELDS), the VECTOR row for outputs i with i % period < vector_end; ``zero_point`` 0
    when Prepare folded it into the step; ``lanes`` None, or True for the optimized NEON lanes (a row's
    sat_min, sat_max: the value saturated before the zero point is added; wrap 48: that sum wraps in
    int16; a SCALAR row has neutral values); ``full`` True when [act_min, act_max] is the output type's
    range (else None); with ``fscale`` (a float32) the value is rne(float32(float32(p) * fscale)) instead
    of the step.

    Matches reference/integer_ops/mul.h ``MulElementwise`` (MultiplyByQuantizedMultiplier),
    optimized/integer_ops/mul.h NEON blocks (kernels/neon_add.py ``neon_mul_8bit``) and XNNPACK's qs8/qu8
    vmul fp32 and rndnu (kernels/xnnpack_elementwise.py), by Prepare's constants."""
    inner = loops[-1]
    rows = out.size // inner
    step1 = strides1[-1]
    step2 = strides2[-1]
    zp = np.int64(zero_point)
    row, col = 0, 0
    while row < rows:
        row_to, col_to, kind = _lane_run(row, col, rows, inner, period, vector_end)
        o1, o2 = consts[kind, 0], consts[kind, 1]
        m, t, add_lo, add_hi, k = np.int64(np.int32(consts[kind, 2])), consts[kind, 3], consts[kind, 4], \
            consts[kind, 5], consts[kind, 6]
        sat_min, sat_max, w = consts[kind, 7], consts[kind, 8], consts[kind, 9]
        if full is None:
            lo, hi = consts[kind, 10], consts[kind, 11]
        else:  # compile-time constants: the clamp and the store become one saturating narrowing
            lo, hi = np.int64(np.iinfo(out.dtype).min), np.int64(np.iinfo(out.dtype).max)
        n = np.uint64(col_to - col)
        for r in range(row, row_to):
            start1, start2 = row_offsets(r, loops, strides1, strides2)
            ob = np.uint64(r * inner + col)
            s1 = np.uint64(start1 + col * step1)
            s2 = np.uint64(start2 + col * step2)
            # p = (a + oa) * ((b & mask) + cb); a fixed input's (x + offset) is cb, with mask 0
            if step1 != 0:
                a, sa, oa = x1, s1, o1
                if step2 != 0:
                    b, sb, mask, cb = x2, s2, np.int64(-1), o2
                else:
                    b, sb, mask, cb = x1, s1, np.int64(0), np.int64(x2[s2]) + o2
            else:
                a, sa, oa = x2, s2, o2
                b, sb, mask, cb = x2, s2, np.int64(0), np.int64(x1[s1]) + o1
            count = n if step1 != 0 or step2 != 0 else np.uint64(1)  # both fixed: one value, copied below
            for i in range(count):
                p = np.int64(np.int32(np.int64(a[sa + i]) + oa)) * np.int64(np.int32((np.int64(b[sb + i]) & mask) + cb))
                if fscale is None:
                    q = np.int64(np.int32(p)) * m
                    v = (q + (add_lo if q < t else add_hi)) >> k
                else:
                    v = np.int64(np.rint(np.float32(np.float32(p) * fscale)))
                if lanes is not None:
                    v = min(max(v, sat_min), sat_max) + zp
                    v = (v << w) >> w
                else:
                    v = v + zp
                out[ob + i] = min(max(v, lo), hi)
            for i in range(count, n):
                out[ob + i] = out[ob]
        if col_to == inner:
            row, col = row_to, 0
        else:
            col = col_to


@jit
def add_linear_8bit(out, x1, x2, loops, strides1, strides2, consts, period, vector_end, full):
    """8-bit ADD/SUB in a form with one rounding, found at Prepare (``linear_form``): out =
    clamp((x1 m1 + x2 m2 + bias) >> shift), consts [2, 6] (LINEAR_FIELDS), the VECTOR row for outputs i
    with i % period < vector_end; ``full`` True when [act_min, act_max] is the output type's range.

    Bit-exact with the op's own arithmetic (reference/integer_ops/add.h, the optimized NEON lanes,
    XNNPACK's qs8 vadd) because Prepare fitted m1, m2, bias, shift to its outputs on all 65536 input
    pairs; XNNPACK's qs8/qu8 vadd is this form already."""
    inner = loops[-1]
    rows = out.size // inner
    step1 = strides1[-1]
    step2 = strides2[-1]
    row, col = 0, 0
    while row < rows:
        row_to, col_to, kind = _lane_run(row, col, rows, inner, period, vector_end)
        m1, m2, bias, sh = consts[kind, 0], consts[kind, 1], consts[kind, 2], consts[kind, 3]
        if full is None:
            lo, hi = consts[kind, 4], consts[kind, 5]
        else:  # compile-time constants: the clamp and the store become one saturating narrowing
            lo, hi = np.int64(np.iinfo(out.dtype).min), np.int64(np.iinfo(out.dtype).max)
        n = np.uint64(col_to - col)
        for r in range(row, row_to):
            start1, start2 = row_offsets(r, loops, strides1, strides2)
            ob = np.uint64(r * inner + col)
            s1 = np.uint64(start1 + col * step1)
            s2 = np.uint64(start2 + col * step2)
            # a * ma + b * mb + c; a fixed input's term joins c, with mb = 0
            if step1 != 0:
                a, sa, ma = x1, s1, m1
                if step2 != 0:
                    b, sb, mb, c = x2, s2, m2, bias
                else:
                    b, sb, mb, c = x1, s1, np.int64(0), bias + np.int64(x2[s2]) * m2
            else:
                a, sa, ma = x2, s2, m2
                b, sb, mb, c = x2, s2, np.int64(0), bias + np.int64(x1[s1]) * m1
            count = n if step1 != 0 or step2 != 0 else np.uint64(1)  # both fixed: one value, copied below
            ma, mb = np.int64(np.int32(ma)), np.int64(np.int32(mb))
            for i in range(count):
                total = np.int64(np.int32(a[sa + i])) * ma + np.int64(np.int32(b[sb + i])) * mb + c
                out[ob + i] = min(max(total >> sh, lo), hi)
            for i in range(count, n):
                out[ob + i] = out[ob]
        if col_to == inner:
            row, col = row_to, 0
        else:
            col = col_to


@jit
def _bias_interval(x1, x2, targets, m1, m2, shift, act_min, act_max):
    """[low, high]: the biases b with min(max((x1 m1 + x2 m2 + b) >> shift, act_min), act_max) equal to
    ``targets`` on every element (low > high: none). A target above act_min needs the floor >= it, one
    below act_max needs the floor <= it."""
    low = -(np.int64(1) << 62)
    high = np.int64(1) << 62
    d = np.int64(1) << shift
    for i in range(targets.size):
        total = np.int64(x1[i]) * m1 + np.int64(x2[i]) * m2
        t = np.int64(targets[i])
        if t > act_min:
            low = max(low, t * d - total)
        if t < act_max:
            high = min(high, (t + 1) * d - 1 - total)
    return low, high
