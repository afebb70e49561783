"""Numba settings, decided in one place.

``jit`` compiles a kernel with an on-disk cache (so a second process starts fast) and without
fastmath (every float operation must round exactly as written to match the official kernels).
``NUMBA_DISABLE_JIT=1`` makes ``jit`` the identity, so kernels run as plain Python.

Numba's cache notices a change to a kernel's own file but not to a jitted helper it calls from
another file. So unless ``NUMBA_CACHE_DIR`` is set, the cache lives in a folder named after a hash of
every kernel source file (``~/.cache/litelens/numba/<hash>``, or ``$NUMBA_CACHE_DIR/litelens-<hash>``
when that is set): any kernel edit starts a fresh cache.
"""
import hashlib
import os
from pathlib import Path

import numba

JIT_OPTIONS = dict(cache=True, fastmath=False, nogil=True)


def _kernel_sources_digest() -> str:
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def _use_versioned_cache_dir() -> None:
    if os.environ.get("NUMBA_CACHE_DIR"):  # the user's folder, still one subfolder per kernel version
        target = Path(os.environ["NUMBA_CACHE_DIR"]) / f"litelens-{_kernel_sources_digest()}"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "litelens" / "numba"
        target = base / _kernel_sources_digest()
    try:
        target.mkdir(parents=True, exist_ok=True)
    except OSError:  # read-only home: fall back to Numba's default (next to the sources)
        return
    numba.config.CACHE_DIR = str(target)


_use_versioned_cache_dir()


def jit(func=None, **overrides):
    """Compile ``func`` with the project's Numba options (usable as ``@jit`` or ``@jit(...)``)."""
    options = {**JIT_OPTIONS, **overrides}
    if func is None:
        return lambda f: numba.njit(**options)(f)
    return numba.njit(**options)(func)
