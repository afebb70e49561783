"""Figures of an inspection (matplotlib, Agg backend), returned as PNG bytes for the HTML report."""
from __future__ import annotations

import io
import math

import numpy as np

from litelens.inspect.result import InspectionResult, TensorReport

COLORS = {"local": "#d95f02", "propagated": "#1b9e77", "float_twin": "#7570b3"}
LABELS = {"local": "local (this op alone)", "propagated": "propagated (float64 shadow run)",
          "float_twin": "against the float twin"}


def _figure(width: float, height: float):
    import matplotlib

    matplotlib.use("Agg", force=False)
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=100, layout="constrained")


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


PLOT_CEILING_DB = 80.0  # SQNR above this (and exact tensors) is drawn on the top line


def depth_figure(result: InspectionResult) -> bytes:
    """SQNR of every op's output along the depth, for the three comparisons. SQNR of 80 dB and more
    (float rounding only) and exact outputs sit on the top line; below -20 dB on the bottom one."""
    fig = _figure(11, 4.2)
    ax = fig.add_subplot()
    ceiling, floor = PLOT_CEILING_DB, -20.0
    for comparison, color in COLORS.items():
        xs, ys, top_x = [], [], []
        for op in result.ops:
            value = op.sqnr(comparison)
            if value is None or math.isnan(value):
                continue
            if value >= ceiling:
                top_x.append(op.index)
                continue
            xs.append(op.index)
            ys.append(max(value, floor))
        if comparison == "local":
            ax.scatter(xs, ys, s=14, color=color, label=LABELS[comparison], zorder=3)
        else:
            ax.plot(xs, ys, "-o", ms=2.5, lw=1.2, color=color, label=LABELS[comparison])
        if top_x:
            ax.scatter(top_x, [ceiling] * len(top_x), marker="^", s=12, color=color, alpha=0.6)
    ax.axhline(ceiling, color="#bbbbbb", lw=0.6, ls=":")
    ax.text(0, ceiling, f" {ceiling:.0f} dB or more, or exact", va="bottom", fontsize=8, color="#777777")
    ax.set_ylim(floor - 2, ceiling + 6)
    ax.set_xlabel("op index (execution order)")
    ax.set_ylabel("SQNR (dB), higher is better")
    ax.set_title("Error along the depth of the network")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower left", fontsize=8)
    return _png(fig)


def tensor_figure(t: TensorReport, title: str) -> bytes:
    """Histogram of a tensor's codes (all samples) and of its errors in LSBs (first sample)."""
    fig = _figure(11, 2.8)
    codes_ax, err_ax = fig.subplots(1, 2)
    if t.codes is not None:
        edges = t.codes.bin_edges()
        codes_ax.bar(edges[:-1], t.codes.histogram, width=t.codes.bin_width, align="edge", color="#4c78a8")
        codes_ax.set_xlim(edges[0], edges[-1])
        used = f"codes: {t.codes.distinct} of {t.codes.levels} used, {100 * t.at_bounds:.1f}% at the bounds"
        codes_ax.set_title(used, fontsize=9)
    else:
        values = t.samples.get("real", np.zeros(0))
        codes_ax.hist(values, bins=64, color="#4c78a8")
        codes_ax.set_title("values (not quantized)", fontsize=9)
    codes_ax.set_xlabel("code" if t.codes is not None else "value")
    unit = "LSB" if t.codes is not None else "real units"
    shown = False
    for comparison in ("local", "propagated", "float_twin"):
        errors = t.samples.get(comparison)
        if errors is None:
            continue
        errors = errors[np.isfinite(errors)]
        if errors.size == 0:
            continue
        err_ax.hist(errors, bins=61, histtype="step", lw=1.3, color=COLORS[comparison], label=LABELS[comparison])
        shown = True
    err_ax.set_xlabel(f"error ({unit})")
    err_ax.set_title("errors (first input)", fontsize=9)
    if shown:
        err_ax.legend(fontsize=7)
    fig.suptitle(title, fontsize=10)
    return _png(fig)


def quantization_figure(result: InspectionResult) -> bytes:
    """Scale (log) and zero point of each op's quantized output, along the depth."""
    fig = _figure(11, 3.6)
    ax = fig.add_subplot()
    xs, scales, zps = [], [], []
    for op in result.ops:
        t = op.output
        if t.quantization is None or isinstance(t.scale, list) or t.codes is None:
            continue
        xs.append(op.index)
        scales.append(t.scale)
        zps.append(t.zero_point)
    if xs:
        ax.scatter(xs, scales, s=12, color="#4c78a8", label="scale")
        ax.set_yscale("log")
        zp_ax = ax.twinx()
        zp_ax.scatter(xs, zps, s=10, marker="x", color="#e45756", label="zero point")
        zp_ax.set_ylabel("zero point", color="#e45756")
    ax.set_xlabel("op index")
    ax.set_ylabel("scale (log)", color="#4c78a8")
    ax.set_title("Scale and zero point of each op's output")
    ax.grid(alpha=0.3)
    return _png(fig)
