"""TANH, LOGISTIC, GELU (exact and approximate), RSQRT, SOFTMAX and L2_NORMALIZATION: float32 (with specials), int8 and
uint8 tables over every code, int16 where litelens implements it; input scales across binades so the
function's flat and steep parts are both hit; softmax over any rank, any beta, rows up to 300 long."""
from __future__ import annotations

import numpy as np

from litelens import build
from litelens.fuzz import values as v
from litelens.fuzz.case import make_case
from litelens.fuzz.generators import register
from litelens.fuzz.generators.common import choose, shape_label, tensor

DTYPES = {"TANH": ("float32", "int8", "uint8"), "LOGISTIC": ("float32", "int8", "uint8"),
          "GELU": ("float32", "int8", "uint8", "int16"), "RSQRT": ("float32", "int8", "int16"),
          "SOFTMAX": ("float32", "int8", "uint8", "int16", "int8->int16"),
          "L2_NORMALIZATION": ("float32", "int8", "uint8")}
WEIGHTS = {"float32": 3, "int8": 5, "uint8": 2, "int16": 2, "int8->int16": 1}


def _output_quantization(rng, op: str, dtype: str, p: dict) -> tuple[float | None, int | None]:
    if dtype == "float32":
        return None, None
    if op == "LOGISTIC":
        return 1 / 256, (-128 if dtype == "int8" else 0)
    if op == "L2_NORMALIZATION":
        return 1 / 128, (0 if dtype == "int8" else 128)
    if op == "SOFTMAX":
        return {"int8": (1 / 256, -128), "uint8": (1 / 256, 0), "int16": (1 / 32768, 0),
                "int8->int16": (1 / 32768, 0)}[dtype]
    if dtype == "int16":
        return v.pick_scale(rng, -14, -8), 0
    if op == "TANH" and rng.random() < 0.5:
        return 1 / 128, (0 if dtype == "int8" else 128)
    if op == "RSQRT":  # outputs up to 1/sqrt(in_s)
        return v.scale_near(rng, float(1.0 / np.sqrt(p["in_s"]) / 127), 3), v.pick_zero_point(rng, dtype)
    return v.pick_scale(rng, -10, -2), v.pick_zero_point(rng, dtype)


@register("TANH", "LOGISTIC", "GELU", "RSQRT", "SOFTMAX", "L2_NORMALIZATION")
class Unary:
    def sample(self, rng, op: str) -> dict:
        dtype = choose(rng, DTYPES[op], [WEIGHTS[d] for d in DTYPES[op]])
        rank = choose(rng, (0, 1, 2, 3, 4), (1, 3, 3, 2, 1)) if op not in ("SOFTMAX", "L2_NORMALIZATION") else \
            choose(rng, (1, 2, 3, 4), (2, 3, 2, 1))
        shape = v.small_shape(rng, rank, 8, 512)
        if op == "SOFTMAX" and rng.random() < 0.3:
            shape[-1] = int(choose(rng, (1, 2, 16, 100, 257, 300)))
        in_dtype = dtype.split("->")[0]
        p = dict(op=op, dtype=dtype, shape=shape, mode=choose(rng, v.INT_VALUE_MODES),
                 specials=float(choose(rng, (0.0, 0.1), (3, 1))), approximate=bool(rng.random() < 0.5),
                 beta=float(choose(rng, (1.0, 0.5, 2.0, 1 / 3, 0.0625, 7.0), (6, 1, 1, 1, 1, 1))),
                 negative=bool(rng.random() < 0.05), seed=int(rng.integers(2**31)))
        # input scale: the interesting range of the function ([-8, 8], or [0, 64] for rsqrt) in codes
        qmax = 32767 if in_dtype == "int16" else 127
        p["in_s"] = v.scale_near(rng, 8.0 / qmax, 4)
        p["in_zp"] = 0 if in_dtype == "int16" else v.pick_zero_point(rng, in_dtype)
        if op == "RSQRT" and in_dtype == "int8":
            p["in_zp"] = int(choose(rng, (-128, -100, 0, 50)))
        p["out_s"], p["out_zp"] = _output_quantization(rng, op, dtype, p)
        if op == "SOFTMAX" and in_dtype in ("int8", "uint8") and shape[-1] > 200 and p["mode"] == "extremes":
            p["mode"] = "uniform"  # many entries at the row maximum abort the official kernel
        return p

    def build(self, p: dict):
        rng = np.random.default_rng(p["seed"])
        op, dtype, shape = p["op"], p["dtype"], p["shape"]
        in_dtype, out_dtype = dtype.split("->") if "->" in dtype else (dtype, dtype)
        if dtype == "float32":
            x, out = tensor("x", shape, "float32"), tensor("out", shape, "float32")
            spread = float(choose(rng, (1.0, 4.0, 30.0)))
            value = v.float_values(rng, shape, spread, p["specials"])
            if op == "RSQRT" and not p["negative"]:
                value = np.abs(value)
        else:
            x = tensor("x", shape, in_dtype, p["in_s"], p["in_zp"])
            out = tensor("out", shape, out_dtype, p["out_s"], p["out_zp"])
            value = v.int_codes(rng, shape, in_dtype, p["in_zp"], p["mode"])
            if op == "RSQRT" and not p["negative"]:
                value = np.maximum(value, np.array(p["in_zp"], value.dtype))
        options = None
        if op == "GELU":
            options = {"approximate": p["approximate"]}
        elif op == "SOFTMAX":
            options = {"beta": p["beta"]}
        elif op == "L2_NORMALIZATION":
            options = {"fused_activation_function": 0}
        model = build.single_op(op, [x], [out], options)
        label = f"{op} {dtype} {shape_label(shape)}" + (f" beta={p['beta']:g}" if op == "SOFTMAX" else "")
        return make_case(op, p, model, {"x": value}, label)
