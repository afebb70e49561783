"""A fuzz case: an op, the parameters it was generated from, the model built from them, and inputs.

Parameters are plain JSON-able values; a generator rebuilds the identical case from them, so a case
can be shrunk by simplifying its parameters and saved as a readable description next to the files.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from litelens import build


@dataclass
class Case:
    op: str
    params: dict
    model: build.Model
    inputs: dict[int, np.ndarray]  # model input tensor index -> value
    label: str = ""
    _content: bytes | None = field(default=None, repr=False)

    @property
    def content(self) -> bytes:
        if self._content is None:
            self._content = self.model.to_bytes()
        return self._content

    def with_inputs(self, inputs: dict[int, np.ndarray]) -> "Case":
        return Case(self.op, self.params, self.model, inputs, self.label, self._content)

    def input_names(self) -> dict[int, str]:
        return {i: self.model.tensors[i].name for i in self.inputs}


def make_case(op: str, params: dict, model: build.Model, values: dict[str, np.ndarray], label: str) -> Case:
    """``values`` by tensor name -> inputs by tensor index; every model input must have a value."""
    by_name = {t.name: i for i, t in enumerate(model.tensors)}
    inputs = {by_name[name]: np.array(v, order="C") for name, v in values.items()}  # keeps 0-d arrays 0-d
    missing = [model.tensors[i].name for i in model.graph_inputs() if i not in inputs]
    if missing:
        raise ValueError(f"no value for input(s) {missing}")
    return Case(op, params, model, inputs, label)
