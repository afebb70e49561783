"""The terminal view of an inspection (rich): ops ranked by local error, then SQNR along the depth."""
from __future__ import annotations

import math

from litelens.inspect.result import InspectionResult, OpReport, TensorReport
from litelens.inspect.shadow import DATA_MOVEMENT

BAR_DB = 60.0  # a full bar in the depth view
BAR_WIDTH = 15


def db(value: float | None) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    if value == math.inf:
        return "exact"
    if value == -math.inf:
        return "-inf"
    return f"{value:.1f}"


def db_unit(value: float | None) -> str:
    text = db(value)
    return "no figure" if text == "-" else text if text == "exact" else f"{text} dB"


def pct(value: float | None, digits: int = 1) -> str:
    return "-" if value is None else f"{100 * value:.{digits}f}%"


def quant_label(t: TensorReport) -> str:
    if t.quantization is None:
        return t.dtype.name
    if isinstance(t.scale, list):
        return f"per-channel ({len(t.scale)})"
    return f"{t.scale:.3g}/{t.zero_point}"


def short(name: str, width: int = 40) -> str:
    """A fused op's output is named after all its parts ("a/MatMul;a/add;..."): keep the first, and its tail."""
    name = name.split(";")[0]
    return name if len(name) <= width else "…" + name[-(width - 1):]


def bar(value: float | None) -> str:
    if value is None or math.isnan(value):
        return ""
    filled = BAR_WIDTH if value == math.inf else int(round(max(0.0, min(value, BAR_DB)) / BAR_DB * BAR_WIDTH))
    return "█" * filled + "·" * (BAR_WIDTH - filled)


def depth_ops(result: InspectionResult, rows: int) -> list[OpReport]:
    """The ops that compute (not only move data), in execution order. When there are more than ``rows``:
    a quarter each of the worst by local SQNR, the worst by propagated SQNR and those where the
    accumulated error grows most (propagated SQNR lost from the op's inputs), the last op, and evenly
    spread ops for context."""
    ops = [op for op in result.ops if op.opcode not in DATA_MOVEMENT]
    if len(ops) <= rows:
        return ops
    chosen = {ops[-1].index}
    quarter = rows // 4
    chosen.update(op.index for op in sorted(ops, key=lambda op: _rank(op.local_sqnr_db))[:quarter])
    chosen.update(op.index for op in sorted(ops, key=lambda op: _rank(op.propagated_sqnr_db))[:quarter])
    drops = _propagated_drops(result)
    chosen.update(sorted((op.index for op in ops), key=lambda i: -drops.get(i, 0.0))[:quarter])
    spread = [ops[round(k * (len(ops) - 1) / (rows - 1))].index for k in range(rows)]
    for index in spread:
        if len(chosen) >= rows:
            break
        chosen.add(index)
    return [op for op in ops if op.index in chosen]


def _rank(value: float | None) -> float:
    return math.inf if value is None or math.isnan(value) else value


def _propagated_drops(result: InspectionResult) -> dict[int, float]:
    """Op index -> how many dB of propagated SQNR were lost from its worst input to its output."""
    by_tensor = {t.index: t.sqnr("propagated") for t in result.tensors()}
    drops = {}
    for op in result.ops:
        out = op.propagated_sqnr_db
        ins = [by_tensor.get(i) for i, _ in op.inputs if by_tensor.get(i) is not None]
        if out is None or not math.isfinite(out) or not ins:
            continue
        drops[op.index] = min(min(ins), 200.0) - out
    return drops


# Short names of long op types, for narrow terminals.
ABBREVIATIONS = {"FULLY_CONNECTED": "FC", "BATCH_MATMUL": "BATCH_MM", "SQUARED_DIFFERENCE": "SQ_DIFF",
                 "L2_NORMALIZATION": "L2_NORM", "STRIDED_SLICE": "STR_SLICE", "CONCATENATION": "CONCAT",
                 "DEQUANTIZE": "DEQUANT", "EXPAND_DIMS": "EXPAND"}


def _table(title: str, columns: list[tuple[str, str]], rows: list[list[str]], width: int):
    """A rich table fitted to ``width`` columns: the tensor-name column (``kind`` "name") gets what the
    others leave (at least 12 characters) and loses its head first; the others are never cut."""
    from rich import box
    from rich.console import Console
    from rich.table import Table

    def build(rows: list[list[str]], name_width: int):
        table = Table(title=title, title_justify="left", header_style="bold", box=box.SIMPLE_HEAD,
                      pad_edge=False, collapse_padding=True)
        for header, kind in columns:
            table.add_column(header, justify="left" if kind in ("text", "name") else "right", no_wrap=True)
        for row in rows:
            table.add_row(*[short(cell, name_width) if kind == "name" else cell
                            for cell, (_, kind) in zip(row, columns)])
        return table

    def fitted(rows) -> int:
        """The widest name column (at least 12) with which the table fits ``width``."""
        longest = max([len(short(cell, 10_000)) for row in rows for cell, (_, kind) in zip(row, columns)
                       if kind == "name"] + [12])
        needed = Console(width=10_000).measure(build(rows, longest)).maximum
        return max(12, longest - max(0, needed - width))

    name_width = fitted(rows)
    if Console(width=10_000).measure(build(rows, name_width)).maximum > width:  # narrow: short op names too
        rows = [[ABBREVIATIONS.get(cell, cell) if header == "type" else cell for cell, (header, _) in zip(row, columns)]
                for row in rows]
        name_width = fitted(rows)
    return build(rows, name_width)


