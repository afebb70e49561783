"""float32 LOGISTIC of the optimized kernels and of XNNPACK.

optimized_ops::Logistic applies Eigen's ``scalar_logistic_op<float>``: e / (1 + e) with
e = expf(min(x, 16.6355324f)) (the scalar form; Eigen's packet form uses its own expf polynomial, within
an ulp or two). Unlike reference_ops::Logistic it has no exp(x) shortcut below -9, where the two differ
by a relative e (up to 1.2e-4 at x = -9). XNNPACK's sigmoid is accurate to a few ulp of the same value.
expf is glibc's, bit for bit (kernels/libm.py). Same on every CPU within those ulps.
"""
import numpy as np

from litelens.kernels.config import jit
from litelens.kernels.libm import expf

_EXP_HI = np.float32(16.6355324)


@jit(error_model="numpy")
def logistic_eigen_f32(out, x):
    """[n] -> [n]: e / (1 + e), e = expf(min(x, 16.6355324)); NaN stays NaN."""
    for i in range(x.size):
        v = np.float32(x[i])
        e = expf(min(v, _EXP_HI) if v == v else v)
        out[i] = np.float32(e / np.float32(np.float32(1.0) + e))
