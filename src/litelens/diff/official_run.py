"""One run of the official interpreter that keeps every tensor and tells which ones it never wrote.

Runs wherever it is called; :mod:`litelens.diff.worker` calls it in a child process so that an abort
inside the official kernels is reported instead of killing the caller.

"Never written": before invoke, every tensor the graph computes is filled with a sentinel byte; a
tensor still holding only that byte afterwards is re-checked on a fresh interpreter with a second
sentinel, and counts as unwritten when it holds that one too (e.g. tensors after a failed op, or the
intermediates of a delegate that does not write them back).
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

SENTINELS = (0x5A, 0xC3)
BOOL_SENTINELS = (0x01, 0x00)  # a bool tensor reads back as 0/1 whatever byte it holds


@dataclass
class OfficialRun:
    resolver: str
    values: dict[int, np.ndarray] = field(default_factory=dict)  # model tensors it wrote (and inputs)
    unwritten: set[int] = field(default_factory=set)  # computed tensors it never wrote
    error: str | None = None  # why it refused the model or failed at invoke
    stage: str | None = None  # "load" (construct/allocate) or "invoke", with error
    crashed: str | None = None  # the process died (signal, exit status, timeout) and the last output
    seconds: float = 0.0

    @property
    def ran(self) -> bool:
        return self.error is None and self.crashed is None


@dataclass(frozen=True)
class GraphFacts:
    """What the check needs from the FlatBuffer, read with the schema bindings only."""

    tensor_count: int
    constants: frozenset[int]  # tensors with data in the file
    folded: frozenset[int]  # DEQUANTIZE outputs of constants: computed once at Prepare, never refilled
    inputs: tuple[int, ...]


def graph_facts(model_content: bytes) -> GraphFacts:
    import tflite

    root = tflite.Model.GetRootAs(model_content, 0)
    graph = root.Subgraphs(0)
    constants = set()
    for i in range(graph.TensorsLength()):
        buffer = root.Buffers(graph.Tensors(i).Buffer())
        if buffer is not None and (buffer.DataLength() > 0 or buffer.Size() > 0):
            constants.add(i)
    folded = set()
    dequantize = tflite.BuiltinOperator.DEQUANTIZE
    for j in range(graph.OperatorsLength()):
        op = graph.Operators(j)
        code = root.OperatorCodes(op.OpcodeIndex())
        if max(code.BuiltinCode(), code.DeprecatedBuiltinCode()) == dequantize and op.InputsLength() \
                and op.Inputs(0) in constants:
            folded.update(op.Outputs(k) for k in range(op.OutputsLength()))
    inputs = tuple(graph.Inputs(k) for k in range(graph.InputsLength()))
    return GraphFacts(graph.TensorsLength(), frozenset(constants), frozenset(folded), inputs)


def _sentinel(dtype: np.dtype, which: int) -> int:
    return (BOOL_SENTINELS if dtype == np.bool_ else SENTINELS)[which]


def _all_bytes(value: np.ndarray, byte: int) -> bool:
    raw = np.ascontiguousarray(value).reshape(-1).view(np.uint8)
    return raw.size > 0 and bool((raw == byte).all())


def _one_run(model_content, inputs, resolver, facts: GraphFacts, which: int | None):
    from litelens.official import official_interpreter, set_inputs

    interp = official_interpreter(model_content, resolver)
    filled = []
    if which is not None:
        for index in range(facts.tensor_count):
            if index in facts.constants or index in facts.folded or index in facts.inputs:
                continue
            try:
                value = interp.get_tensor(index)
            except ValueError:  # no buffer (unused tensor)
                continue
            if value.size == 0:
                continue
            fill = np.full(value.nbytes, _sentinel(value.dtype, which), np.uint8).view(value.dtype).reshape(value.shape)
            interp.set_tensor(index, fill)
            filled.append(index)
    set_inputs(interp, inputs)
    error = None
    try:
        interp.invoke()
    except RuntimeError as err:
        error = str(err).strip()
    return interp, filled, error


def run_official_kept(model_content: bytes, inputs: dict, resolver: str,
                      detect_unwritten: bool = True) -> OfficialRun:
    """Run once with every tensor kept; values of every model tensor (not scratch tensors), not constants."""
    start = time.perf_counter()
    result = OfficialRun(resolver)
    try:
        facts = graph_facts(model_content)
    except Exception as err:  # noqa: BLE001 - an unreadable file is a finding like any refusal
        result.error, result.stage = f"unreadable model: {type(err).__name__}: {err}", "load"
        return result
    try:
        interp, filled, error = _one_run(model_content, inputs, resolver, facts, 0 if detect_unwritten else None)
    except (RuntimeError, ValueError, KeyError, TypeError) as err:
        result.error, result.stage = str(err).strip() or type(err).__name__, "load"
        result.seconds = time.perf_counter() - start
        return result
    if error is not None:
        result.error, result.stage = error, "invoke"
    for index in range(facts.tensor_count):
        if index in facts.constants:
            continue
        try:
            result.values[index] = np.array(interp.get_tensor(index))
        except ValueError:
            continue
    suspects = [i for i in filled if i in result.values
                and _all_bytes(result.values[i], _sentinel(result.values[i].dtype, 0))]
    if suspects:
        second, _, _ = _one_run(model_content, inputs, resolver, facts, 1)
        for index in suspects:
            value = np.array(second.get_tensor(index))
            if _all_bytes(value, _sentinel(value.dtype, 1)):
                result.unwritten.add(index)
                del result.values[index]
    result.seconds = time.perf_counter() - start
    return result
