"""Binary elementwise kernels: ADD, SUB, MUL, SQUARED_DIFFERENCE (and DIV for float/int32).

Every kernel takes flat (1-D) views of its two inputs and its output plus a broadcast plan
(``loops``, ``strides1``, ``strides2`` from :mod:`litelens.kernels.broadcast`) and walks the output
in order, one row of ``loops[-1]`` elements at a time. Quantized DIV lives in ``kernels/div.py``.
"""
import numpy as np

from litelens.kernels.broadcast import row_offsets
from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import (
    multiply_by_quantized_multiplier, rounding_divide_by_pot, saturating_rounding_doubling_high_mul, wrap_int32,
)
from litelens.kernels.gemmlowp import rounding_divide_by_pot_sse, rounding_divide_by_pot_x86
from litelens.kernels.table_gather import LANES as GATHER_LANES
from litelens.kernels.table_gather import gather_row
from litelens.kernels.vector_width import prefer_512

# Operation codes of the float and integer kernels.
ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE = 0, 1, 2, 3, 4


@jit
def rescale_input(q, offset, left_shift, multiplier, shift):
    """The input step of the official quantized ADD/SUB/SQUARED_DIFFERENCE (``AddFunc`` in
    reference/integer_ops/add.h): ``MBQM((q + offset) * 2**left_shift, multiplier, shift)``, shift <= 0."""
    return multiply_by_quantized_multiplier((np.int64(q) + offset) << left_shift, multiplier, shift)


@jit
def quantized_add_sub(out, x1, x2, loops, strides1, strides2,
                      offset1, multiplier1, shift1, offset2, multiplier2, shift2, left_shift,
                      sign, out_multiplier, out_shift, out_offset, act_min, act_max, vector_count):
    """Quantized ADD (sign = 1) or SUB (sign = -1), int8 or int16 (general-scale path).

    reference/integer_ops/add.h ``AddFunc`` and reference/sub.h ``SubElementwise``:
    v_k = MBQM((x_k - zp_k) << left_shift, M_k, s_k); out = RDBPOT(SRDHM(v1 +- v2, M_out), -s_out) + zp_out,
    clamped to [act_min, act_max]. left_shift is 20 for 8-bit, 15 for 16-bit. The output step is
    ``MultiplyByQuantizedMultiplierSmallerThanOneExp`` even when SUB's output multiplier exceeds one
    (s_out > 0): the official x86-64 build then shifts by a negative amount, which its vectorised
    same-shape loop and its scalar code compute differently; the first ``vector_count`` outputs
    follow the vectorised form (see ``kernels/gemmlowp.py``). Otherwise the two forms agree.
    """
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            v1 = rescale_input(x1[start1 + i * step1], offset1, left_shift, multiplier1, shift1)
            v2 = rescale_input(x2[start2 + i * step2], offset2, left_shift, multiplier2, shift2)
            scaled = saturating_rounding_doubling_high_mul(v1 + sign * v2, out_multiplier)
            if base + i < vector_count:
                raw = rounding_divide_by_pot_sse(scaled, -out_shift) + out_offset
            else:
                raw = rounding_divide_by_pot_x86(scaled, -out_shift) + out_offset
            out[base + i] = min(max(raw, act_min), act_max)


@jit
def quantized_squared_difference(out, x1, x2, loops, strides1, strides2,
                                 offset1, multiplier1, shift1, offset2, multiplier2, shift2, left_shift,
                                 out_multiplier, out_shift, out_offset, act_min, act_max):
    """Quantized SQUARED_DIFFERENCE (int8), squared_difference.cc ``SquaredDifference``:

    inputs rescaled as in ADD (left_shift 7); d = v1 - v2; out = MBQM(d * d, M_out, s_out) + zp_out, clamped.
    """
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            v1 = rescale_input(x1[start1 + i * step1], offset1, left_shift, multiplier1, shift1)
            v2 = rescale_input(x2[start2 + i * step2], offset2, left_shift, multiplier2, shift2)
            d = v1 - v2
            raw = multiply_by_quantized_multiplier(d * d, out_multiplier, out_shift) + out_offset
            out[base + i] = min(max(raw, act_min), act_max)


