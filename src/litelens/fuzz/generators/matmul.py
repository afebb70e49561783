"""FULLY_CONNECTED and BATCH_MATMUL: float32, int8 (per-tensor weights with zero points, per-channel),
int16x8, hybrid (float32 input, int8 weights: per tensor or per channel, the dynamic flavor); K from 1
to 300, batch dims of any rank (keep_num_dims both ways), with and without bias, run-time weights and
bias, every fused activation the kernel takes, adj_x/adj_y and broadcast batch dims, output scales that
round or saturate. "ties" int8 cases use power-of-two scales and small codes, so many accumulators
land exactly on a rounding tie (where reference, ruy and XNNPACK round differently). Hybrid inputs mix
row magnitudes and offsets, all-zero rows and (sometimes) inf / NaN / huge / subnormal values, which
XNNPACK's per-row qd8 quantization and TFLite's hybrid kernels treat differently."""
from __future__ import annotations

import math

import numpy as np

from litelens import build
from litelens.fuzz import values as v
from litelens.fuzz.case import make_case
from litelens.fuzz.generators import register
from litelens.fuzz.generators.common import ACTIVATIONS, broadcast_inputs, choose, sample_masks, shape_label, tensor


def _accumulator_scale(rng, in_s: float, w_s: float, k: int, qmax_in: int) -> float:
    """An output scale around the spread of the accumulator, times 2**U(-3, 3)."""
    typical = in_s * w_s * math.sqrt(max(k, 1)) * qmax_in * 64.0 / 127.0
    return v.scale_near(rng, typical, binades=3)


def _tie_scales(rng, p: dict, in_key: str, w_key: str) -> None:
    """Power-of-two input / weight scales and an output scale a power of two apart from their product
    (sometimes an awkward multiple): small codes then put many accumulators exactly on a tie."""
    p[in_key] = v.f32(2.0 ** int(rng.integers(-4, 0)))
    p[w_key] = v.f32(2.0 ** int(rng.integers(-4, 0)))
    p["out_s"] = v.f32(p[in_key] * p[w_key] * 2.0 ** int(rng.integers(1, 6)) * (1.37 if rng.random() < 0.2 else 1.0))


def _small_codes(rng, shape, zero_point: int) -> np.ndarray:
    """int8 codes within +-8 of the zero point."""
    return np.array(np.clip(zero_point + rng.integers(-8, 9, tuple(shape)), -128, 127), dtype=np.int8)


