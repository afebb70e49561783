"""float32 fused multiply-add (one rounding), as aarch64's ``fmadd``/``vfmaq_f32`` computes it.

The official arm64 builds contract ``a * b + c`` into an FMA where clang's default ``-ffp-contract=on``
allows it (TFLite kernels; XNNPACK builds with ``-ffp-contract=off``). litelens emulates it exactly on
any CPU: the float32 product is exact in double, the double sum's rounding error is recovered with
TwoSum, and a sum that lands exactly on a float32 midpoint is resolved by that error's sign.
"""
import numpy as np

from litelens.kernels.config import jit


@jit
def fma_f32(a, b, c):
    """float32(a * b + c) rounded once (ties to even), for float32 a, b, c."""
    p = np.float64(np.float32(a)) * np.float64(np.float32(b))  # exact: 24 + 24 bits
    cd = np.float64(np.float32(c))
    s = p + cd
    if not np.isfinite(s):
        return np.float32(s)
    bb = s - p
    err = (p - (s - bb)) + (cd - bb)  # exact: p + cd == s + err
    r = np.float32(s)
    if err == 0.0 or not np.isfinite(r):
        return r
    if np.float64(r) <= s:
        lo = r
        hi = np.nextafter(r, np.float32(np.inf))
    else:
        hi = r
        lo = np.nextafter(r, np.float32(-np.inf))
    mid = (np.float64(lo) + np.float64(hi)) * 0.5
    if s == mid:  # the exact value is just off the midpoint, on err's side
        return hi if err > 0.0 else lo
    return r
