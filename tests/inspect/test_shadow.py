"""The float64 shadow of every op: coverage, and agreement with the float32 kernels.

A float32 kernel rounds each operation to 24 bits, so against the exact (float64) result of the same
op on the same inputs its output has an SQNR near 140-150 dB (long dot products and exp/tanh tables:
a little lower, 126 dB at worst on the goldens). A shadow with the wrong semantics - a missing bias, a
wrong axis, beta or activation, an approximate GELU for an exact one - is off by far more (< 60 dB).
The thresholds below (110 dB per op, 100 dB along a whole float network) separate the two with margin.
"""
from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
from graph_builder import Graph

import litelens
from litelens.errors import ModelError
from litelens.inspect.shadow import SHADOWS, run_shadow
from litelens.inspect.values import real_values

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "models"
LOCAL_MIN_DB = 110.0
PROPAGATED_MIN_DB = 100.0


def test_every_supported_op_has_a_shadow():
    missing = sorted(set(litelens.supported_ops()) - set(SHADOWS))
    assert not missing, f"ops litelens runs without a real-valued shadow in litelens/inspect/shadow.py: {missing}"


def _tanh_then_add() -> bytes:
    g = Graph()
    x = g.input("x", np.float32, (2, 5))
    t = g.tensor("t", np.float32, (2, 5))
    y = g.tensor("y", np.float32, (2, 5))
    g.op("TANH", [x], [t])
    g.op("ADD", [t, x], [y])
    g.outputs = [y]
    return g.to_bytes()


def test_an_op_without_a_shadow_is_reported_not_guessed(monkeypatch):
    monkeypatch.delitem(SHADOWS, "TANH")
    result = litelens.inspect(_tanh_then_add())
    tanh, add = result.op(0), result.op(1)
    assert "TANH has no real-valued shadow" in tanh.shadow_note
    assert tanh.output.local is None and tanh.output.propagated is None
    assert add.output.local is not None  # its own inputs exist: the local error is still measured
    assert add.output.propagated is None and "op 0 TANH" in add.output.notes["propagated"]
    assert result.without_shadow() == [tanh]
    assert tanh.to_record()["local_sqnr_db"] is None


def _inspect_golden(name: str):
    path = GOLDEN / f"{name}.tflite"
    if not path.is_file():
        pytest.skip(f"no golden model {path}")
    try:
        return litelens.inspect(path)
    except ModelError as err:  # an op another part of litelens has not landed yet
        if "unsupported op" in str(err):
            pytest.skip(str(err).split(".")[0])
        raise


@pytest.mark.parametrize("name", ["mobilebert-tiny-float32", "bert-tiny-float32"])
def test_shadow_agrees_with_the_float_kernels_on_the_golden_float_models(name):
    result = _inspect_golden(name)
    assert not result.without_shadow()
    for op in result.ops:
        assert op.local_sqnr_db >= LOCAL_MIN_DB, (op.index, op.opcode, op.local_sqnr_db)
        assert op.propagated_sqnr_db >= PROPAGATED_MIN_DB, (op.index, op.opcode, op.propagated_sqnr_db)
        if op.opcode in ("RESHAPE", "TRANSPOSE", "GATHER", "STRIDED_SLICE", "PAD", "CONCATENATION", "CAST"):
            assert op.local_sqnr_db == math.inf, (op.index, op.opcode)


def test_a_float_model_against_itself_as_twin_is_exact():
    path = GOLDEN / "mobilebert-tiny-float32.tflite"
    result = litelens.inspect(path, path)
    assert not result.unmatched
    assert all(op.float_sqnr_db == math.inf for op in result.ops)


