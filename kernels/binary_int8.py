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

* :func:`add_sub_8bit` - s = c * x1 + step(x2), out = finish(step_out(s)). One input of every 8-bit
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
* :func:`mul_8bit` - p = (x1 + o1) * (x2 + o2), out = finish(step(p)), or with ``fscale`` XNNPACK's fp32
  requantization rne(float32(float32(p) * fscale)).

``finish`` adds the output zero point (``zero_point`` None: Prepare folded it into the last step) and
clamps to [act_min, act_max] (``full``: the type's range, as compile-time constants, so the clamp and the
store are one saturating narrowing). The optimized paths' VECTOR lanes narrow to int16 first: MUL's
saturate to [sat_min, sat_max] (``saturate``; ``vqmovn_s32``), and the zero point is added wrapping in
int16 (``wrap``; ``vaddq_s16``). ``zero_point`` / ``saturate`` / ``wrap`` / ``full`` / ``fscale`` are None
or a value, and Numba compiles each combination without the unused code.
A row longer than ROW_TABLE_MIN whose other input is fixed (MUL by a scalar) computes its 256 possible
outputs into a 256-byte table first, then runs the one-rounding linear form that reproduces them (fitted
on the spot, as ADD's at Prepare), or looks them up. With ``NUMBA_DISABLE_JIT=1`` the same code runs as
plain Python.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from litelens.kernels.broadcast import row_offsets
from litelens.kernels.config import jit

SCALAR, VECTOR = 0, 1
UNIFORM = 1 << 62  # a period longer than any tensor: the lane kind never changes
ADD_FIELDS = ("k1", "shift1", "m", "t", "a", "b", "k", "out_m", "out_t", "out_a", "out_b", "out_k", "act_min",
              "act_max")
MUL_FIELDS = ("offset1", "offset2", "m", "t", "a", "b", "k", "sat_min", "sat_max", "act_min", "act_max")
LINEAR_FIELDS = ("m1", "m2", "bias", "shift", "act_min", "act_max")
INT16_SATURATION = (-32768, 32767)  # (sat_min, sat_max) of vqmovn_s32: the value saturated to int16
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
                  act: tuple[int, int], fold: bool) -> tuple[tuple, int | None] | None:
    """One row of ``add_sub_8bit``'s constants (ADD_FIELDS) for s = c x1 + step(x2), out = out_step(s) +
    zero_point, and the kernel's ``zero_point`` argument: None when ``fold`` and out_step can add it
    exactly. None when the kernel would not compute this exactly for every pair of codes in ``codes``."""
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
        return (*factor, *step.as_tuple(), *folded.as_tuple(), *act), None
    return (*factor, *step.as_tuple(), *out_step.as_tuple(), *act), zero_point


def mul_constants(offsets: tuple[int, int], step: Step | None, codes: tuple[int, int], zero_point: int,
                  act: tuple[int, int], sat: tuple[int, int], fold: bool) -> tuple[tuple, int | None] | None:
    """One row of ``mul_8bit``'s constants (MUL_FIELDS) for out = step((x1 + o1) (x2 + o2)) + zero_point
    (no step: XNNPACK's float requantization, zero point not folded; ``sat``: the VECTOR lanes' int16
    saturation), and the kernel's ``zero_point`` argument (None when folded); None when the kernel would
    not compute this exactly."""
    lo, hi = codes
    ends = [(a + offsets[0]) * (b + offsets[1]) for a in (lo, hi) for b in (lo, hi)]
    p_lo, p_hi = min(ends), max(ends)
    if step is None:
        return (*offsets, *linear_step(0, 0).as_tuple(), *sat, *act), zero_point
    if not step.fits(p_lo, p_hi):
        return None
    folded = step.plus(zero_point)
    if fold and folded.fits(p_lo, p_hi):
        return (*offsets, *folded.as_tuple(), *sat, *act), None
    return (*offsets, *step.as_tuple(), *sat, *act), zero_point


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
    return np.repeat(codes, 256), np.tile(codes, 256)


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

@jit
def _round(p, t, a, b, k):
    """(p + (a if p < t else b)) >> k."""
    return (p + (a if p < t else b)) >> k


@jit
def _step(x, m, t, a, b, k):
    """step(x); m is already an int32 value widened to int64 (the product is one VPMULDQ)."""
    return _round(np.int64(np.int32(x)) * m, t, a, b, k)


