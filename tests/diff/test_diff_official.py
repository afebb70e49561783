"""``litelens diff`` against the official interpreter: the golden tiny MobileBERT (bit-exact with the
reference resolver, a named first divergent op under optimized and xnnpack), exit statuses, JSON,
and an official abort reported instead of killing the caller."""
from __future__ import annotations

import json

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

from litelens import build  # noqa: E402
from litelens.cli import main as cli_main  # noqa: E402
from litelens.diff.run import diff_model  # noqa: E402
from litelens.diff.worker import OfficialWorker  # noqa: E402
from litelens.goldens import golden_dir, load_recording  # noqa: E402

MODEL = golden_dir() / "models" / "mobilebert-tiny-int8.tflite"


@pytest.fixture(scope="module")
def worker():
    with OfficialWorker() as w:
        yield w


@pytest.fixture(scope="module")
def mobilebert_report(worker):
    rec = load_recording("mobilebert-tiny-int8/reference")
    return diff_model(MODEL.read_bytes(), rec.inputs[0], worker=worker, model_name=str(MODEL))


def test_mobilebert_reference_is_bit_exact(mobilebert_report):
    reference = next(f for f in mobilebert_report.findings if f.resolver == "reference")
    assert reference.comparison.compared == 114  # every non-constant tensor of the model
    assert reference.bit_exact_share == 1.0 and reference.first is None and not reference.divergent
    assert reference.official.unwritten == set()


def test_mobilebert_first_divergent_ops(mobilebert_report):
    """Against the golden recordings: optimized first parts at op 21 (FULLY_CONNECTED, ruy's
    fixed-point requantization), xnnpack at op 16 (MUL, float32 scale, half to even)."""
    found = {f.resolver: f for f in mobilebert_report.findings}
    for resolver, (op, opcode) in {"optimized": (21, "FULLY_CONNECTED"), "xnnpack": (16, "MUL")}.items():
        f = found[resolver]
        assert (f.first.index, f.first.opcode) == (op, opcode)
        rec = load_recording(f"mobilebert-tiny-int8/{resolver}")
        out = f.first.outputs[0]
        np.testing.assert_array_equal(f.official.values[out], rec.tensors[0][out])
        assert 0 < f.bit_exact_share < 1
        assert f.elements and all(e.ours != e.official for e in f.elements)
        assert all(e.accumulator is not None and e.exact is not None for e in f.elements)
        # the official side rounded differently from litelens on every element shown
        assert all(e.ours_rounding != e.official_rounding for e in f.elements)
        growth = {g.name: g for g in f.layers}
        assert growth["layer 1"].differing_elements > growth["layer 0"].differing_elements
    assert mobilebert_report.exit_code == 1


def test_cli_exit_status_and_json(tmp_path, capsys):
    out = tmp_path / "findings.json"
    assert cli_main(["diff", str(MODEL), "--against", "reference", "--json", str(out)]) == 0
    data = json.loads(out.read_text())
    [ref] = data["resolvers"]
    assert ref["bit_exact_share"] == 1.0 and ref["status"] == "equal" and data["exit_code"] == 0
    assert "100.0%" in capsys.readouterr().out  # the text report
    assert cli_main(["diff", str(MODEL), "--against", "optimized", "--json", "-"]) == 1
    printed = json.loads(capsys.readouterr().out)
    first = printed["resolvers"][0]["first_divergent_op"]
    assert first["opcode"] == "FULLY_CONNECTED" and first["elements"]
    assert cli_main(["diff", str(MODEL), "--against", "nonsense"]) == 2
    garbage = tmp_path / "garbage.tflite"
    garbage.write_bytes(b"not a model at all")
    assert cli_main(["diff", str(garbage)]) == 2


def _softmax_model(depth: int) -> bytes:
    return build.single_op("SOFTMAX", [build.Tensor([1, depth], "int8", "x", scale=1.0)],
                           [build.Tensor([1, depth], "int8", "y", scale=1 / 256, zero_point=-128)],
                           {"beta": 1.0}).to_bytes()


def test_official_abort_is_reported_and_the_worker_recovers(worker):
    """A row of 600 equal int8 values overflows the reference softmax's sum: the official process aborts."""
    model = _softmax_model(600)
    run = worker.run(model, {0: np.full((1, 600), 127, np.int8)}, "reference")
    assert run.crashed and "SIGABRT" in run.crashed
    report = diff_model(model, {0: np.full((1, 600), 127, np.int8)}, ["reference"], worker=worker)
    assert report.exit_code == 2 and report.findings[0].official.crashed
    ok = worker.run(model, {0: np.arange(600).astype(np.int8).reshape(1, 600)}, "reference")
    assert ok.ran and set(ok.values) == {0, 1}


def test_unwritten_output_is_detected(worker):
    """The official TRANSPOSE of a rank-0 tensor never writes its output: found by the sentinel check."""
    model = build.single_op("TRANSPOSE", [build.Tensor([], "float32", "x"),
                                          build.Tensor([0], "int32", "perm", data=np.zeros(0, np.int32))],
                            [build.Tensor([], "float32", "y")]).to_bytes()
    # Reading a rank-0 TRANSPOSE is undefined behaviour in the official kernel: some runs segfault
    # (the worker restarts). Try until one official run completes (10 tries: a flake rate below 0.1%).
    for _ in range(10):
        run = worker.run(model, {0: np.array(1.5, np.float32)}, "reference")
        if run.ran:
            break
    assert run.ran and run.unwritten == {2}
    for _ in range(10):
        report = diff_model(model, {0: np.array(1.5, np.float32)}, ["reference"], worker=worker)
        if not report.findings[0].official.crashed:
            break
    assert report.findings[0].comparison.tensors[2].status == "not-written-by-official"
