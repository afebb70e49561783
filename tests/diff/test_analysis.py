"""The diff's analysis on hand-made runs (no official interpreter needed): which op is the first
divergent one, which ops diverge independently, layer grouping and growth, rounding labels."""
from __future__ import annotations

import numpy as np
import pytest

from litelens import build
from litelens.diff.analysis import divergent_ops, layer_growth, layer_of_ops, unobserved_start
from litelens.diff.compare import DIFFERS, EQUAL, MISSING_OFFICIAL, compare_arrays, compare_runs
from litelens.diff.elements import explain_elements, rounding
from litelens.diff.ours import run_litelens


def _chain(names=("layer.0/a", "layer.0/b", "layer.1/c", "pooler")):
    """x -> TANH -> TANH -> TANH -> TANH, int8, output names as given."""
    q = dict(scale=1 / 64, zero_point=0)
    tensors = [build.Tensor([2, 8], "int8", "x", **q)]
    ops = []
    for i, name in enumerate(names):
        tensors.append(build.Tensor([2, 8], "int8", name, **q))
        ops.append(build.Operator("TANH", [i], [i + 1]))
    return build.graph(tensors, ops).to_bytes()


def _runs(model: bytes):
    x = np.random.default_rng(0).integers(-128, 128, (2, 8)).astype(np.int8)
    ours = run_litelens(model, {0: x})
    assert ours.ran, ours.error
    return ours, {k: v.copy() for k, v in ours.values.items()}


def test_first_divergent_op_and_independent_ones():
    ours, theirs = _runs(_chain())
    graph = ours.interpreter.graph
    comparison = compare_runs(graph, ours.values, theirs)
    assert not comparison.differing and divergent_ops(graph, comparison) == []
    theirs[2] = theirs[2].copy()
    theirs[2][1, 3] += 1  # op 1 differs; so does everything downstream
    theirs[3] = theirs[3] + 1
    theirs[4] = theirs[4] + 1
    comparison = compare_runs(graph, ours.values, theirs)
    found = divergent_ops(graph, comparison)
    assert [(d.index, d.opcode) for d in found] == [(1, "TANH")]
    assert found[0].inputs == [1] and found[0].outputs == [2]
    assert comparison.tensors[2].count == 1 and comparison.tensors[2].first == [1, 3]
    theirs[3] = ours.values[3].copy()  # op 2's output agrees again: op 3 now diverges on its own
    found = divergent_ops(graph, compare_runs(graph, ours.values, theirs))
    assert [d.index for d in found] == [1, 3]


def test_unwritten_tensors_are_not_compared():
    ours, theirs = _runs(_chain())
    graph = ours.interpreter.graph
    del theirs[2]
    theirs[3] = theirs[3] + 1
    comparison = compare_runs(graph, ours.values, theirs, official_unwritten={2})
    assert comparison.tensors[2].status == MISSING_OFFICIAL
    assert divergent_ops(graph, comparison) == []  # op 2's input could not be compared
    assert unobserved_start(graph, comparison) == 2


def test_layer_groups_and_growth():
    ours, theirs = _runs(_chain())
    graph = ours.interpreter.graph
    assert layer_of_ops(graph) == ["layer 0", "layer 0", "layer 1", "head"]
    theirs[3] = theirs[3] + 2
    theirs[4] = theirs[4] + 3
    growth = {g.name: g for g in layer_growth(graph, compare_runs(graph, ours.values, theirs))}
    assert growth["layer 0"].differing == 0 and growth["layer 1"].differing == 1
    assert growth["layer 1"].max_abs == 2 and growth["head"].max_abs == 3
    assert growth["head"].last_differing_share == 1.0
    assert growth["layer 1"].max_real == pytest.approx(2 / 64)


def test_unnumbered_graph_is_cut_in_runs():
    ours, _ = _runs(_chain(("a", "b", "c", "d")))
    assert layer_of_ops(ours.interpreter.graph) == ["ops 0-0", "ops 1-1", "ops 2-2", "ops 3-3"]
    ours, _ = _runs(_chain(("embed", "encoder/layer_0/x", "encoder/layer_0/y;encoder/layer_1/z", "out")))
    assert layer_of_ops(ours.interpreter.graph) == ["before layer 0", "layer 0", "layer 1", "head"]


def test_compare_arrays_floats_and_shapes():
    a = np.array([1.0, np.nan, -0.0, 2.0], np.float32)
    assert compare_arrays(a, np.array([1.0, np.nan, 0.0, 2.0], np.float32))["status"] == EQUAL
    d = compare_arrays(a, np.array([1.0, 3.0, 0.0, 2.5], np.float32))
    assert d["status"] == DIFFERS and d["count"] == 2 and d["max_abs"] == np.inf and d["first"] == [1]
    assert compare_arrays(a, a[:3])["status"] == "shape-or-dtype"
    assert compare_arrays(a, a + np.float32(1e-7), atol=1e-6)["status"] == EQUAL


@pytest.mark.parametrize("exact,q,label", [
    (2.5, 3, "tie, rounded up"), (2.5, 2, "tie, rounded down"), (-2.5, -2, "tie, rounded up"),
    (2.4999, 2, "to nearest"), (2.4999, 3, "up (not to nearest)"), (-3.5002, -3, "up (not to nearest)"),
    (2.6, 2, "down (not to nearest)"), (200.0, 127, "saturated at 127"), (-130.2, -128, "saturated at -128"),
    (5.0, 8, "off by +3 from nearest"),
])
def test_rounding_labels(exact, q, label):
    assert rounding(exact, q, -128, 127) == label


def test_fully_connected_elements_carry_the_accumulator():
    rng = np.random.default_rng(4)
    w = rng.integers(-127, 128, (3, 5)).astype(np.int8)
    bias = np.array([100, -7, 0], np.int32)
    model = build.single_op("FULLY_CONNECTED", [
        build.Tensor([2, 5], "int8", "x", scale=0.5, zero_point=-3),
        build.Tensor([3, 5], "int8", "w", data=w, scale=0.25),
        build.Tensor([3], "int32", "b", data=bias, scale=0.125),
    ], [build.Tensor([2, 3], "int8", "y", scale=1.0, zero_point=2)], {}).to_bytes()
    x = rng.integers(-128, 128, (2, 5)).astype(np.int8)
    ours = run_litelens(model, {0: x})
    theirs = ours.values[3].copy()
    theirs[1, 2] += 1
    node = ours.interpreter.nodes[0]
    [e] = explain_elements(node, ours.interpreter.op_params(0), ours.values, 3, ours.values[3], theirs, 5)
    acc = int((x[1].astype(np.int64) + 3) @ w[2].astype(np.int64)) + int(bias[2])
    assert e.position == [1, 2] and e.accumulator == acc
    assert e.exact == pytest.approx(acc * 0.125 + 2)
    assert e.ours_rounding in ("to nearest", "tie, rounded up", "tie, rounded down", "saturated at 127",
                               "saturated at -128")
    assert e.official != e.ours


def test_litelens_errors_are_recorded():
    bad = build.single_op("RSQRT", [build.Tensor([3], "int8", "x", scale=0.1, zero_point=0)],
                          [build.Tensor([3], "int8", "y", scale=0.1)]).to_bytes()
    run = run_litelens(bad, {0: np.array([4, -1, 2], np.int8)})
    assert not run.ran and run.stage == "invoke" and "RSQRT" in run.error
    assert set(run.values) == {0}  # the op did not complete