def _hybrid_weights(rng, shape) -> np.ndarray:
    """int8 weights in [-127, 127], sometimes with -128 (which TFLite's AVX2 hybrid kernel mis-signs)."""
    w = rng.integers(-127, 128, tuple(shape))
    if rng.random() < 0.2 and w.size:
        w.reshape(-1)[rng.integers(0, w.size, 1 + w.size // 10)] = -128
    return np.array(w, dtype=np.int8)


def hybrid_rows(rng, shape, specials: float = 0.0) -> np.ndarray:
    """float32 rows of the last dim with magnitudes 1e-3 .. 1e3, offsets, one in three all zeros, and a
    ``specials`` share of inf / NaN / subnormal / huge values."""
    shape = tuple(shape)
    k = shape[-1] if shape else 1
    rows = int(np.prod(shape[:-1], dtype=np.int64)) if shape else 1
    x = rng.standard_normal((rows, k)) * 10.0 ** rng.uniform(-3, 3, (rows, 1))
    x = x + rng.choice([0.0, 0.0, 2.5, -4.0], (rows, 1))
    x[1::3] = 0.0
    x = x.astype(np.float32)
    if specials > 0 and x.size:
        mask = rng.random(x.shape) < specials
        x[mask] = v.FLOAT_SPECIALS[rng.integers(0, v.FLOAT_SPECIALS.size, int(mask.sum()))]
    return x.reshape(shape)


@register("FULLY_CONNECTED")
class FullyConnected:
    def sample(self, rng, op: str) -> dict:
        dtype = choose(rng, ("float32", "int8", "int16", "hybrid"), (2, 5, 2, 3))
        k = int(choose(rng, (1, 2, 3, 7, 16, 33, 64, 300), (1, 1, 2, 2, 3, 2, 2, 1)))
        p = dict(op=op, dtype=dtype, batch_shape=v.small_shape(rng, choose(rng, (0, 1, 2, 3), (2, 4, 3, 1)), 4, 64),
                 k=k, n=int(rng.integers(1, 17)), keep_num_dims=bool(rng.random() < 0.4),
                 bias=choose(rng, ("const", "none", "input"), (6, 3, 1)),
                 weights=choose(rng, ("const", "input"), (9, 1)), per_channel=bool(rng.random() < 0.5),
                 activation=choose(rng, ACTIVATIONS, (4, 2, 1, 1)), mode=choose(rng, v.INT_VALUE_MODES),
                 bias_int32=bool(rng.random() < 0.3), seed=int(rng.integers(2**31)),
                 ties=dtype == "int8" and bool(rng.random() < 0.3), asymmetric=bool(rng.random() < 0.5),
                 specials=float(choose(rng, (0.0, 0.02), (4, 1))))
        int16 = dtype == "int16"
        p["in_s"] = v.pick_scale(rng, -14 if int16 else -10, 0)
        p["w_s"] = v.pick_scale(rng, -10, -3)
        p["out_s"] = _accumulator_scale(rng, p["in_s"], p["w_s"], k, 32767 if int16 else 127)
        p["in_zp"] = 0 if int16 else v.pick_zero_point(rng, "int8")
        p["out_zp"] = 0 if int16 else v.pick_zero_point(rng, "int8")
        p["w_zp"] = int(rng.integers(-20, 21)) if dtype == "int8" and rng.random() < 0.3 else 0
        if p["ties"]:
            _tie_scales(rng, p, "in_s", "w_s")
        return p

    def build(self, p: dict):
        rng = np.random.default_rng(p["seed"])
        dtype, k, n = p["dtype"], p["k"], p["n"]
        x_shape = list(p["batch_shape"]) + [k]
        batch = int(np.prod(p["batch_shape"], dtype=np.int64))
        out_shape = list(p["batch_shape"]) + [n] if p["keep_num_dims"] else [batch, n]
        values = {}
        if dtype == "hybrid":
            per_channel = p["per_channel"] and n > 1
            w_scales = [v.f32(p["w_s"] * 2.0 ** rng.uniform(-1, 1)) for _ in range(n)] if per_channel else p["w_s"]
            w = _hybrid_weights(rng, (n, k))
            x = tensor("x", x_shape, "float32")
            wt = tensor("w", (n, k), "int8", w_scales, [0] * n if per_channel else 0,
                        data=w if p["weights"] == "const" else None)
            b_data = v.float_values(rng, (n,), 1.0)
            bt = tensor("b", (n,), "float32", data=b_data if p["bias"] == "const" else None)
            out = tensor("out", out_shape, "float32")
            values["x"] = hybrid_rows(rng, x_shape, p["specials"])
            if p["weights"] == "input":
                values["w"] = w
        elif dtype == "float32":
            w = v.float_values(rng, (n, k), 1.0 / math.sqrt(k))
            x = tensor("x", x_shape, "float32")
            wt = tensor("w", (n, k), "float32", data=w if p["weights"] == "const" else None)
            b_data = v.float_values(rng, (n,), 1.0)
            bt = tensor("b", (n,), "float32", data=b_data if p["bias"] == "const" else None)
            out = tensor("out", out_shape, "float32")
            values["x"] = v.float_values(rng, x_shape, 2.0)
            if p["weights"] == "input":
                values["w"] = w
        else:
            per_channel = p["per_channel"] and n > 1
            w_scales = [v.f32(p["w_s"] * 2.0 ** rng.uniform(-1, 1)) for _ in range(n)] if per_channel else p["w_s"]
            w_zp = 0 if per_channel else p["w_zp"]
            w = _small_codes(rng, (n, k), w_zp) if p.get("ties") else v.int_codes(rng, (n, k), "int8", w_zp, "uniform")
            x = tensor("x", x_shape, dtype, p["in_s"], p["in_zp"])
            wt = tensor("w", (n, k), "int8", w_scales, w_zp, data=w if p["weights"] == "const" else None)
            bias_scale = (np.float32(p["in_s"]) * np.asarray(w_scales, np.float32)).tolist()
            bias_dtype = "int32" if dtype == "int8" or p["bias_int32"] else "int64"
            b_data = v.plain_ints(rng, (n,), bias_dtype, int(2 ** rng.uniform(2, 17)))
            bt = tensor("b", (n,), bias_dtype, bias_scale, 0, data=b_data if p["bias"] == "const" else None)
            out = tensor("out", out_shape, dtype, p["out_s"], p["out_zp"])
            values["x"] = _small_codes(rng, x_shape, p["in_zp"]) if p.get("ties") else \
                v.int_codes(rng, x_shape, dtype, p["in_zp"], p["mode"])
            if p["weights"] == "input":
                values["w"] = w
        if p["bias"] == "input":
            values["b"] = b_data
        options = {"fused_activation_function": p["activation"], "keep_num_dims": p["keep_num_dims"]}
        if dtype == "hybrid":
            options["asymmetric_quantize_inputs"] = p.get("asymmetric", True)
        if dtype == "int16" and p["bias_int32"]:
            options["quantized_bias_type"] = "INT32"
        model = build.single_op("FULLY_CONNECTED", [x, wt, None if p["bias"] == "none" else bt], [out], options)
        label = f"FULLY_CONNECTED {dtype} {shape_label(x_shape)} x {n}x{k} bias={p['bias']} act={p['activation']}"
        return make_case("FULLY_CONNECTED", p, model, values, label)


@register("BATCH_MATMUL")
class BatchMatMul:
    def sample(self, rng, op: str) -> dict:
        dtype = choose(rng, ("float32", "int8", "int16", "int16x8", "int8->int32", "hybrid"), (3, 6, 1, 1, 1, 3))
        batch_rank = choose(rng, (0, 1, 2, 3), (2, 3, 3, 1))
        p = dict(op=op, dtype=dtype, batch_shape=v.small_shape(rng, batch_rank, 4, 24),
                 mask_l=sample_masks(rng, batch_rank), mask_r=sample_masks(rng, batch_rank),
                 drop_l=0, drop_r=int(rng.integers(0, batch_rank + 1)) if rng.random() < 0.3 else 0,
                 m=int(rng.integers(1, 9)), k=int(choose(rng, (1, 2, 5, 16, 64, 130))), n=int(rng.integers(1, 9)),
                 adj_x=bool(rng.random() < 0.3), adj_y=bool(rng.random() < 0.4),
                 rhs=choose(rng, ("input", "const"), (2, 1)), mode_l=choose(rng, v.INT_VALUE_MODES),
                 mode_r=choose(rng, v.INT_VALUE_MODES), seed=int(rng.integers(2**31)),
                 ties=dtype == "int8" and bool(rng.random() < 0.3), per_channel=bool(rng.random() < 0.4),
                 asymmetric=bool(rng.random() < 0.5), specials=float(choose(rng, (0.0, 0.02), (4, 1))))
        int16 = dtype in ("int16", "int16x8")
        p["l_s"] = v.pick_scale(rng, -14 if int16 else -10, 0)
        p["r_s"] = v.pick_scale(rng, -14 if dtype == "int16" else -10, 0)
        p["out_s"] = _accumulator_scale(rng, p["l_s"], p["r_s"], p["k"], 32767 if int16 else 127)
        p["l_zp"], p["r_zp"], p["out_zp"] = (0, 0, 0) if int16 else tuple(v.pick_zero_point(rng, "int8") for _ in range(3))
        if p["ties"]:
            _tie_scales(rng, p, "l_s", "r_s")
            p["r_zp"] = 0 if rng.random() < 0.7 else p["r_zp"]  # XNNPACK takes only rhs zero point 0
        if dtype == "hybrid":
            p["r_zp"] = 0
        return p

    def build(self, p: dict):
        rng = np.random.default_rng(p["seed"])
        dtype, m, k, n = p["dtype"], p["m"], p["k"], p["n"]
        bl, br = broadcast_inputs(p["batch_shape"], p["mask_l"], p["mask_r"], p["drop_l"], p["drop_r"])
        lhs_shape = bl + ([k, m] if p["adj_x"] else [m, k])
        rhs_shape = br + ([n, k] if p["adj_y"] else [k, n])
        out_shape = list(np.broadcast_shapes(tuple(bl), tuple(br))) + [m, n]
        l_dtype, r_dtype, o_dtype = {"float32": ("float32",) * 3, "int8": ("int8",) * 3, "int16": ("int16",) * 3,
                                     "int16x8": ("int16", "int8", "int16"),
                                     "int8->int32": ("int8", "int8", "int32"),
                                     "hybrid": ("float32", "int8", "float32")}[dtype]
        if dtype == "hybrid":
            n_axis = len(rhs_shape) - (2 if p["adj_y"] else 1)
            per_channel = p.get("per_channel") and n > 1
            r_scales = [v.f32(p["r_s"] * 2.0 ** rng.uniform(-1, 1)) for _ in range(n)] if per_channel else p["r_s"]
            lhs = tensor("lhs", lhs_shape, "float32")
            rhs = tensor("rhs", rhs_shape, "int8", r_scales, [0] * n if per_channel else 0, axis=n_axis)
            out = tensor("out", out_shape, "float32")
            lv, rv = hybrid_rows(rng, lhs_shape, p.get("specials", 0.0)), _hybrid_weights(rng, rhs_shape)
        elif dtype == "float32":
            lhs, rhs, out = (tensor(name, s, "float32") for name, s in (("lhs", lhs_shape), ("rhs", rhs_shape),
                                                                         ("out", out_shape)))
            lv, rv = v.float_values(rng, lhs_shape, 2.0), v.float_values(rng, rhs_shape, 1.0)
        else:
            lhs = tensor("lhs", lhs_shape, l_dtype, p["l_s"], p["l_zp"])
            rhs = tensor("rhs", rhs_shape, r_dtype, p["r_s"], p["r_zp"])
            out = tensor("out", out_shape, o_dtype, p["out_s"], p["out_zp"]) if o_dtype != "int32" else \
                tensor("out", out_shape, "int32", v.f32(p["l_s"] * p["r_s"]), 0)
            if p.get("ties"):
                lv, rv = _small_codes(rng, lhs_shape, p["l_zp"]), _small_codes(rng, rhs_shape, p["r_zp"])
            else:
                lv = v.int_codes(rng, lhs_shape, l_dtype, p["l_zp"], p["mode_l"])
                rv = v.int_codes(rng, rhs_shape, r_dtype, p["r_zp"], p["mode_r"])
        values = {"lhs": lv}
        if p["rhs"] == "const":
            rhs = rhs.copy(data=rv)
        else:
            values["rhs"] = rv
        options = {"adj_x": p["adj_x"], "adj_y": p["adj_y"]}
        if dtype == "hybrid":
            options["asymmetric_quantize_inputs"] = p.get("asymmetric", True)
        model = build.single_op("BATCH_MATMUL", [lhs, rhs], [out], options)
        label = f"BATCH_MATMUL {dtype} {shape_label(lhs_shape)} @ {shape_label(rhs_shape)} adj={p['adj_x']:d}{p['adj_y']:d}"
        return make_case("BATCH_MATMUL", p, model, values, label)
