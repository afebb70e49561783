"""Writing an inspection out: JSON (one entry per op), CSV (one row per op output) and node data for
Google's Model Explorer.

JSON is strict (no NaN/Infinity tokens): a figure that is not available, or infinite because the
tensor has no error at all, is ``null`` (the nested ``exact`` flag and a ``max_abs_error`` of 0 tell
the two apart). CSV writes ``inf`` / ``-inf`` / empty cells, which spreadsheet and pandas readers parse.
"""
from __future__ import annotations

import csv
import json
import math
import os
from pathlib import Path

from litelens.inspect.result import InspectionResult

CSV_COLUMNS = [
    "op_index", "op_name", "output_index", "output_name", "dtype", "shape", "scale", "zero_point",
    "local_sqnr_db", "local_cosine", "local_max_abs_error", "local_max_abs_error_lsb", "local_rmse_over_scale",
    "propagated_sqnr_db", "propagated_cosine", "propagated_max_abs_error", "propagated_rmse_over_scale",
    "float_sqnr_db", "float_cosine", "float_max_abs_error", "float_rmse_over_scale",
    "saturation", "at_bounds", "utilisation", "distinct_codes", "real_min", "real_max", "shadow", "float_match",
]
MODEL_EXPLORER_METRICS = ("local_sqnr_db", "propagated_sqnr_db", "float_sqnr_db", "saturation", "utilisation")
SQNR_CEILING_DB = 100.0  # Model Explorer needs finite numbers: an exact tensor (infinite SQNR) shows as this


def _finite_or_none(value):
    """Recursively replace non-finite floats by None (strict JSON)."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {k: _finite_or_none(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite_or_none(v) for v in value]
    return value


def open_for_writing(path: str | os.PathLike, newline: str | None = None):
    """Open ``path`` for writing text, creating its directory if needed."""
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    return open(path, "w", encoding="utf-8", newline=newline)


def json_records(result: InspectionResult) -> list[dict]:
    return _finite_or_none(result.records())


def write_json(result: InspectionResult, path: str | os.PathLike) -> None:
    with open_for_writing(path) as f:
        json.dump(json_records(result), f, indent=1, allow_nan=False)
        f.write("\n")


def csv_rows(result: InspectionResult) -> list[dict]:
    rows = []
    for op in result.ops:
        for t in op.outputs:
            row = {"op_index": op.index, "op_name": op.opcode, "output_index": t.index, "output_name": t.name,
                   "dtype": t.dtype.name, "shape": "x".join(map(str, t.shape)),
                   "scale": _cell(t.scale), "zero_point": _cell(t.zero_point),
                   "saturation": t.saturation, "at_bounds": t.at_bounds, "utilisation": t.utilisation,
                   "distinct_codes": None if t.codes is None else t.codes.distinct,
                   "real_min": t.real_min if math.isfinite(t.real_min) else None,
                   "real_max": t.real_max if math.isfinite(t.real_max) else None,
                   "shadow": "ok" if op.shadow_note is None else op.shadow_note,
                   "float_match": "" if result.float_model is None else t.notes.get("float_twin", "same name")}
            for prefix, stats in (("local", t.local), ("propagated", t.propagated), ("float", t.float_twin)):
                for field in ("sqnr_db", "cosine", "max_abs_error", "max_abs_error_lsb", "rmse_over_scale"):
                    key = f"{prefix}_{field}"
                    if key in CSV_COLUMNS:
                        row[key] = None if stats is None else stats.to_dict()[field]
            rows.append(row)
    return rows


def _cell(value):
    if isinstance(value, list):
        return f"per-channel[{len(value)}]"
    return value


def write_csv(result: InspectionResult, path: str | os.PathLike) -> None:
    with open_for_writing(path, newline="") as f:
        writer = csv.DictWriter(f, fieldnames=CSV_COLUMNS)
        writer.writeheader()
        for row in csv_rows(result):
            writer.writerow({k: "" if v is None else v for k, v in row.items()})


def model_explorer_data(result: InspectionResult, metric: str = "local_sqnr_db") -> dict:
    """Model Explorer ``GraphNodeData``: ``{"results": {output tensor name: {"value": v}}, "gradient": [...]}``.

    Keys are output tensor names, which Model Explorer matches against each node's outputs. SQNR
    metrics run red (low) to green (high), infinite SQNR is shown as ``SQNR_CEILING_DB``; ops with no
    figure are left out. ``saturation`` runs green (none) to red.
    """
    if metric not in MODEL_EXPLORER_METRICS:
        raise ValueError(f"metric {metric!r} is not one of {', '.join(MODEL_EXPLORER_METRICS)}")
    results = {}
    for op in result.ops:
        value = op.to_record()[metric]
        if value is None or (isinstance(value, float) and math.isnan(value)):
            continue
        if metric.endswith("sqnr_db"):
            value = max(min(value, SQNR_CEILING_DB), -SQNR_CEILING_DB)
        for t in op.outputs:
            results[t.name] = {"value": float(value)}
    low, high = ("#d7191c", "#1a9641") if metric != "saturation" else ("#1a9641", "#d7191c")
    gradient = [{"stop": 0, "bgColor": low}, {"stop": 0.5, "bgColor": "#ffffbf"}, {"stop": 1, "bgColor": high}]
    return {"results": results, "gradient": gradient}


def write_model_explorer(result: InspectionResult, path: str | os.PathLike, metric: str = "local_sqnr_db") -> None:
    with open_for_writing(path) as f:
        json.dump(model_explorer_data(result, metric), f, indent=1, allow_nan=False)
        f.write("\n")
