"""QUANTIZE (float -> int8/uint8/int16 per tensor and per channel; requantize between integer types),
DEQUANTIZE (int8/uint8/int16 per tensor, int8 per channel, float16) and CAST between numeric types
(float -> int out of range and NaN, int -> narrower int, anything -> bool)."""
from __future__ import annotations

import numpy as np

from litelens import build
from litelens.fuzz import values as v
from litelens.fuzz.case import make_case
from litelens.fuzz.generators import register
from litelens.fuzz.generators.common import choose, shape_label, tensor

QUANTIZE_PAIRS = (("float32", "int8"), ("float32", "uint8"), ("float32", "int16"), ("int8", "int8"),
                  ("int8", "int16"), ("int8", "uint8"), ("uint8", "int8"), ("uint8", "uint8"), ("int16", "int8"),
                  ("int16", "int16"), ("int16", "int32"))
QUANTIZE_WEIGHTS = (6, 2, 2, 3, 1, 1, 1, 1, 2, 1, 1)
CAST_TYPES = ("float32", "int32", "int64", "int8", "uint8", "int16", "bool", "float16")


@register("QUANTIZE", "DEQUANTIZE")
class Quantization:
    def sample(self, rng, op: str) -> dict:
        rank = choose(rng, (0, 1, 2, 3, 4), (1, 3, 3, 2, 1))
        shape = v.small_shape(rng, rank, 8, 512)
        if op == "QUANTIZE":
            src, dst = choose(rng, QUANTIZE_PAIRS, QUANTIZE_WEIGHTS)
        else:
            src, dst = choose(rng, ("int8", "uint8", "int16", "float16"), (5, 1, 2, 1)), "float32"
        per_channel = bool(rank > 0 and rng.random() < 0.25 and (src == "float32" or (op == "DEQUANTIZE" and src == "int8")))
        p = dict(op=op, src=src, dst=dst, shape=shape, per_channel=per_channel,
                 axis=int(rng.integers(0, rank)) if per_channel else 0, mode=choose(rng, v.INT_VALUE_MODES),
                 specials=float(choose(rng, (0.0, 0.1), (3, 1))), seed=int(rng.integers(2**31)))
        p["in_s"] = v.pick_scale(rng, -12, 2)
        p["in_zp"] = 0 if src == "int16" else v.pick_zero_point(rng, src) if src in ("int8", "uint8") else 0
        p["out_s"] = v.scale_near(rng, p["in_s"], 4) if src != "float32" else v.pick_scale(rng, -12, 0)
        p["out_zp"] = v.pick_zero_point(rng, dst) if dst in ("int8", "uint8") else 0
        if src == "int16" and dst == "int16":
            p["out_zp"] = 0
        return p

    def build(self, p: dict):
        rng = np.random.default_rng(p["seed"])
        op, src, dst, shape = p["op"], p["src"], p["dst"], p["shape"]
        channels = shape[p["axis"]] if p["per_channel"] else 0
        scales = [v.f32(p["out_s" if op == "QUANTIZE" else "in_s"] * 2.0 ** rng.uniform(-2, 2)) for _ in range(channels)]
        zps = [v.pick_zero_point(rng, dst if op == "QUANTIZE" else src) for _ in range(channels)]
        if op == "QUANTIZE":
            if src == "float32":
                x = tensor("x", shape, "float32")
                value = v.float_values(rng, shape, float(p["out_s"]) * float(choose(rng, (10.0, 100.0, 400.0))),
                                       p["specials"])
            else:
                x = tensor("x", shape, src, p["in_s"], p["in_zp"])
                value = v.int_codes(rng, shape, src, p["in_zp"], p["mode"])
            out = (tensor("out", shape, dst, scales, zps, axis=p["axis"]) if p["per_channel"]
                   else tensor("out", shape, dst, p["out_s"], p["out_zp"]))
        else:
            out = tensor("out", shape, "float32")
            if src == "float16":
                x = tensor("x", shape, "float16")
                with np.errstate(over="ignore"):
                    value = v.float_values(rng, shape, 100.0, p["specials"]).astype(np.float16)
            else:
                x = (tensor("x", shape, src, scales, zps if src != "int16" else 0, axis=p["axis"]) if p["per_channel"]
                     else tensor("x", shape, src, p["in_s"], p["in_zp"]))
                value = v.int_codes(rng, shape, src, 0 if p["per_channel"] else p["in_zp"], p["mode"])
        model = build.single_op(op, [x], [out])
        label = f"{op} {src}->{dst} {shape_label(shape)}" + (f" per-channel axis {p['axis']}" if p["per_channel"] else "")
        return make_case(op, p, model, {"x": value}, label)


@register("CAST")
class Cast:
    def sample(self, rng, op: str) -> dict:
        rank = choose(rng, (0, 1, 2, 3), (1, 3, 3, 2))
        return dict(op=op, src=choose(rng, CAST_TYPES), dst=choose(rng, CAST_TYPES), shape=v.small_shape(rng, rank, 8),
                    wide=bool(rng.random() < 0.5), specials=float(choose(rng, (0.0, 0.1), (3, 1))),
                    options_table=bool(rng.random() < 0.5), seed=int(rng.integers(2**31)))

    def build(self, p: dict):
        rng = np.random.default_rng(p["seed"])
        src, dst, shape = p["src"], p["dst"], p["shape"]
        if src in ("float32", "float16"):
            spread = 1e10 if p["wide"] else 100.0
            with np.errstate(over="ignore"):
                value = v.float_values(rng, shape, spread, p["specials"]).astype(src)
        elif src == "bool":
            value = rng.integers(0, 2, tuple(shape)).astype(bool)
        else:
            value = v.plain_ints(rng, shape, src, None if p["wide"] else 300)
        x, out = tensor("x", shape, src), tensor("out", shape, dst)
        options = {"in_data_type": src.upper(), "out_data_type": dst.upper()} if p["options_table"] else None
        model = build.single_op("CAST", [x], [out], options)
        return make_case("CAST", p, model, {"x": value}, f"CAST {src}->{dst} {shape_label(shape)}")