@jit
def _finish(r, zero_point, saturate, wrap, sat_min, sat_max, act_min, act_max):
    """[saturate to [sat_min, sat_max]], + zero point (None: already in r) [wrapping in int16], clamp."""
    if saturate is not None:
        r = min(max(r, sat_min), sat_max)
    if zero_point is not None:
        r = r + zero_point
    if wrap is not None:
        r = (r << 48) >> 48
    return min(max(r, act_min), act_max)


@jit
def _wide32(v):
    """An int32 value as int64, so that LLVM multiplies with VPMULDQ."""
    return np.int64(np.int32(v))


@jit
def _bounds(out, consts, kind, full):
    """(act_min, act_max): the last two constants, or with ``full`` the output type's own range as
    compile-time constants (the clamp and the store become one saturating narrowing)."""
    if full is None:
        return consts[kind, consts.shape[1] - 2], consts[kind, consts.shape[1] - 1]
    return np.int64(np.iinfo(out.dtype).min), np.int64(np.iinfo(out.dtype).max)


@jit
def _code(bits, x):
    """The value of the 8-bit code whose bits read as uint8 are ``bits``, in the type of ``x``."""
    return np.int64(bits) if bits <= np.iinfo(x.dtype).max else np.int64(bits) - 256


@jit
def _lookup(out, ob, table, x, s, n):
    """out[ob + i] = table[bits of x[s + i]], i < n."""
    bits = x.view(np.uint8)
    for i in range(np.uint64(n)):
        out[ob + i] = table[bits[s + i]]


@jit
def _fit_row(table, x, slope, act_min, act_max):
    """(found, m, bias, shift) with clamp((code m + bias) >> shift) == table[bits] for all 256 codes of
    x's type: m is ``slope`` to ~29 bits (rounded, then one unit either way), the biases that fit are an
    interval computed from every code, so a form found is exact by construction (as ``linear_form``)."""
    shift = 0
    while shift < 40 and abs(slope) * 2.0 ** (shift + 1) < 2.0 ** 29:
        shift += 1
    base = np.int64(np.round(slope * 2.0 ** shift))
    d = np.int64(1) << shift
    for delta in (0, 1, -1):
        m = base + delta
        low = -(np.int64(1) << 62)
        high = np.int64(1) << 62
        for bits in range(256):
            total = _code(bits, x) * m
            t = np.int64(table[bits])
            if t > act_min:
                low = max(low, t * d - total)
            if t < act_max:
                high = min(high, (t + 1) * d - 1 - total)
        if low <= high:
            return True, m, low + (high - low) // 2, shift
    return False, np.int64(0), np.int64(0), 0


@jit
def _table_row(out, ob, table, x, s, n, slope, act_min, act_max):
    """A row whose other input is fixed, from ``table`` (its 256 outputs, by code bits): as
    clamp((x m + bias) >> shift) when that form reproduces the table (``_fit_row``: one multiply, add
    and shift per element), else by lookup."""
    found, m, bias, shift = _fit_row(table, x, slope, act_min, act_max)
    if found:
        m = _wide32(m)
        for i in range(np.uint64(n)):
            out[ob + i] = min(max((_wide32(x[s + i]) * m + bias) >> shift, act_min), act_max)
    else:
        _lookup(out, ob, table, x, s, n)


# A block is rows [row_from, row_to) of the broadcast plan, columns [col_from, col_to) of each, with the
# constants ``consts[kind]``: out[ob + i] from x1[s1 + i] and x2[s2 + i] (an input with inner stride 0
# stays at its first element). The offsets are unsigned, so Numba indexes without its negative-index
# wraparound and LLVM sees contiguous accesses; the kernels call a block once per op (or once per run of
# one lane kind): a call per row would cost about as much as a 128-element row computes.
ROW_TABLE_MIN = 4096


