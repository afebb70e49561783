"""The float twin: the same network converted without quantization, matched tensor by tensor by name.

A quantized tensor is compared with the float model's tensor of exactly the same name and shape.
Nothing else is tried: a name that the float model lacks, holds twice, or holds with another shape is
listed as unmatched with the reason (converters rename fused ops; a guess would compare unrelated
tensors). Model inputs are matched the same way, by tensor name or signature name.
"""
from __future__ import annotations

from collections import defaultdict

import numpy as np

from litelens.errors import InputError
from litelens.inputs import input_names
from litelens.inspect.values import is_quantized, real_values


def match_tensors(graph, twin_graph, indices) -> tuple[dict[int, int], list[tuple[int, str, str]]]:
    """For each tensor index of ``graph`` in ``indices``: the twin's tensor of the same name and shape.

    Returns ({index: twin index}, [(index, name, why unmatched)]).
    """
    by_name: dict[str, list[int]] = defaultdict(list)
    for t in twin_graph.tensors:
        by_name[t.name].append(t.index)
    matched, unmatched = {}, []
    for index in indices:
        t = graph.tensors[index]
        candidates = by_name.get(t.name, [])
        if not candidates:
            unmatched.append((index, t.name, "no tensor of this name in the float model"))
        elif len(candidates) > 1:
            unmatched.append((index, t.name, f"{len(candidates)} tensors of this name in the float model"))
        else:
            twin = twin_graph.tensors[candidates[0]]
            if tuple(twin.shape) != tuple(t.shape):
                unmatched.append((index, t.name, f"shape {list(t.shape)} here, {list(twin.shape)} in the float model"))
            else:
                matched[index] = candidates[0]
    return matched, unmatched


def twin_inputs(interp, twin_interp, inputs: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """The float model's inputs for the values ``inputs`` given to the quantized model (by input or
    signature name). Quantized values are dequantized for a float input; integer inputs pass as is."""
    ours = input_names(interp)
    by_name = {}
    for index, name in ours.items():
        by_name[name] = index
        by_name[interp.graph.tensors[index].name] = index
    out = {}
    for index, name in input_names(twin_interp).items():
        twin_t = twin_interp.graph.tensors[index]
        source = by_name.get(name, by_name.get(twin_t.name))
        if source is None:
            raise InputError(f"the float model's input '{name}' has no input of the same name in the quantized "
                             f"model (inputs: {', '.join(ours.values())})")
        t = interp.graph.tensors[source]
        value = inputs[source]
        if is_quantized(t.dtype, t.quantization) and twin_t.dtype.kind == "f":
            value = real_values(value, t.dtype, t.quantization)
        elif is_quantized(twin_t.dtype, twin_t.quantization) and twin_t.dtype != t.dtype:
            raise InputError(f"the float model's input '{name}' is quantized ({twin_t.dtype.name}); give a float "
                             "model whose inputs are float or integer ids")
        out[index] = np.asarray(value).astype(twin_t.dtype)
    return out
