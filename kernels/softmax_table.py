"""SOFTMAX for 8-bit input on the optimized path (kernels/internal/optimized/optimized_ops.h).

* ``PopulateSoftmaxLookupTable`` + ``Softmax<In, Out>``: a 256-entry float32 table of
  expf(-input_scale * beta * v), a float32 row sum, a float32 reciprocal and a rounding per element.
  Used on x86-64 for every 8-bit input (int8/uint8 -> int8/uint8/int16) and on arm64 for int8/uint8
  -> int16 outputs.
* ``PopulateSoftmaxUInt8LookupTable`` + ``SoftmaxInt8LUT``: arm64 (clang, TFLITE_SOFTMAX_USE_UINT16_LUT)
  for int8 -> int8 and uint8 -> uint8: a 16-bit table split into two byte tables, an integer row sum,
  a per-row QuantizeMultiplier of 1 / (sum * output_scale) and MultiplyByQuantizedMultiplier.

expf is litelens's own glibc-exact expf (kernels/libm.py); these kernels assume nothing else of the CPU.
"""
import math

import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.fixedpoint import multiply_by_quantized_multiplier, wrap_int32
from litelens.kernels.lut import expf, float_to_int32, round_half_away


@jit
def float_table(table, scale):
    """``PopulateSoftmaxLookupTable``: table[255 - v] = expf(scale * v) for v in [0, 255], with
    scale = float32(-input_scale * beta) (all float32)."""
    scale = np.float32(scale)
    for v in range(256):
        table[255 - v] = expf(np.float32(scale * np.float32(v)))


@jit(error_model="numpy")  # float division by zero gives inf, as in C
def float_table_rows(output, x, table, output_scale, zero_point, out_min, out_max, truncate):
    """``optimized_ops::Softmax<In, Out>`` (float table). [rows, depth] -> [rows, depth].

    Per row: sum = float32 sum, left to right from 0, of table[255 - max + x];
    inv = 1 / (sum * output_scale) in float32; p = table[...] * inv (float32);
    out = clamp(round_half_away(p) + zero_point) -- or, with ``truncate`` (x86 uint8 output,
    ``QuantizeSoftmaxOutput<uint8_t>``), clamp(int(p + 0.5f)) with the zero point ignored.
    """
    rows, depth = x.shape
    output_scale = np.float32(output_scale)
    for r in range(rows):
        row_max = np.int64(x[r, 0])
        for c in range(1, depth):
            row_max = max(row_max, np.int64(x[r, c]))
        base = 255 - row_max
        total = np.float32(0.0)
        for c in range(depth):
            total = np.float32(total + table[base + np.int64(x[r, c])])
        inv = np.float32(np.float32(1.0) / np.float32(total * output_scale))
        for c in range(depth):
            p = np.float32(table[base + np.int64(x[r, c])] * inv)
            if truncate:
                q = float_to_int32(np.float32(p + np.float32(0.5)))
            else:
                q = wrap_int32(float_to_int32(round_half_away(p)) + zero_point)
            output[r, c] = min(max(q, out_min), out_max)


@jit
def uint16_table(table, scale):
    """``PopulateSoftmaxUInt8LookupTable``: table[v] = min(65535, int(expf(scale * (v - 255)) * 65535 + 0.5))
    with scale = float32(input_scale * beta); the product is float32, the + 0.5 is in double."""
    scale = np.float32(scale)
    for v in range(256):
        e = expf(np.float32(scale * np.float32(v - 255)))
        t = float_to_int32(np.float64(np.float32(e * np.float32(65535.0))) + 0.5)
        table[v] = min(t, 65535)


@jit
def quantize_multiplier(real):
    """``QuantizeMultiplier`` (quantization_util.cc) inside a kernel: (M, shift) with real = M * 2**(shift - 31)."""
    if real == 0.0:
        return np.int64(0), np.int64(0)
    q, shift = math.frexp(real)
    m = np.int64(round_half_away(q * 2147483648.0))
    if m == np.int64(2147483648):
        m //= 2
        shift += 1
    if shift < -31:
        return np.int64(0), np.int64(0)
    return m, np.int64(shift)


@jit(error_model="numpy")  # float division by zero gives inf, as in C
def uint16_lut_rows(output, x, table, offset, output_scale, zero_point, out_min, out_max):
    """``optimized_ops::SoftmaxInt8LUT`` (arm64). [rows, depth] -> [rows, depth].

    Codes are read as bytes xor ``offset`` (0x80 for int8); per row: max m, integer sum of
    table[x - m + 255]; (M, s) = QuantizeMultiplier(1 / (float(sum) * output_scale)) in float32;
    out = clamp(MBQM(table[...], M, s) + zero_point). Table values are non-negative, so the NEON
    blocks' ties-up rounding shift and the scalar tail agree.
    """
    rows, depth = x.shape
    output_scale = np.float32(output_scale)
    for r in range(rows):
        row_max = np.int64(0)
        for c in range(depth):
            row_max = max(row_max, (np.int64(x[r, c]) & 0xFF) ^ offset)
        base = 255 - row_max
        total = np.int64(0)
        for c in range(depth):
            total += table[((np.int64(x[r, c]) & 0xFF) ^ offset) + base]
        total = wrap_int32(total)
        inv = np.float32(np.float32(1.0) / np.float32(np.float32(total) * output_scale))
        multiplier, shift = quantize_multiplier(np.float64(inv))
        for c in range(depth):
            e = table[((np.int64(x[r, c]) & 0xFF) ^ offset) + base]
            q = wrap_int32(multiply_by_quantized_multiplier(e, multiplier, shift) + zero_point)
            output[r, c] = min(max(q, out_min), out_max)
