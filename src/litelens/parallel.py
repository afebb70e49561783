"""``num_threads``: big ops split their rows across threads.

Every litelens kernel is compiled with ``nogil=True``, so Python threads calling kernels on disjoint
row ranges run in parallel. An op splits only when Prepare finds enough work to pay for handing rows
to another thread (tens of microseconds in CPython), and only along dimensions whose outputs do not
depend on each other (rows of a matrix product, of a softmax): every output element is computed by
exactly the arithmetic it would get on one thread, so results stay bit-exact at any thread count.

The first part runs on the calling thread; the others on a process-wide pool, so an interpreter
holds no threads of its own.
"""
from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Callable, Sequence

_POOL: ThreadPoolExecutor | None = None
_POOL_SIZE = 0
_LOCK = threading.Lock()

# A part must be worth this much kernel time: handing it to a pool thread and waiting for it costs
# 10-20 µs in CPython (measured on a 2-core x86-64 machine).
MIN_PART_NS = 60_000

# Rough single-thread kernel speeds (multiply-adds per ns) used to estimate an op's time at Prepare.
FLOAT32_MACS_PER_NS = 40.0  # the float32 reference-order tile (kernels/float_tile.py), AVX-512
INT8_MACS_PER_NS = 250.0  # the AMX / VNNI integer kernels (kernels/int_gemm.py)


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


def _pool(workers: int) -> ThreadPoolExecutor:
    global _POOL, _POOL_SIZE
    with _LOCK:
        if _POOL is None or _POOL_SIZE < workers:
            old = _POOL
            _POOL, _POOL_SIZE = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="litelens"), workers
            if old is not None:
                old.shutdown(wait=False)
        return _POOL


def run_parts(task: Callable[[int, int], None], parts: Sequence[tuple[int, int]]) -> None:
    """``task(start, stop)`` for every part: the first here, the rest on pool threads; returns when all
    are done and re-raises the first error."""
    if len(parts) == 1:
        task(*parts[0])
        return
    pool = _pool(len(parts) - 1)
    futures = [pool.submit(task, start, stop) for start, stop in parts[1:]]
    error = None
    try:
        task(*parts[0])
    except BaseException as err:  # still wait: the other threads write into the same buffers
        error = err
    for future in futures:
        try:
            future.result()
        except BaseException as err:
            error = error or err
    if error is not None:
        raise error
