"""A trace of every op as it runs, in the manner of ONNX's reference evaluator (``litelens run -v``).

* level 1: one line per op: ``op 12 SUB(t104 'a', t119 'b') -> t120 'c'``;
* level 2: also each output's dtype, shape and range (codes, and real values when quantized);
* level 3: also its first values.

``Tracer(level, write)`` is an ``invoke(observer=...)`` callback.
"""
from __future__ import annotations

import numpy as np

from litelens.inspect.values import is_quantized, real_values

FIRST_VALUES = 8


def _name(name: str, width: int = 48) -> str:
    name = name.split(";")[0]  # a fused op's output is named after all its parts
    return name if len(name) <= width else "…" + name[-(width - 1):]


def _tensor(t) -> str:
    return "-" if t is None else f"t{t.index} '{_name(t.name)}'"


def _range(values: np.ndarray) -> str:
    if values.size == 0:
        return "empty"
    finite = values[np.isfinite(values)] if values.dtype.kind == "f" else values
    if finite.size == 0:
        return "no finite value"
    lo, hi = finite.min(), finite.max()
    if values.dtype.kind == "f":
        return f"[{lo:.6g}, {hi:.6g}]"
    return f"[{int(lo)}, {int(hi)}]"


def _first(values: np.ndarray) -> str:
    flat = values.reshape(-1)[:FIRST_VALUES]
    if values.dtype.kind == "f":
        shown = ", ".join(f"{v:.6g}" for v in flat)
    else:
        shown = ", ".join(str(v) for v in flat.tolist())
    return f"[{shown}{', ...' if values.size > FIRST_VALUES else ''}]"


class Tracer:
    def __init__(self, level: int, write=print):
        self.level = level
        self.write = write

    def __call__(self, node, params, inputs, outputs) -> None:
        ins = ", ".join(_tensor(t) for t in node.inputs)
        outs = ", ".join(_tensor(t) for t in node.outputs)
        self.write(f"op {node.index} {node.opcode}({ins}) -> {outs}")
        if self.level < 2:
            return
        for t, value in zip(node.outputs, outputs):
            line = f"    t{t.index} {value.dtype.name}{list(value.shape)} in {_range(value)}"
            quantized = is_quantized(t.dtype, t.quantization)
            real = None
            if quantized:
                q = t.quantization
                real = real_values(value, t.dtype, q)
                quant = ("per-channel" if q.per_channel
                         else f"scale {q.single_scale:.6g}, zero point {q.single_zero_point}")
                line += f", real {_range(real)} ({quant})"
            self.write(line)
            if self.level >= 3:
                self.write(f"      first values: {_first(value)}")
                if real is not None:
                    self.write(f"      real:         {_first(real)}")