@jit
def _add_block(out, x1, x2, loops, strides1, strides2, row_from, row_to, col_from, col_to, consts, kind,
               zero_point, wrap, full):
    """out = finish(step_out(c x1 + step(x2))), where step_out's product s * out_m is computed as
    ((x1 * k1) << shift1) + step(x2) * out_m (c * out_m = k1 * 2**shift1): three 32 x 32-bit products."""
    k1, j = _wide32(consts[kind, 0]), consts[kind, 1]
    m, t, sa, sb, k = _wide32(consts[kind, 2]), consts[kind, 3], consts[kind, 4], consts[kind, 5], consts[kind, 6]
    om, ot, oa, obb, ok = _wide32(consts[kind, 7]), consts[kind, 8], consts[kind, 9], consts[kind, 10], consts[kind, 11]
    zp = zero_point
    lo, hi = _bounds(out, consts, kind, full)
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    n = np.uint64(col_to - col_from)
    for row in range(row_from, row_to):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        ob = np.uint64(row * inner + col_from)
        s1 = np.uint64(start1 + col_from * step1)
        s2 = np.uint64(start2 + col_from * step2)
        if step1 != 0 and step2 != 0:
            for i in range(n):
                p = ((_wide32(x1[s1 + i]) * k1) << j) + _wide32(_step(x2[s2 + i], m, t, sa, sb, k)) * om
                out[ob + i] = _finish(_round(p, ot, oa, obb, ok), zp, None, wrap, 0, 0, lo, hi)
        elif step1 != 0:  # x2 fixed
            p0 = _wide32(_step(x2[s2], m, t, sa, sb, k)) * om
            if n >= ROW_TABLE_MIN:
                table = np.empty(256, out.dtype)
                for bits in range(256):
                    p = ((_code(bits, x1) * k1) << j) + p0
                    table[bits] = _finish(_round(p, ot, oa, obb, ok), zp, None, wrap, 0, 0, lo, hi)
                _table_row(out, ob, table, x1, s1, n, k1 * 2.0 ** (j - ok), lo, hi)
            else:
                for i in range(n):
                    p = ((_wide32(x1[s1 + i]) * k1) << j) + p0
                    out[ob + i] = _finish(_round(p, ot, oa, obb, ok), zp, None, wrap, 0, 0, lo, hi)
        elif step2 != 0:  # x1 fixed
            p0 = (_wide32(x1[s1]) * k1) << j
            if n >= ROW_TABLE_MIN:
                table = np.empty(256, out.dtype)
                for bits in range(256):
                    p = p0 + _wide32(_step(_code(bits, x2), m, t, sa, sb, k)) * om
                    table[bits] = _finish(_round(p, ot, oa, obb, ok), zp, None, wrap, 0, 0, lo, hi)
                _table_row(out, ob, table, x2, s2, n, m * 2.0 ** -k * om * 2.0 ** -ok, lo, hi)
            else:
                for i in range(n):
                    p = p0 + _wide32(_step(x2[s2 + i], m, t, sa, sb, k)) * om
                    out[ob + i] = _finish(_round(p, ot, oa, obb, ok), zp, None, wrap, 0, 0, lo, hi)
        else:  # both fixed
            p = ((_wide32(x1[s1]) * k1) << j) + _wide32(_step(x2[s2], m, t, sa, sb, k)) * om
            v = _finish(_round(p, ot, oa, obb, ok), zp, None, wrap, 0, 0, lo, hi)
            for i in range(n):
                out[ob + i] = v


@jit
def _mul_slope(m, k, fscale):
    """d value / d p: m / 2**k, or the float scale."""
    if fscale is None:
        return m * 2.0 ** -k
    return np.float64(fscale)


@jit
def _mul_value(p, m, t, a, b, k, fscale):
    if fscale is None:
        return _step(p, m, t, a, b, k)
    return np.int64(np.rint(np.float32(np.float32(p) * fscale)))


