"""Known discrepancies in ops the fuzzer does not own, reported to their owners, not yet fixed.

A case whose outcome is a failure or a disagreement *and* that matches one of these predicates is
counted as ``known-issue`` (listed in the summary, not failing CI). Each entry names the saved
minimal case. When the owner fixes the op, the entry goes; a known issue that no longer reproduces
is reported as such by the summary ("known, now passing" is simply counted as ok).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from litelens.fuzz.case import Case


@dataclass(frozen=True)
class KnownIssue:
    key: str
    op: str
    kinds: tuple[str, ...]  # outcome kinds it explains
    matches: Callable[[Case], bool]
    description: str


def _input_values(case: Case):
    return [np.asarray(v) for v in case.inputs.values()]


def _float_to_int(case: Case) -> bool:
    return case.params["src"] in ("float32", "float16") and case.params["dst"] not in ("float32", "float16", "bool")


def _has_nan(case: Case) -> bool:
    return any(v.dtype.kind == "f" and bool(np.isnan(v).any()) for v in _input_values(case))


def _beyond_int64(case: Case) -> bool:
    return any(v.dtype.kind == "f" and bool((np.abs(v.astype(np.float64)) >= 2.0**63).any())
               for v in _input_values(case))


def _same_size_different_rank(case: Case) -> bool:
    a, b = (case.model.tensors[i].shape for i in case.model.operators[0].inputs[:2])
    return a != b and int(np.prod(a)) == int(np.prod(b))


def _options(case: Case) -> dict:
    return case.model.operators[0].options or {}


def _strided_shrink_with_mask(case: Case) -> bool:
    o = _options(case)
    return bool(o.get("shrink_axis_mask", 0) & (o.get("begin_mask", 0) | o.get("end_mask", 0)))


KNOWN_ISSUES: tuple[KnownIssue, ...] = (
    KnownIssue(
        "gelu-float-exact-ulp", "GELU", ("mismatch",),
        lambda c: c.params["dtype"] == "float32" and not c.params.get("approximate", False),
        "float32 GELU (exact, erf form): a rare 1-ULP difference, e.g. x = -6.8547597 gives litelens "
        "-2.44826780e-11, official -2.44826798e-11, and x near -0.06 gives -0.028986195 vs -0.028986193",
    ),
    KnownIssue(
        "add-int16-pot-rank-broadcast", "ADD", ("litelens-only-error",),
        lambda c: c.params["dtype"] == "int16q" and c.params.get("pot", False) and _same_size_different_rank(c),
        "power-of-two int16 ADD whose inputs differ only by leading 1-dims (same element count): the "
        "official kernel runs it, litelens refuses it as broadcasting",
    ),
)


def known_issue(case: Case, kind: str) -> KnownIssue | None:
    for issue in KNOWN_ISSUES:
        if issue.op == case.op and kind in issue.kinds and issue.matches(case):
            return issue
    return None
