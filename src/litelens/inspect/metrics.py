"""Error metrics of a tensor against a reference, and statistics of its codes.

Definitions (``test`` is the quantized model's tensor as real values, ``ref`` the reference, both
float64; e = test - ref; sums run over the finite elements):

* SQNR (dB) = 10 log10(Σ ref² / Σ e²): +inf when e is all zero, -inf when ref is all zero but e not.
* cosine similarity = Σ test·ref / sqrt(Σ test² Σ ref²): 1 when both are all zero, 0 when one is.
* max / mean absolute error, RMSE = sqrt(Σ e² / n), in real units.
* RMSE / scale (the official QuantizationDebugger's ``rmse/scale``), max / mean |e| / scale: errors
  in units of the tensor's own LSB (per-channel tensors use each element's channel scale).
* saturation: the share of elements whose exact value lies beyond the codes' range, i.e. whose
  exact value / scale + zero point is at least half a code above qmax or below qmin, so that the
  clamp, not rounding, decided the output. Codes merely *at* qmin / qmax are counted separately
  (``at_bounds``): a softmax's zero probability or a ReLU's zero sits there without being clipped.
* utilisation: distinct codes that occur / codes of the type (256 for 8-bit, 65536 for 16-bit).

Everything accumulates (``update`` may be called once per input sample), so several inputs give
one figure per tensor.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from litelens.inspect.values import code_levels, code_range


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    """Σ a·b. einsum's own loop, not BLAS: a threaded BLAS dot stalls when the cores are busy."""
    return float(np.einsum("i,i->", np.ravel(a), np.ravel(b)))


@dataclass
class ErrorStats:
    """Running sums for the error of one tensor against one reference."""

    count: int = 0
    nonfinite_mismatch: int = 0  # elements where test or ref is NaN/inf and they are not identical
    sum_ref2: float = 0.0
    sum_test2: float = 0.0
    sum_dot: float = 0.0
    sum_err2: float = 0.0
    sum_abs: float = 0.0
    max_abs: float = 0.0
    has_lsb: bool = False
    sum_err2_lsb: float = 0.0
    sum_abs_lsb: float = 0.0
    max_abs_lsb: float = 0.0

    @classmethod
    def of(cls, test, ref, lsb=None) -> "ErrorStats":
        stats = cls()
        stats.update(test, ref, lsb)
        return stats

    def update(self, test, ref, lsb=None) -> None:
        """Add elements: ``test`` and ``ref`` of one shape; ``lsb`` a scale (scalar or broadcastable)."""
        test = np.asarray(test, dtype=np.float64)
        ref = np.asarray(ref, dtype=np.float64)
        if test.shape != ref.shape:
            raise ValueError(f"cannot compare shapes {list(test.shape)} and {list(ref.shape)}")
        finite = np.isfinite(test) & np.isfinite(ref)
        if not finite.all():
            same = (test == ref) | (np.isnan(test) & np.isnan(ref))
            self.nonfinite_mismatch += int((~finite & ~same).sum())
            if lsb is not None and np.ndim(lsb):
                lsb = np.broadcast_to(lsb, test.shape)[finite]
            test, ref = test[finite], ref[finite]
        err = test - ref
        abs_err = np.abs(err)
        self.count += int(err.size)
        self.sum_ref2 += _dot(ref, ref)
        self.sum_test2 += _dot(test, test)
        self.sum_dot += _dot(test, ref)
        self.sum_err2 += _dot(err, err)
        self.sum_abs += float(abs_err.sum())
        if abs_err.size:
            self.max_abs = max(self.max_abs, float(abs_err.max()))
        if lsb is not None:
            self.has_lsb = True
            err_lsb = np.ravel(err / lsb)
            self.sum_err2_lsb += _dot(err_lsb, err_lsb)
            self.sum_abs_lsb += float(np.abs(err_lsb).sum())
            if err_lsb.size:
                self.max_abs_lsb = max(self.max_abs_lsb, float(np.abs(err_lsb).max()))

    # ------------------------------------------------------------------ derived figures
    @property
    def sqnr_db(self) -> float:
        if self.sum_err2 == 0.0:
            return math.inf
        if self.sum_ref2 == 0.0:
            return -math.inf
        return 10.0 * math.log10(self.sum_ref2 / self.sum_err2)

    @property
    def cosine(self) -> float:
        if self.sum_ref2 == 0.0 and self.sum_test2 == 0.0:
            return 1.0
        if self.sum_ref2 == 0.0 or self.sum_test2 == 0.0:
            return 0.0
        return self.sum_dot / math.sqrt(self.sum_ref2 * self.sum_test2)

    @property
    def max_abs_error(self) -> float:
        return self.max_abs

    @property
    def mean_abs_error(self) -> float:
        return self.sum_abs / self.count if self.count else 0.0

    @property
    def rmse(self) -> float:
        return math.sqrt(self.sum_err2 / self.count) if self.count else 0.0

    @property
    def rmse_over_scale(self) -> float | None:
        if not self.has_lsb:
            return None
        return math.sqrt(self.sum_err2_lsb / self.count) if self.count else 0.0

    @property
    def max_abs_error_lsb(self) -> float | None:
        return self.max_abs_lsb if self.has_lsb else None

    @property
    def mean_abs_error_lsb(self) -> float | None:
        if not self.has_lsb:
            return None
        return self.sum_abs_lsb / self.count if self.count else 0.0

    @property
    def exact(self) -> bool:
        return self.sum_err2 == 0.0 and self.nonfinite_mismatch == 0

    def to_dict(self) -> dict:
        return {
            "sqnr_db": self.sqnr_db,
            "cosine": self.cosine,
            "max_abs_error": self.max_abs_error,
            "mean_abs_error": self.mean_abs_error,
            "rmse": self.rmse,
            "rmse_over_scale": self.rmse_over_scale,
            "max_abs_error_lsb": self.max_abs_error_lsb,
            "mean_abs_error_lsb": self.mean_abs_error_lsb,
            "exact": self.exact,
            "elements": self.count,
            "nonfinite_mismatch": self.nonfinite_mismatch,
        }


