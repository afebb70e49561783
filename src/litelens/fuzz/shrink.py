"""Shrinking a failing case to a minimal one that fails the same way.

First the parameters, by name (generators follow the naming in :mod:`litelens.fuzz.generators`):
shapes lose leading dims, dims go to 1 or halve; sizes named ``k``/``m``/``n`` go to 1 or halve;
scales (``*_s``, ``s1``, ``s2``, ``so``) become 1 or the nearest power of two; zero points (``*zp``,
``z1``, ``z2``, ``zo``) 0; activations NONE; value modes the
simplest; booleans False. A candidate is kept when rebuilding it succeeds and it still fails with
the same outcome kind. Then the input values: halves, quarters, ... of each input are reset to a
neutral value (the zero point, or 0) while the failure persists.
"""
from __future__ import annotations

import copy
import math
from typing import Callable, Iterator

import numpy as np

from litelens.fuzz.case import Case

SIZE_KEYS = ("k", "m", "n")
SKIP_KEYS = ("op", "seed", "variant", "dtype", "src", "dst")


def _pow2(x: float) -> float:
    return float(2.0 ** round(math.log2(x))) if x > 0 else 1.0


def _is_zero_point(key: str) -> bool:
    return key.endswith("zp") or key in ("z1", "z2", "zo")


def _value_candidates(key: str, value) -> list:
    if key in SKIP_KEYS:
        return []
    if isinstance(value, bool):
        return [False] if value else []
    if isinstance(value, list) and key.endswith("shape"):
        out = []
        if value:
            out.append(value[1:])
        for i, d in enumerate(value):
            if d > 1:
                out.append(value[:i] + [1] + value[i + 1:])
                if d > 3:
                    out.append(value[:i] + [d // 2] + value[i + 1:])
        return out
    if isinstance(value, list) and all(isinstance(x, bool) for x in value):  # broadcast masks
        return [[False] * len(value)] if any(value) else []
    if isinstance(value, int) and key in SIZE_KEYS:
        return [c for c in (1, value // 2) if 0 < c < value]
    if isinstance(value, int) and (_is_zero_point(key) or key.startswith("drop") or key == "activation"):
        return [0] if value else []
    if isinstance(value, float) and (key.endswith("_s") or "scale" in key or key in ("s", "s1", "s2", "so")):
        return [c for c in (1.0, _pow2(value)) if c != value]
    if isinstance(value, float) and key == "beta":
        return [1.0] if value != 1.0 else []
    if isinstance(value, float) and key == "specials":
        return [0.0] if value else []
    if isinstance(value, str) and key.startswith("mode"):
        return ["near_zp"] if value not in ("near_zp",) else []
    return []


def parameter_candidates(params: dict) -> Iterator[dict]:
    """Simpler variants of ``params``, one change at a time."""
    for key in sorted(params):
        for candidate in _value_candidates(key, params[key]):
            simpler = copy.deepcopy(params)
            simpler[key] = candidate
            yield simpler


def _neutral(case: Case, index: int, value: np.ndarray):
    t = case.model.tensors[index]
    if t.quantized and t.zero_points().size:
        return t.zero_points()[0]
    return 0


def shrink(case: Case, build: Callable[[dict], Case], still_fails: Callable[[Case], bool],
           budget: int = 300) -> tuple[Case, int]:
    """The smallest case found that ``still_fails``, and how many candidates were tried."""
    tried = 0
    best = case
    progress = True
    while progress and tried < budget:
        progress = False
        for params in parameter_candidates(best.params):
            if tried >= budget:
                break
            try:
                candidate = build(params)
            except (ValueError, KeyError, IndexError, ZeroDivisionError):
                continue
            tried += 1
            if still_fails(candidate):
                best, progress = candidate, True
                break
    for index in sorted(best.inputs):  # then the values, by halves
        value = best.inputs[index]
        if value.size <= 1:
            continue
        neutral = _neutral(best, index, value)
        chunk = value.size // 2
        while chunk >= 1 and tried < budget:
            changed = False
            for start in range(0, value.size, chunk):
                flat = best.inputs[index].reshape(-1).copy()
                if np.all(flat[start:start + chunk] == neutral):
                    continue
                flat[start:start + chunk] = neutral
                inputs = dict(best.inputs)
                inputs[index] = flat.reshape(value.shape)
                candidate = best.with_inputs(inputs)
                tried += 1
                if still_fails(candidate):
                    best, changed = candidate, True
                if tried >= budget:
                    break
            if not changed:
                chunk //= 2
    return best, tried