def test_data_movement_shadows_are_exact():
    g = Graph()
    x = g.input("x", np.float32, (2, 1, 6))
    ids = g.input("ids", np.int32, (2, 3))
    squeezed = g.tensor("squeezed", np.float32, (2, 6))
    g.op("SQUEEZE", [x], [squeezed], ("SqueezeOptions", {"SqueezeDims": [1]}))
    axis = g.tensor("axis", np.int32, (1,), data=[0])
    expanded = g.tensor("expanded", np.float32, (1, 2, 6))
    g.op("EXPAND_DIMS", [squeezed, axis], [expanded])
    paddings = g.tensor("paddings", np.int32, (3, 2), data=[[0, 0], [1, 0], [2, 1]])
    value = g.tensor("value", np.float32, (), data=[-1.5])
    padded = g.tensor("padded", np.float32, (1, 3, 9))
    g.op("PADV2", [expanded, paddings, value], [padded])
    begin = g.tensor("begin", np.int32, (3,), data=[0, 2, 7])
    end = g.tensor("end", np.int32, (3,), data=[1, 0, 0])
    strides = g.tensor("strides", np.int32, (3,), data=[1, -1, -2])
    sliced = g.tensor("sliced", np.float32, (2, 4))  # shrink dim 0, dims 1 and 2 reversed with masks
    g.op("STRIDED_SLICE", [padded, begin, end, strides], [sliced],
         ("StridedSliceOptions", {"ShrinkAxisMask": 1, "EndMask": 6}))
    table = g.tensor("table", np.float32, (2, 5, 3), data=np.arange(30, dtype=np.float32))
    gathered = g.tensor("gathered", np.float32, (2, 3, 3))
    g.op("GATHER", [table, ids], [gathered], ("GatherOptions", {"Axis": 1, "BatchDims": 1}))
    cast = g.tensor("cast", np.float32, (2, 3))
    g.op("CAST", [ids], [cast])
    g.outputs = [sliced, gathered, cast]
    rng = np.random.default_rng(0)
    inputs = {x: rng.standard_normal((2, 1, 6)).astype(np.float32), ids: rng.integers(0, 5, (2, 3)).astype(np.int32)}
    result = litelens.inspect(g.to_bytes(), inputs=inputs)
    for op in result.ops:
        assert op.local_sqnr_db == math.inf and op.propagated_sqnr_db == math.inf, (op.opcode, op.output.notes)
    expected = np.take_along_axis(np.arange(30.0).reshape(2, 5, 3), inputs[ids][:, :, None], axis=1)
    np.testing.assert_array_equal(result.interpreter.get_tensor(gathered), expected)


def test_shadow_of_each_zoo_op_against_the_official_float_interpreter():
    """Each op's shadow, fed the official interpreter's own float inputs, gives its output within float32
    rounding, for every op the converter emits from the zoo (tests/inspect/zoo.py)."""
    pytest.importorskip("tensorflow")
    pytest.importorskip("ai_edge_litert")
    from zoo import zoo_inputs, zoo_model

    from litelens.official import run_official

    model = zoo_model("float32")
    inputs = zoo_inputs(model)
    theirs = run_official(model, inputs, "reference")
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    seen = set()
    for node in interp.nodes:
        values = [None if t is None else (t.data if t.data is not None else theirs[t.index]) for t in node.inputs]
        real = [None if v is None else real_values(v, t.dtype, t.quantization) for v, t in zip(values, node.inputs)]
        (shadow,) = run_shadow(node, interp.op_params(node.index), real)
        official = theirs[node.outputs[0].index].astype(np.float64)
        noise = ((shadow - official) ** 2).sum()
        sqnr = math.inf if noise == 0 else 10 * math.log10((shadow ** 2).sum() / noise)
        assert sqnr >= LOCAL_MIN_DB, (node.index, node.opcode, sqnr)
        seen.add(node.opcode)
    expected = {"ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "RSQRT", "SOFTMAX", "LOGISTIC", "TANH", "GELU",
                "MEAN", "SUM", "CONCATENATION", "FULLY_CONNECTED", "BATCH_MATMUL", "RESHAPE", "SLICE", "PAD",
                "TRANSPOSE", "GATHER"}
    assert expected <= seen, expected - seen
