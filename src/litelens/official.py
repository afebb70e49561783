"""The official interpreter (``ai_edge_litert``), run the way litelens compares against it.

Only imported by code that makes goldens, the differential harness and live tests; it needs the
``golden`` extra. Resolver names follow the fact sheet: reference, optimized, xnnpack.
"""
from __future__ import annotations

from typing import Mapping

import numpy as np

# litelens name -> ai_edge_litert OpResolverType member
RESOLVERS = {
    "reference": "BUILTIN_REF",
    "optimized": "BUILTIN_WITHOUT_DEFAULT_DELEGATES",
    "xnnpack": "AUTO",
}


def official_interpreter(model_content: bytes, resolver: str = "reference", num_threads: int = 1,
                         preserve_all_tensors: bool = True):
    """An allocated ``ai_edge_litert`` Interpreter using the named resolver."""
    from ai_edge_litert.interpreter import Interpreter, OpResolverType

    if resolver not in RESOLVERS:
        raise ValueError(f"unknown resolver {resolver!r}; choose from {', '.join(RESOLVERS)}")
    interp = Interpreter(
        model_content=model_content,
        experimental_op_resolver_type=getattr(OpResolverType, RESOLVERS[resolver]),
        experimental_preserve_all_tensors=preserve_all_tensors,
        num_threads=num_threads,
    )
    interp.allocate_tensors()
    return interp


def delegated_by_xnnpack(model_content: bytes) -> bool:
    """Whether the official AUTO interpreter handed any op to XNNPACK: its execution plan then holds a
    ``DELEGATE`` node next to the ops it replaced."""
    interp = official_interpreter(model_content, "xnnpack", preserve_all_tensors=False)
    return any(d["op_name"] == "DELEGATE" for d in interp._get_ops_details())


def set_inputs(interp, inputs: Mapping[str | int, np.ndarray]) -> None:
    """Set inputs given by tensor name or tensor index."""
    by_name = {d["name"]: d["index"] for d in interp.get_input_details()}
    for key, value in inputs.items():
        index = by_name[key] if isinstance(key, str) else int(key)
        interp.set_tensor(index, np.asarray(value))


def read_all_tensors(interp) -> dict[int, np.ndarray]:
    """Every tensor the interpreter can return after invoke (index -> copy)."""
    out = {}
    for detail in interp.get_tensor_details():
        try:
            out[detail["index"]] = np.array(interp.get_tensor(detail["index"]))
        except ValueError:  # a tensor with no data (e.g. an omitted optional)
            continue
    return out


def run_official(model_content: bytes, inputs: Mapping[str | int, np.ndarray],
                 resolver: str = "reference") -> dict[int, np.ndarray]:
    """Run once with every tensor kept; returns index -> value for every readable tensor."""
    interp = official_interpreter(model_content, resolver)
    set_inputs(interp, inputs)
    interp.invoke()
    return read_all_tensors(interp)
