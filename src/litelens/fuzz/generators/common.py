"""Small helpers shared by the generators."""
from __future__ import annotations

import numpy as np

from litelens import build
from litelens.fuzz import values as v

ACTIVATIONS = (0, 1, 2, 3)  # NONE, RELU, RELU_N1_TO_1, RELU6
ACTIVATION_NAMES = {0: "NONE", 1: "RELU", 2: "RELU_N1_TO_1", 3: "RELU6"}


def tensor(name: str, shape, dtype: str, s: float | list | None = None, zp=None, data=None,
           axis: int = 0) -> build.Tensor:
    """A tensor; quantized when ``s`` is given (int8/uint8/int16 get a scale, others none)."""
    return build.Tensor(shape, dtype, name, data=data, scale=s, zero_point=zp, axis=axis)


def choose(rng, options, weights=None):
    """One of ``options`` (a Python value, not a NumPy scalar)."""
    p = None if weights is None else np.asarray(weights, np.float64) / np.sum(weights)
    return options[int(rng.choice(len(options), p=p))]


def quantized_codes(rng, shape, dtype: str, zp: int, mode: str) -> np.ndarray:
    return v.int_codes(rng, shape, dtype, zp, mode)


def shape_label(shape) -> str:
    return "x".join(str(d) for d in shape) if len(shape) else "scalar"


def broadcast_inputs(out_shape, mask1, mask2, drop1: int, drop2: int):
    """Input shapes from the output shape: dims where mask is true become 1; ``drop`` leading dims go."""
    s1 = [1 if m else d for d, m in zip(out_shape, mask1)][min(drop1, len(out_shape)):]
    s2 = [1 if m else d for d, m in zip(out_shape, mask2)][min(drop2, len(out_shape)):]
    return s1, s2


def sample_masks(rng, rank: int, p: float = 0.3):
    return [bool(rng.random() < p) for _ in range(rank)]
