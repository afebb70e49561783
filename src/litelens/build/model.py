"""The description ``litelens.build`` turns into a ``.tflite``: tensors, operators, graph inputs/outputs.

Nothing here is validated beyond what serialization needs: a description may be deliberately wrong
(a zero-point vector of the wrong length, an op reading a tensor nobody writes, a per-channel axis out
of range) so that hostile-model tests can be built with the same code as ordinary ones.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Sequence

import numpy as np


@dataclass
class Tensor:
    """One tensor. ``data`` makes it a constant (stored in its own buffer).

    Quantization: ``scale`` (a number, or a list for per-channel along ``axis``) and ``zero_point``
    (None -> zeros, a number -> repeated for every scale, a list -> written as given, even if its length
    differs from the scales'). ``type`` overrides the schema type name written (e.g. "INT4"), and
    ``buffer`` the buffer index, for hand-made oddities.
    """

    shape: Sequence[int]
    dtype: Any = np.float32
    name: str = ""
    data: np.ndarray | None = None
    scale: float | Sequence[float] | None = None
    zero_point: int | Sequence[int] | None = None
    axis: int = 0
    shape_signature: Sequence[int] | None = None
    is_variable: bool = False
    type: str | None = None
    buffer: int | None = None

    def __post_init__(self):
        self.shape = tuple(int(d) for d in self.shape)
        self.dtype = np.dtype(self.dtype)
        if self.data is not None:
            self.data = np.asarray(self.data)
            if self.data.dtype != self.dtype:
                self.data = self.data.astype(self.dtype)
            if self.data.size == int(np.prod(self.shape, dtype=np.int64)):
                self.data = self.data.reshape(self.shape)

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def quantized(self) -> bool:
        return self.scale is not None

    def scales(self) -> np.ndarray:
        return np.atleast_1d(np.asarray(self.scale, dtype=np.float32)).reshape(-1)

    def zero_points(self) -> np.ndarray:
        scales = self.scales()
        if self.zero_point is None:
            return np.zeros(scales.size, np.int64)
        zp = np.asarray(self.zero_point, dtype=np.int64)
        return np.full(scales.size, int(zp), np.int64) if zp.ndim == 0 else zp.reshape(-1)

    def copy(self, **changes) -> "Tensor":
        return replace(self, **changes)

    def describe(self) -> dict:
        """A JSON-able summary (constant values omitted, their size kept)."""
        out = {"name": self.name, "shape": list(self.shape), "dtype": self.dtype.name}
        if self.quantized:
            out["scale"] = self.scales().tolist()
            out["zero_point"] = self.zero_points().tolist()
            if self.scales().size > 1:
                out["axis"] = self.axis
        if self.data is not None:
            out["constant"] = True
            if self.data.size <= 16:
                out["data"] = self.data.reshape(-1).tolist()
        return out


@dataclass
class Operator:
    """One operator: builtin name, tensor indices (-1 = omitted optional input), options.

    ``options``: a dict of option-table fields (snake_case, e.g. ``{"fused_activation_function": 1}``);
    None writes no option table (the runtime then uses its defaults), ``{}`` writes the table with
    schema defaults. ``options_table`` overrides the table the schema pairs with the op.
    """

    opcode: str
    inputs: Sequence[int]
    outputs: Sequence[int]
    options: dict | None = None
    options_table: str | None = None
    version: int = 1
    custom_code: str | None = None  # for opcode "CUSTOM"

    def __post_init__(self):
        self.inputs = [int(i) for i in self.inputs]
        self.outputs = [int(i) for i in self.outputs]


@dataclass
class Model:
    """A one-subgraph model. ``inputs``/``outputs`` default to the graph's free non-constant inputs and
    the op outputs nobody reads. ``signature`` is the SignatureDef key (None: write none); its input and
    output names are the tensors' names."""

    tensors: list[Tensor]
    operators: list[Operator]
    inputs: list[int] | None = None
    outputs: list[int] | None = None
    signature: str | None = "serving_default"
    description: str = "litelens.build"
    subgraph_name: str = "main"
    version: int = 3
    extra: dict = field(default_factory=dict)  # free-form notes, not serialized

    def graph_inputs(self) -> list[int]:
        if self.inputs is not None:
            return list(self.inputs)
        produced = {t for op in self.operators for t in op.outputs}
        seen: list[int] = []
        for op in self.operators:
            for t in op.inputs:
                if t >= 0 and t < len(self.tensors) and t not in produced and t not in seen \
                        and not self.tensors[t].is_constant:
                    seen.append(t)
        return seen

    def graph_outputs(self) -> list[int]:
        if self.outputs is not None:
            return list(self.outputs)
        consumed = {t for op in self.operators for t in op.inputs}
        return [t for op in self.operators for t in op.outputs if t not in consumed]

    def to_bytes(self) -> bytes:
        from litelens.build.writer import write_model

        return write_model(self)

    def save(self, path) -> None:
        with open(path, "wb") as f:
            f.write(self.to_bytes())

    def describe(self) -> dict:
        """A JSON-able summary of the graph (constant values omitted)."""
        return {
            "tensors": [t.describe() for t in self.tensors],
            "operators": [{"opcode": op.opcode, "inputs": list(op.inputs), "outputs": list(op.outputs),
                           "options": op.options} for op in self.operators],
            "inputs": self.graph_inputs(),
            "outputs": self.graph_outputs(),
        }
