"""What ``litelens.inspect(...)`` returns: per op, per output tensor, the three comparisons.

* ``local``: the op's quantized output against its exact real-valued result on its own dequantized
  inputs (what this op alone injects);
* ``propagated``: against the float64 shadow run of the whole graph (what has accumulated);
* ``float_twin``: against the float model's tensor of the same name (``None`` without a twin or
  without a tensor of that name; see ``InspectionResult.unmatched``).

Each is an :class:`~litelens.inspect.metrics.ErrorStats` (SQNR, cosine, max/mean error, RMSE/scale);
``None`` when that comparison could not be made, with the reason in ``notes``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from litelens.inspect.metrics import CodeStats, ErrorStats, SaturationStats
from litelens.inspect.values import quantization_summary
from litelens.ops.base import Quantization

COMPARISONS = ("local", "propagated", "float_twin")


@dataclass
class TensorReport:
    index: int
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    quantization: Quantization | None
    local: ErrorStats | None = None
    propagated: ErrorStats | None = None
    float_twin: ErrorStats | None = None
    codes: CodeStats | None = None
    saturation_stats: SaturationStats | None = None
    real_min: float = math.inf
    real_max: float = -math.inf
    exact_min: float = math.inf  # range of the exact (local reference) values
    exact_max: float = -math.inf
    notes: dict[str, str] = field(default_factory=dict)  # comparison -> why it is missing
    samples: dict[str, np.ndarray] = field(default_factory=dict)  # a few values of the first input, for plots

    @property
    def scale(self):
        return quantization_summary(self.quantization)[0]

    @property
    def zero_point(self):
        return quantization_summary(self.quantization)[1]

    @property
    def utilisation(self) -> float | None:
        return None if self.codes is None else self.codes.utilisation

    @property
    def saturation(self) -> float | None:
        return None if self.saturation_stats is None else self.saturation_stats.share

    @property
    def at_bounds(self) -> float | None:
        return None if self.codes is None else self.codes.at_bounds_share

    @property
    def range_used(self) -> float | None:
        """Share of the codes' real range [scale * (qmin - zp), scale * (qmax - zp)] that the exact values
        span: near 0 when the scale was set by values that this input does not produce."""
        if self.codes is None or self.quantization is None or self.quantization.per_channel:
            return None
        if not (math.isfinite(self.exact_min) and math.isfinite(self.exact_max)):
            return None
        span = float(self.quantization.scale[0]) * (self.codes.levels - 1)
        return (self.exact_max - self.exact_min) / span if span > 0 else None

    def stats(self, comparison: str) -> ErrorStats | None:
        return getattr(self, comparison)

    def sqnr(self, comparison: str) -> float | None:
        stats = self.stats(comparison)
        return None if stats is None else stats.sqnr_db

    def describe(self) -> str:
        return f"{self.dtype.name}{list(self.shape)}"

    def to_dict(self) -> dict:
        out = {
            "index": self.index,
            "name": self.name,
            "dtype": self.dtype.name,
            "shape": list(self.shape),
            "scale": self.scale,
            "zero_point": self.zero_point,
            "utilisation": self.utilisation,
            "distinct_codes": None if self.codes is None else self.codes.distinct,
            "saturation": self.saturation,
            "at_bounds": self.at_bounds,
            "real_min": self.real_min if math.isfinite(self.real_min) else None,
            "real_max": self.real_max if math.isfinite(self.real_max) else None,
            "exact_min": self.exact_min if math.isfinite(self.exact_min) else None,
            "exact_max": self.exact_max if math.isfinite(self.exact_max) else None,
            "range_used": self.range_used,
        }
        for comparison in COMPARISONS:
            stats = self.stats(comparison)
            out[comparison] = None if stats is None else stats.to_dict()
        if self.notes:
            out["notes"] = dict(self.notes)
        return out


@dataclass
class OpReport:
    index: int
    opcode: str
    inputs: list[tuple[int, str]]  # (tensor index, name); index -1 for an omitted optional input
    outputs: list[TensorReport]
    shadow_note: str | None = None  # why the op has no real-valued shadow, if it has none

    @property
    def output(self) -> TensorReport:
        """The first output: the one the per-op figures describe (every op litelens runs has one)."""
        return self.outputs[0]

    def sqnr(self, comparison: str) -> float | None:
        return self.output.sqnr(comparison)

    @property
    def local_sqnr_db(self) -> float | None:
        return self.sqnr("local")

    @property
    def propagated_sqnr_db(self) -> float | None:
        return self.sqnr("propagated")

    @property
    def float_sqnr_db(self) -> float | None:
        return self.sqnr("float_twin")

    @property
    def label(self) -> str:
        return f"{self.index} {self.opcode}"

    def to_record(self) -> dict:
        """One entry of ``--json``: the first output's figures flat, every output in full."""
        primary = self.output
        local, propagated, twin = primary.local, primary.propagated, primary.float_twin
        return {
            "op_index": self.index,
            "op_name": self.opcode,
            "inputs": [{"index": i, "name": n} for i, n in self.inputs],
            "outputs": [{"index": t.index, "name": t.name} for t in self.outputs],
            "dtype": primary.dtype.name,
            "shape": list(primary.shape),
            "scale": primary.scale,
            "zero_point": primary.zero_point,
            "local_sqnr_db": None if local is None else local.sqnr_db,
            "propagated_sqnr_db": None if propagated is None else propagated.sqnr_db,
            "float_sqnr_db": None if twin is None else twin.sqnr_db,
            "local_max_abs_error_lsb": None if local is None else local.max_abs_error_lsb,
            "local_rmse_over_scale": None if local is None else local.rmse_over_scale,
            "propagated_cosine": None if propagated is None else propagated.cosine,
            "propagated_rmse_over_scale": None if propagated is None else propagated.rmse_over_scale,
            "float_cosine": None if twin is None else twin.cosine,
            "float_rmse_over_scale": None if twin is None else twin.rmse_over_scale,
            "saturation": primary.saturation,
            "at_bounds": primary.at_bounds,
            "utilisation": primary.utilisation,
            "range_used": primary.range_used,
            "shadow": "ok" if self.shadow_note is None else self.shadow_note,
            "output_metrics": [t.to_dict() for t in self.outputs],
        }


