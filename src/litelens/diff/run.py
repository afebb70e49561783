"""``diff_model``: run litelens and the official interpreter (each resolver) and compare every tensor."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from litelens.diff.analysis import DivergentOp, LayerGrowth, divergent_ops, layer_growth, unobserved_start
from litelens.diff.compare import Comparison, compare_runs, float_tolerance
from litelens.diff.elements import Element, explain_elements
from litelens.diff.official_run import OfficialRun
from litelens.diff.ours import OursRun, run_litelens
from litelens.diff.why import RuleCheck, check_rules

RESOLVERS = ("reference", "optimized", "xnnpack")
EQUAL_STATUS, DIFFERS_STATUS, ERROR_STATUS = "equal", "differs", "error"


@dataclass
class ResolverFindings:
    resolver: str
    official: OfficialRun
    comparison: Comparison = field(default_factory=Comparison)
    divergent: list[DivergentOp] = field(default_factory=list)
    first_unobserved: int | None = None  # first op that differs where the inputs could not be compared
    elements: list[Element] = field(default_factory=list)  # of the first divergent op's first bad output
    elements_tensor: int | None = None
    explanation: object | None = None  # litelens.inspect.explain.Explanation of the first element, if available
    layers: list[LayerGrowth] = field(default_factory=list)
    rule_checks: list[RuleCheck] = field(default_factory=list)  # why each divergent op diverges
    float_tolerance: float = 0.0  # floats compared within this share of each tensor's max |value|
    note: str = ""

    @property
    def first(self) -> DivergentOp | None:
        return self.divergent[0] if self.divergent else None

    @property
    def bit_exact_share(self) -> float:
        compared = self.comparison.compared
        return self.comparison.equal / compared if compared else 0.0

    def status(self, ours: OursRun) -> str:
        if self.official.crashed or self.official.stage == "load" or ours.stage in ("load", "allocate"):
            return ERROR_STATUS
        if self.comparison.differing or (self.official.error is None) != (ours.error is None):
            return DIFFERS_STATUS
        return EQUAL_STATUS


@dataclass
class DiffReport:
    model: str
    flavor: str
    ops: int
    tensors: int
    inputs: dict[str, str]  # input name -> "int32[1, 16]"
    ours: OursRun
    findings: list[ResolverFindings]

    @property
    def exit_code(self) -> int:
        statuses = {f.status(self.ours) for f in self.findings}
        if not self.findings and self.ours.stage in ("load", "allocate"):
            return 2
        if ERROR_STATUS in statuses:
            return 2
        return 1 if DIFFERS_STATUS in statuses else 0


def _analyse(findings: ResolverFindings, ours: OursRun, elements: int, atol: float, rtol: float,
             model_content: bytes, exact_floats: bool) -> None:
    interp = ours.interpreter
    graph = interp.graph
    findings.float_tolerance = 0.0 if exact_floats else float_tolerance(findings.resolver)
    findings.comparison = compare_runs(graph, ours.values, findings.official.values, atol, rtol,
                                       official_unwritten=findings.official.unwritten,
                                       rtol_of_max=findings.float_tolerance)
    findings.divergent = divergent_ops(graph, findings.comparison)
    if findings.divergent and interp._allocated:
        findings.rule_checks = check_rules(model_content, ours, findings.official, findings.resolver,
                                           findings.divergent)
    if not findings.divergent and findings.comparison.differing:
        findings.first_unobserved = unobserved_start(graph, findings.comparison)
    findings.layers = layer_growth(graph, findings.comparison)
    first = findings.first
    if first is not None and elements > 0 and interp._allocated:
        node = interp.nodes[first.index]
        tensor = first.outputs[0]
        theirs = findings.official.values[tensor]
        if ours.values[tensor].shape == theirs.shape:
            findings.elements = explain_elements(node, interp.op_params(first.index), ours.values, tensor,
                                                 ours.values[tensor], theirs, elements)
            findings.elements_tensor = tensor
            if findings.elements and tensor == node.outputs[0].index:
                findings.explanation = _step_by_step(interp, first.index, tuple(findings.elements[0].position))


def _step_by_step(interp, op_index: int, element: tuple[int, ...]):
    """litelens's own arithmetic for one element (``litelens.inspect.explain``), when that module exists."""
    try:
        from litelens.inspect.explain import explain
    except ImportError:
        return None
    try:
        return explain(interp, op_index, element)
    except Exception:  # noqa: BLE001 - an explanation is an extra; it must never break the diff
        return None


def diff_model(model_content: bytes, inputs: dict, against=RESOLVERS, flavor="reference",
               model_name: str = "<model>", elements: int = 5, worker=None, progress=None,
               atol: float = 0.0, rtol: float = 0.0, exact_floats: bool = False) -> DiffReport:
    """Compare litelens (``flavor``) with the official interpreter under each resolver in ``against``.

    Integer tensors must be equal bit for bit. Float tensors are compared exactly against the
    reference resolver and within ``FLOAT_PATH_TOLERANCE`` against optimized and xnnpack (whose float
    kernels use other summation orders), unless ``exact_floats``. Each divergent op gets a
    :class:`RuleCheck`: the rule each side follows, checked by re-running the op the official way.

    ``inputs``: tensor index or input name -> array. ``worker``: an :class:`OfficialWorker` to reuse
    (one is started and closed here otherwise). ``progress``: a ``rich.progress.Progress`` to report on.
    """
    from litelens.diff.worker import OfficialWorker

    task = progress.add_task("litelens", total=None) if progress is not None else None

    def advance(_):
        if progress is not None:
            progress.advance(task)

    ours = run_litelens(model_content, inputs, flavor, on_op=advance)
    graph = ours.interpreter.graph if ours.interpreter is not None else None
    if progress is not None:
        progress.update(task, total=ours.ops_run, completed=ours.ops_run,
                        description=f"litelens ({ours.ops_run} ops)")
    own_worker = worker is None
    worker = worker or OfficialWorker()
    findings = []
    try:
        for resolver in against:
            official_task = progress.add_task(f"official {resolver}", total=1) if progress is not None else None
            run = worker.run(model_content, inputs, resolver)
            result = ResolverFindings(resolver, run)
            if graph is not None and ours.interpreter._allocated and run.stage != "load" and not run.crashed:
                _analyse(result, ours, elements, atol, rtol, model_content, exact_floats)
            findings.append(result)
            if progress is not None:
                progress.update(official_task, completed=1)
    finally:
        if own_worker:
            worker.close()
    n_ops = len(graph.operators) if graph is not None else 0
    n_tensors = len(graph.tensors) if graph is not None else 0
    input_summary = {}
    if ours.interpreter is not None:
        for d in ours.interpreter.get_input_details():
            input_summary[d["name"]] = f"{np.dtype(d['dtype']).name}{list(map(int, d['shape']))}"
    flavor_name = ours.interpreter.flavor.name if ours.interpreter is not None else ours.flavor
    return DiffReport(model_name, flavor_name, n_ops, n_tensors, input_summary, ours, findings)
