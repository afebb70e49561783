"""Thousands of hostile models, each in a worker subprocess under a time and memory limit.

Outcome of every case must be success or a ``ModelError`` / ``InputError``: no crash (signal), no hang,
no ``MemoryError``, no other exception, and no "internal" error either (a ModelError that only wraps
an exception an op's Prepare or Eval raised: the op missed a check). The campaigns are deterministic;
``LITELENS_HOSTILE_CASES`` sets their size (default 4000 random cases + an exhaustive sweep) and
``LITELENS_HOSTILE_START`` shifts them to explore other mutations. A failing case is reproduced with
``python -m litelens.mutate`` (see the message) or saved with its ``--save DIR``.
"""
from __future__ import annotations

import json
import os

import pytest

from litelens.mutate import campaign, run_cases
from litelens.mutate.cases import sweep
from litelens.mutate.runner import GOOD

CASES = int(os.environ.get("LITELENS_HOSTILE_CASES", "4000"))
START = int(os.environ.get("LITELENS_HOSTILE_START", "0"))


def _check(report, min_ran: float, min_refused: float):
    failures = [r for r in report.results if r.status not in GOOD]
    assert not failures, (
        f"{len(failures)} cases neither ran nor raised ModelError:\n" + report.summary() + "\n"
        + "\n".join(f"  {r.status} {r.spec}: {r.message[:300]} {r.what}" for r in failures[:20])
        + "\nrerun one (and save its .tflite) with: python -m litelens.mutate --save /tmp/cases --case "
        + repr(json.dumps({k: v for k, v in failures[0].spec.items() if k != "id"})))
    counts = report.counts()
    n = len(report.results)
    # The campaign must reach both outcomes, or it tests nothing: mutations that are all refused at
    # load never reach a kernel, and ones that all run exercise no check.
    assert counts.get("ok", 0) + counts.get("input_error", 0) >= min_ran * n, report.summary()
    assert counts.get("model_error", 0) >= min_refused * n, report.summary()
    print(report.summary())


def test_the_runner_counts_crashes_hangs_and_leaks():
    specs = [{"id": i, "kind": "selftest", "seed": what, "n": 0}
             for i, what in enumerate(["segfault", "abort", "hang", "memory", "exception", "fine"])]
    specs.append({"id": 6, "kind": "truncate", "seed": "hand:tanh-uint8", "n": 100})
    report = run_cases(specs, workers=2, timeout=5, warm_up=False)
    statuses = [r.status for r in report.results]
    assert statuses == ["crash", "crash", "hang", "memory_error", "exception", "ok", "model_error"], \
        report.summary()
    assert "SIGSEGV" in report.results[0].message and "SIGABRT" in report.results[1].message
    assert report.restarts == 3


def test_structured_mutations():
    _check(run_cases(campaign(structured_cases=CASES // 2, start=START)), min_ran=0.1, min_refused=0.3)


def test_byte_mutations():
    _check(run_cases(campaign(raw_cases=CASES // 2, start=START)), min_ran=0.05, min_refused=0.3)


@pytest.mark.parametrize("seed", ["hand:fc-int8-per-channel"])
def test_every_truncation_and_bit_flip(seed):
    """Exhaustive on a small model: every prefix, and bits 0, 3 and 7 of every byte flipped."""
    bits = range(8) if CASES >= 10000 else (0, 3, 7)
    _check(run_cases(sweep(seed, bits=bits)), min_ran=0.1, min_refused=0.3)
