"""A :class:`DiffReport` as JSON (``to_json``) and as text for the terminal (``render``, with rich)."""
from __future__ import annotations

from litelens.diff.compare import DIFFERS, SHAPE
from litelens.diff.rules import rule
from litelens.diff.run import DiffReport, ResolverFindings

EXIT_MEANING = {0: "every tensor compared is equal", 1: "something differs", 2: "error"}


def findings_json(report: DiffReport, f: ResolverFindings) -> dict:
    comparison = f.comparison
    out = {
        "resolver": f.resolver,
        "status": f.status(report.ours),
        "tensors_compared": comparison.compared,
        "tensors_equal": comparison.equal,
        "bit_exact_share": f.bit_exact_share,
        "not_written_by_official": sorted(f.official.unwritten),
        "official_error": f.official.error,
        "official_error_stage": f.official.stage,
        "official_crashed": f.official.crashed,
        "official_seconds": round(f.official.seconds, 4),
        "first_divergent_op": None,
        "divergent_ops": [d.to_json() for d in f.divergent],
        "first_unobserved_op": f.first_unobserved,
        "layers": [layer.to_json() for layer in f.layers],
        "float_tolerance_of_max": f.float_tolerance,
        "rule_checks": [c.to_json() for c in f.rule_checks],
        "tensors": [d.to_json() for d in comparison.tensors.values()],
    }
    first = f.first
    if first is not None:
        out["first_divergent_op"] = dict(
            first.to_json(),
            output=comparison.tensors[first.outputs[0]].to_json(),
            elements=[e.to_json() for e in f.elements],
            litelens_rule=f.rule_checks[0].ours_rule if f.rule_checks else rule(report.flavor, first.opcode),
            official_rule=f.rule_checks[0].official_rule if f.rule_checks else rule(f.resolver, first.opcode),
        )
        if f.explanation is not None and hasattr(f.explanation, "to_dict"):
            out["first_divergent_op"]["litelens_arithmetic"] = f.explanation.to_dict()
    return out


def to_json(report: DiffReport) -> dict:
    ours = report.ours
    return {
        "model": report.model,
        "flavor": report.flavor,
        "ops": report.ops,
        "tensors": report.tensors,
        "inputs": report.inputs,
        "litelens": {"error": ours.error, "stage": ours.stage, "ops_run": ours.ops_run,
                     "seconds": round(ours.seconds, 4)},
        "resolvers": [findings_json(report, f) for f in report.findings],
        "exit_code": report.exit_code,
    }


def _fmt(x: float) -> str:
    return f"{x:.4g}" if x else "0"


def _op_label(report: DiffReport, index: int) -> str:
    op = report.ours.interpreter.graph.operators[index]
    out = report.ours.interpreter.graph.tensors[op.outputs[0]]
    return f"op {index} {op.opcode} -> tensor {out.index} '{out.name}'"


def render(report: DiffReport, console, top_tensors: int = 5) -> None:
    """Print the report: a summary table over resolvers, then each resolver's findings."""
    from rich.table import Table

    ours = report.ours
    console.print(f"[bold]{report.model}[/]: {report.ops} ops, {report.tensors} tensors; "
                  f"inputs {', '.join(f'{k} {v}' for k, v in report.inputs.items()) or '-'}")
    if ours.error:
        console.print(f"[red]litelens ({ours.stage}): {ours.error}[/]")
    table = Table(title=f"litelens ({report.flavor}) vs the official interpreter", title_justify="left")
    for column in ("resolver", "tensors", "bit-exact", "first divergent op", "ops diverging", "status"):
        table.add_column(column, justify="right" if column in ("tensors", "bit-exact", "ops diverging") else "left")
    for f in report.findings:
        if f.official.crashed or f.official.stage == "load":
            first = "-"
        elif f.first is not None:
            first = f"op {f.first.index} {f.first.opcode}"
        elif f.first_unobserved is not None:
            first = f"(unobserved) op {f.first_unobserved}"
        else:
            first = "none"
        status = f.status(ours)
        color = {"equal": "green", "differs": "yellow", "error": "red"}[status]
        table.add_row(f.resolver, str(f.comparison.compared), f"{100 * f.bit_exact_share:.1f}%", first,
                      str(len(f.divergent)), f"[{color}]{status}[/]")
    console.print(table)
    for f in report.findings:
        _render_findings(report, f, console, top_tensors)
    console.print(f"exit status {report.exit_code}: {EXIT_MEANING[report.exit_code]}")


