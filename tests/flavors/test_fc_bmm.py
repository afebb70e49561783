"""FULLY_CONNECTED and BATCH_MATMUL under the optimized and xnnpack paths, against the official interpreter.

Scales are powers of two and values small, so a large share of outputs sit exactly on a rounding tie:
there the reference (round half away), ruy (ties up, double rounding) and XNNPACK (float32, ties to
even) disagree, and each test checks that the official paths really differ before checking that
litelens matches each one bit for bit. The ``xnnpack_rejects`` tests compare with the official
delegate's choice, read from the official interpreter's op list (a ``DELEGATE`` node appears when
the XNNPACK delegate took the single op).
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

import litelens  # noqa: E402
from litelens import build  # noqa: E402
from litelens.official import delegated_by_xnnpack, official_interpreter, run_official  # noqa: E402
from flavor_helpers import litelens_output  # noqa: E402

PATHS = ("reference", "optimized", "xnnpack")


_ours = litelens_output
_official_delegated = delegated_by_xnnpack


def _fc_case(seed: int):
    rng = np.random.default_rng(seed)
    batch = int(rng.choice([1, 2, 5, 33]))
    n, k = int(rng.integers(1, 40)), int(rng.choice([3, 8, 16, 70]))
    per_channel, r = bool(rng.random() < 0.5), int(rng.choice([8, 127]))
    in_s, w_s = float(2.0 ** rng.integers(-3, 0)), float(2.0 ** rng.integers(-3, 0))
    out_s = float(2.0 ** rng.integers(-3, 3)) * (1 if r == 8 else 16) * (1.37 if rng.random() < 0.3 else 1)
    act = str(rng.choice(["NONE", "RELU", "RELU6", "RELU_N1_TO_1"]))
    in_zp, out_zp = int(rng.integers(-5, 5)), int(rng.integers(-5, 5))
    w = rng.integers(-r, r + 1, (n, k)).astype(np.int8)
    bias = rng.integers(-50, 50, n).astype(np.int32)
    x = build.Tensor([batch, k], "int8", "x", scale=in_s, zero_point=in_zp)
    if per_channel:
        scales = [w_s * (1 + 0.5 * (i % 3)) for i in range(n)]
        wt = build.Tensor([n, k], "int8", "w", data=w, scale=scales, zero_point=[0] * n, axis=0)
        bt = build.Tensor([n], "int32", "b", data=bias, scale=[in_s * s for s in scales], zero_point=[0] * n)
    else:
        wt = build.Tensor([n, k], "int8", "w", data=w, scale=w_s, zero_point=0)
        bt = build.Tensor([n], "int32", "b", data=bias, scale=in_s * w_s, zero_point=0)
    y = build.Tensor([batch, n], "int8", "y", scale=out_s, zero_point=out_zp)
    model = build.single_op("FULLY_CONNECTED", [x, wt, bt], [y], {"fused_activation_function": act}).to_bytes()
    return model, {"x": rng.integers(-r, r + 1, (batch, k)).astype(np.int8)}


def test_fc_int8_ties_every_path():
    """40 tie-heavy int8 FC models (per tensor / per channel, every activation, batch 1 and more) x 3 paths."""
    differ = 0
    for seed in range(40):
        model, values = _fc_case(seed)
        official = {p: run_official(model, values, p)[3] for p in PATHS}
        differ += not np.array_equal(official["optimized"], official["reference"])
        differ += not np.array_equal(official["xnnpack"], official["optimized"])
        for path in PATHS:
            np.testing.assert_array_equal(_ours(model, values, path), official[path], err_msg=f"seed {seed} {path}")
    assert differ >= 20  # the paths really round differently on these models


def _bmm_case(seed: int, dtype: str = "int8"):
    rng = np.random.default_rng(seed)
    batch = [int(rng.integers(1, 3))] if rng.random() < 0.6 else []
    m, k, n = int(rng.integers(1, 6)), int(rng.integers(1, 9)), int(rng.integers(1, 7))
    adj_x, adj_y = bool(rng.random() < 0.3), bool(rng.random() < 0.4)
    const_rhs, r_zp = bool(rng.random() < 0.4), 0 if rng.random() < 0.6 else 2
    ls = batch + ([k, m] if adj_x else [m, k])
    rs = batch + ([n, k] if adj_y else [k, n])
    lv, rv = rng.integers(-8, 9, ls).astype(np.int8), rng.integers(-8, 9, rs).astype(np.int8)
    out_s = float(2.0 ** rng.integers(-2, 3)) * (1.37 if rng.random() < 0.3 else 1)
    lhs = build.Tensor(ls, "int8", "lhs", scale=0.5, zero_point=1)
    rhs = build.Tensor(rs, "int8", "rhs", scale=0.5, zero_point=r_zp, data=rv if const_rhs else None)
    out = build.Tensor(batch + [m, n], "int8", "out", scale=out_s, zero_point=-1)
    model = build.single_op("BATCH_MATMUL", [lhs, rhs], [out], {"adj_x": adj_x, "adj_y": adj_y}).to_bytes()
    return model, ({"lhs": lv} if const_rhs else {"lhs": lv, "rhs": rv}), r_zp


def test_bmm_int8_ties_every_path():
    """30 tie-heavy int8 BATCH_MATMUL models (adj, const / run-time rhs, rhs zero point) x 3 paths;
    optimized equals reference (MBQM), XNNPACK (rhs zero point 0 only) rounds float32 half to even."""
    xnn_differs = 0
    for seed in range(30):
        model, values, r_zp = _bmm_case(seed)
        official = {p: run_official(model, values, p)[2] for p in PATHS}
        np.testing.assert_array_equal(official["optimized"], official["reference"])
        xnn_differs += not np.array_equal(official["xnnpack"], official["reference"])
        for path in PATHS:
            np.testing.assert_array_equal(_ours(model, values, path), official[path], err_msg=f"seed {seed} {path}")
    assert xnn_differs >= 4


def _fc_model(x_dtype="int8", w_dtype="int8", const_w=True, bias="const", w_zp=0, per_channel=False,
              act="NONE", n=4, k=8):
    rng = np.random.default_rng(0)
    if x_dtype == "float32":
        x, y = build.Tensor([2, k], "float32", "x"), build.Tensor([2, n], "float32", "y")
    else:
        zp = 0 if x_dtype == "int16" else 3
        x = build.Tensor([2, k], x_dtype, "x", scale=0.1, zero_point=zp)
        y = build.Tensor([2, n], x_dtype, "y", scale=0.5, zero_point=0 if x_dtype == "int16" else -2)
    if w_dtype == "float32":
        w = build.Tensor([n, k], "float32", "w", data=rng.standard_normal((n, k)).astype(np.float32) if const_w else None)
    else:
        w = build.Tensor([n, k], "int8", "w", data=rng.integers(-127, 128, (n, k)).astype(np.int8) if const_w else None,
                         scale=[0.01] * n if per_channel else 0.01, zero_point=[0] * n if per_channel else w_zp, axis=0)
    b = None
    if bias != "none":
        if x_dtype == "float32":
            b = build.Tensor([n], "float32", "b", data=np.ones(n, np.float32) if bias == "const" else None)
        else:
            bd = "int64" if x_dtype == "int16" else "int32"
            b = build.Tensor([n], bd, "b", data=np.ones(n, bd) if bias == "const" else None, scale=0.001, zero_point=0)
    return build.single_op("FULLY_CONNECTED", [x, w, b], [y], {"fused_activation_function": act}).to_bytes()


FC_DELEGATION = {
    "int8": {}, "int8 per-channel": dict(per_channel=True), "int8 weights zp": dict(w_zp=3),
    "int8 run-time weights": dict(const_w=False), "int8 run-time bias": dict(bias="input"),
    "int8 no bias": dict(bias="none"), "int8 relu6": dict(act="RELU6"), "int16": dict(x_dtype="int16"),
    "float32": dict(x_dtype="float32", w_dtype="float32"),
    "float32 run-time weights": dict(x_dtype="float32", w_dtype="float32", const_w=False),
    "float32 run-time bias": dict(x_dtype="float32", w_dtype="float32", bias="input"),
    "hybrid": dict(x_dtype="float32"), "hybrid run-time weights": dict(x_dtype="float32", const_w=False),
}


def _litelens_delegated(model: bytes) -> bool:
    it = litelens.Interpreter(model_content=model, flavor="xnnpack")
    it.allocate_tensors()
    return it.kernel_paths()[0][0] == "xnnpack"


@pytest.mark.parametrize("name", list(FC_DELEGATION))
def test_fc_xnnpack_rejects_matches_delegate(name):
    model = _fc_model(**FC_DELEGATION[name])
    assert _litelens_delegated(model) == _official_delegated(model)


def _bmm_model(l_dtype, r_dtype, o_dtype, ls=(2, 3, 4), rs=(2, 4, 5), os_=(2, 3, 5), const_rhs=False, r_zp=0):
    rng = np.random.default_rng(0)

    def t(name, dtype, shape, data=None, zp=0):
        if dtype == "float32":
            return build.Tensor(list(shape), dtype, name, data=data)
        return build.Tensor(list(shape), dtype, name, data=data, scale=0.1 if dtype != "int32" else 0.01, zero_point=zp)

    data = None
    if const_rhs:
        data = rng.standard_normal(rs).astype(np.float32) if r_dtype == "float32" else \
            rng.integers(-5, 5, rs).astype(r_dtype)
    lhs = t("lhs", l_dtype, ls, zp=1 if l_dtype == "int8" else 0)
    rhs = t("rhs", r_dtype, rs, data, zp=r_zp)
    return build.single_op("BATCH_MATMUL", [lhs, rhs, ][:2], [t("out", o_dtype, os_)], {"adj_x": False, "adj_y": False}).to_bytes()


BMM_DELEGATION = {
    "float32": ("float32", "float32", "float32", {}),
    "int8": ("int8", "int8", "int8", {}), "int8 const rhs": ("int8", "int8", "int8", dict(const_rhs=True)),
    "int8 rhs zp": ("int8", "int8", "int8", dict(const_rhs=True, r_zp=3)),
    "int8 broadcast": ("int8", "int8", "int8", dict(ls=(2, 3, 4), rs=(4, 5))),
    "int16": ("int16", "int16", "int16", {}), "int8 -> int32": ("int8", "int8", "int32", {}),
    "hybrid": ("float32", "int8", "float32", dict(const_rhs=True)),
}


@pytest.mark.parametrize("name", list(BMM_DELEGATION))
def test_bmm_xnnpack_rejects_matches_delegate(name):
    l_dtype, r_dtype, o_dtype, kw = BMM_DELEGATION[name]
    model = _bmm_model(l_dtype, r_dtype, o_dtype, **kw)
    assert _litelens_delegated(model) == _official_delegated(model)


def test_fc_xnnpack_scale_limit_refused_like_the_delegate():
    """A requantization scale >= 256 makes the official delegate fail to prepare; litelens refuses too."""
    x = build.Tensor([1, 8], "int8", "x", scale=1.0, zero_point=0)
    w = build.Tensor([2, 8], "int8", "w", data=np.ones((2, 8), np.int8), scale=1.0, zero_point=0)
    y = build.Tensor([1, 2], "int8", "y", scale=1.0 / 512, zero_point=0)
    model = build.single_op("FULLY_CONNECTED", [x, w, None], [y]).to_bytes()
    with pytest.raises(Exception):
        official_interpreter(model, "xnnpack")
    with pytest.raises(litelens.errors.ModelError, match="XNNPACK"):
        litelens.Interpreter(model_content=model, flavor="xnnpack").allocate_tensors()
    litelens.Interpreter(model_content=model, flavor="optimized").allocate_tensors()
