"""Inputs for a diff when the user gives none: a default text for BERT-style models, else random."""
from __future__ import annotations

import numpy as np

DEFAULT_TEXT = "Quickbite is testing drone deliveries in two suburbs."


def random_inputs(interp, seed: int = 0) -> dict[int, np.ndarray]:
    """Quantized integer inputs: codes over the dtype's whole range; other integers: 0..7 (ids,
    indices); booleans: random; floats: N(0, 2**2)."""
    rng = np.random.default_rng(seed)
    out = {}
    for d in interp.get_input_details():
        shape, dtype = tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"])
        quantized = len(d["quantization_parameters"]["scales"]) > 0
        if dtype.kind == "b":
            out[d["index"]] = rng.integers(0, 2, shape).astype(bool)
        elif dtype.kind in "iu" and quantized:
            info = np.iinfo(dtype)
            out[d["index"]] = rng.integers(max(info.min, -(2**31)), min(info.max, 2**31 - 1), shape,
                                           endpoint=True).astype(dtype)
        elif dtype.kind in "iu":
            out[d["index"]] = rng.integers(0, 8, shape).astype(dtype)
        else:
            out[d["index"]] = (rng.standard_normal(shape) * 2).astype(dtype)
    return out


def default_inputs(interp, seed: int = 0) -> tuple[dict[int, np.ndarray], str]:
    """(inputs, how they were made): the default text if the model takes text, else random values."""
    from litelens.errors import InputError
    from litelens.inputs import text_inputs

    try:
        return text_inputs(interp, DEFAULT_TEXT), f"text {DEFAULT_TEXT!r}"
    except (InputError, ImportError):
        return random_inputs(interp, seed), f"random values (seed {seed})"