@jit
def quantized_mul(out, x1, x2, loops, strides1, strides2, offset1, offset2,
                  out_multiplier, out_shift, out_offset, act_min, act_max):
    """Quantized MUL, int8 or int16 (reference/integer_ops/mul.h ``MulElementwise``):

    out = MBQM((x1 - zp1) * (x2 - zp2), M, s) + zp_out, clamped to [act_min, act_max].
    """
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            product = (np.int64(x1[start1 + i * step1]) + offset1) * (np.int64(x2[start2 + i * step2]) + offset2)
            raw = multiply_by_quantized_multiplier(product, out_multiplier, out_shift) + out_offset
            out[base + i] = min(max(raw, act_min), act_max)


@jit(inline="always")
def _float_op(a, b, op):
    """One float32 operation, rounded to float32 exactly as the C++ float expression is."""
    if op == ADD:
        return np.float32(a + b)
    if op == SUB:
        return np.float32(a - b)
    if op == MUL:
        return np.float32(a * b)
    if op == DIV:
        return np.float32(a / b)
    d = np.float32(a - b)
    return np.float32(d * d)


@jit(inline="always")
def _clamp(r, act_min, act_max):
    """std::min(std::max(r, lo), hi): NaN passes through."""
    if r < act_min:
        r = act_min
    if act_max < r:
        r = act_max
    return r


