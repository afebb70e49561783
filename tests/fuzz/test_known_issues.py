"""Every known issue (``litelens.fuzz.known``) has a saved minimal case under ``cases/<key>/`` that still
shows it. When an op's owner fixes one, this test fails on purpose: delete the entry from known.py and
the case directory (or move the case into the op's own tests as a regression test)."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from litelens import build
from litelens.fuzz.case import Case
from litelens.fuzz.known import KNOWN_ISSUES, known_issue

CASES = Path(__file__).parent / "cases"


def load_case(directory: Path) -> Case:
    info = json.loads((directory / "case.json").read_text())
    content = (directory / "model.tflite").read_bytes()
    model = build.from_bytes(content)
    by_name = {t.name: i for i, t in enumerate(model.tensors)}
    with np.load(directory / "inputs.npz") as npz:
        inputs = {by_name[name]: npz[name] for name in npz.files}
    return Case(info["op"], info["params"], model, inputs, info["label"], content)


def test_every_known_issue_has_a_case():
    assert sorted(i.key for i in KNOWN_ISSUES) == sorted(p.name for p in CASES.iterdir() if p.is_dir())


@pytest.mark.official
@pytest.mark.parametrize("key", sorted(i.key for i in KNOWN_ISSUES))
def test_known_issue_still_reproduces(key):
    pytest.importorskip("ai_edge_litert")
    from litelens.diff.worker import OfficialWorker
    from litelens.fuzz.check import check

    case = load_case(CASES / key)
    with OfficialWorker() as worker:
        outcome = check(case, worker, "reference")
    issue = known_issue(case, outcome.kind)
    assert issue is not None and issue.key == key, (
        f"known issue {key} no longer reproduces (outcome {outcome.kind}: {outcome.detail}); if the op was "
        "fixed, remove it from litelens/fuzz/known.py and tests/fuzz/cases/")
