"""XNNPACK's float32 GELU (src/f32-vgelu, exact) and approximate GELU (src/f32-vapproxgelu), the
avx512f/fma3 ``rational_12_10_div`` kernels this machine (AVX-512) runs:

  x' = clamp(x, -c, c); p = x' * P(x'^2) (degree 5 in x'^2, FMA Horner); q = Q(x'^2) (degree 5, FMA,
  constant term 1); y = (x * 0.5) * (p / q + 1)

with c the first float where the interpolant reaches +-1 (native-FMA constants). The FMAs are
computed in float64 then rounded once to float32 (equal to a true FMA except in rare double-rounding
cases, well inside the float tolerance). CPU features assumed: FMA (AVX2/AVX-512); without FMA
XNNPACK uses other clamp constants.
"""
import numpy as np

from litelens.kernels.config import jit

F32 = np.float32

# (clamp, alpha_1..alpha_11, beta_2..beta_10)
GELU_CONSTANTS = np.array([5.1638283730e+00, 7.9788452387e-01, 6.6972173750e-02, 9.3065137044e-03,
                           3.2973114867e-04, 1.2609783880e-05, 4.5835321316e-08, 2.5060352683e-01,
                           2.8431978077e-02, 1.8622842617e-03, 7.2267655923e-05, 1.1988805682e-06], np.float32)
APPROX_GELU_CONSTANTS = np.array([4.84974098e+00, 7.9788458347e-01, 6.0803253204e-02, 7.2898347862e-03,
                                  2.6887017884e-04, 1.4302649106e-05, 4.9544411240e-08, 2.4369759858e-01,
                                  2.4381054565e-02, 1.3060354395e-03, 7.6477612311e-05, 1.3433452750e-06],
                                 np.float32)


@jit
def _fma(a, b, c):
    return F32(np.float64(a) * np.float64(b) + np.float64(c))


@jit(error_model="numpy")
def xnnpack_gelu_f32(out, x, k):
    """[n] -> [n]; ``k`` is GELU_CONSTANTS or APPROX_GELU_CONSTANTS."""
    for i in range(x.size):
        v = F32(x[i])
        c = min(max(v, -k[0]), k[0])
        c2 = F32(c * c)
        p = _fma(c2, k[6], k[5])
        p = _fma(c2, p, k[4])
        p = _fma(c2, p, k[3])
        p = _fma(c2, p, k[2])
        p = _fma(c2, p, k[1])
        p = F32(c * p)
        q = _fma(c2, k[11], k[10])
        q = _fma(c2, q, k[9])
        q = _fma(c2, q, k[8])
        q = _fma(c2, q, k[7])
        q = _fma(c2, q, F32(1.0))
        out[i] = F32(F32(v * F32(0.5)) * F32(F32(p / q) + F32(1.0)))
