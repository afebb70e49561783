"""MAXIMUM / MINIMUM kernels (kernels/maximum_minimum.cc, reference/maximum_minimum.h).

The official kernel applies ``el1 > el2 ? el1 : el2`` (MAXIMUM) or ``el1 < el2 ? el1 : el2``
(MINIMUM) to the stored values of every type, quantized codes included: scales and zero points
are never read. For floats this fixes what a NaN does: a comparison with NaN is false, so the
*second* operand wins (max(NaN, 1) = 1 but max(1, NaN) = NaN), and max(0.0, -0.0) = -0.0.

Both kernels take flat views and a broadcast plan (``kernels/broadcast.py``), like the other binary
elementwise kernels. float16 has no Numba type: its kernel reads the IEEE bits (as uint16), compares
the exactly decoded values and copies the winning operand's bits.
"""
import numpy as np

from litelens.kernels.broadcast import row_offsets
from litelens.kernels.config import jit


@jit
def maximum_minimum(out, x1, x2, loops, strides1, strides2, is_maximum):
    """MAXIMUM (is_maximum) or MINIMUM of any real dtype: out = x1 > x2 ? x1 : x2 (x1 < x2 ? x1 : x2)."""
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            a = x1[start1 + i * step1]
            b = x2[start2 + i * step2]
            if is_maximum:
                out[base + i] = a if a > b else b
            else:
                out[base + i] = a if a < b else b


@jit
def half_to_double(bits):
    """The value of IEEE binary16 ``bits`` (a uint16) as a float64, exactly (NaN for every NaN)."""
    h = np.int64(bits)
    exponent = (h >> 10) & 0x1F
    mantissa = h & 0x3FF
    if exponent == 0x1F:
        value = np.inf if mantissa == 0 else np.nan
    elif exponent == 0:
        value = mantissa * 2.0 ** -24  # subnormal (or zero)
    else:
        value = (mantissa + 1024) * 2.0 ** (exponent - 25)
    return -value if h & 0x8000 else value


@jit
def maximum_minimum_half(out, x1, x2, loops, strides1, strides2, is_maximum):
    """float16 MAXIMUM / MINIMUM on uint16 views of the bits: the same rule as ``maximum_minimum``
    (``Eigen::half`` compares as float), copying the chosen operand's bits."""
    inner = loops[-1]
    step1 = strides1[-1]
    step2 = strides2[-1]
    for row in range(out.size // inner):
        start1, start2 = row_offsets(row, loops, strides1, strides2)
        base = row * inner
        for i in range(inner):
            a = x1[start1 + i * step1]
            b = x2[start2 + i * step2]
            va = half_to_double(a)
            vb = half_to_double(b)
            take_first = va > vb if is_maximum else va < vb
            out[base + i] = a if take_first else b
