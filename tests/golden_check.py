"""Recompute a golden recording in litelens and compare every tensor (tests/test_golden_*.py)."""
from __future__ import annotations

import numpy as np
import pytest

import litelens


POISON = 0xA5  # fills the shared arena before each invoke: a kernel that skips an output element shows


def check_recording(rec, flavor: str = "reference", float_tol: float = 0.0, arena: bool = False) -> None:
    """Recompute every tensor of recording ``rec`` in litelens ``flavor``: integers bit for bit, floats
    equal (NaN equal to NaN) or within ``float_tol`` times the recorded tensor's max |value|. A text the
    official interpreter refused must be refused too.

    ``arena=True`` runs without ``preserve_all_tensors`` - intermediates share the activation arena,
    which is filled with garbage before each invoke - and reads each op's outputs as the op finishes."""
    interp = litelens.Interpreter(model_path=rec.model_path, flavor=flavor, preserve_all_tensors=not arena)
    interp.allocate_tensors()
    seen: dict[int, np.ndarray] = {}

    def keep(node, params, inputs, outputs):
        for arg, value in zip(node.outputs, outputs):
            seen[arg.index] = np.array(value)

    if arena:
        assert interp.arena_bytes > 0 or not interp._shared

    index_of = {d["name"]: d["index"] for d in interp.get_input_details()}
    compared, bad = 0, []
    for k, inputs in enumerate(rec.inputs):
        for name, value in inputs.items():
            interp.set_tensor(index_of[name], value)
        if arena:
            for index in interp._shared:
                interp._arrays[index].reshape(-1).view(np.uint8)[:] = POISON
        if rec.errors[k]:
            with pytest.raises(litelens.ModelError):
                interp.invoke()
            continue
        seen.clear()
        interp.invoke(observer=keep if arena else None)
        for index, expected in rec.tensors[k].items():
            got = seen[index] if index in seen else interp.get_tensor(index)
            compared += 1
            name = rec.details[index].name
            if got.dtype != expected.dtype or got.shape != expected.shape:
                bad.append(f"text {k} tensor {index} {name}: {got.dtype}{got.shape} vs {expected.dtype}{expected.shape}")
            elif expected.dtype.kind == "f":
                limit = float_tol * float(np.nanmax(np.abs(expected))) if expected.size else 0.0
                delta = np.abs(got.astype(np.float64) - expected.astype(np.float64))
                same = (got == expected) | (np.isnan(got) & np.isnan(expected))
                if not np.all(same | (delta <= limit)):
                    bad.append(f"text {k} tensor {index} {name}: max |diff| {np.nanmax(delta):.3g} > {limit:.3g}")
            elif not np.array_equal(got, expected):
                n = int((got != expected).sum())
                diff = int(np.abs(got.astype(np.int64) - expected.astype(np.int64)).max())
                bad.append(f"text {k} tensor {index} {name} (op {producer(interp, index)}): "
                           f"{n}/{got.size} differ, max {diff} LSB")
    assert compared > 0
    assert not bad, f"{len(bad)} of {compared} tensors differ:\n" + "\n".join(bad[:20])


def producer(interp, index: int) -> str:
    for op in interp.graph.operators:
        if index in op.outputs:
            return f"{op.index} {op.opcode}"
    return "input"
