"""A fast subset of the suite again, with Numba's bounds checks on (``NUMBA_BOUNDSCHECK=1``).

Numba does not check indices: a kernel handed a shape Prepare let through reads or writes out of
bounds silently (or crashes only sometimes). With bounds checks every such access raises IndexError,
which the interpreter reports as an "internal" error and the hostile-model tests count as a failure.
The subset: the hostile-model tests (fuzz campaigns at a smaller size) and every golden recording
recomputed bit for bit (the real kernels on real data).

It runs in a subprocess because the setting is read when Numba starts; compiled code goes to its own
cache folder (keyed, like the normal cache, by a hash of the kernel sources), as bounds-checked
machine code differs from the normal one.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SUBSET = ["tests/hostile", "tests/test_golden_reference.py"]


def _cache_dir() -> Path:
    from litelens.kernels.config import _kernel_sources_digest

    base = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "litelens" / "numba-boundscheck"
    return base / _kernel_sources_digest()


@pytest.mark.skipif(os.environ.get("NUMBA_BOUNDSCHECK") == "1", reason="already running with bounds checks")
def test_subset_passes_with_numba_boundscheck(tmp_path):
    cache = _cache_dir()
    try:
        cache.mkdir(parents=True, exist_ok=True)
    except OSError:
        cache = tmp_path / "numba-cache"
    env = {**os.environ, "NUMBA_BOUNDSCHECK": "1", "NUMBA_CACHE_DIR": str(cache),
           "LITELENS_HOSTILE_CASES": os.environ.get("LITELENS_BOUNDSCHECK_CASES", "1500")}
    cmd = [sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *SUBSET,
           "--deselect", "tests/hostile/test_boundscheck.py::test_subset_passes_with_numba_boundscheck"]
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600)
    tail = (proc.stdout + proc.stderr)[-6000:]
    assert proc.returncode == 0, f"with NUMBA_BOUNDSCHECK=1: {' '.join(cmd)}\n{tail}"
    assert " passed" in proc.stdout, tail
