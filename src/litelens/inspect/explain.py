"""The arithmetic of one output element of an integer op, step by step.

``explain(interp, op_index, element)`` reads the op's input codes and its Prepare results
(multipliers, shifts, zero points, tables) from a litelens Interpreter that has run, and recomputes
one output element the way the official reference kernel does: accumulator, zero points,
multiplier and shift, the value before rounding, the rounding rule, the clamp. The recomputed code is
checked against the code the interpreter actually produced (``Explanation.matches``), and set beside
the exact real-valued result of the op on its own dequantized inputs (the local error of that element).

The per-op arithmetic lives in :mod:`litelens.inspect.explain_ops`: FULLY_CONNECTED, BATCH_MATMUL,
ADD, SUB, MUL, SQUARED_DIFFERENCE, DIV, SOFTMAX (8-bit), QUANTIZE, DEQUANTIZE, TANH, LOGISTIC, GELU
(8-bit tables), RSQRT (int8), MEAN and SUM. Ops that only move data are described as copies; other ops
get the element's codes, real values and error only.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from litelens.inspect.explain_ops import EXPLAINERS, Context, Step
from litelens.inspect.shadow import DATA_MOVEMENT, NoShadow, run_shadow
from litelens.inspect.values import is_quantized, real_values, scale_array

__all__ = ["Explanation", "Step", "explain", "parse_element", "EXPLAINERS"]


@dataclass
class Explanation:
    op_index: int
    opcode: str
    tensor: tuple[int, str]  # the output tensor (index, name)
    element: tuple[int, ...]
    steps: list[Step] = field(default_factory=list)
    computed: Any = None  # the output recomputed from the steps (None when there are no steps)
    actual: Any = None  # what the interpreter produced
    output_real: float | None = None
    exact_real: float | None = None  # the op in real arithmetic on its own dequantized inputs
    error_lsb: float | None = None
    note: str = ""

    @property
    def has_arithmetic(self) -> bool:
        return self.computed is not None

    @property
    def matches(self) -> bool | None:
        """Whether the step-by-step recomputation gives the interpreter's output (None without steps)."""
        if self.computed is None:
            return None
        computed, actual = np.asarray(self.computed), np.asarray(self.actual)
        if actual.dtype.kind == "f":
            return bool(np.float32(computed) == actual) or bool(np.isnan(computed) and np.isnan(actual))
        return int(computed) == int(actual)

    def render(self) -> str:
        lines = [f"op {self.op_index} {self.opcode}, output tensor {self.tensor[0]} '{self.tensor[1]}', "
                 f"element {list(self.element)}"]
        if self.note:
            lines.append(f"  {self.note}")
        width = max([len(s.label) for s in self.steps] + [10])
        for s in self.steps:
            detail = f"   ({s.detail})" if s.detail else ""
            lines.append(f"  {s.label:<{width}} = {_show(s.value)}{detail}")
        if self.computed is not None:
            verdict = "matches" if self.matches else "DOES NOT MATCH"
            lines.append(f"  recomputed {_show(self.computed)}; the interpreter produced {_show(self.actual)}: "
                         f"{verdict}")
        else:
            lines.append(f"  the interpreter produced {_show(self.actual)}")
        if self.output_real is not None:
            lines.append(f"  real value of the output        = {self.output_real:.9g}")
        if self.exact_real is not None:
            lines.append(f"  exact (float64, same inputs)    = {self.exact_real:.9g}")
        if self.error_lsb is not None:
            lines.append(f"  local error                     = {self.error_lsb:+.4f} LSB")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {
            "op_index": self.op_index, "op_name": self.opcode,
            "tensor": {"index": self.tensor[0], "name": self.tensor[1]},
            "element": list(self.element),
            "steps": [{"label": s.label, "value": _plain(s.value), "detail": s.detail} for s in self.steps],
            "computed": _plain(self.computed), "actual": _plain(self.actual), "matches": self.matches,
            "output_real": self.output_real, "exact_real": self.exact_real, "error_lsb": self.error_lsb,
            "note": self.note,
        }