def _rank_key(value: float | None) -> float:
    return math.inf if value is None or math.isnan(value) else value


@dataclass
class InspectionResult:
    model: str
    float_model: str | None
    inputs_note: str  # what the model was run on
    samples: int
    ops: list[OpReport]
    unmatched: list[tuple[int, str, str]] = field(default_factory=list)  # (index, name, why) vs the float twin
    # (sample, op index, message) for each input whose quantized run stopped at an op (as the official
    # kernel does, e.g. on a division by zero): only the ops before it are measured for that input
    failures: list[tuple[int, int, str]] = field(default_factory=list)
    model_outputs: list[int] = field(default_factory=list)
    interpreter: Any = None  # the litelens Interpreter, holding the last sample's tensors (for explain)
    float_interpreter: Any = None
    sample_inputs: list[dict[int, np.ndarray]] = field(default_factory=list)

    # ------------------------------------------------------------------ views
    def op(self, index: int) -> OpReport:
        return self.ops[index]

    def tensors(self) -> list[TensorReport]:
        return [t for op in self.ops for t in op.outputs]

    def tensor(self, index_or_name) -> TensorReport:
        for t in self.tensors():
            if t.index == index_or_name or t.name == index_or_name:
                return t
        raise KeyError(f"no op output tensor {index_or_name!r}")

    def ranked(self, comparison: str = "local") -> list[OpReport]:
        """Ops whose output differs from the reference, worst (lowest SQNR) first. Ops that are exact
        (infinite SQNR) or have no figure for this comparison are left out."""
        scored = [op for op in self.ops if op.sqnr(comparison) is not None and op.sqnr(comparison) != math.inf]
        return sorted(scored, key=lambda op: (_rank_key(op.sqnr(comparison)), op.index))

    def exact_ops(self, comparison: str = "local") -> list[OpReport]:
        return [op for op in self.ops if op.sqnr(comparison) == math.inf]

    def without_shadow(self) -> list[OpReport]:
        return [op for op in self.ops if op.shadow_note is not None]

    def final_outputs(self) -> list[TensorReport]:
        by_index = {t.index: t for t in self.tensors()}
        return [by_index[i] for i in self.model_outputs if i in by_index]

    def records(self) -> list[dict]:
        return [op.to_record() for op in self.ops]

    # ------------------------------------------------------------------ explanation
    def explain(self, op_index: int, element=None):
        """The integer arithmetic of one output element of op ``op_index`` on the last input sample
        (default element: the one with the largest local error). See :mod:`litelens.inspect.explain`."""
        from litelens.inspect.explain import explain

        return explain(self.interpreter, op_index, element)
