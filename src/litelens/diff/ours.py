"""One litelens run that keeps every tensor it computed and says how far it got."""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from litelens.errors import ModelError


@dataclass
class OursRun:
    flavor: str
    values: dict[int, np.ndarray] = field(default_factory=dict)  # inputs and every op output computed
    error: str | None = None
    stage: str | None = None  # "load", "allocate" or "invoke", with error
    ops_run: int = 0
    seconds: float = 0.0
    interpreter: object | None = None  # the litelens Interpreter (for Prepare results, nodes)

    @property
    def ran(self) -> bool:
        return self.error is None


def run_litelens(model_content: bytes, inputs: dict, flavor="reference",
                 on_op: Callable[[int], None] | None = None) -> OursRun:
    """Load, allocate, set ``inputs`` (tensor index or input name -> array) and invoke.

    A ModelError at any stage is recorded, not raised; so is any other exception (a litelens bug,
    reported with its type). ``on_op(op_index)`` is called after each op (progress bars).
    """
    import litelens

    start = time.perf_counter()
    result = OursRun(flavor if isinstance(flavor, str) else "mixed")
    stage = "load"
    try:
        interp = litelens.Interpreter(model_content=model_content, flavor=flavor)
        stage = "allocate"
        interp.allocate_tensors()
        result.interpreter = interp
        stage = "invoke"
        by_name = {d["name"]: d["index"] for d in interp.get_input_details()}
        for key, value in inputs.items():
            interp.set_tensor(by_name[key] if isinstance(key, str) else int(key), np.asarray(value))
        for index in interp.graph.inputs:
            result.values[index] = interp.get_tensor(index)

        def observe(node, params, op_inputs, op_outputs):
            result.ops_run += 1
            for index, value in zip(node.outputs, op_outputs):
                result.values[index.index] = np.array(value)
            if on_op is not None:
                on_op(node.index)

        interp.invoke(observer=observe)
    except ModelError as err:
        result.error, result.stage = str(err), stage
    except Exception as err:  # noqa: BLE001 - a litelens bug: report it like any other finding
        result.error, result.stage = f"{type(err).__name__}: {err} (a litelens bug)", stage
    result.seconds = time.perf_counter() - start
    return result