def _render_findings(report: DiffReport, f: ResolverFindings, console, top_tensors: int) -> None:
    from rich.table import Table

    console.rule(f"[bold]{f.resolver}[/]")
    run = f.official
    if run.crashed:
        console.print(f"[red]the official interpreter crashed: {run.crashed}[/]")
        return
    if run.error:
        console.print(f"[yellow]official ({run.stage}): {run.error}[/]")
    if run.unwritten:
        console.print(f"{len(run.unwritten)} tensors never written by the official interpreter (not compared)")
    c = f.comparison
    within = f" (floats within {f.float_tolerance:g} of each tensor's max)" if f.float_tolerance else ""
    console.print(f"{c.equal}/{c.compared} tensors bit-exact{within} ({100 * f.bit_exact_share:.1f}%)")
    if f.first is None:
        if f.first_unobserved is not None:
            console.print(f"differences start at or before {_op_label(report, f.first_unobserved)} "
                          "(some of its inputs could not be compared)")
        return
    first = f.first
    out = c.tensors[first.outputs[0]]
    console.print(f"[bold]first divergent op:[/] {_op_label(report, first.index)}")
    console.print(f"  its inputs {first.inputs} are equal in both runs; output {out.dtype}{out.shape}: "
                  f"{out.count}/{out.size} elements differ, max |diff| {_fmt(out.max_abs)}"
                  + (f" (real {_fmt(out.max_real)})" if out.max_real is not None and out.dtype != "float32" else ""))
    if f.rule_checks:
        console.print(f"  why: {f.rule_checks[0].sentence()}")
    else:
        ours_rule, their_rule = rule(report.flavor, first.opcode), rule(f.resolver, first.opcode)
        if ours_rule or their_rule:
            console.print(f"  documented rules: litelens ({report.flavor}) {ours_rule or '?'}; "
                          f"official {f.resolver}: {their_rule or '?'}")
    if f.elements:
        table = Table(show_edge=False, pad_edge=False)
        columns = ["position", "litelens", "official"]
        has_acc = any(e.accumulator is not None for e in f.elements)
        has_exact = any(e.exact is not None for e in f.elements)
        has_ulps = any(e.ulps is not None for e in f.elements)
        if has_acc:
            columns.append("accumulator")
        if has_exact:
            columns += ["exact (codes)", "litelens rounding", "official rounding"]
        if has_ulps:
            columns.append("ULPs")
        for column in columns:
            table.add_column(column)
        for e in f.elements:
            row = [str(e.position), str(e.ours), str(e.official)]
            if has_acc:
                row.append("" if e.accumulator is None else str(e.accumulator))
            if has_exact:
                row += ["" if e.exact is None else f"{e.exact:.6f}", e.ours_rounding or "", e.official_rounding or ""]
            if has_ulps:
                row.append("" if e.ulps is None else str(e.ulps))
            table.add_row(*row)
        console.print(table)
        if f.explanation is not None and getattr(f.explanation, "steps", None):
            from rich.markup import escape

            console.print(f"  litelens's arithmetic for element {f.elements[0].position} "
                          "(official: the same inputs, its own rounding):")
            console.print(escape("\n".join("  " + line for line in f.explanation.render().splitlines()[1:])))
    if len(f.rule_checks) > 1:
        verdicts: dict[str, int] = {}
        for check in f.rule_checks:
            verdicts[check.verdict] = verdicts.get(check.verdict, 0) + 1
        console.print(f"rule checks on the first {len(f.rule_checks)} divergent ops: "
                      + ", ".join(f"{n} {v}" for v, n in verdicts.items()))
        for check in f.rule_checks[1:]:
            if check.verdict != "explained":
                console.print(f"  {check.sentence()}")
    if len(f.divergent) > 1:
        counts: dict[str, int] = {}
        for d in f.divergent:
            counts[d.opcode] = counts.get(d.opcode, 0) + 1
        listed = ", ".join(f"{op} x{n}" for op, n in counts.items())
        console.print(f"{len(f.divergent)} ops diverge from equal inputs: {listed}")
    layers = Table(title="growth downstream (|Δ| in stored units: codes, or float values; real = |Δ| x scale; "
                         "output = the group's last tensor)", title_justify="left", show_edge=False)
    for column in ("group", "ops", "tensors ≠", "elements ≠", "max |Δ|", "max |Δ| real", "output ≠",
                   "output max |Δ|"):
        layers.add_column(column, justify="left" if column == "group" else "right")
    for g in f.layers:
        share = g.differing_elements / g.elements if g.elements else 0.0
        layers.add_row(g.name, str(g.ops), f"{g.differing}/{g.tensors}", f"{100 * share:.2f}%",
                       _fmt(g.max_abs), _fmt(g.max_real), f"{100 * g.last_differing_share:.1f}%",
                       _fmt(g.last_max_abs))
    console.print(layers)
    worst = sorted((d for d in c.tensors.values() if d.status in (DIFFERS, SHAPE)),
                   key=lambda d: (-(d.max_real or d.max_abs), d.index))[:top_tensors]
    if worst:
        console.print("largest differences: " + "; ".join(
            f"tensor {d.index} '{d.name[:48]}' {d.count}/{d.size} max {_fmt(d.max_abs)}" for d in worst))