def ranked_table(result: InspectionResult, top: int, width: int = 100):
    """The ops whose own arithmetic loses the most (lowest local SQNR), with what explains it."""
    ranked = result.ranked()
    columns = [("op", "number"), ("type", "text"), ("output", "name"), ("scale/zp", "number"),
               ("local", "number"), ("LSB", "number"), ("range", "number"), ("codes", "number"),
               ("clip", "number")]
    rows = []
    for op in ranked[:top]:
        t = op.output
        local = t.local
        rows.append([str(op.index), op.opcode, t.name, quant_label(t), db(op.local_sqnr_db),
                     "-" if local is None or local.max_abs_error_lsb is None else f"{local.max_abs_error_lsb:.2f}",
                     pct(t.range_used, 2), pct(t.utilisation), pct(t.saturation)])
    title = f"Ops ranked by local error (worst {min(top, len(ranked))} of {len(ranked)} ops that are not exact)"
    return _table(title, columns, rows, width)


def depth_table(result: InspectionResult, rows: int, width: int = 100):
    """Local, propagated and float-twin SQNR of the ops that compute, in execution order."""
    twin = result.float_model is not None
    ops = depth_ops(result, rows)
    n_compute = sum(op.opcode not in DATA_MOVEMENT for op in result.ops)
    shown = f", {len(ops)} of {n_compute}" if len(ops) < n_compute else ""
    columns = [("op", "number"), ("type", "text"), ("output", "name"), ("local", "number"),
               ("prop", "number"), *((("float", "number"),) if twin else ()), (f"0-{BAR_DB:.0f} dB", "text")]
    table_rows = []
    for op in ops:
        shown_db = op.float_sqnr_db if twin else op.propagated_sqnr_db
        table_rows.append([str(op.index), op.opcode, op.output.name, db(op.local_sqnr_db),
                           db(op.propagated_sqnr_db), *((db(op.float_sqnr_db),) if twin else ()), bar(shown_db)])
    return _table(f"SQNR along the depth (dB; ops that compute{shown})", columns, table_rows, width)


RANKED_LEGEND = ("local: SQNR (dB) of the output against the op's exact result on its own dequantized inputs; "
                 "LSB: largest local error in output steps; range: share of the codes' real range that the exact "
                 "values span; codes: share of the 256 (65536) codes used; clip: share of outputs clipped at the "
                 "ends of the range.")


def depth_legend(twin: bool) -> str:
    parts = ["prop: SQNR against a float64 run of the whole graph from the same inputs and the dequantized weights "
             "(what has accumulated)"]
    if twin:
        parts.append("float: against the float model's tensor of the same name")
    parts.append(f"the bar shows {'float' if twin else 'prop'}")
    return "; ".join(parts) + "."


def summary_lines(result: InspectionResult) -> list[str]:
    lines = [f"model {result.model}" + (f", float twin {result.float_model}" if result.float_model else "") +
             f"; {len(result.ops)} ops; inputs: {result.inputs_note}"]
    for t in result.final_outputs():
        parts = [f"propagated SQNR {db_unit(t.sqnr('propagated'))}"]
        if result.float_model is not None:
            parts.append(f"vs float {db_unit(t.sqnr('float_twin'))}" if t.float_twin is not None
                         else f"vs float: {t.notes.get('float_twin', 'no figure')}")
        lines.append(f"output '{t.name}': " + ", ".join(parts))
    for sample, op_index, message in result.failures:
        lines.append(f"input {sample + 1}: the quantized run stopped at op {op_index} (where the official kernel "
                     f"fails too), so later ops have no figure for it: {message}")
    missing = result.without_shadow()
    if missing:
        lines.append(f"{len(missing)} op(s) without a real-valued shadow (no local/propagated figure): " +
                     "; ".join(f"{op.index} {op.opcode}: {op.shadow_note}" for op in missing[:5]))
    if result.float_model is not None:
        if result.unmatched:
            shown = ", ".join(f"'{short(name, 40)}'" for _, name, _ in result.unmatched[:10])
            more = f" and {len(result.unmatched) - 10} more" if len(result.unmatched) > 10 else ""
            lines.append(f"{len(result.unmatched)} tensor(s) have no same-name twin in the float model: {shown}{more}")
        else:
            lines.append("every op output has a same-name twin in the float model")
    return lines


def render(result: InspectionResult, console=None, top: int = 15, depth_rows: int = 40) -> None:
    from rich.console import Console

    console = console or Console()
    console.print(ranked_table(result, top, console.width))
    console.print(RANKED_LEGEND, highlight=False, markup=False, style="dim")
    console.print()
    console.print(depth_table(result, depth_rows, console.width))
    console.print(depth_legend(result.float_model is not None), highlight=False, markup=False, style="dim")
    console.print()
    for line in summary_lines(result):
        console.print(line, highlight=False, markup=False)
