"""ADD, SUB, MUL, DIV, SQUARED_DIFFERENCE, MAXIMUM, MINIMUM: broadcasting (size-1 and missing leading dims), every fused
activation, float32 (with specials), plain int32/int64/int16 (small values or wrapping), quantized
int8 (zero points at both ends) and int16 (symmetric), scales across binades."""
from __future__ import annotations

import numpy as np

from litelens import build
from litelens.fuzz import values as v
from litelens.fuzz.case import make_case
from litelens.fuzz.generators import register
from litelens.fuzz.generators.common import (ACTIVATIONS, broadcast_inputs, choose, sample_masks,
                                             shape_label, tensor)

DTYPES = {
    "ADD": ("float32", "int32", "int64", "int8", "int16", "int16q"),
    "SUB": ("float32", "int32", "int64", "int8", "int16q"),
    "MUL": ("float32", "int32", "int64", "int8", "int16", "int16q"),
    "DIV": ("float32", "int32", "int8", "int16q"),
    "SQUARED_DIFFERENCE": ("float32", "int32", "int8"),
    "MAXIMUM": ("float32", "float16", "int8", "uint8", "int16", "int32", "int64"),
    "MINIMUM": ("float32", "float16", "int8", "uint8", "int16", "int32", "int64"),
}
WEIGHTS = {"float32": 3, "float16": 1, "uint8": 1, "int32": 1, "int64": 1, "int8": 6, "int16": 1, "int16q": 2}
NO_ACTIVATION = ("SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM")


def _output_scale(rng, op: str, s1: float, s2: float, qmax: int) -> float:
    """A scale around where the real result lives, so outputs both round and saturate."""
    r1, r2 = s1 * qmax, s2 * qmax
    estimate = {"ADD": r1 + r2, "SUB": r1 + r2, "MUL": r1 * r2, "DIV": r1 / max(s2, 1e-30) / qmax,
                "SQUARED_DIFFERENCE": (r1 + r2) ** 2}[op] / qmax
    return v.scale_near(rng, max(estimate, 1e-20), binades=3)


