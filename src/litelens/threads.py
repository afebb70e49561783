"""How many threads litelens's math may use.

Some kernels hand their integer-exact products to NumPy's BLAS. OpenBLAS starts as many threads as
there are cores, which on a busy 2-core machine makes a 0.3 ms product take 25 ms, and which ignores
the interpreter's ``num_threads``. ``blas_threads(n)`` limits BLAS to ``n`` threads for the duration
of one invoke (about 20 µs to enter and leave), without touching the user's global setting.
"""
from __future__ import annotations

import contextlib


def _controller():
    try:
        from threadpoolctl import ThreadpoolController
    except ImportError:  # optional: without it BLAS keeps its own default
        return None
    return ThreadpoolController()


_CONTROLLER = None
_LOADED = False


def blas_threads(n: int | None):
    """A context manager limiting BLAS to ``n`` threads (1 when n is None)."""
    global _CONTROLLER, _LOADED
    if not _LOADED:
        _CONTROLLER, _LOADED = _controller(), True
    if _CONTROLLER is None:
        return contextlib.nullcontext()
    return _CONTROLLER.limit(limits=max(1, int(n or 1)), user_api="blas")
