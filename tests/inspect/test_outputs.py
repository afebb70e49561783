"""The files an inspection writes: JSON, CSV, Model Explorer node data and the HTML report.

Each is read back and checked for form (strict JSON, one entry per op, every CSV column, finite Model
Explorer values, every plot a decodable PNG), and the HTML report is opened once in a real headless
browser (Debian's chromium), which must decode every embedded plot; skipped where chromium is absent.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import math
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import litelens
from litelens.inspect import exporters
from litelens.inspect.report_html import WORST_TENSORS, write_report

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "models"
MODEL = GOLDEN / "mobilebert-tiny-int8.tflite"
FLOAT = GOLDEN / "mobilebert-tiny-float32.tflite"


@pytest.fixture(scope="module")
def result():
    return litelens.inspect(MODEL, FLOAT)


def strict_json(text: str):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def test_json_is_one_strict_entry_per_op(result, tmp_path):
    path = tmp_path / "out.json"
    exporters.write_json(result, path)
    entries = strict_json(path.read_text())
    assert isinstance(entries, list) and len(entries) == len(result.ops)
    for k, entry in enumerate(entries):
        assert entry["op_index"] == k and entry["op_name"] == result.ops[k].opcode
        for key in ("outputs", "local_sqnr_db", "propagated_sqnr_db", "float_sqnr_db", "saturation",
                    "utilisation", "local_max_abs_error_lsb", "propagated_cosine", "output_metrics"):
            assert key in entry, key
        assert entry["outputs"][0] == {"index": result.ops[k].output.index, "name": result.ops[k].output.name}
    worst = entries[29]
    assert worst["op_name"] == "MUL" and worst["local_sqnr_db"] == pytest.approx(0.0, abs=1e-3)
    assert worst["utilisation"] == 1 / 256 and worst["scale"] == pytest.approx(39.2157, rel=1e-5)
    exact = entries[20]  # a TRANSPOSE: infinite SQNR is null, and flagged exact
    assert exact["local_sqnr_db"] is None and exact["output_metrics"][0]["local"]["exact"] is True
    assert entries[9]["float_sqnr_db"] is None  # 'tfl.quantize' has no twin
    assert "no tensor of this name" in entries[9]["output_metrics"][0]["notes"]["float_twin"]


def test_json_without_a_twin_has_null_float_figures(tmp_path):
    path = tmp_path / "out.json"
    exporters.write_json(litelens.inspect(MODEL), path)
    assert all(entry["float_sqnr_db"] is None for entry in strict_json(path.read_text()))


def test_csv_has_a_row_per_op_output(result, tmp_path):
    path = tmp_path / "out.csv"
    exporters.write_csv(result, path)
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
        assert reader.fieldnames == exporters.CSV_COLUMNS
    assert len(rows) == sum(len(op.outputs) for op in result.ops)
    for row, op in zip(rows, result.ops):
        assert int(row["op_index"]) == op.index and row["op_name"] == op.opcode
        assert float(row["local_sqnr_db"]) == pytest.approx(op.local_sqnr_db) or math.isinf(op.local_sqnr_db)
    assert float(rows[20]["local_sqnr_db"]) == math.inf  # written as inf, which readers parse
    assert rows[9]["float_sqnr_db"] == "" and rows[9]["float_match"].startswith("no tensor")


@pytest.mark.parametrize("metric", exporters.MODEL_EXPLORER_METRICS)
def test_model_explorer_node_data(result, tmp_path, metric):
    path = tmp_path / "me.json"
    exporters.write_model_explorer(result, path, metric)
    data = strict_json(path.read_text())
    assert set(data) == {"results", "gradient"}
    names = {t.name for t in result.tensors()}
    assert data["results"] and set(data["results"]) <= names
    for value in data["results"].values():
        assert set(value) == {"value"} and math.isfinite(value["value"])
    assert [stop["stop"] for stop in data["gradient"]] == [0, 0.5, 1]
    if metric == "local_sqnr_db":
        assert len(data["results"]) == len(names)  # every op has a local figure
        assert data["results"]["encoder.layer.0.attention.self/truediv"]["value"] == pytest.approx(0.0, abs=1e-3)
        assert data["results"]["encoder.layer.0.attention.self/transpose"]["value"] == exporters.SQNR_CEILING_DB
    with pytest.raises(ValueError):
        exporters.model_explorer_data(result, "nonsense")


def embedded_pngs(html: str) -> list[bytes]:
    found = re.findall(r'<img class="plot"[^>]* src="data:image/png;base64,([^"]+)"', html)
    return [base64.b64decode(data) for data in found]


def test_html_report_is_self_contained_with_its_plots(result, tmp_path):
    import matplotlib.image

    path = tmp_path / "report.html"
    write_report(result, path)
    html = path.read_text()
    assert html.startswith("<!DOCTYPE html>") and html.rstrip().endswith("</html>")
    assert not re.search(r'(src|href)="(?!data:)', html), "the report must not load anything from outside"
    pngs = embedded_pngs(html)
    assert len(pngs) == 2 + min(WORST_TENSORS, len(result.ranked()))  # depth, worst tensors, scales
    for png in pngs:
        image = matplotlib.image.imread(io.BytesIO(png), format="png")
        assert image.shape[0] > 200 and image.shape[1] > 500 and image.std() > 0  # a drawn figure, not blank
    for heading in ("Error along the depth", "Ops ranked by local error", "Codes and errors of the worst tensors",
                    "Scale and zero point per tensor", "Arithmetic of the worst element", "Every op"):
        assert heading in html
    assert "encoder.layer.0.attention.self/truediv" in html and "recomputed" in html


def chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


CHECK_SCRIPT = """<script>window.addEventListener("load", function () {
  var images = Array.prototype.slice.call(document.images);
  var decoded = images.filter(function (i) { return i.complete && i.naturalWidth > 0; });
  var div = document.createElement("div");
  div.id = "plot-check";
  div.setAttribute("data-total", images.length);
  div.setAttribute("data-decoded", decoded.length);
  div.setAttribute("data-widths", decoded.map(function (i) { return i.naturalWidth; }).join(","));
  document.body.appendChild(div);
});</script>"""


def test_html_report_opens_in_a_headless_browser(result, tmp_path):
    browser = chromium()
    if browser is None:
        pytest.skip("no chromium: apt-get install chromium to open the report in a real browser")
    report = tmp_path / "report.html"
    write_report(result, report)
    probe = tmp_path / "probe.html"  # the report plus a script that records which images the browser decoded
    probe.write_text(report.read_text().replace("</body>", CHECK_SCRIPT + "</body>"))
    with tempfile.TemporaryDirectory() as profile:
        run = subprocess.run(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
             "--disable-background-networking", "--disable-component-update", "--disable-sync",
             f"--user-data-dir={profile}", "--virtual-time-budget=10000", "--dump-dom", probe.as_uri()],
            capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr[-2000:]
    found = re.search(r'<div id="plot-check" data-total="(\d+)" data-decoded="(\d+)" data-widths="([\d,]*)"',
                      run.stdout)
    assert found, "the browser did not run the page to its load event:\n" + run.stdout[-1000:]
    total, decoded = int(found.group(1)), int(found.group(2))
    assert total == len(embedded_pngs(report.read_text())) and decoded == total
    assert all(int(w) >= 500 for w in found.group(3).split(","))
    assert "Error along the depth" in run.stdout and "Ops ranked by local error" in run.stdout
