"""`litelens diff` explains each divergent op: the rule on each side, checked by re-running the op in
litelens with the official resolver's kernel path (on the shipped tiny MobileBERT int8)."""
import pytest

pytest.importorskip("ai_edge_litert")

from litelens.diff.run import diff_model  # noqa: E402
from litelens.goldens import golden_dir  # noqa: E402
from litelens.inputs import text_inputs  # noqa: E402

MODEL = golden_dir() / "models" / "mobilebert-tiny-int8.tflite"
TEXT = "Quickbite is testing drone deliveries in two suburbs."


def _inputs():
    import litelens

    interp = litelens.Interpreter(model_path=MODEL)
    interp.allocate_tensors()
    return text_inputs(interp, TEXT)


def test_reference_flavor_divergences_are_explained_by_the_other_paths():
    report = diff_model(MODEL.read_bytes(), _inputs(), against=("optimized", "xnnpack"), elements=0)
    first = {}
    for f in report.findings:
        assert f.divergent, f"{f.resolver}: litelens reference should differ from the official {f.resolver} run"
        assert f.rule_checks and all(c.verdict == "explained" for c in f.rule_checks), \
            [c.sentence() for c in f.rule_checks]
        assert all(c.ours_path == "reference" and c.official_path != "reference" for c in f.rule_checks)
        first[f.resolver] = (f.first.index, f.first.opcode, f.rule_checks[0].official_path)
    assert first["optimized"] == (21, "FULLY_CONNECTED", "optimized")
    assert first["xnnpack"] == (16, "MUL", "xnnpack")


@pytest.mark.parametrize("flavor", ["optimized", "xnnpack"])
def test_matching_flavor_has_nothing_to_explain(flavor):
    report = diff_model(MODEL.read_bytes(), _inputs(), against=(flavor,), flavor=flavor, elements=0)
    (f,) = report.findings
    assert f.comparison.differing == [] and f.rule_checks == []
    assert report.exit_code == 0


def test_an_op_forced_onto_the_wrong_path_is_named_and_explained():
    # litelens xnnpack except op 16 (the first MUL XNNPACK takes) on the reference kernel
    report = diff_model(MODEL.read_bytes(), _inputs(), against=("xnnpack",),
                        flavor={"default": "xnnpack", 16: "reference"}, elements=0)
    (f,) = report.findings
    assert f.first.index == 16
    check = f.rule_checks[0]
    assert (check.ours_path, check.official_path, check.verdict) == ("reference", "xnnpack", "explained")
    assert "round half to even" in check.official_rule
