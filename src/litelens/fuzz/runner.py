"""``run_fuzz``: generate cases for each op, check them against each resolver, shrink and save failures."""
from __future__ import annotations

import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from litelens.fuzz.case import Case
from litelens.fuzz.check import DISAGREEMENTS, FAILURES, Outcome, check
from litelens.fuzz.generators import generator_for, load_all
from litelens.fuzz.known import known_issue
from litelens.fuzz.save import save_case
from litelens.fuzz.shrink import shrink

KNOWN = "known-issue"


@dataclass
class Finding:
    """A saved (shrunk) failing case."""

    resolver: str
    op: str
    kind: str
    label: str  # the minimal case
    detail: str
    path: str | None
    known: str | None = None
    original_label: str = ""

    def to_json(self) -> dict:
        return dict(self.__dict__)


@dataclass
class OpStats:
    cases: int = 0
    kinds: Counter = field(default_factory=Counter)
    seconds: float = 0.0


@dataclass
class FuzzResult:
    seed: int
    against: tuple[str, ...]
    stats: dict[tuple[str, str], OpStats] = field(default_factory=dict)  # (resolver, op)
    findings: list[Finding] = field(default_factory=list)
    graphs: list = field(default_factory=list)  # GraphOutcome from litelens.fuzz.graphs
    seconds: float = 0.0
    generator_errors: list[str] = field(default_factory=list)

    def count(self, kind: str, resolvers=None) -> int:
        return sum(s.kinds[kind] for (r, _), s in self.stats.items() if resolvers is None or r in resolvers)

    def failures(self, resolvers=("reference",), disagreements: bool = False) -> int:
        kinds = FAILURES + (DISAGREEMENTS if disagreements else ())
        single = sum(self.count(kind, resolvers) for kind in kinds)
        graphs = sum(1 for g in self.graphs if g.resolver in resolvers and g.kind in kinds)
        return single + graphs + len(self.generator_errors)


def default_ops() -> list[str]:
    """Every op litelens supports that has a generator."""
    import litelens

    generators = load_all()
    return [op for op in litelens.supported_ops() if op in generators]


def case_rng(seed: int, op: str, i: int) -> np.random.Generator:
    """The random stream of case ``i`` of ``op`` (independent of which other ops run)."""
    return np.random.default_rng([seed, sum(ord(ch) * 131 ** k for k, ch in enumerate(op)) % (2**32), i])


def run_fuzz(ops=None, n: int = 1000, seed: int = 0, against=("reference",), out: str | Path | None = None,
             shrink_failures: bool = True, save_limit: int = 5, worker=None, progress=None,
             shrink_budget: int = 300, flavor=None) -> FuzzResult:
    """``n`` cases spread evenly over ``ops`` (default: every supported op), each checked against
    every resolver in ``against`` with litelens in ``flavor`` (default: each resolver's own flavor,
    e.g. litelens ``optimized`` against the official optimized kernels). Failures and disagreements are shrunk and saved under ``out``
    (at most ``save_limit`` per resolver and op)."""
    from litelens.diff.worker import OfficialWorker

    ops = list(ops or default_ops())
    result = FuzzResult(seed, tuple(against))
    own_worker = worker is None
    worker = worker or OfficialWorker()
    task = progress.add_task("fuzz", total=n) if progress is not None else None
    saved: Counter = Counter()
    start = time.perf_counter()
    per_op = [n // len(ops) + (1 if k < n % len(ops) else 0) for k in range(len(ops))]
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", RuntimeWarning)
            for op, count in zip(ops, per_op):
                generator = generator_for(op)
                for i in range(count):
                    if progress is not None:
                        progress.update(task, description=f"fuzz {op:<18}")
                    try:
                        case = generator.build(generator.sample(case_rng(seed, op, i), op))
                    except Exception as err:  # noqa: BLE001 - a generator bug must not end the run
                        result.generator_errors.append(f"{op} case {i}: {type(err).__name__}: {err}")
                        continue
                    for resolver in against:
                        t0 = time.perf_counter()
                        outcome = check(case, worker, resolver, flavor)
                        kind = outcome.kind
                        issue = known_issue(case, kind) if kind in FAILURES + DISAGREEMENTS else None
                        stats = result.stats.setdefault((resolver, op), OpStats())
                        stats.cases += 1
                        stats.kinds[KNOWN if issue else kind] += 1
                        slot = (resolver, op, issue.key if issue else kind)  # one saved case per known issue
                        if kind in FAILURES + DISAGREEMENTS and saved[slot] < (1 if issue else save_limit):
                            saved[slot] += 1
                            result.findings.append(_record(case, outcome, issue, generator, worker, out,
                                                           shrink_failures, shrink_budget,
                                                           len(result.findings) + 1, flavor))
                        stats.seconds += time.perf_counter() - t0
                    if progress is not None:
                        progress.advance(task)
    finally:
        if own_worker:
            worker.close()
    result.seconds = time.perf_counter() - start
    return result


def _record(case: Case, outcome: Outcome, issue, generator, worker, out, shrink_failures: bool,
            budget: int, number: int, flavor=None) -> Finding:
    minimal, tried = case, 0
    if shrink_failures:
        def still_fails(candidate: Case) -> bool:
            return check(candidate, worker, outcome.resolver, flavor).kind == outcome.kind

        minimal, tried = shrink(case, generator.build, still_fails, budget)
    final = check(minimal, worker, outcome.resolver, flavor) if minimal is not case else outcome
    path = None
    if out is not None:
        path = str(save_case(Path(out), number, minimal, case, final, tried, issue.key if issue else None))
    return Finding(outcome.resolver, case.op, outcome.kind, minimal.label, final.detail, path,
                   issue.key if issue else None, case.label)
