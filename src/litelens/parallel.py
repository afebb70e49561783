"""``num_threads``: big ops split their rows across threads.

An op splits only when Prepare finds enough work to pay for starting threads (a Numba parallel
region costs a few microseconds), and only along dimensions whose outputs do not depend on each
other (rows of a matrix product): every output element is computed by exactly the arithmetic it
would get on one thread, so results stay bit-exact at any thread count. The row blocks run in a
``prange`` loop (``kernels/fully_connected.py`` ``*_parts``) on Numba's threading layer (OpenMP
where available), capped by :func:`use_threads` at the interpreter's ``num_threads``.
"""
from __future__ import annotations

import functools

import numba
import numpy as np

# A part must be worth this much kernel time (a parallel region costs a few µs to start and join;
# at 15 µs the int8 MobileBERT FCs split and gain 1.18x with 2 threads on a 2-core VM).
MIN_PART_NS = 15_000

# Rough single-thread kernel speeds (multiply-adds per ns) used to estimate an op's time at Prepare.
FLOAT32_MACS_PER_NS = 40.0  # the float32 reference-order tile (kernels/float_tile.py), AVX-512
INT8_MACS_PER_NS = 250.0  # the AMX / VNNI integer kernels (kernels/int_gemm.py)
HYBRID_MACS_PER_NS = 150.0  # the hybrid FC: row quantization + integer kernel + float epilogue


def row_parts(rows: int, threads: int, align: int = 1, ns_per_row: float = 0.0) -> tuple[tuple[int, int], ...]:
    """Up to ``threads`` contiguous row ranges covering ``range(rows)``, each starting at a multiple of
    ``align`` (the kernel's row tile) and worth at least ``MIN_PART_NS`` of estimated kernel time
    (``ns_per_row`` each); one range when splitting does not pay."""
    if threads <= 1 or rows <= align:
        return ((0, rows),)
    parts = min(threads, int(rows * ns_per_row // MIN_PART_NS), -(-rows // align))
    if parts <= 1:
        return ((0, rows),)
    tiles = -(-rows // align)
    bounds = [min(rows, (tiles * i // parts) * align) for i in range(parts + 1)]
    return tuple((a, b) for a, b in zip(bounds, bounds[1:]) if b > a)


@functools.lru_cache(maxsize=1024)
def part_bounds(parts: tuple[tuple[int, int], ...]) -> np.ndarray:
    """[start of each part..., end of the last] as a read-only int64 array (what the kernels take)."""
    bounds = np.array([start for start, _ in parts] + [parts[-1][1]], np.int64)
    bounds.setflags(write=False)
    return bounds


def use_threads(n: int) -> None:
    """Let this thread's parallel regions use up to ``n`` threads (at most Numba's pool size)."""
    numba.set_num_threads(max(1, min(int(n), numba.config.NUMBA_NUM_THREADS)))


class RowSplit:
    """For plans (frozen dataclasses) with a ``parts`` field from :func:`row_parts`: ``bounds``, the
    array form the ``*_parts`` kernels take."""

    @property
    def bounds(self) -> np.ndarray:
        return part_bounds(self.parts)