@jit
def _mul_block(out, x1, x2, loops, strides1, strides2, row_from, row_to, col_from, col_to, consts, kind,
               zero_point, saturate, wrap, full, fscale):
    """out = finish(step((x1 + o1) (x2 + o2))), or XNNPACK's float requantization with ``fscale``."""
    o1, o2, m, t, sa, sb, k = consts[kind, 0], consts[kind, 1], _wide32(consts[kind, 2]), consts[kind, 3], \
        consts[kind, 4], consts[kind, 5], consts[kind, 6]
    zp, sat_min, sat_max = zero_point, consts[kind, 7], consts[kind, 8]
    lo, hi = _bounds(out, consts, kind, full)
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    n = np.uint64(col_to - col_from)
    for row in range(row_from, row_to):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        ob = np.uint64(row * inner + col_from)
        s1 = np.uint64(start1 + col_from * step1)
        s2 = np.uint64(start2 + col_from * step2)
        if step1 != 0 and step2 != 0:
            for i in range(n):
                p = _wide32(np.int64(x1[s1 + i]) + o1) * _wide32(np.int64(x2[s2 + i]) + o2)
                v = _mul_value(p, m, t, sa, sb, k, fscale)
                out[ob + i] = _finish(v, zp, saturate, wrap, sat_min, sat_max, lo, hi)
        elif step1 != 0:  # x2 fixed: p = (x1 + o1) * factor
            factor = _wide32(np.int64(x2[s2]) + o2)
            if n >= ROW_TABLE_MIN:
                table = np.empty(256, out.dtype)
                for bits in range(256):
                    v = _mul_value((_code(bits, x1) + o1) * factor, m, t, sa, sb, k, fscale)
                    table[bits] = _finish(v, zp, saturate, wrap, sat_min, sat_max, lo, hi)
                _table_row(out, ob, table, x1, s1, n, factor * _mul_slope(m, k, fscale), lo, hi)
            else:
                for i in range(n):
                    p = _wide32(np.int64(x1[s1 + i]) + o1) * factor
                    v = _mul_value(p, m, t, sa, sb, k, fscale)
                    out[ob + i] = _finish(v, zp, saturate, wrap, sat_min, sat_max, lo, hi)
        elif step2 != 0:  # x1 fixed: p = factor * (x2 + o2)
            factor = _wide32(np.int64(x1[s1]) + o1)
            if n >= ROW_TABLE_MIN:
                table = np.empty(256, out.dtype)
                for bits in range(256):
                    v = _mul_value(factor * (_code(bits, x2) + o2), m, t, sa, sb, k, fscale)
                    table[bits] = _finish(v, zp, saturate, wrap, sat_min, sat_max, lo, hi)
                _table_row(out, ob, table, x2, s2, n, factor * _mul_slope(m, k, fscale), lo, hi)
            else:
                for i in range(n):
                    p = factor * _wide32(np.int64(x2[s2 + i]) + o2)
                    v = _mul_value(p, m, t, sa, sb, k, fscale)
                    out[ob + i] = _finish(v, zp, saturate, wrap, sat_min, sat_max, lo, hi)
        else:
            p = (np.int64(x1[s1]) + o1) * (np.int64(x2[s2]) + o2)
            v = _finish(_mul_value(p, m, t, sa, sb, k, fscale), zp, saturate, wrap, sat_min, sat_max, lo, hi)
            for i in range(n):
                out[ob + i] = v


@jit
def _run(position, left, period, vector_end):
    """(kind, length) of the run of one lane kind starting at output ``position``, at most ``left`` long."""
    j = position % period
    if j < vector_end:
        return VECTOR, min(left, vector_end - j)
    return SCALAR, min(left, period - j)


@jit
def add_sub_8bit(out, x1, x2, loops, strides1, strides2, consts, period, vector_end, zero_point, wrap, full):
    """8-bit ADD/SUB as steps (module docstring): out = finish(step_out(c x1 + step(x2))), consts [2, 14]
    (ADD_FIELDS), the VECTOR row (and ``wrap``) for outputs i with i % period < vector_end; ``zero_point``
    the output's, or None when Prepare folded it into the output step; ``wrap`` None or True; ``full``
    True when [act_min, act_max] is the output type's range (else None).

    Matches reference/integer_ops/add.h ``AddFunc`` and reference/sub.h (general quantized path),
    optimized/integer_ops/add.h ``AddElementwiseInt8`` / ``AddScalarBroadcast`` (NEON lanes, see
    kernels/neon_add.py) and XNNPACK's qs8/qu8 vadd (kernels/xnnpack_elementwise.py), by Prepare's
    constants."""
    inner = loops[-1]
    rows = out.size // inner
    if vector_end == 0 or vector_end >= period:  # one lane kind throughout
        if vector_end == 0:
            _add_block(out, x1, x2, loops, strides1, strides2, 0, rows, 0, inner, consts, SCALAR, zero_point, None,
                       full)
        else:
            _add_block(out, x1, x2, loops, strides1, strides2, 0, rows, 0, inner, consts, VECTOR, zero_point, wrap,
                       full)
        return
    for row in range(rows):
        i = 0
        while i < inner:
            kind, n = _run(row * inner + i, inner - i, period, vector_end)
            if kind == VECTOR:
                _add_block(out, x1, x2, loops, strides1, strides2, row, row + 1, i, i + n, consts, VECTOR, zero_point,
                           wrap, full)
            else:
                _add_block(out, x1, x2, loops, strides1, strides2, row, row + 1, i, i + n, consts, SCALAR, zero_point,
                           None, full)
            i += n


