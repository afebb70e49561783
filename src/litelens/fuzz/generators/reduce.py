"""MEAN and SUM over any set of axes (negative, repeated, contiguous or not, all or none), keep_dims
both ways: float32, int32/int64, quantized int8/uint8 (zero points at both ends) and int16 MEAN."""
from __future__ import annotations

import numpy as np

from litelens import build
from litelens.fuzz import values as v
from litelens.fuzz.case import make_case
from litelens.fuzz.generators import register
from litelens.fuzz.generators.common import choose, shape_label, tensor

DTYPES = {"MEAN": ("float32", "int8", "uint8", "int16", "int32", "int64"),
          "SUM": ("float32", "int8", "uint8", "int32", "int64")}
WEIGHTS = {"float32": 3, "int8": 5, "uint8": 1, "int16": 1, "int32": 1, "int64": 1}


@register("MEAN", "SUM")
class Reduce:
    def sample(self, rng, op: str) -> dict:
        dtype = choose(rng, DTYPES[op], [WEIGHTS[d] for d in DTYPES[op]])
        rank = choose(rng, (1, 2, 3, 4), (2, 3, 3, 2))
        shape = v.small_shape(rng, rank, 8, 512)
        n_axes = int(rng.integers(0, rank + 2)) if rng.random() < 0.2 else int(rng.integers(1, rank + 1))
        axes = [int(rng.integers(-rank, rank)) for _ in range(n_axes)]
        p = dict(op=op, dtype=dtype, shape=shape, axes=axes, keep_dims=bool(rng.random() < 0.5),
                 mode=choose(rng, v.INT_VALUE_MODES), seed=int(rng.integers(2**31)))
        int16 = dtype == "int16"
        p["in_s"] = v.pick_scale(rng, -14 if int16 else -10, 0)
        count = int(np.prod([shape[a % rank] for a in set(a % rank for a in axes)] or [1]))
        grow = 1.0 if op == "MEAN" else float(np.sqrt(count))
        p["out_s"] = v.scale_near(rng, p["in_s"] * grow, 3)
        p["in_zp"] = 0 if int16 else v.pick_zero_point(rng, dtype) if dtype in ("int8", "uint8") else 0
        p["out_zp"] = 0 if int16 else v.pick_zero_point(rng, dtype) if dtype in ("int8", "uint8") else 0
        return p

    def build(self, p: dict):
        rng = np.random.default_rng(p["seed"])
        op, dtype, shape = p["op"], p["dtype"], p["shape"]
        rank = len(shape)
        axes = [a for a in p["axes"] if -rank <= a < rank]
        resolved = sorted({a % rank for a in axes})
        out_shape = [1 if i in resolved else d for i, d in enumerate(shape)] if p["keep_dims"] else \
            [d for i, d in enumerate(shape) if i not in resolved]
        quantized = dtype in ("int8", "uint8", "int16")
        q_in = (p["in_s"], p["in_zp"]) if quantized else (None, None)
        q_out = (p["out_s"], p["out_zp"]) if quantized else (None, None)
        x = tensor("x", shape, dtype, *q_in)
        axis = tensor("axis", [len(axes)], "int32", data=np.array(axes, np.int32))
        out = tensor("out", out_shape, dtype, *q_out)
        if dtype == "float32":
            value = v.float_values(rng, shape, 3.0)
        elif quantized:
            value = v.int_codes(rng, shape, dtype, p["in_zp"], p["mode"])
        else:
            value = v.plain_ints(rng, shape, dtype, 1000)
        model = build.single_op(op, [x, axis], [out], {"keep_dims": p["keep_dims"]})
        label = f"{op} {dtype} {shape_label(shape)} axes={axes} keep={p['keep_dims']:d}"
        return make_case(op, p, model, {"x": value}, label)