@jit(error_model="numpy")
def float_binary(out, x1, x2, loops, strides1, strides2, op, act_min, act_max):
    """float32 ADD/SUB/MUL/DIV/SQUARED_DIFFERENCE with the fused activation clamp.

    reference/add.h, sub.h, mul.h, div.h: ``ActivationFunctionWithMinMax(a op b, min, max)``, which is
    ``min(max(x, lo), hi)`` with std::max/std::min: NaN passes through, and with no activation the
    bounds are -FLT_MAX/FLT_MAX, so an infinite result is clamped to the largest finite float.
    Division by zero gives IEEE infinities/NaN before the clamp. Each element is one float32
    operation rounded once, whatever the loop order, so the innermost run is written once per
    stride pattern (both operands contiguous, one of them a broadcast scalar, or general) for the
    compiler to vectorise (512-bit vectors: :func:`vector_width.prefer_512`).

    The rows' start offsets advance as an odometer over the outer loops (no division per row), and
    the runs index the flat arrays with unsigned offsets: no negative-index wrap-around to test, and
    no row views (each view cost atomic reference counts per row - more than adding a row of 128).
    """
    prefer_512()
    dims = loops.size
    inner = loops[dims - 1]
    step1 = strides1[dims - 1]
    step2 = strides2[dims - 1]
    run = np.uint64(inner)
    index = np.zeros(dims, np.int64)  # the outer loops' counters
    offset1 = 0
    offset2 = 0
    for row in range(out.size // inner):
        start = np.uint64(row * inner)
        start1 = np.uint64(offset1)
        start2 = np.uint64(offset2)
        if step1 == 1 and step2 == 1:  # [inner] op [inner]
            for i in range(run):
                out[start + i] = _clamp(_float_op(x1[start1 + i], x2[start2 + i], op), act_min, act_max)
        elif step1 == 1 and step2 == 0:  # [inner] op scalar
            b0 = x2[start2]
            for i in range(run):
                out[start + i] = _clamp(_float_op(x1[start1 + i], b0, op), act_min, act_max)
        elif step1 == 0 and step2 == 1:  # scalar op [inner]
            a0 = x1[start1]
            for i in range(run):
                out[start + i] = _clamp(_float_op(a0, x2[start2 + i], op), act_min, act_max)
        else:
            for i in range(run):
                out[start + i] = _clamp(_float_op(x1[start1 + i * np.uint64(step1)],
                                                  x2[start2 + i * np.uint64(step2)], op), act_min, act_max)
        d = dims - 2  # next row: advance the odometer
        while d >= 0:
            index[d] += 1
            offset1 += strides1[d]
            offset2 += strides2[d]
            if index[d] < loops[d]:
                break
            offset1 -= loops[d] * strides1[d]
            offset2 -= loops[d] * strides2[d]
            index[d] = 0
            d -= 1


@jit
def wrap_to_bits(x, bits):
    """Two's-complement wrap of an int64 to ``bits`` (16, 32 or 64) bits, as C++ integer overflow does."""
    if bits == 64:
        return x
    if bits == 32:
        return wrap_int32(x)
    half = np.int64(1) << (bits - 1)
    return ((x + half) & ((half << 1) - 1)) - half


@jit
def _truncating_div(a, b):
    """C++ integer division: the quotient rounded toward zero (b != 0, no INT_MIN / -1)."""
    q = abs(a) // abs(b)
    return -q if (a < 0) != (b < 0) else q


@jit
def _integer_op(a, b, op, bits):
    a = np.int64(a)
    b = np.int64(b)
    if op == ADD:
        return wrap_to_bits(a + b, bits)
    if op == SUB:
        return wrap_to_bits(a - b, bits)
    if op == MUL:
        return wrap_to_bits(a * b, bits)
    if op == DIV:
        return _truncating_div(a, b)
    d = wrap_to_bits(a - b, bits)
    return wrap_to_bits(d * d, bits)


@jit
def integer_binary(out, x1, x2, loops, strides1, strides2, op, act_min, act_max, bits):
    """Plain (unquantized) integer ADD/SUB/MUL/DIV/SQUARED_DIFFERENCE on int16/int32/int64.

    reference/add.h, sub.h, mul.h (``WrappingMul``), div.h, squared_difference.cc: the result wraps
    to the type's width, then is clamped to [act_min, act_max]. For DIV the caller guarantees b != 0
    and no INT_MIN / -1 (see ``integer_div_problem``).
    """
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            r = _integer_op(x1[start1 + i * step1], x2[start2 + i * step2], op, bits)
            out[base + i] = min(max(r, act_min), act_max)


@jit
def integer_div_problem(x1, x2, loops, strides1, strides2, type_min):
    """Index of the first output element whose DIV would be ``type_min / -1`` (a hardware trap in the
    official kernel), or -1 if there is none."""
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    total = 1
    for d in range(loops.shape[0]):
        total *= loops[d]
    for row in range(total // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        for i in range(inner):
            if x1[start1 + i * step1] == type_min and x2[start2 + i * step2] == -1:
                return row * inner + i
    return -1


@jit
def pot_add_sub_int16(out, x1, x2, loops, strides1, strides2, right_shift1, right_shift2, sign, act_min, act_max):
    """int16 ADD (sign = 1) / SUB (sign = -1) with power-of-two scales and zero points 0.

    reference/add.h ``Add(int16, pot_scale)`` and reference_ops.h ``Sub16``: each input is divided by
    2**right_shift with gemmlowp ``RoundingDivideByPOT`` (at most one shift is nonzero), the results are
    added/subtracted with int16 saturation, then clamped to [act_min, act_max].
    """
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            v1 = rounding_divide_by_pot(x1[start1 + i * step1], right_shift1)
            v2 = rounding_divide_by_pot(x2[start2 + i * step2], right_shift2)
            raw = min(max(v1 + sign * v2, -32768), 32767)
            out[base + i] = min(max(raw, act_min), act_max)


@jit
def pair_table_lookup(out, x1, x2, loops, strides1, strides2, table):
    """8-bit binary op by table: out = table[(u1 << 8) | u2], u the bits of the int8 code as uint8
    (``table`` is [256, 256] flattened, rows by the first input's bits, plus TABLE_PAD bytes).

    The op's Prepare fills the table by running its exact kernel on all 65536 input pairs, so this
    gives the same bits as the arithmetic kernels, at one lookup per element. Indexing by the raw
    bits needs no offset and no sign handling. Rows where both inputs advance go 16 elements at a
    time through ``gather_row``; the rest of such a row, and rows where one input stays fixed (its
    256 table entries then sit in a few cache lines, and one scalar load per element is faster than
    a gather), are looked up one by one.
    """
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        o = out[row * inner:(row + 1) * inner]  # row views: indices from 0, no negative-index handling
        if step1 == 1 and step2 == 1:
            steps = inner // GATHER_LANES
            gather_row(out, x1, x2, table, start1, start2, row * inner, steps, step1, step2)
            a = x1[start1:start1 + inner]
            b = x2[start2:start2 + inner]
            for i in range(steps * GATHER_LANES, inner):
                o[i] = table[(np.int64(np.uint8(a[i])) << 8) | np.uint8(b[i])]
        elif step1 == 1 and step2 == 0:
            a = x1[start1:start1 + inner]
            low = np.int64(np.uint8(x2[start2]))
            for i in range(inner):
                o[i] = table[(np.int64(np.uint8(a[i])) << 8) | low]
        elif step1 == 0 and step2 == 1:
            b = x2[start2:start2 + inner]
            high = np.int64(np.uint8(x1[start1])) << 8
            for i in range(inner):
                o[i] = table[high | np.uint8(b[i])]
        else:
            for i in range(inner):
                o[i] = table[(np.int64(np.uint8(x1[start1 + i * step1])) << 8) | np.uint8(x2[start2 + i * step2])]
