"""Where two runs part: the first divergent op, every op that diverges on its own, growth per layer.

An op *diverges* when every non-constant input it reads is equal in both runs and an output is not:
the difference starts inside that op's kernel. The first such op in execution order is "the first
divergent op"; the others are independent divergences (a second kernel that disagrees too).
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field

from litelens.diff.compare import EQUAL, Comparison

_LAYER_NUMBER = re.compile(r"(?<![a-z])(?:layer|layers|block|blocks|h)[._/-]?(\d+)", re.IGNORECASE)


@dataclass
class DivergentOp:
    index: int
    opcode: str
    inputs: list[int]  # non-constant inputs (all equal in both runs)
    outputs: list[int]  # its outputs that differ
    constant_inputs: list[int] = field(default_factory=list)

    def to_json(self) -> dict:
        return dict(self.__dict__)


def _variable_inputs(graph, op) -> list[int]:
    return [t for t in op.inputs if t >= 0 and graph.tensors[t].data is None]


def divergent_ops(graph, comparison: Comparison) -> list[DivergentOp]:
    """Every op whose non-constant inputs are all equal and one of whose outputs differs, in order."""
    tensors = comparison.tensors
    found = []
    for op in graph.operators:
        inputs = _variable_inputs(graph, op)
        if not all(t in tensors and tensors[t].status == EQUAL for t in inputs):
            continue
        bad = [t for t in op.outputs if t in tensors and tensors[t].differs]
        if bad:
            constants = [t for t in op.inputs if t >= 0 and graph.tensors[t].data is not None]
            found.append(DivergentOp(op.index, op.opcode, inputs, bad, constants))
    return found


def unobserved_start(graph, comparison: Comparison) -> int | None:
    """The first op with a differing output whose inputs could not all be compared (a tensor the
    official interpreter never wrote), when no op is divergent in the strict sense; else None."""
    tensors = comparison.tensors
    for op in graph.operators:
        if any(t in tensors and tensors[t].differs for t in op.outputs):
            inputs = _variable_inputs(graph, op)
            if not any(t in tensors and tensors[t].differs for t in inputs):
                return op.index
    return None


def divergence_summary(found: list[DivergentOp]) -> dict[str, int]:
    return dict(Counter(d.opcode for d in found).most_common())


# ---------------------------------------------------------------- layers

def layer_of_ops(graph) -> list[str]:
    """A group name per op, in execution order.

    Ops whose output names carry a layer number (``layer.3``, ``layer_3``, ``layers/3``, ``block3``,
    ``h.3``) belong to that layer (the highest number in the name: fused names list the producer's
    scopes too); unnumbered ops between two numbered ones belong to the current layer; before the
    first numbered op they are "before layer N", after the last one "head". A graph with no numbered names
    is cut into up to 8 equal runs of ops ("ops 0-13", ...).
    """
    numbers = []
    for op in graph.operators:
        found = [int(m) for t in op.outputs for m in _LAYER_NUMBER.findall(graph.tensors[t].name)]
        numbers.append(max(found) if found else None)
    numbered = [i for i, n in enumerate(numbers) if n is not None]
    n_ops = len(numbers)
    if not numbered:
        chunk = max(1, -(-n_ops // 8))
        return [f"ops {s}-{min(s + chunk, n_ops) - 1}" for s in range(0, n_ops, chunk) for _ in
                range(min(chunk, n_ops - s))]
    names, current = [], None
    first, last = numbers[numbered[0]], numbered[-1]
    for i, n in enumerate(numbers):
        if n is not None:
            current = max(n, current) if current is not None else n
        if current is None:
            names.append(f"before layer {first}")
        elif i > last:
            names.append("head")
        else:
            names.append(f"layer {current}")
    return names


@dataclass
class LayerGrowth:
    name: str
    ops: int
    tensors: int  # compared
    differing: int  # tensors that differ
    elements: int  # elements compared
    differing_elements: int
    max_abs: float  # stored units (codes)
    max_real: float  # real units where quantized
    last_tensor: int | None  # the group's last output
    last_differing_share: float  # of the last tensor's elements
    last_max_abs: float
    last_max_real: float

    def to_json(self) -> dict:
        return dict(self.__dict__)


def layer_growth(graph, comparison: Comparison) -> list[LayerGrowth]:
    """Per layer group: how many tensors and elements differ, by how much, and at the group's output."""
    groups: dict[str, list] = {}
    for name, op in zip(layer_of_ops(graph), graph.operators):
        groups.setdefault(name, []).append(op)
    out = []
    for name, ops in groups.items():
        diffs = [comparison.tensors[t] for op in ops for t in op.outputs
                 if t in comparison.tensors and comparison.tensors[t].status in (EQUAL, "differs")]
        last = diffs[-1] if diffs else None
        out.append(LayerGrowth(
            name=name, ops=len(ops), tensors=len(diffs), differing=sum(d.differs for d in diffs),
            elements=sum(d.size for d in diffs), differing_elements=sum(d.count for d in diffs),
            max_abs=max((d.max_abs for d in diffs), default=0.0),
            max_real=max((d.max_real or 0.0 for d in diffs), default=0.0),
            last_tensor=last.index if last else None,
            last_differing_share=(last.count / last.size) if last and last.size else 0.0,
            last_max_abs=last.max_abs if last else 0.0,
            last_max_real=(last.max_real or 0.0) if last else 0.0,
        ))
    return out
