"""One self-contained HTML report of an inspection: plots embedded as base64 PNG, no external files.

Sections: summary; error along the depth (local, propagated, float twin); the ops ranked by local
error; codes and errors of the worst tensors; scale and zero point per tensor; the arithmetic of the
worst element of the worst integer op; every op in a table.
"""
from __future__ import annotations

import base64
import html
import os

from litelens.inspect import plots
from litelens.inspect.result import InspectionResult
from litelens.inspect.terminal import db, pct, quant_label, summary_lines

WORST_TENSORS = 6
RANKED_ROWS = 40

STYLE = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1150px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
table { border-collapse: collapse; font-size: 0.85em; }
th, td { padding: 2px 8px; border-bottom: 1px solid #eee; text-align: right; }
th { background: #f4f4f4; } td.l, th.l { text-align: left; }
td.name { max-width: 420px; overflow-wrap: anywhere; text-align: left; }
img { max-width: 100%; display: block; margin: 0.5em 0; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
p.note { color: #555; font-size: 0.9em; }
"""


def _img(png: bytes, alt: str) -> str:
    data = base64.b64encode(png).decode("ascii")
    return f'<img class="plot" alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def _row(cells: list[tuple[str, str]]) -> str:
    out = []
    for text, cls in cells:
        text = str(text)
        if cls == "name" and ";" in text:  # a fused op's output is named after all its parts: show the first
            out.append(f'<td class="name" title="{html.escape(text)}">{html.escape(text.split(";")[0])}</td>')
        else:
            out.append(f'<td class="{cls}">{html.escape(text)}</td>')
    return "<tr>" + "".join(out) + "</tr>"


def _head(columns: list[str], left: set[str]) -> str:
    return "<tr>" + "".join(f'<th class="{"l" if c in left else ""}">{html.escape(c)}</th>' for c in columns) + "</tr>"


def _op_row(op, twin: bool) -> str:
    t = op.output
    local = t.local
    cells = [(op.index, ""), (op.opcode, "l"), (t.name, "name"), (t.describe(), "l"), (quant_label(t), ""),
             (db(op.local_sqnr_db), ""),
             ("-" if local is None or local.max_abs_error_lsb is None else f"{local.max_abs_error_lsb:.2f}", ""),
             (db(op.propagated_sqnr_db), "")]
    if twin:
        cells.append((db(op.float_sqnr_db), ""))
    cells += [(pct(t.range_used, 2), ""), (pct(t.utilisation), ""), (pct(t.saturation), ""),
              ("" if op.shadow_note is None else op.shadow_note, "l")]
    return _row(cells)


def _op_table(ops, twin: bool) -> str:
    columns = ["op", "type", "output", "dtype / shape", "scale / zp", "local dB", "max err LSB", "propagated dB"]
    columns += ["vs float dB"] if twin else []
    columns += ["range used", "codes used", "saturated", "note"]
    rows = "\n".join(_op_row(op, twin) for op in ops)
    return f"<table>{_head(columns, {'type', 'output', 'dtype / shape', 'note'})}\n{rows}</table>"


def _worst_explanation(result: InspectionResult) -> str:
    for op in result.ranked():
        try:
            explanation = result.explain(op.index)
        except Exception:  # an op the explainer cannot read: try the next one
            continue
        if explanation.has_arithmetic:
            return f"<pre>{html.escape(explanation.render())}</pre>"
    return "<p class='note'>No integer op with step-by-step arithmetic has an error.</p>"


def render_report(result: InspectionResult, explanations=()) -> str:
    twin = result.float_model is not None
    worst = result.ranked()[:WORST_TENSORS]
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        f"<title>litelens inspect: {html.escape(os.path.basename(result.model))}</title>",
        f"<style>{STYLE}</style></head><body>",
        f"<h1>litelens inspect: {html.escape(os.path.basename(result.model))}</h1>",
        "<ul>" + "".join(f"<li>{html.escape(line)}</li>" for line in summary_lines(result)) + "</ul>",
        "<p class='note'>Local error: the op's quantized output against its exact real-valued result on its own "
        "dequantized inputs (what this op alone injects). Propagated: against a float64 run of the whole graph "
        "from the same inputs and the dequantized weights (what has accumulated). Against the float twin: the "
        "float model's tensor of the same name. SQNR = 10 log10(signal energy / error energy); an LSB is one "
        "step of the output's scale; range used = the exact values' span / the span the codes can hold.</p>",
        "<h2>Error along the depth</h2>", _img(plots.depth_figure(result), "SQNR along the depth"),
        "<h2>Ops ranked by local error</h2>", _op_table(result.ranked()[:RANKED_ROWS], twin),
        "<h2>Codes and errors of the worst tensors</h2>",
    ]
    for op in worst:
        title = f"op {op.index} {op.opcode}: {op.output.name.split(';')[0]} (local SQNR {db(op.local_sqnr_db)} dB)"
        parts.append(_img(plots.tensor_figure(op.output, title), title))
    parts += ["<h2>Scale and zero point per tensor</h2>",
              _img(plots.quantization_figure(result), "scales and zero points"),
              "<h2>Arithmetic of the worst element</h2>", _worst_explanation(result)]
    for explanation in explanations:
        parts.append(f"<pre>{html.escape(explanation.render())}</pre>")
    parts += ["<h2>Every op</h2>", _op_table(result.ops, twin), "</body></html>"]
    return "\n".join(parts)


def write_report(result: InspectionResult, path: str | os.PathLike, explanations=()) -> None:
    from litelens.inspect.exporters import open_for_writing

    with open_for_writing(path) as f:
        f.write(render_report(result, explanations))