# ---------------------------------------------------------------------- one-shot forms
def sqnr_db(test, ref) -> float:
    return ErrorStats.of(test, ref).sqnr_db


def cosine_similarity(test, ref) -> float:
    return ErrorStats.of(test, ref).cosine


def max_abs_error(test, ref) -> float:
    return ErrorStats.of(test, ref).max_abs_error


def mean_abs_error(test, ref) -> float:
    return ErrorStats.of(test, ref).mean_abs_error


def rmse_over_scale(test, ref, scale) -> float:
    return ErrorStats.of(test, ref, scale).rmse_over_scale


# ---------------------------------------------------------------------- codes
HISTOGRAM_BINS = 256


class CodeStats:
    """Which codes of an 8- or 16-bit tensor occur, how often (histogram), and how many sit at the bounds."""

    def __init__(self, dtype):
        self.dtype = np.dtype(dtype)
        self.levels = code_levels(self.dtype)
        if self.levels is None:
            raise ValueError(f"code statistics need an 8- or 16-bit integer type, not {self.dtype.name}")
        self.qmin, self.qmax = code_range(self.dtype)
        self.seen = np.zeros(self.levels, dtype=bool)
        self.bin_width = max(1, self.levels // HISTOGRAM_BINS)
        self.histogram = np.zeros(self.levels // self.bin_width, dtype=np.int64)  # codes qmin.. in bins
        self.count = 0
        self.at_bounds = 0

    def update(self, codes) -> None:
        offsets = np.asarray(codes).astype(np.int64).ravel() - self.qmin
        counts = np.bincount(offsets, minlength=self.levels)
        self.seen |= counts > 0
        self.histogram += counts.reshape(-1, self.bin_width).sum(axis=1)
        self.count += int(offsets.size)
        self.at_bounds += int(counts[0] + counts[-1])

    @property
    def distinct(self) -> int:
        return int(self.seen.sum())

    @property
    def utilisation(self) -> float:
        return self.distinct / self.levels

    @property
    def at_bounds_share(self) -> float:
        return self.at_bounds / self.count if self.count else 0.0

    def bin_edges(self) -> np.ndarray:
        """Code value at the left edge of each histogram bin, plus the right edge."""
        return self.qmin + self.bin_width * np.arange(self.histogram.size + 1)


def utilisation(codes, dtype) -> float:
    stats = CodeStats(dtype)
    stats.update(codes)
    return stats.utilisation


def clipped(exact_real, scale, zero_point, dtype) -> np.ndarray:
    """Boolean mask: elements whose exact real value falls outside the codes' range by half a code or
    more (rounding would give a code beyond qmin / qmax, so the clamp decided the output)."""
    qmin, qmax = code_range(dtype)
    exact = np.asarray(exact_real, dtype=np.float64)
    position = exact / scale + zero_point
    with np.errstate(invalid="ignore"):
        return (position >= qmax + 0.5) | (position <= qmin - 0.5)


def saturation_share(exact_real, scale, zero_point, dtype) -> float:
    mask = clipped(exact_real, scale, zero_point, dtype)
    return float(mask.mean()) if mask.size else 0.0


@dataclass
class SaturationStats:
    count: int = 0
    saturated: int = 0

    def update(self, exact_real, scale, zero_point, dtype) -> None:
        mask = clipped(exact_real, scale, zero_point, dtype)
        self.count += int(mask.size)
        self.saturated += int(mask.sum())

    @property
    def share(self) -> float:
        return self.saturated / self.count if self.count else 0.0
