"""TRANSPOSE (transpose.cc): permute dims by a constant perm; copies bytes, keeps quantization."""
from __future__ import annotations

import numpy as np

from litelens.ops.base import Node, Op, Prepared
from litelens.ops.binary_common import xnnpack_shape_problem, xnnpack_type_problem
from litelens.ops.common import constant_ints, expect_max_rank, expect_same_dtype
from litelens.ops.registry import register

MAX_RANK = 6


@register("TRANSPOSE")
class Transpose(Op):
    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitTransposeNode``: float or per-tensor int8/uint8 input of rank 1..6 with no empty dim,
        constant permutation (read as int32)."""
        if len(node.inputs) != 2 or len(node.outputs) != 1:
            return "the delegate needs 2 inputs and 1 output"
        x = node.input(0)
        problem = xnnpack_type_problem(x) or xnnpack_shape_problem(x, min_rank=1)
        if problem:
            return problem
        if node.input(1).data is None:
            return "the permutation is not a constant"
        return None

    @staticmethod
    def _int64_perm_as_read(node: Node, perm: np.ndarray, rank: int) -> np.ndarray:
        """transpose.cc (and the XNNPACK delegate) read the permutation as int32 whatever its type:
        an int64 [p0, p1, ...] is read as its first ``rank`` 32-bit words [p0, 0, p1, 0, ...]
        (little-endian). The official interpreter transposes by that when it is a permutation; when
        it is not, the builtin kernel copies by a repeated axis and the delegate fails: refused here."""
        words = perm.astype("<i8").view("<i4")[:rank].astype(np.int64)
        if not ((words >= -rank) & (words < rank)).all() or \
                sorted(np.where(words < 0, words + rank, words).tolist()) != list(range(rank)):
            raise node.error(f"the official kernels read the int64 permutation {perm.tolist()} as the int32 "
                             f"words {words.tolist()}, which are not a permutation (undefined output)")
        return words

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(2)
        x, out = node.input(0), node.outputs[0]
        expect_same_dtype(node, out, x)
        expect_max_rank(node, x, MAX_RANK)
        perm = constant_ints(node, 1, "the permutation")
        rank = len(x.shape)
        if perm.size != rank:
            raise node.error(f"permutation {perm.tolist()} has {perm.size} entries for an input of rank {rank}")
        if node.input(1).dtype == np.int64:
            perm = self._int64_perm_as_read(node, perm, rank)
        perm = np.where((perm < 0) & (perm >= -rank), perm + rank, perm)
        if sorted(perm.tolist()) != list(range(rank)):
            raise node.error(f"{perm.tolist()} is not a permutation of 0..{rank - 1}")
        perm = tuple(int(p) for p in perm)
        return Prepared(perm, [tuple(x.shape[p] for p in perm)])  # [d0..dn] -> [d_perm0..d_permn]

    def eval(self, perm, inputs, outputs):
        np.copyto(outputs[0], np.transpose(inputs[0], perm))
