"""Why an op diverges: name the rule each side follows and check it by re-running the op the other way.

For each divergent op (its inputs equal in both runs, an output not), litelens knows which kernel path
it ran (``reference``, ``optimized`` or ``xnnpack``) and which path the official resolver ran (under
``xnnpack``, the delegate's rules decide per op). When the paths differ, the op is re-run in litelens
with the resolver's path (a per-op flavor override) on the same inputs; if its outputs then equal the
official ones, the divergence is *explained* by the rule difference. When the paths are the same, or
the re-run still differs, litelens does not reproduce that kernel: a finding worth reporting.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.diff.compare import EQUAL, compare_arrays, float_tolerance
from litelens.diff.rules import op_kind, rule
from litelens.flavors import FlavorSpec, parse_flavor, parse_flavor_name

EXPLAINED, UNEXPLAINED, SAME_PATH, NOT_CHECKED = "explained", "not explained", "same path", "not checked"


@dataclass
class RuleCheck:
    op: int
    opcode: str
    ours_path: str
    official_path: str
    ours_rule: str | None
    official_rule: str | None
    verdict: str
    differing_before: int = 0  # output elements that differ, litelens's path
    differing_after: int = 0  # after re-running in the official path
    note: str = ""

    def to_json(self) -> dict:
        return dict(self.__dict__)

    def sentence(self) -> str:
        if self.verdict == EXPLAINED:
            return (f"op {self.op} {self.opcode}: {self.ours_path} vs {self.official_path} — "
                    f"{self.ours_rule or '?'} vs {self.official_rule or '?'}; re-run in {self.official_path}: "
                    f"equal ({self.differing_before} elements differed) — explained")
        if self.verdict == SAME_PATH:
            return (f"op {self.op} {self.opcode}: both sides run the {self.ours_path} kernel, yet "
                    f"{self.differing_before} elements differ — litelens does not reproduce it")
        if self.verdict == UNEXPLAINED:
            return (f"op {self.op} {self.opcode}: {self.ours_path} vs {self.official_path}; re-run in "
                    f"{self.official_path} still differs ({self.differing_after} of {self.differing_before} "
                    f"elements) — not explained")
        return f"op {self.op} {self.opcode}: not checked ({self.note})"


def _rerun_spec(ours: FlavorSpec, official_flavor: str, ops: list[int]) -> FlavorSpec:
    switched = parse_flavor_name(official_flavor)
    return FlavorSpec(ours.default, dict(ours.by_opcode), {**ours.by_index, **{i: switched for i in ops}})


def check_rules(model_content: bytes, ours, official, resolver: str, divergent, limit: int = 12) -> list[RuleCheck]:
    """A :class:`RuleCheck` for each of the first ``limit`` divergent ops (``DivergentOp``)."""
    import litelens

    interp = ours.interpreter
    if interp is None or not divergent:
        return []
    chosen = divergent[:limit]
    ours_paths = interp.kernel_paths()
    try:
        rerun = litelens.Interpreter(model_content=model_content,
                                     flavor=_rerun_spec(parse_flavor(interp.flavor), resolver,
                                                        [d.index for d in chosen]))
        rerun.allocate_tensors()
        official_paths = rerun.kernel_paths()
    except Exception as err:  # noqa: BLE001 - an explanation must never break the diff
        return [RuleCheck(d.index, d.opcode, ours_paths[d.index][0], "?", None, None, NOT_CHECKED,
                          note=f"litelens cannot run it in the {resolver} flavor: {err}") for d in chosen]
    tolerance = float_tolerance(resolver)
    checks = []
    for d in chosen:
        ours_path, official_path = ours_paths[d.index][0], official_paths[d.index][0]
        before = sum(_differing(ours.values.get(t), official.values.get(t), tolerance) for t in d.outputs)
        node = interp.nodes[d.index]
        kind = op_kind(node)
        check = RuleCheck(d.index, d.opcode, ours_path, official_path, rule(ours_path, d.opcode, kind, node.arch),
                          rule(official_path, d.opcode, kind), SAME_PATH, before)
        if ours_path != official_path:
            op = interp.graph.operators[d.index]
            try:
                outputs = rerun.run_op(d.index, {t: ours.values[t] for t in d.inputs})
            except Exception as err:  # noqa: BLE001
                check.verdict, check.note = NOT_CHECKED, f"re-run failed: {err}"
            else:
                after = sum(_differing(value, official.values.get(t), tolerance)
                            for t, value in zip(op.outputs, outputs))
                check.differing_after = after
                check.verdict = EXPLAINED if after == 0 else UNEXPLAINED
            if official_paths[d.index][1] and check.verdict != EXPLAINED:
                check.note = f"xnnpack delegate: {official_paths[d.index][1]}"
        checks.append(check)
    return checks


def _differing(ours: np.ndarray | None, theirs: np.ndarray | None, tolerance: float) -> int:
    if ours is None or theirs is None:
        return 0
    fields = compare_arrays(np.asarray(ours), np.asarray(theirs), rtol_of_max=tolerance)
    return 0 if fields["status"] == EQUAL else int(fields.get("count", theirs.size))