def _plain(value):
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value


def _show(value) -> str:
    value = _plain(value)
    if isinstance(value, float):
        return f"{value:.9g}"
    if isinstance(value, list) and len(value) > 12:
        return f"[{', '.join(map(str, value[:12]))}, ... ({len(value)} values)]"
    return str(value)


# ---------------------------------------------------------------------- entry point
def parse_element(spec: str | None):
    """'' or None -> None (the default element); '5' -> 5 (flat index); '0,3,7' -> (0, 3, 7)."""
    if spec is None or spec.strip() == "":
        return None
    parts = [p.strip() for p in spec.strip("[]() ").split(",") if p.strip()]
    try:
        numbers = [int(p) for p in parts]
    except ValueError:
        raise ValueError(f"element {spec!r} must be a flat index or comma-separated indices") from None
    return numbers[0] if len(numbers) == 1 and "," not in spec else tuple(numbers)


def _normalize_element(element, shape: tuple[int, ...]) -> tuple[int, ...]:
    size = int(np.prod(shape, dtype=np.int64))
    if isinstance(element, (int, np.integer)):
        if not 0 <= element < size:
            raise ValueError(f"element {element} is outside the output's {size} elements")
        return tuple(int(i) for i in np.unravel_index(int(element), shape))
    element = tuple(int(i) for i in element)
    if len(element) != len(shape) or any(not 0 <= i < d for i, d in zip(element, shape)):
        raise ValueError(f"element {list(element)} does not index an output of shape {list(shape)}")
    return element


def explain(interp, op_index: int, element=None) -> Explanation:
    """Explain output element ``element`` (flat index or index tuple; default: the largest local
    error) of op ``op_index``'s first output, from the interpreter's current tensors."""
    nodes = interp.nodes
    if not 0 <= op_index < len(nodes):
        raise ValueError(f"op {op_index} does not exist; the model has ops 0..{len(nodes) - 1}")
    node = nodes[op_index]
    params = interp.op_params(op_index)
    inputs = [None if t is None else interp.get_tensor(t.index) for t in node.inputs]
    out_t = node.outputs[0]
    output = interp.get_tensor(out_t.index)
    if output.size == 0:
        raise ValueError(f"op {op_index} {node.opcode} has an empty output")
    quantized = is_quantized(out_t.dtype, out_t.quantization)
    real = real_values(output, out_t.dtype, out_t.quantization)
    exact = None
    try:
        real_inputs = [None if t is None else real_values(v, t.dtype, t.quantization)
                       for t, v in zip(node.inputs, inputs)]
        exact = run_shadow(node, params, real_inputs)[0]
    except NoShadow:
        pass
    lsb = scale_array(out_t.quantization, output.ndim) if quantized else 1.0
    if element is None:
        if exact is not None:
            err = np.abs((real - exact) / lsb)
            element = int(np.nanargmax(np.where(np.isfinite(err), err, -1.0).reshape(-1)))
        else:
            element = 0
    element = _normalize_element(element, output.shape)
    result = Explanation(op_index, node.opcode, (out_t.index, out_t.name), element, actual=output[element])
    result.output_real = float(real[element])
    if exact is not None:
        result.exact_real = float(exact[element])
        unit = float(np.broadcast_to(lsb, output.shape)[element]) if quantized else 1.0
        result.error_lsb = (result.output_real - result.exact_real) / unit if quantized else None
    if node.opcode in DATA_MOVEMENT:
        result.note = "this op only moves data: the output code is a copy of an input code (or the padding zero point)"
        return result
    explainer = EXPLAINERS.get(node.opcode)
    if explainer is None:
        result.note = f"no step-by-step arithmetic for {node.opcode} yet: codes, real values and error only"
        return result
    steps: list[Step] = []
    try:
        result.computed = explainer(Context(node, params, inputs, output, element), steps)
    except NotImplementedError as why:
        result.note = str(why)
        return result
    result.steps = steps
    return result
