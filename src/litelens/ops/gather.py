"""GATHER (gather.cc): pick slices of ``params`` along ``axis`` by ``indices``, with ``batch_dims``.

Output shape: params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:].
An index outside [0, params.shape[axis]) is a run-time error, as in the official kernel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.errors import InputError
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.common import expect_same_dtype, normalize_axis
from litelens.ops.registry import register


@dataclass(frozen=True)
class GatherOptions:
    axis: int = 0
    batch_dims: int = 0


@dataclass(frozen=True)
class GatherPlan:
    where: str
    batch: int  # product of the batch dims
    outer: int  # product of params dims between batch_dims and axis
    axis_size: int
    inner: int  # product of params dims after axis


@register("GATHER")
class Gather(Op):
    def parse_options(self, raw):
        if raw is None:
            return GatherOptions()
        return GatherOptions(int(raw.Axis()), int(raw.BatchDims()))

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(2)
        params, indices, out = node.input(0), node.input(1), node.outputs[0]
        expect_same_dtype(node, out, params)
        node.expect_dtype(indices, np.int16, np.int32, np.int64)
        p_rank, i_rank = len(params.shape), len(indices.shape)
        if p_rank == 0:
            raise node.error(f"{params.describe()} must have rank >= 1")
        axis = normalize_axis(node, node.options.axis, p_rank)
        batch_dims = node.options.batch_dims
        if batch_dims < 0:
            batch_dims += i_rank
        if not 0 <= batch_dims <= min(axis, i_rank):
            raise node.error(f"batch_dims {node.options.batch_dims} must be in [0, min(axis, indices rank)]")
        if params.shape[:batch_dims] != indices.shape[:batch_dims]:
            raise node.error(f"params and indices must agree on the {batch_dims} batch dims: "
                             f"{list(params.shape)} vs {list(indices.shape)}")
        shape = params.shape[:axis] + indices.shape[batch_dims:] + params.shape[axis + 1:]
        prod = lambda dims: int(np.prod(dims, dtype=np.int64))
        plan = GatherPlan(f"op {node.index} GATHER", prod(params.shape[:batch_dims]),
                          prod(params.shape[batch_dims:axis]), params.shape[axis], prod(params.shape[axis + 1:]))
        return Prepared(plan, [shape])

    def eval(self, plan: GatherPlan, inputs, outputs):
        params, indices = inputs
        if plan.batch == 0:  # an empty batch dimension: params, indices and output are all empty
            return
        flat = indices.reshape(plan.batch, -1)  # [batch, n]
        if flat.size and (flat.min() < 0 or flat.max() >= plan.axis_size):
            bad = flat[(flat < 0) | (flat >= plan.axis_size)][0]
            raise InputError(f"{plan.where}: index {int(bad)} is out of range [0, {plan.axis_size})")
        p = params.reshape(plan.batch, plan.outer, plan.axis_size, plan.inner)
        rows = np.arange(plan.batch)[:, None]
        picked = p[rows, :, flat, :]  # [batch, n, outer, inner]
        np.copyto(outputs[0].reshape(plan.batch, plan.outer, flat.shape[1], plan.inner),
                  picked.transpose(0, 2, 1, 3))
