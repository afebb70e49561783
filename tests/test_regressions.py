"""Minimal cases the fuzzer once found where litelens and the official reference kernels disagreed,
kept after the fix: each must now agree (same bits, or both refuse the model)."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent / "fuzz"))
from test_known_issues import load_case  # noqa: E402

CASES = Path(__file__).parent / "regressions"


@pytest.mark.official
@pytest.mark.parametrize("key", sorted(p.name for p in CASES.iterdir() if p.is_dir()))
def test_case_now_agrees(key):
    pytest.importorskip("ai_edge_litert")
    from litelens.diff.worker import OfficialWorker
    from litelens.fuzz.check import check

    case = load_case(CASES / key)
    with OfficialWorker() as worker:
        outcome = check(case, worker, "reference")
    assert outcome.kind in ("ok", "both-refused"), f"{key}: {outcome.kind}: {outcome.detail}"
