"""A few differing elements of a divergent op, with the arithmetic behind them where it can be told.

The op's inputs are equal in both runs (that is what makes it divergent), so everything here is
computed from litelens's copy of them. For integer ops each element gets the exact value before
rounding, ``exact`` = the real result divided by the output scale plus the output zero point (float64;
for FULLY_CONNECTED / BATCH_MATMUL / MUL also the integer accumulator it comes from), and then which
rounding each side's code corresponds to: nearest, down, up, a tie broken up or down, saturated, or
off by k. Float outputs get the distance in float32 ULPs.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from litelens.ops.base import Node, TensorArg


@dataclass
class Element:
    position: list[int]
    ours: float | int
    official: float | int
    accumulator: int | None = None  # the integer sum the op requantizes (FC, BATCH_MATMUL, MUL)
    exact: float | None = None  # exact value before rounding, in output codes
    ours_rounding: str | None = None
    official_rounding: str | None = None
    ulps: int | None = None  # float outputs: |ours - official| in float32 ULPs

    def to_json(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _scale_zp(t: TensorArg, channel: int | None = None) -> tuple[float, int]:
    q = t.quantization
    if q is None or q.scale.size == 0:
        return 1.0, 0
    i = channel if channel is not None and q.scale.size > 1 else 0
    return float(q.scale[i]), int(q.zero_point[i])


def rounding(exact: float, q: int, qmin: int, qmax: int) -> str:
    """How code ``q`` relates to the exact value ``exact`` (both in output codes)."""
    if not math.isfinite(exact):
        return "exact value not finite"
    if q == qmax and exact > qmax + 0.5:
        return f"saturated at {qmax}"
    if q == qmin and exact < qmin - 0.5:
        return f"saturated at {qmin}"
    floor = math.floor(exact)
    frac = exact - floor
    tie = abs(frac - 0.5) <= 1e-9 * max(1.0, abs(exact))
    if tie and q == floor + 1:
        return "tie, rounded up"
    if tie and q == floor:
        return "tie, rounded down"
    nearest = floor + (1 if frac > 0.5 else 0)
    if q == nearest:
        return "to nearest"
    if q == floor:
        return "down (not to nearest)"
    if q == floor + 1:
        return "up (not to nearest)"
    return f"off by {q - nearest:+d} from nearest"


def _clamp_range(params, dtype: np.dtype) -> tuple[int, int]:
    for lo, hi in (("qmin", "qmax"), ("act_min", "act_max"), ("out_min", "out_max")):
        if hasattr(params, lo) and hasattr(params, hi):
            return int(getattr(params, lo)), int(getattr(params, hi))
    arithmetic = getattr(params, "arithmetic", None)
    if arithmetic is not None and hasattr(arithmetic, "act_min"):
        return int(arithmetic.act_min), int(arithmetic.act_max)
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _deq(t: TensorArg, value: np.ndarray) -> np.ndarray:
    s, z = _scale_zp(t)
    return (value.astype(np.float64) - z) * s


def _exact_codes(node: Node, values: dict[int, np.ndarray], out: TensorArg):
    """(accumulator array or None, exact-code array or a function of the flat position) for the op."""
    ins = [None if t is None else (t, values.get(t.index, t.data)) for t in node.inputs]
    so, zo = _scale_zp(out)
    shape = tuple(out.shape)
    op = node.opcode
    if op == "FULLY_CONNECTED" and ins[0][0].quantization is not None:
        (x, xv), (w, wv) = ins[0], ins[1]
        n, k = w.shape
        xs, xz = _scale_zp(x)
        per_channel = w.quantization.scale.size > 1
        wz = 0 if per_channel else _scale_zp(w)[1]
        acc = (xv.reshape(-1, k).astype(np.int64) - xz) @ (wv.astype(np.int64) - wz).T  # [batch, N]
        if len(ins) > 2 and ins[2] is not None:
            acc = acc + ins[2][1].reshape(1, n).astype(np.int64)
        ws = w.quantization.scale.astype(np.float64) if per_channel else np.full(n, _scale_zp(w)[0])
        exact = acc * (np.float64(xs) * ws / np.float64(so)) + zo
        return acc.reshape(-1), exact.reshape(-1)
    if op == "BATCH_MATMUL" and ins[0][0].quantization is not None and out.dtype != np.int32:
        (lhs, lv), (rhs, rv) = ins[0], ins[1]
        opts = node.options
        ls, lz = _scale_zp(lhs)
        rs, rz = _scale_zp(rhs)
        a = lv.astype(np.int64) - lz
        b = rv.astype(np.int64) - rz
        if getattr(opts, "adj_x", False):
            a = np.swapaxes(a, -1, -2)
        if getattr(opts, "adj_y", False):
            b = np.swapaxes(b, -1, -2)
        acc = np.matmul(a, b)
        exact = acc * (float(np.float32(ls) * np.float32(rs)) / so) + zo
        return acc.reshape(-1), exact.reshape(-1)
    if out.quantization is None:
        return None, None
    if op in ("ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE") and len(ins) == 2:
        (a, av), (b, bv) = ins
        av, bv = np.broadcast_to(av, shape), np.broadcast_to(bv, shape)
        (s1, z1), (s2, z2) = _scale_zp(a), _scale_zp(b)
        d1, d2 = (av.astype(np.float64) - z1) * s1, (bv.astype(np.float64) - z2) * s2
        with np.errstate(divide="ignore", invalid="ignore"):
            real = {"ADD": d1 + d2, "SUB": d1 - d2, "MUL": d1 * d2, "DIV": d1 / d2,
                    "SQUARED_DIFFERENCE": (d1 - d2) ** 2}[op]
        acc = ((av.astype(np.int64) - z1) * (bv.astype(np.int64) - z2)).reshape(-1) if op == "MUL" else None
        return acc, (real / so + zo).reshape(-1)
    unary = {
        "TANH": np.tanh, "LOGISTIC": lambda v: 1.0 / (1.0 + np.exp(-v)),
        "RSQRT": lambda v: 1.0 / np.sqrt(v), "QUANTIZE": lambda v: v,
        "GELU": lambda v: 0.5 * v * (1.0 + np.vectorize(math.erf)(v / math.sqrt(2.0))),
    }
    if op in unary and ins and ins[0] is not None:
        x, xv = ins[0]
        real = xv.astype(np.float64) if x.quantization is None else _deq(x, xv)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            return None, (unary[op](real) / so + zo).reshape(-1)
    if op == "SOFTMAX" and ins[0][0].quantization is not None:
        x, xv = ins[0]
        beta = float(getattr(node.options, "beta", 1.0))
        real = _deq(x, xv).reshape(-1, xv.shape[-1]) * beta
        e = np.exp(real - real.max(axis=1, keepdims=True))
        return None, (e / e.sum(axis=1, keepdims=True) / so + zo).reshape(-1)
    return None, None


def _ulps(a: float, b: float) -> int:
    ia = np.array(a, np.float32).view(np.int32).astype(np.int64)
    ib = np.array(b, np.float32).view(np.int32).astype(np.int64)
    ia = ia if ia >= 0 else -(ia & 0x7FFFFFFF)
    ib = ib if ib >= 0 else -(ib & 0x7FFFFFFF)
    return int(abs(ia - ib))


def pick_positions(ours: np.ndarray, theirs: np.ndarray, n: int) -> list[int]:
    """Flat positions of up to ``n`` differing elements: the largest difference first, then in order."""
    if theirs.dtype.kind == "f":
        bad = ~((ours == theirs) | (np.isnan(ours) & np.isnan(theirs)))
        delta = np.nan_to_num(np.abs(ours.astype(np.float64) - theirs.astype(np.float64)), nan=np.inf)
    else:
        bad = ours != theirs
        delta = np.abs(ours.astype(np.int64) - theirs.astype(np.int64))
    flat = np.flatnonzero(bad.reshape(-1))
    if flat.size == 0:
        return []
    biggest = int(flat[np.argmax(delta.reshape(-1)[flat])])
    rest = [int(p) for p in flat[: n + 1] if p != biggest]
    return [biggest] + rest[: n - 1]


def explain_elements(node: Node, params, values: dict[int, np.ndarray], output: int,
                     ours: np.ndarray, theirs: np.ndarray, n: int = 5) -> list[Element]:
    """Up to ``n`` differing elements of output tensor ``output`` of ``node``."""
    out = next(t for t in node.outputs if t.index == output)
    positions = pick_positions(ours, theirs, n)
    if not positions:
        return []
    acc = exact = None
    if ours.dtype.kind in "iu" and out.quantization is not None or node.opcode in ("FULLY_CONNECTED",
                                                                                   "BATCH_MATMUL"):
        try:
            acc, exact = _exact_codes(node, values, out)
        except Exception:  # noqa: BLE001 - an explanation must never break the report
            acc = exact = None
    qmin, qmax = _clamp_range(params, ours.dtype) if ours.dtype.kind in "iu" else (0, 0)
    elements = []
    for p in positions:
        pos = [int(i) for i in np.unravel_index(p, ours.shape)] if ours.ndim else []
        a, b = ours.reshape(-1)[p].item(), theirs.reshape(-1)[p].item()
        e = Element(pos, a, b)
        if ours.dtype.kind == "f":
            e.ulps = _ulps(a, b) if ours.dtype == np.float32 else None
        if acc is not None and p < acc.size:
            e.accumulator = int(acc[p])
        if exact is not None and p < exact.size and ours.dtype.kind in "iu":
            e.exact = float(exact[p])
            e.ours_rounding = rounding(e.exact, int(a), qmin, qmax)
            e.official_rounding = rounding(e.exact, int(b), qmin, qmax)
        elements.append(e)
    return elements