@register("ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE", "MAXIMUM", "MINIMUM")
class Binary:
    def sample(self, rng, op: str) -> dict:
        dtypes = DTYPES[op]
        dtype = choose(rng, dtypes, [WEIGHTS[d] for d in dtypes])
        rank = choose(rng, (0, 1, 2, 3, 4, 5, 6), (1, 3, 4, 4, 3, 1, 1 if op != "DIV" else 0))
        out_shape = v.small_shape(rng, rank, max_dim=6, max_size=600)
        p = dict(op=op, dtype=dtype, out_shape=out_shape, mask1=sample_masks(rng, rank),
                 mask2=sample_masks(rng, rank), drop1=int(rng.integers(0, 2)) if rank and rng.random() < 0.2 else 0,
                 drop2=int(rng.integers(0, rank + 1)) if rank and rng.random() < 0.3 else 0,
                 activation=choose(rng, ACTIVATIONS, (4, 2, 1, 1)) if op not in NO_ACTIVATION else 0,
                 mode1=choose(rng, v.INT_VALUE_MODES), mode2=choose(rng, v.INT_VALUE_MODES),
                 specials=float(choose(rng, (0.0, 0.1), (4, 1))), wrap=bool(rng.random() < 0.2),
                 zero_divisor=bool(rng.random() < 0.03), options_table=bool(rng.random() < 0.95),
                 seed=int(rng.integers(2**31)))
        if rng.random() < 0.15:  # same shape, no broadcasting
            p["mask1"], p["mask2"], p["drop1"], p["drop2"] = [False] * rank, [False] * rank, 0, 0
        if op in ("MAXIMUM", "MINIMUM"):  # codes are compared raw: usually one shared quantization
            if dtype in ("int8", "uint8", "int16"):
                p["s1"] = v.pick_scale(rng, -10, 0)
                p["z1"] = v.pick_zero_point(rng, dtype)
                shared = rng.random() < 0.8
                p["s2"], p["so"] = (p["s1"], p["s1"]) if shared else (v.pick_scale(rng, -10, 0), v.pick_scale(rng, -10, 0))
                p["z2"], p["zo"] = (p["z1"], p["z1"]) if shared else (v.pick_zero_point(rng, dtype),) * 2
        elif dtype in ("int8", "int16q"):
            int16 = dtype == "int16q"
            p["s1"] = v.pick_scale(rng, -14 if int16 else -10, 2)
            p["s2"] = v.scale_near(rng, p["s1"], 4) if rng.random() < 0.8 else v.pick_scale(rng, -10, 2)
            p["so"] = _output_scale(rng, op, p["s1"], p["s2"], 32767 if int16 else 127)
            p["z1"], p["z2"], p["zo"] = (0, 0, 0) if int16 else tuple(v.pick_zero_point(rng, "int8") for _ in range(3))
            if op in ("ADD", "SUB") and int16 and rng.random() < 0.4:  # the power-of-two path
                p["pot"] = True
                e = int(rng.integers(-14, -8))
                p["so"] = 2.0 ** e
                p["s1"], p["s2"] = 2.0 ** (e - int(rng.integers(0, 3))), 2.0 ** e
                if rng.random() < 0.5:
                    p["s1"], p["s2"] = p["s2"], p["s1"]
                if op == "ADD" and rng.random() < 0.9:  # broadcasting aborts the official pot ADD
                    p["mask1"], p["mask2"], p["drop1"], p["drop2"] = [False] * rank, [False] * rank, 0, 0
        return p

    def build(self, p: dict):
        op, dtype = p["op"], p["dtype"]
        rng = np.random.default_rng(p["seed"])
        s1, s2 = broadcast_inputs(p["out_shape"], p["mask1"], p["mask2"], p["drop1"], p["drop2"])
        out_shape = list(np.broadcast_shapes(tuple(s1), tuple(s2)))
        quantized = "s1" in p
        storage = "int16" if dtype.startswith("int16") else dtype
        q = (lambda k: (p[f"s{k}"], p[f"z{k}"])) if quantized else (lambda k: (None, None))
        x1 = tensor("x1", s1, storage, *q(1))
        x2 = tensor("x2", s2, storage, *q(2))
        out = tensor("out", out_shape, storage, *q("o"))
        vals = {"x1": self._values(rng, p, s1, storage, p.get("z1", 0), p["mode1"], divisor=False),
                "x2": self._values(rng, p, s2, storage, p.get("z2", 0), p["mode2"], divisor=op == "DIV")}
        options = None
        if op in ("MAXIMUM", "MINIMUM") and p["options_table"]:
            options = {}
        elif op not in NO_ACTIVATION and p["options_table"]:
            options = {"fused_activation_function": p["activation"]}
            if op in ("ADD", "SUB"):
                options["pot_scale_int16"] = bool(p.get("pot", False))
        model = build.single_op(op, [x1, x2], [out], options)
        label = f"{op} {dtype} {shape_label(s1)} , {shape_label(s2)} act={p['activation']}"
        return make_case(op, p, model, vals, label)

    @staticmethod
    def _values(rng, p, shape, storage: str, zp: int, mode: str, divisor: bool) -> np.ndarray:
        if storage in ("float32", "float16"):
            with np.errstate(over="ignore"):
                x = v.float_values(rng, shape, float(choose(rng, (0.5, 2.0, 100.0))), p["specials"]).astype(storage)
            if divisor and not p["zero_divisor"]:
                x[x == 0] = 1.0
            return x
        if "s1" in p:
            x = v.int_codes(rng, shape, storage, zp, mode)
            if divisor and not p["zero_divisor"]:
                x[x == zp] = zp + 1 if zp < np.iinfo(storage).max else zp - 1
            return x
        span = None if p["wrap"] else (1000 if storage != "int16" else 100)
        x = v.plain_ints(rng, shape, storage, span)
        if divisor and not p["zero_divisor"]:
            x[x == 0] = 1
            x[x == -1] = 2  # INT32_MIN / -1 traps in the official kernel
        return x