@jit
def mul_8bit(out, x1, x2, loops, strides1, strides2, consts, period, vector_end, zero_point, saturate, wrap, full,
             fscale):
    """8-bit MUL as a step (module docstring): out = finish(step((x1 + o1) (x2 + o2))), consts [2, 11]
    (MUL_FIELDS), the VECTOR row (and ``saturate``, ``wrap``) for outputs i with i % period < vector_end;
    ``zero_point`` the output's, or None when Prepare folded it into the step; ``saturate`` / ``wrap``
    None or True; ``full`` True when [act_min, act_max] is the output type's range (else None); with
    ``fscale`` (a float32) the value is rne(float32(float32(p) * fscale)) instead of the step.

    Matches reference/integer_ops/mul.h ``MulElementwise`` (MultiplyByQuantizedMultiplier),
    optimized/integer_ops/mul.h NEON blocks (kernels/neon_add.py ``neon_mul_8bit``) and XNNPACK's qs8/qu8
    vmul fp32 and rndnu (kernels/xnnpack_elementwise.py), by Prepare's constants."""
    inner = loops[-1]
    rows = out.size // inner
    if vector_end == 0 or vector_end >= period:
        if vector_end == 0:
            _mul_block(out, x1, x2, loops, strides1, strides2, 0, rows, 0, inner, consts, SCALAR, zero_point, None,
                       None, full, fscale)
        else:
            _mul_block(out, x1, x2, loops, strides1, strides2, 0, rows, 0, inner, consts, VECTOR, zero_point, saturate,
                       wrap, full, fscale)
        return
    for row in range(rows):
        i = 0
        while i < inner:
            kind, n = _run(row * inner + i, inner - i, period, vector_end)
            if kind == VECTOR:
                _mul_block(out, x1, x2, loops, strides1, strides2, row, row + 1, i, i + n, consts, VECTOR, zero_point,
                           saturate, wrap, full, fscale)
            else:
                _mul_block(out, x1, x2, loops, strides1, strides2, row, row + 1, i, i + n, consts, SCALAR, zero_point,
                           None, None, full, fscale)
            i += n


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


@jit
def _linear_block(out, x1, x2, loops, strides1, strides2, row_from, row_to, col_from, col_to, consts, kind, full):
    """out = clamp((x1 m1 + x2 m2 + bias) >> shift) (``add_linear_8bit``)."""
    m1, m2, bias, sh = _wide32(consts[kind, 0]), _wide32(consts[kind, 1]), consts[kind, 2], consts[kind, 3]
    lo, hi = _bounds(out, consts, kind, full)
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    n = np.uint64(col_to - col_from)
    for row in range(row_from, row_to):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        ob = np.uint64(row * inner + col_from)
        s1 = np.uint64(start1 + col_from * step1)
        s2 = np.uint64(start2 + col_from * step2)
        if step1 != 0 and step2 != 0:
            for i in range(n):
                total = _wide32(x1[s1 + i]) * m1 + _wide32(x2[s2 + i]) * m2 + bias
                out[ob + i] = min(max(total >> sh, lo), hi)
        elif step1 != 0:  # x2 fixed: its term joins the bias
            fixed = _wide32(x2[s2]) * m2 + bias
            for i in range(n):
                out[ob + i] = min(max((_wide32(x1[s1 + i]) * m1 + fixed) >> sh, lo), hi)
        elif step2 != 0:  # x1 fixed
            fixed = _wide32(x1[s1]) * m1 + bias
            for i in range(n):
                out[ob + i] = min(max((_wide32(x2[s2 + i]) * m2 + fixed) >> sh, lo), hi)
        else:
            v = min(max((_wide32(x1[s1]) * m1 + _wide32(x2[s2]) * m2 + bias) >> sh, lo), hi)
            for i in range(n):
                out[ob + i] = v


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
    if vector_end == 0 or vector_end >= period:
        kind = SCALAR if vector_end == 0 else VECTOR
        _linear_block(out, x1, x2, loops, strides1, strides2, 0, rows, 0, inner, consts, kind, full)
        return
    for row in range(rows):
        i = 0
        while i < inner:
            kind, n = _run(row * inner + i, inner - i, period, vector_end)
            _linear_block(out, x1, x2, loops, strides1, strides2, row, row + 1, i, i + n, consts, kind, full)
            i += n
