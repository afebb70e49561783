"""The end-of-run summary: a table per resolver and op, the saved findings, JSON."""
from __future__ import annotations

from litelens.fuzz.check import KINDS
from litelens.fuzz.runner import KNOWN, FuzzResult

COLUMNS = ("ok", "mismatch", KNOWN, "both-refused", "litelens-only-error", "official-only-error",
           "official-crash", "official-unwritten", "litelens-bug")
SHORT = {"ok": "ok", "mismatch": "mismatch", KNOWN: "known", "both-refused": "both refuse",
         "litelens-only-error": "litelens-only err", "official-only-error": "official-only err",
         "official-crash": "official crash", "official-unwritten": "official unwritten",
         "litelens-bug": "litelens bug"}


def to_json(result: FuzzResult) -> dict:
    rows = []
    for (resolver, op), s in sorted(result.stats.items()):
        rows.append({"resolver": resolver, "op": op, "cases": s.cases, "seconds": round(s.seconds, 3),
                     **{k: s.kinds[k] for k in KINDS + (KNOWN,) if s.kinds[k]}})
    return {"seed": result.seed, "against": list(result.against), "seconds": round(result.seconds, 2),
            "ops": rows, "findings": [f.to_json() for f in result.findings],
            "graphs": [g.to_json() for g in result.graphs], "generator_errors": result.generator_errors}


def render(result: FuzzResult, console) -> None:
    from rich.table import Table

    for resolver in result.against:
        rows = sorted((op, s) for (r, op), s in result.stats.items() if r == resolver)
        if not rows:
            continue
        table = Table(title=f"fuzz against {resolver} (seed {result.seed})", title_justify="left")
        table.add_column("op")
        table.add_column("cases", justify="right")
        for kind in COLUMNS:
            table.add_column(SHORT[kind], justify="right")
        table.add_column("s", justify="right")
        totals = {kind: 0 for kind in COLUMNS}
        cases = seconds = 0
        for op, s in rows:
            cells = []
            for kind in COLUMNS:
                n = s.kinds[kind]
                totals[kind] += n
                style = "red" if n and kind in ("mismatch", "litelens-bug") else \
                    "yellow" if n and kind not in ("ok", "both-refused") else ""
                cells.append(f"[{style}]{n}[/]" if style else str(n) if n else "")
            cases += s.cases
            seconds += s.seconds
            table.add_row(op, str(s.cases), *cells, f"{s.seconds:.1f}")
        table.add_row("[bold]total[/]", str(cases), *(str(totals[k]) for k in COLUMNS), f"{seconds:.1f}")
        console.print(table)
    graphs = result.graphs
    if graphs:
        table = Table(title="converted multi-op graphs", title_justify="left")
        for column in ("graph", "flavor", "resolver", "ops", "tensors", "bit-exact", "outcome"):
            table.add_column(column)
        for g in graphs:
            table.add_row(g.name, g.flavor, g.resolver, str(g.ops), str(g.tensors),
                          f"{100 * g.bit_exact_share:.1f}%", g.kind + (f": {g.detail[:80]}" if g.detail else ""))
        console.print(table)
    for err in result.generator_errors:
        console.print(f"[red]generator error: {err}[/]")
    if result.findings:
        console.print(f"[bold]{len(result.findings)} saved finding(s)[/] (shrunk to a minimal case):")
        for f in result.findings:
            known = f" \\[known issue {f.known}]" if f.known else ""
            console.print(f"  {f.resolver} {f.kind}{known}: {f.label}\n    {f.detail[:240]}"
                          + (f"\n    saved in {f.path}" if f.path else ""))
    if result.stats:
        console.print(f"{sum(s.cases for s in result.stats.values())} checks in {result.seconds:.1f} s")
