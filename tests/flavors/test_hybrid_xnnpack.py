"""Hybrid (float32 input, int8 weights) FULLY_CONNECTED / BATCH_MATMUL under the xnnpack flavor, against
the official AUTO run (XNNPACK delegate, qd8-f32-qc8w GEMM).

Every comparison is bit for bit, float32 outputs included (NaN equal to NaN): the per-row qd8
quantization (XNNPACK's min/max, float32 scale and zero point, ties-to-even convert), the exact int32
product and the fmadd epilogue are reproduced exactly (``kernels/xnnpack_dynamic.py``), so any
difference is an arithmetic difference. Each test also checks that the XNNPACK result differs from
the optimized (TFLite hybrid) result on the same inputs, so the test could fail if litelens ran the
wrong path. Inputs mix row magnitudes (1e-3 .. 1e3), offsets, all-zero rows, rows of one sign, and in
dedicated tests inf, huge (range overflows to inf), subnormal and NaN values.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

import litelens  # noqa: E402
from litelens import build  # noqa: E402
from litelens.diff.official_run import run_official_kept  # noqa: E402
from litelens.official import delegated_by_xnnpack, official_interpreter, run_official  # noqa: E402
from flavor_helpers import litelens_output  # noqa: E402

f32 = np.float32
ACTS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")


def _ours(model: bytes, values: dict, flavor: str = "xnnpack") -> np.ndarray:
    return litelens_output(model, values, flavor)


_delegated = delegated_by_xnnpack


def _rows(rng, shape, special: str = "") -> np.ndarray:
    """Float rows of different magnitudes and offsets; one row in three all zeros."""
    k = shape[-1]
    x = rng.standard_normal(shape).reshape(-1, k)
    x = x * 10.0 ** rng.uniform(-3, 3, (x.shape[0], 1)) + rng.choice([0.0, 0.0, 2.5, -4.0], (x.shape[0], 1))
    x[1::3] = 0.0
    x = x.astype(f32)
    if x.shape[0] > 2:
        x[2] = np.abs(x[2])
    if special == "inf":
        x[0, rng.integers(k)] = np.inf
    elif special == "-inf":
        x[0, rng.integers(k)] = -np.inf
    elif special == "huge":
        x[0] = np.clip(rng.standard_normal(k) * 2e38, -3e38, 3e38).astype(f32)  # max - min overflows
    elif special == "subnormal":
        x[0] = (rng.standard_normal(k) * 1e-40).astype(f32)
    elif special == "nan-row":
        x[0] = np.nan
    elif special == "nan-tail":  # a NaN among the last K % 16 values (broadcast to every lane)
        x[0, k - 1 - rng.integers(k % 16)] = np.nan
    elif special == "nans":  # NaNs anywhere: which survive XNNPACK's min/max depends on their lane
        x[0, rng.integers(k, size=1 + k // 20)] = np.nan
    return x.reshape(shape)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


# ---------------------------------------------------------------- FULLY_CONNECTED

def _fc_case(seed: int):
    rng = np.random.default_rng(seed)
    batch_shape = [int(rng.choice([1, 2, 5, 16, 17, 40]))] + ([3] if rng.random() < 0.2 else [])
    k, n = int(rng.choice([1, 3, 16, 33, 64, 200, 1000])), int(rng.choice([1, 5, 16, 63, 130]))
    per_channel, bias = bool(rng.random() < 0.5), bool(rng.random() < 0.7)
    act, keep = str(rng.choice(ACTS)), len(batch_shape) > 1 and rng.random() < 0.5
    w = rng.integers(-128 if rng.random() < 0.2 else -127, 128, (n, k)).astype(np.int8)
    scales = [float(f32(0.01 * 2.0 ** rng.uniform(-2, 2))) for _ in range(n)] if per_channel else 0.013
    x = build.Tensor(batch_shape + [k], "float32", "x")
    wt = build.Tensor([n, k], "int8", "w", data=w, scale=scales, zero_point=[0] * n if per_channel else 0, axis=0)
    bt = build.Tensor([n], "float32", "b", data=rng.standard_normal(n).astype(f32)) if bias else None
    rows = int(np.prod(batch_shape))
    y = build.Tensor(batch_shape + [n] if keep else [rows, n], "float32", "y")
    model = build.single_op("FULLY_CONNECTED", [x, wt, bt], [y], {
        "fused_activation_function": act, "keep_num_dims": bool(keep),
        "asymmetric_quantize_inputs": bool(rng.random() < 0.5)}).to_bytes()
    return model, batch_shape + [k], rng


def test_fc_hybrid_xnnpack_bit_exact():
    """48 hybrid FC models (per tensor / per channel, bias or none, every activation the delegate
    takes, keep_num_dims, -128 weights, batches across the 16-row AMX tile) x 2 inputs."""
    differs = 0
    for seed in range(48):
        model, shape, rng = _fc_case(seed)
        assert _delegated(model)
        for _ in range(2):
            values = {"x": _rows(rng, shape)}
            official = run_official(model, values, "xnnpack")
            out = official[max(official)]
            np.testing.assert_array_equal(_ours(model, values), out, err_msg=f"seed {seed}")
            differs += not _same(out, run_official(model, values, "optimized")[max(official)])
    assert differs >= 60  # XNNPACK's per-row qd8 really differs from TFLite's hybrid kernel


@pytest.mark.parametrize("special", ["inf", "-inf", "huge", "subnormal", "nan-row", "nan-tail", "nans"])
def test_fc_hybrid_xnnpack_special_values(special):
    """Non-finite and extreme rows: inf makes the row's scale 0 and its inverse inf (outputs NaN, which
    the activation clamp turns into its lower bound: -inf without activation)."""
    for seed in range(6):
        model, shape, rng = _fc_case(100 + seed)
        if special == "nan-tail" and shape[-1] % 16 == 0:
            continue
        values = {"x": _rows(rng, shape, special)}
        official = run_official(model, values, "xnnpack")
        out = official[max(official)]
        assert _same(_ours(model, values), out), f"seed {seed}"


@pytest.mark.parametrize("k", [16, 64, 80])
def test_hybrid_xnnpack_nan_in_every_lane(k):
    """One NaN at each position of a row: f32_rminmax (avx512f, 16 lanes x 4 accumulators, MINPS keeping
    its second operand, then the halving reduction) drops it or lets it through (the row's scale
    becomes NaN, outputs the clamp's lower bound) depending on the lane; litelens follows lane by lane."""
    rng = np.random.default_rng(k)
    w = build.Tensor([3, k], "int8", "w", data=rng.integers(-127, 128, (3, k)).astype(np.int8), scale=0.02,
                     zero_point=0)
    model = build.single_op("FULLY_CONNECTED", [build.Tensor([k, k], "float32", "x"), w, None],
                            [build.Tensor([k, 3], "float32", "y")], {}).to_bytes()
    x = (rng.standard_normal((k, k)) + 0.3).astype(f32)
    x[np.arange(k), np.arange(k)] = np.nan  # row r has its NaN at position r
    out = run_official(model, {"x": x}, "xnnpack")[2]
    assert _same(_ours(model, {"x": x}), out)
    assert 0 < int(np.isinf(out[:, 0]).sum()) < k  # some NaNs survive, most are dropped


def test_fc_hybrid_weight_zero_point_fails_like_the_delegate():
    """Per-tensor int8 weights with a zero point: the official delegate fails to prepare (the model
    cannot run under AUTO); litelens refuses it too, with the reason."""
    w = build.Tensor([4, 8], "int8", "w", data=np.ones((4, 8), np.int8), scale=0.1, zero_point=3)
    model = build.single_op("FULLY_CONNECTED", [build.Tensor([2, 8], "float32", "x"), w, None],
                            [build.Tensor([2, 4], "float32", "y")], {}).to_bytes()
    with pytest.raises(RuntimeError, match="filter tensor"):
        official_interpreter(model, "xnnpack")
    it = litelens.Interpreter(model_content=model, flavor="xnnpack")
    with pytest.raises(litelens.ModelError, match="zero point 3"):
        it.allocate_tensors()
    _ours(model, {"x": np.ones((2, 8), f32)}, "optimized")  # the other paths still run it


# ---------------------------------------------------------------- BATCH_MATMUL

def _bmm_case(seed: int, const: bool = True):
    rng = np.random.default_rng(seed)
    rank = int(rng.integers(0, 3))
    batch = [int(b) for b in rng.integers(1, 4, rank)]
    bl = [b if rng.random() < 0.7 else 1 for b in batch]
    br = [b if rng.random() < 0.7 else 1 for b in batch]
    if br and rng.random() < 0.3:
        br = br[1:]
    m, k, n = int(rng.integers(1, 20)), int(rng.choice([1, 3, 16, 70, 300])), int(rng.integers(1, 70))
    adj_x, adj_y, per_channel = bool(rng.random() < 0.3), bool(rng.random() < 0.4), bool(rng.random() < 0.4)
    ls, rs = bl + ([k, m] if adj_x else [m, k]), br + ([n, k] if adj_y else [k, n])
    rv = rng.integers(-128, 128, rs).astype(np.int8)
    scales = [float(f32(0.01 * 2.0 ** rng.uniform(-2, 2))) for _ in range(n)] if per_channel else 0.02
    rhs = build.Tensor(rs, "int8", "rhs", data=rv if const else None, scale=scales,
                       zero_point=[0] * n if per_channel else 0, axis=len(rs) - (2 if adj_y else 1))
    out_shape = list(np.broadcast_shapes(tuple(bl), tuple(br))) + [m, n]
    model = build.single_op("BATCH_MATMUL", [build.Tensor(ls, "float32", "lhs"), rhs],
                            [build.Tensor(out_shape, "float32", "out")],
                            {"adj_x": adj_x, "adj_y": adj_y, "asymmetric_quantize_inputs": bool(rng.random() < 0.5)})
    return model.to_bytes(), ls, rv, rng


def test_bmm_hybrid_xnnpack_bit_exact():
    """40 hybrid BMM models with a constant rhs (broadcast batch dims, adj_x / adj_y, per-channel
    scales along N, -128 values), special rows on some."""
    differs = 0
    specials = ["", "", "", "inf", "huge", "subnormal", "nan-row"]
    for seed in range(40):
        model, ls, _, rng = _bmm_case(seed)
        assert _delegated(model)
        values = {"lhs": _rows(rng, ls, specials[seed % len(specials)])}
        out = run_official(model, values, "xnnpack")[2]
        assert _same(_ours(model, values), out), f"seed {seed}"
        differs += not _same(out, run_official(model, values, "optimized")[2])
    assert differs >= 30


def test_bmm_hybrid_runtime_rhs_is_read_as_zeros():
    """The 2.3.0 delegate takes a hybrid BMM whose int8 rhs is a run-time input, but builds its weights
    before any input is set: the official AUTO run multiplies by zeros whatever rhs holds. litelens
    reproduces that (0 outputs; -inf where an inf in the lhs row makes the scale infinite)."""
    for seed in range(8):
        model, ls, rv, rng = _bmm_case(200 + seed, const=False)
        assert _delegated(model)
        values = {"lhs": _rows(rng, ls, "inf" if seed % 2 else ""), "rhs": rv}
        out = run_official(model, values, "xnnpack")[2]
        assert _same(_ours(model, values), out), f"seed {seed}"
        assert np.all((out == 0) | np.isinf(out))
        assert not _same(out, run_official(model, values, "optimized")[2])


def test_bmm_hybrid_rhs_zero_point_fails_like_the_delegate():
    rhs = build.Tensor([8, 4], "int8", "rhs", data=np.ones((8, 4), np.int8), scale=0.1, zero_point=2)
    model = build.single_op("BATCH_MATMUL", [build.Tensor([2, 8], "float32", "lhs"), rhs],
                            [build.Tensor([2, 4], "float32", "out")], {}).to_bytes()
    with pytest.raises(RuntimeError, match="filter tensor"):
        official_interpreter(model, "xnnpack")
    with pytest.raises(litelens.ModelError, match="zero point 2"):
        litelens.Interpreter(model_content=model, flavor="xnnpack").allocate_tensors()


# ---------------------------------------------------------------- whole dynamic models, op by op

def _hybrid_ops_exact(model: bytes, inputs: dict) -> int:
    """Every hybrid FC / BMM of the model, fed the official AUTO run's own input values (tensors the
    delegate left unwritten are skipped), must give its official output bit for bit."""
    run = run_official_kept(model, inputs, "xnnpack")
    assert not run.error
    it = litelens.Interpreter(model_content=model, flavor="xnnpack")
    it.allocate_tensors()
    checked = 0
    for op in it.graph.operators:
        if op.opcode not in ("FULLY_CONNECTED", "BATCH_MATMUL"):
            continue
        ins = [it.graph.tensors[t] for t in op.inputs if t >= 0]
        if ins[0].dtype != np.float32 or ins[1].dtype != np.int8:
            continue
        need = {t: run.values[t] for t in op.inputs if t >= 0 and it.graph.tensors[t].data is None
                and t in run.values}
        if len(need) != sum(1 for t in op.inputs if t >= 0 and it.graph.tensors[t].data is None) \
                or op.outputs[0] not in run.values:
            continue
        (got,) = it.run_op(op.index, need)
        np.testing.assert_array_equal(got, run.values[op.outputs[0]], err_msg=f"op {op.index} {op.opcode}")
        checked += 1
    return checked


@pytest.mark.parametrize("name", ["bert-tiny-dynamic", "mobilebert-tiny-dynamic"])
def test_golden_dynamic_models_hybrid_ops_bit_exact(name):
    from litelens.goldens import golden_dir, load_recording

    rec = load_recording(f"{name}/optimized")
    model = (golden_dir() / "models" / f"{name}.tflite").read_bytes()
    checked = sum(_hybrid_ops_exact(model, inputs) for inputs, err in zip(rec.inputs[:2], rec.errors) if not err)
    assert checked >= 4
