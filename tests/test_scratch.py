"""The int8 GEMM's per-thread work buffers stay bounded (``int_gemm.scratch``)."""
import numpy as np

from litelens.kernels import int_gemm


def _spec(tag, rows):
    return (tag, (rows, 1024), np.dtype(np.int32))


def test_same_spec_same_buffer_and_a_bounded_cache(monkeypatch):
    monkeypatch.setattr(int_gemm, "SCRATCH_KEEP_BYTES", 1 << 20)  # 1 MB
    int_gemm.release_scratch()
    (a,) = int_gemm.scratch((_spec("a", 64),))  # 256 KB
    (again,) = int_gemm.scratch((_spec("a", 64),))
    assert again is a
    for rows in range(100, 140):  # 40 other shapes of ~400-560 KB each
        int_gemm.scratch((_spec("acc", rows), _spec("a", 64)))
        assert int_gemm._SCRATCH.nbytes <= (1 << 20) + 2 * 140 * 4096
        assert int_gemm._SCRATCH.nbytes == sum(b.nbytes for b in int_gemm._SCRATCH.buffers.values())
    (kept,) = int_gemm.scratch((_spec("a", 64),))
    assert kept is a  # used by every Eval above, so never dropped
    int_gemm.release_scratch()
    assert int_gemm._SCRATCH.nbytes == 0 and not int_gemm._SCRATCH.buffers
