"""Helpers shared by the tests of the optimized / xnnpack flavors (tests/flavors/)."""
from __future__ import annotations

import numpy as np

import litelens
from litelens import build


def T(shape, dtype, name, scale=None, zp=0, data=None):
    """A ``build.Tensor``, quantized when ``scale`` is given."""
    kw = {} if scale is None else dict(scale=scale, zero_point=zp)
    return build.Tensor(list(shape), dtype, name, data=data, **kw)


def run_litelens(content: bytes, inputs: dict, flavor: str):
    """An invoked litelens Interpreter (every tensor kept); ``inputs`` keyed by tensor index."""
    it = litelens.Interpreter(model_content=content, flavor=flavor, preserve_all_tensors=True)
    it.allocate_tensors()
    for k, v in inputs.items():
        it.set_tensor(k, v)
    it.invoke()
    return it


def litelens_output(model: bytes, values: dict, flavor: str) -> np.ndarray:
    """litelens's first model output; ``values`` keyed by input name."""
    it = litelens.Interpreter(model_content=model, flavor=flavor)
    it.allocate_tensors()
    for d in it.get_input_details():
        it.set_tensor(d["index"], values[d["name"]])
    it.invoke()
    return it.get_tensor(it.get_output_details()[0]["index"])
