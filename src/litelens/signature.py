"""Signature runners: call a model by its signature's input and output names."""
from __future__ import annotations

import numpy as np

from litelens.errors import InputError


class SignatureRunner:
    """``runner(input_ids=..., input_mask=...)`` -> {output name: array}, as the official one."""

    def __init__(self, interpreter, signature_key: str | None = None):
        signatures = interpreter.model.signatures
        if not signatures:
            raise ValueError("the model has no signature defs")
        if signature_key is None:
            if len(signatures) != 1:
                raise ValueError(f"the model has several signatures; name one of {[s.key for s in signatures]}")
            signature = signatures[0]
        else:
            matches = [s for s in signatures if s.key == signature_key]
            if not matches:
                raise ValueError(f"no signature {signature_key!r}; the model has {[s.key for s in signatures]}")
            signature = matches[0]
        if signature.subgraph_index != 0:
            raise ValueError(f"signature {signature.key!r} runs subgraph {signature.subgraph_index}; "
                             "litelens runs subgraph 0 only")
        self._interp = interpreter
        self._signature = signature
        if not interpreter._allocated:
            interpreter.allocate_tensors()

    def get_input_details(self) -> dict:
        return {name: self._interp._details(i) for name, i in self._signature.inputs.items()}

    def get_output_details(self) -> dict:
        return {name: self._interp._details(i) for name, i in self._signature.outputs.items()}

    def __call__(self, **inputs) -> dict[str, np.ndarray]:
        expected = set(self._signature.inputs)
        if set(inputs) != expected:
            raise InputError(f"signature {self._signature.key!r} takes inputs {sorted(expected)}, got {sorted(inputs)}")
        for name, value in inputs.items():
            self._interp.set_tensor(self._signature.inputs[name], np.asarray(value))
        self._interp.invoke()
        return {name: self._interp.get_tensor(i) for name, i in self._signature.outputs.items()}
