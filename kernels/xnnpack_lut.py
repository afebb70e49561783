"""XNNPACK's 8-bit TANH and LOGISTIC: a 256-entry table XNNPACK builds from its reference float ops
(src/operators/unary-elementwise-nc.c ``init_lut_op_with_config``, src/reference/unary-elementwise.cc,
src/xnnpack/reference-utils.h):

  x = (float(code) - float(zp_in)) * s_in                       (float32)
  tanh:    y = std::tanh(x) (float: glibc tanhf, ``libm.tanhf``)
  sigmoid: y = 1 if x > 100, 0 if x < -100, else float(e / (1 + e)) with e = exp(double(x))
  out = clamp(nearbyint(y * (1.0f / s_out) + float(zp_out)))    (float32, round half to even)

TFLite's table differs in the rounding (half away from zero), the order of the dequantization and
requantization operations and the sigmoid's float formula, so a few codes differ. Prepare-time
Python (256 entries); the lookup is ``lut.lookup_8bit``. Same on every CPU.
"""
import math

import numpy as np

from litelens.kernels.libm import tanhf

F32 = np.float32


def xnnpack_table_8bit(func: str, dtype, s_in: float, zp_in: int, s_out: float, zp_out: int) -> np.ndarray:
    """The table in code order (entry i is for code qmin + i), ``func`` 'tanh' or 'sigmoid'."""
    info = np.iinfo(dtype)
    inv_scale = F32(F32(1.0) / F32(s_out))
    table = np.empty(256, dtype)
    for i in range(256):
        code = info.min + i
        x = F32(F32(F32(code) - F32(zp_in)) * F32(s_in))
        if func == "tanh":
            y = F32(tanhf(x))
        elif x > 100:
            y = F32(1.0)
        elif x < -100:
            y = F32(0.0)
        else:
            e = math.exp(float(x))
            y = F32(e / (1.0 + e))
        v = F32(F32(y * inv_scale) + F32(zp_out))
        v = 0.0 if math.isnan(v) else float(np.rint(v))
        table[i] = int(min(max(v, info.min), info.max))
    table.setflags(write=False)
    return table
