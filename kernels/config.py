"""Numba settings, decided in one place.

``jit`` compiles a kernel with an on-disk cache (so a second process starts fast) and without
fastmath (every float operation must round exactly as written to match the official kernels).
``NUMBA_DISABLE_JIT=1`` makes ``jit`` the identity, so kernels run as plain Python.
"""
import numba

JIT_OPTIONS = dict(cache=True, fastmath=False, nogil=True)


def jit(func=None, **overrides):
    """Compile ``func`` with the project's Numba options (usable as ``@jit`` or ``@jit(...)``)."""
    options = {**JIT_OPTIONS, **overrides}
    if func is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(func)
