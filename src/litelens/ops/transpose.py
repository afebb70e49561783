"""TRANSPOSE (transpose.cc): permute dims by a constant perm; copies bytes, keeps quantization."""
from __future__ import annotations

import numpy as np

from litelens.ops.base import Node, Op, Prepared
from litelens.ops.common import constant_ints, expect_max_rank, expect_same_dtype
from litelens.ops.registry import register

MAX_RANK = 6


@register("TRANSPOSE")
class Transpose(Op):
    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(2)
        x, out = node.input(0), node.outputs[0]
        expect_same_dtype(node, out, x)
        expect_max_rank(node, x, MAX_RANK)
        perm = constant_ints(node, 1, "the permutation")
        rank = len(x.shape)
        if perm.size != rank:
            raise node.error(f"permutation {perm.tolist()} has {perm.size} entries for an input of rank {rank}")
        if sorted(perm.tolist()) != list(range(rank)):
            raise node.error(f"{perm.tolist()} is not a permutation of 0..{rank - 1}")
        perm = tuple(int(p) for p in perm)
        return Prepared(perm, [tuple(x.shape[p] for p in perm)])  # [d0..dn] -> [d_perm0..d_permn]

    def eval(self, perm, inputs, outputs):
        np.copyto(outputs[0], np.transpose(inputs[0], perm))
