"""The bounded CI fuzz: thousands of random single-op cases for every supported op and a few
converted transformer blocks (int8 and dynamic range) against each of the official interpreter's three
kernel paths (BUILTIN_REF, BUILTIN_WITHOUT_DEFAULT_DELEGATES, AUTO with XNNPACK), litelens running the
matching flavor: zero mismatches, zero litelens bugs (integers bit for bit; floats exactly against the
reference, within the path tolerance against the others). The summary table is printed into the test log (pytest -s not needed).

Known discrepancies in ops owned elsewhere (``litelens.fuzz.known``) are counted and listed, not failed.
Also checked: every op's generator produces mostly runnable cases (else the op is not really tested).
"""
from __future__ import annotations

import os

import pytest

pytest.importorskip("ai_edge_litert")

from litelens.fuzz.runner import run_fuzz  # noqa: E402
from litelens.fuzz.summary import render  # noqa: E402

CASES = int(os.environ.get("LITELENS_FUZZ_CASES", "10000"))
SEED = int(os.environ.get("LITELENS_FUZZ_SEED", "20250601"))
GRAPHS = int(os.environ.get("LITELENS_FUZZ_GRAPHS", "3"))
RESOLVERS = ("reference", "optimized", "xnnpack")


def _print(result, capsys) -> None:
    from rich.console import Console

    with capsys.disabled():
        print()
        render(result, Console(width=150, force_terminal=False))


@pytest.mark.official
def test_ci_fuzz_single_ops(tmp_path, capsys):
    result = run_fuzz(n=CASES, seed=SEED, against=RESOLVERS, out=tmp_path / "fuzz", save_limit=2)
    _print(result, capsys)
    assert not result.generator_errors
    bad = [f for f in result.findings if f.kind in ("mismatch", "litelens-bug") and not f.known]
    assert result.failures(RESOLVERS) == 0, "\n".join(f"{f.resolver} {f.label}: {f.detail} ({f.path})" for f in bad)
    for (resolver, op), stats in result.stats.items():
        ran = stats.kinds["ok"] + stats.kinds["mismatch"] + stats.kinds["known-issue"] + \
            stats.kinds["official-unwritten"]
        assert ran >= 0.5 * stats.cases, f"{op}: only {ran} of {stats.cases} cases ran in both interpreters"


@pytest.mark.official
def test_ci_fuzz_converted_graphs(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    from litelens.fuzz.graphs import run_graphs
    from litelens.fuzz.runner import FuzzResult

    graphs = run_graphs(GRAPHS, SEED, RESOLVERS, out=tmp_path / "graphs")
    result = FuzzResult(SEED, RESOLVERS, graphs=graphs)
    _print(result, capsys)
    assert len(graphs) == 2 * GRAPHS * len(RESOLVERS)
    assert all(g.kind == "ok" and g.bit_exact_share == 1.0 for g in graphs), \
        [(g.name, g.flavor, g.kind, g.detail) for g in graphs if g.kind != "ok"]
