"""Tensor-by-tensor comparison of two runs.

Integer tensors are equal when every element is; float tensors when every element is equal or both
are NaN (so -0.0 == 0.0), or, with a tolerance given, within ``atol + rtol * |official|``.
Differences are measured in stored units (integer codes, or float values) and, for quantized
tensors, also in real units: |Δcode| times the tensor's scale (per channel along its axis).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from litelens.ops.base import Quantization

EQUAL, DIFFERS, SHAPE, MISSING_OFFICIAL, MISSING_OURS = (
    "equal", "differs", "shape-or-dtype", "not-written-by-official", "not-computed-by-litelens")


@dataclass
class TensorDiff:
    index: int
    name: str
    dtype: str
    shape: list[int]
    producer: int | None  # op index, None for a model input
    status: str
    size: int = 0
    count: int = 0  # elements that differ
    max_abs: float = 0.0  # largest |ours - official| in stored units (codes, or float values)
    mean_abs: float = 0.0  # over all elements
    max_real: float | None = None  # largest |difference| in real units (quantized tensors)
    first: list[int] | None = None  # position of the first differing element
    ours: float | int | None = None  # values there
    official: float | int | None = None
    note: str = ""

    @property
    def differs(self) -> bool:
        return self.status in (DIFFERS, SHAPE)

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None and v != ""}


def _scalar(x):
    return x.item() if hasattr(x, "item") else x


def _real_scale(quant: Quantization | None, shape: tuple[int, ...]) -> np.ndarray | None:
    if quant is None or quant.scale.size == 0:
        return None
    scale = quant.scale.astype(np.float64)
    if scale.size == 1 or not shape:
        return scale[:1].reshape(())
    view = [1] * len(shape)
    if 0 <= quant.axis < len(shape) and shape[quant.axis] == scale.size:
        view[quant.axis] = scale.size
        return scale.reshape(view)
    return np.float64(scale.max())


# Float tensors of the optimized and XNNPACK paths: their float kernels sum in other orders, fuse
# multiply-adds and use their own exp/tanh approximations, which litelens does not reproduce bit
# for bit. They are compared within this bound, relative to the largest magnitude in the official
# tensor (so an element near zero in a tensor of large values is judged on the tensor's scale):
# |ours - official| <= FLOAT_PATH_TOLERANCE * max|official|. Integer tensors are always bit-exact.
FLOAT_PATH_TOLERANCE = {"reference": 0.0, "optimized": 1e-5, "xnnpack": 1e-5}


def float_tolerance(resolver: str) -> float:
    """The float tolerance (relative to a tensor's max |value|) for comparing against ``resolver``."""
    return FLOAT_PATH_TOLERANCE.get(resolver.partition("-")[0], 0.0)


def compare_arrays(ours: np.ndarray, theirs: np.ndarray, quant: Quantization | None = None,
                   atol: float = 0.0, rtol: float = 0.0, rtol_of_max: float = 0.0) -> dict:
    """Fields of a :class:`TensorDiff` describing how ``ours`` differs from ``theirs``.

    ``rtol_of_max`` (floats only) adds ``rtol_of_max * max|theirs|`` (over finite values) to ``atol``.
    """
    if ours.shape != theirs.shape or ours.dtype != theirs.dtype:
        return {"status": SHAPE, "size": int(theirs.size), "count": int(theirs.size),
                "note": f"litelens {ours.dtype.name}{list(ours.shape)} vs official "
                        f"{theirs.dtype.name}{list(theirs.shape)}"}
    size = int(theirs.size)
    if theirs.dtype.kind == "f":
        both_nan = np.isnan(ours) & np.isnan(theirs)
        if rtol_of_max and theirs.size:
            finite = np.abs(theirs[np.isfinite(theirs)].astype(np.float64))
            atol = atol + rtol_of_max * (float(finite.max()) if finite.size else 0.0)
        with np.errstate(invalid="ignore", over="ignore"):
            if atol or rtol:
                bad = ~(np.isclose(ours, theirs, atol=atol, rtol=rtol) | both_nan)
            else:
                bad = ~((ours == theirs) | both_nan)
            delta = np.abs(ours.astype(np.float64) - theirs.astype(np.float64))
        delta = np.where(bad, delta, 0.0)
        delta = np.where(np.isnan(delta), np.inf, delta)  # NaN on one side only
    elif theirs.dtype.kind == "b":
        bad = ours != theirs
        delta = bad.astype(np.float64)
    else:
        bad = ours != theirs
        delta = np.abs(ours.astype(np.int64) - theirs.astype(np.int64)).astype(np.float64)
    count = int(bad.sum())
    if count == 0:
        return {"status": EQUAL, "size": size}
    first = np.unravel_index(int(np.flatnonzero(bad.reshape(-1))[0]), theirs.shape) if theirs.ndim else ()
    fields = {"status": DIFFERS, "size": size, "count": count, "max_abs": float(delta.max()),
              "mean_abs": float(delta.mean()), "first": [int(i) for i in first],
              "ours": _scalar(ours[first]), "official": _scalar(theirs[first])}
    scale = _real_scale(quant, theirs.shape) if theirs.dtype.kind in "iu" else None
    if scale is not None:
        fields["max_real"] = float((delta * scale).max())
    elif theirs.dtype.kind == "f":
        fields["max_real"] = fields["max_abs"]
    return fields


@dataclass
class Comparison:
    """Every non-constant tensor of the graph, compared."""

    tensors: dict[int, TensorDiff] = field(default_factory=dict)

    def by_status(self, status: str) -> list[TensorDiff]:
        return [d for d in self.tensors.values() if d.status == status]

    @property
    def compared(self) -> int:
        return sum(d.status in (EQUAL, DIFFERS, SHAPE) for d in self.tensors.values())

    @property
    def equal(self) -> int:
        return len(self.by_status(EQUAL))

    @property
    def differing(self) -> list[TensorDiff]:
        return [d for d in self.tensors.values() if d.differs]


def compare_runs(graph, ours: dict[int, np.ndarray], theirs: dict[int, np.ndarray],
                 atol: float = 0.0, rtol: float = 0.0, ours_ran_all: bool = True,
                 official_unwritten: set[int] | None = None, rtol_of_max: float = 0.0) -> Comparison:
    """Compare every tensor the graph computes (inputs and op outputs) present in either run.

    ``graph`` is a ``litelens.model.SubgraphInfo``. A tensor only one side has is recorded as
    missing on the other side, not compared.
    """
    producer = {t: op.index for op in graph.operators for t in op.outputs}
    official_unwritten = official_unwritten or set()
    result = Comparison()
    for index in list(graph.inputs) + [t for op in graph.operators for t in op.outputs]:
        if index in result.tensors:
            continue
        info = graph.tensors[index]
        shape = list(theirs[index].shape) if index in theirs else list(info.shape)
        base = dict(index=index, name=info.name, dtype=info.type_name.lower(), shape=shape,
                    producer=producer.get(index))
        if index not in theirs and index not in ours:
            continue
        if index not in theirs:
            why = "the official interpreter never wrote it" if index in official_unwritten else \
                "the official run stopped before it"
            result.tensors[index] = TensorDiff(**base, status=MISSING_OFFICIAL, note=why)
        elif index not in ours:
            result.tensors[index] = TensorDiff(**base, status=MISSING_OURS, note="litelens stopped before it")
        else:
            fields = compare_arrays(ours[index], theirs[index], info.quantization, atol, rtol, rtol_of_max)
            result.tensors[index] = TensorDiff(**base, **fields)
    return result
