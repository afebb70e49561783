"""The fuzzer's parts: generators (every supported op, deterministic, valid), shrinking, saving a
case that ``litelens diff`` reproduces, and resolvers whose mismatches are reported but not failed."""
from __future__ import annotations

import json

import numpy as np
import pytest

import litelens
from litelens.fuzz.generators import generator_for, load_all
from litelens.fuzz.runner import case_rng, default_ops
from litelens.fuzz.shrink import parameter_candidates, shrink


def test_every_supported_op_has_a_generator():
    missing = sorted(set(litelens.supported_ops()) - set(load_all()))
    assert not missing, f"no fuzz generator for {missing}: add one under litelens/fuzz/generators/"
    assert default_ops() == litelens.supported_ops()


@pytest.mark.parametrize("op", sorted(load_all()))
def test_generator_is_deterministic_and_json_able(op):
    g = generator_for(op)
    for i in range(5):
        params = g.sample(case_rng(1, op, i), op)
        assert json.loads(json.dumps(params)) == params
        a, b = g.build(params), g.build(json.loads(json.dumps(params)))
        assert a.content == b.content
        assert a.inputs.keys() == b.inputs.keys()
        for k in a.inputs:
            np.testing.assert_array_equal(a.inputs[k], b.inputs[k])
        assert g.sample(case_rng(1, op, i), op) == params


def test_shrink_reduces_a_case_that_keeps_failing():
    """A stand-in failure: 'an int8 ADD whose first input holds 127 somewhere'. The shrinker must keep
    that property while making the case smaller (shape, options, quantization, values)."""
    g = generator_for("ADD")
    i = 0
    while True:
        params = g.sample(case_rng(5, "ADD", i), "ADD")
        params.update(dtype="int8", out_shape=[3, 4, 5], mask1=[False] * 3, mask2=[False, True, False],
                      drop1=0, drop2=0, activation=2, mode1="extremes", s1=0.37, z1=-128)
        params.update(s2=0.5, z2=3, so=0.9, zo=100)
        case = g.build(params)
        if (case.inputs[0] == 127).any():
            break
        i += 1

    def still_fails(c):
        return bool((c.inputs[0] == 127).any())

    small, tried = shrink(case, g.build, still_fails, budget=400)
    assert still_fails(small) and tried > 0
    assert small.inputs[0].size < case.inputs[0].size
    assert small.params["activation"] == 0 and small.params["zo"] == 0
    assert int((small.inputs[0] == 127).sum()) == 1  # every other value reset to the zero point
    assert any(parameter_candidates(case.params))


@pytest.mark.official
def test_optimized_mismatches_are_saved_reported_and_reproducible(tmp_path):
    pytest.importorskip("ai_edge_litert")
    from litelens.cli import main as cli_main
    from litelens.fuzz.runner import run_fuzz

    # litelens's reference flavor against the official optimized kernels: they round differently
    result = run_fuzz(["FULLY_CONNECTED", "QUANTIZE"], n=120, seed=2, against=("reference", "optimized"),
                      out=tmp_path, save_limit=1, flavor="reference")
    assert result.failures(("reference",)) == 0
    assert result.count("mismatch", ("optimized",)) > 0
    assert result.failures(("optimized",)) > 0
    saved = [f for f in result.findings if f.resolver == "optimized"]
    assert saved and all(f.path for f in saved)
    case_dir = tmp_path / "optimized" / saved[0].op
    [directory] = [d for d in case_dir.iterdir() if d.is_dir()]
    report = json.loads((directory / "case.json").read_text())
    assert report["outcome"]["kind"] == "mismatch" and (directory / "original" / "model.tflite").exists()
    model, inputs = str(directory / "model.tflite"), str(directory / "inputs.npz")
    assert cli_main(["diff", model, "--inputs", inputs, "--against", "optimized"]) == 1
    assert cli_main(["diff", model, "--inputs", inputs, "--against", "reference"]) == 0
    # litelens's optimized flavor reproduces that case
    assert cli_main(["diff", model, "--inputs", inputs, "--against", "optimized", "--flavor", "optimized"]) == 0


@pytest.mark.official
def test_cli_fuzz_exit_status(tmp_path, capsys, monkeypatch):
    pytest.importorskip("ai_edge_litert")
    from litelens.cli import main as cli_main
    from litelens.fuzz import check as check_module

    summary = tmp_path / "summary.json"
    assert cli_main(["fuzz", "--ops", "MUL,SOFTMAX", "--n", "60", "--json", str(summary)]) == 0
    data = json.loads(summary.read_text())
    assert {row["op"] for row in data["ops"]} == {"MUL", "SOFTMAX"}
    assert {row["resolver"] for row in data["ops"]} == {"reference", "optimized", "xnnpack"}
    assert sum(row["cases"] for row in data["ops"]) == 3 * 60
    assert "no failures against reference, optimized, xnnpack" in capsys.readouterr().out
    assert cli_main(["fuzz", "--ops", "MUL", "--n", "2", "--flavor", "bogus"]) == 2

    real_run = check_module.run_litelens

    def broken_run(*args, **kwargs):  # a litelens that gets every op output wrong
        run = real_run(*args, **kwargs)
        outputs = {t for op in run.interpreter.graph.operators for t in op.outputs} if run.interpreter else ()
        for index in outputs:
            if index in run.values:
                run.values[index] = run.values[index] + np.ones((), run.values[index].dtype)
        return run

    monkeypatch.setattr(check_module, "run_litelens", broken_run)
    assert cli_main(["fuzz", "--ops", "FULLY_CONNECTED", "--n", "4", "--against", "optimized",
                     "--fail-on", "optimized", "--no-shrink"]) == 1
    assert cli_main(["fuzz", "--ops", "NOT_AN_OP"]) == 2
