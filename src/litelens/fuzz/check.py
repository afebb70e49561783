"""Run one case in litelens and in the official interpreter and classify what happened.

Outcomes (``Outcome.kind``):

* ``ok``: both ran and every tensor is equal (integers bit for bit; floats exactly, NaN == NaN, against
  the reference resolver, within ``litelens.diff.compare.FLOAT_PATH_TOLERANCE`` against the others);
* ``mismatch``: both ran and some tensor differs;
* ``both-refused``: both refused the model or failed at invoke (e.g. an index out of range), or the
  official process aborted where litelens raised an error;
* ``litelens-only-error``: litelens refused or failed, the official interpreter ran;
* ``official-only-error``: the official interpreter refused or failed, litelens ran;
* ``official-crash``: the official process died (abort, signal, timeout) and litelens ran;
* ``official-unwritten``: both ran, every tensor both computed is equal, but the official
  interpreter left an op output unwritten (it holds whatever the buffer held before);
* ``litelens-bug``: litelens raised something other than ``ModelError`` (a bug by definition).

``mismatch`` and ``litelens-bug`` are failures. The two ``-only-error`` kinds are disagreements on
what is a valid model or input; they are counted and saved, and fail a run only when asked.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from litelens.diff.compare import compare_runs, float_tolerance
from litelens.diff.ours import run_litelens
from litelens.fuzz.case import Case

FAILURES = ("mismatch", "litelens-bug")
DISAGREEMENTS = ("litelens-only-error", "official-only-error")
KINDS = ("ok", "mismatch", "both-refused", "litelens-only-error", "official-only-error", "official-crash",
         "official-unwritten", "litelens-bug")


@dataclass
class Outcome:
    kind: str
    resolver: str
    detail: str = ""
    tensors: list[dict] = field(default_factory=list)  # differing tensors (mismatch)
    ours_error: str | None = None
    official_error: str | None = None

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v not in (None, "", [])}


def check(case: Case, worker, resolver: str = "reference", flavor=None) -> Outcome:
    """Run ``case`` in litelens (``flavor``, default: the resolver's own) and (through ``worker``)
    officially under ``resolver``; classify."""
    ours = run_litelens(case.content, case.inputs, flavor=resolver if flavor is None else flavor)
    if ours.error and "(a litelens bug)" in ours.error:
        return Outcome("litelens-bug", resolver, ours.error, ours_error=ours.error)
    return classify(ours, worker.run(case.content, case.inputs, resolver), resolver)


def classify(ours, theirs, resolver: str, comparison=None) -> Outcome:
    """The outcome of a litelens run (``OursRun``) against an official one (``OfficialRun``)."""
    if ours.error and "(a litelens bug)" in ours.error:
        return Outcome("litelens-bug", resolver, ours.error, ours_error=ours.error)
    if theirs.crashed:
        if ours.error:
            return Outcome("both-refused", resolver, f"official crashed ({theirs.crashed}); litelens: {ours.error}",
                           ours_error=ours.error, official_error=theirs.crashed)
        return Outcome("official-crash", resolver, theirs.crashed, official_error=theirs.crashed)
    if ours.error and theirs.error:
        return Outcome("both-refused", resolver, f"litelens: {ours.error} | official: {theirs.error}",
                       ours_error=ours.error, official_error=theirs.error)
    if ours.error:
        return Outcome("litelens-only-error", resolver, ours.error, ours_error=ours.error)
    if theirs.error:
        return Outcome("official-only-error", resolver, theirs.error, official_error=theirs.error)
    if comparison is None:
        comparison = compare_runs(ours.interpreter.graph, ours.values, theirs.values,
                                  official_unwritten=theirs.unwritten, rtol_of_max=float_tolerance(resolver))
    bad = comparison.differing
    missing = [d for d in comparison.tensors.values() if d.status == "not-computed-by-litelens"]
    if bad or missing:
        first = (bad or missing)[0]
        if first.status == "differs":
            detail = (f"tensor {first.index} '{first.name}': {first.count}/{first.size} differ, max |diff| "
                      f"{first.max_abs:g}; first at {first.first}: litelens {first.ours}, official {first.official}")
        else:
            detail = f"tensor {first.index} '{first.name}': {first.note}"
        return Outcome("mismatch", resolver, detail, [d.to_json() for d in bad + missing])
    if theirs.unwritten:
        names = ", ".join(f"{i} '{ours.interpreter.graph.tensors[i].name}'" for i in sorted(theirs.unwritten))
        return Outcome("official-unwritten", resolver, f"the official interpreter never wrote tensor(s) {names}")
    return Outcome("ok", resolver)
