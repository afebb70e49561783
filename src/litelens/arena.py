"""Activation memory: one arena shared by tensors whose lifetimes do not overlap.

Without ``preserve_all_tensors`` the official interpreter places intermediate tensors in an arena
(``ArenaPlanner``): a tensor's bytes are reused once its last reader has run. litelens does the same,
so a run needs the memory of the widest point of the graph, not of every tensor at once (full
MobileBERT float32 at seq 128: 128 MB of intermediates, of which only a few MB are live at a time).

A tensor lives from the op that writes it to the last op that reads it. Model inputs and outputs live
for the whole run (an input is set once and read by every invoke; outputs are read after it), and so
do all tensors when the caller wants them preserved. Placement is first-fit in op order: each output
of op i goes to the lowest offset that overlaps no tensor still alive at op i - its own inputs
included, so no kernel ever writes into a buffer it reads.

Preserved intermediates are not shared but still go into one block, end to end in the order they are
written: one large allocation is backed by transparent huge pages where the system offers them, and a
run then streams its outputs through one region instead of thousands of separate 4 KiB-page buffers
(measured on full MobileBERT, dynamic and float32: 3-4 ms less per invoke).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

ALIGNMENT = 64  # bytes; a cache line, and the widest vector load the kernels do


@dataclass(frozen=True)
class Lifetime:
    """A tensor of ``nbytes`` written by op ``first`` (-1: before the run) and last read by op ``last``."""

    tensor: int
    nbytes: int
    first: int
    last: int


def _aligned(n: int) -> int:
    return -(-n // ALIGNMENT) * ALIGNMENT


def plan_offsets(lifetimes: list[Lifetime]) -> tuple[dict[int, int], int]:
    """Byte offsets (tensor -> offset) such that no two tensors alive at the same op overlap, and the
    arena's total size. ``lifetimes`` in any order; placed by (first, tensor)."""
    offsets: dict[int, int] = {}
    live: list[tuple[int, int, int]] = []  # (offset, end, last) of placed tensors, sorted by offset
    total = 0
    for life in sorted(lifetimes, key=lambda life: (life.first, life.tensor)):
        live = [span for span in live if span[2] >= life.first]  # still read at or after this op
        size = _aligned(max(life.nbytes, 1))
        offset = 0
        for start, end, _ in live:  # first gap that fits
            if offset + size <= start:
                break
            offset = max(offset, end)
        offsets[life.tensor] = offset
        live.append((offset, offset + size, life.last))
        live.sort()
        total = max(total, offset + size)
    return offsets, total


def consecutive_offsets(tensors: list[tuple[int, int]]) -> tuple[dict[int, int], int]:
    """(tensor, nbytes) pairs laid end to end (each start aligned), in the order given: the layout of
    tensors that all stay alive (``preserve_all_tensors``). Returns offsets and the total size."""
    offsets: dict[int, int] = {}
    total = 0
    for tensor, nbytes in tensors:
        offsets[tensor] = total
        total += _aligned(max(nbytes, 1))
    return offsets, total


def arena_views(arena: np.ndarray, offsets: dict[int, int], layouts: dict[int, tuple[tuple[int, ...], np.dtype]]
                ) -> dict[int, np.ndarray]:
    """Each tensor's array: a view of ``arena`` (uint8, 64-byte aligned) at its offset."""
    views = {}
    for index, (shape, dtype) in layouts.items():
        count = 1
        for d in shape:
            count *= int(d)
        start = offsets[index]
        views[index] = arena[start:start + count * dtype.itemsize].view(dtype).reshape(shape)
    return views


def aligned_bytes(nbytes: int) -> np.ndarray:
    """A zeroed uint8 buffer of ``nbytes`` whose first byte is ``ALIGNMENT``-aligned."""
    raw = np.zeros(nbytes + ALIGNMENT, dtype=np.uint8)
    skip = (-raw.ctypes.data) % ALIGNMENT
    return raw[skip:skip + nbytes]
