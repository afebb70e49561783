"""The fast paths of the hybrid FULLY_CONNECTED (kernels/hybrid.py) give the official bits.

The row quantizer finds each row's range with an integer min / max over order keys, quantizes the
blocks of 8 in a branch-free loop (a shorter one when every |x * inv| < 2**30) and writes q + 128
straight into the integer product's operand; the epilogue adds the -128 * Σw column term and the row
offset in wrapping int32 and applies RELU / RELU6 / RELU_N1_TO_1 in the same loop. Checked here:

* the quantized rows, scaling factors and zero points against the official kernel's own temporaries
  (tolerance 0) for K from 8 to 520, on rows built to reach every path: NaN (first, in a block, in
  the tail), +-inf, +-FLT_MAX, subnormal ranges (1 / scale overflows to inf), +-0, values just
  below rounding ties, one-signed rows (zero point +-128 / 127), constant rows;
* the same kernels against a scalar oracle (the straightforward per-element code they replaced,
  itself checked against the official kernel by tests/ops/test_hybrid.py) on 6,000 random rows;
* the fused epilogue against the step-by-step int32 arithmetic on accumulators next to the int32
  limits, every activation;
* whole models against the official BUILTIN_REF run, every tensor bit for bit (float32 outputs
  included: the kernels keep the official operation order), with and without the integer kernel;
* NUMBA_DISABLE_JIT=1 runs the same code and gives the same bits.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from single_op import compare_with_official  # noqa: E402

from litelens.kernels import int_gemm  # noqa: E402
from litelens.kernels.config import jit  # noqa: E402
from litelens.kernels.fixedpoint import wrap_int32  # noqa: E402
from litelens.kernels.hybrid import (activation_clamp, apply_activation, column_term, double_to_int8_x86,  # noqa: E402
                                     hybrid_fc_output, quantize_rows, round_to_nearest_x86)
from litelens.kernels.lut import float_to_int32, round_half_away  # noqa: E402
from litelens.official import official_interpreter  # noqa: E402

from .test_hybrid import NONE, RELU, RELU6, RELU_N1_TO_1, SIGN_BIT, TANH, hybrid_fc_model  # noqa: E402

F32_MAX = np.finfo(np.float32).max
BELOW_TIE = np.float32(0.5 - 2.0**-25)  # 0.49999997f: RoundToNearest gives 1, std::round 0


def stress_rows(k: int, rng, random_rows: int = 40) -> np.ndarray:
    """[rows, k] float32 rows that reach every branch of the quantizer."""
    normal = lambda: rng.standard_normal(k)  # noqa: E731
    rows = [
        normal(), normal() * 1e-30, normal() * 1e30, np.abs(normal()) + 1, -np.abs(normal()) - 5,
        np.full(k, 3.0), np.full(k, -2.0), np.zeros(k), np.where(rng.random(k) < 0.5, 0.0, -0.0),
        np.eye(1, k, k // 2)[0] * -7, normal() + 100, rng.integers(-127, 128, k) + 0.5,
        np.append(127.0, rng.integers(-127, 128, k - 1) + BELOW_TIE)[:k],  # symmetric inverse scale 1
        np.append(255.0, rng.integers(0, 255, k - 1) + BELOW_TIE)[:k],  # asymmetric scale 1, zp -128
        np.append(-255.0, -rng.integers(0, 255, k - 1) - BELOW_TIE)[:k],  # zp 127
        np.full(k, 1e-40), normal() * 3e-39, normal() * 1e-44,  # subnormal ranges: 1 / scale -> inf or huge
        np.append([F32_MAX, -F32_MAX], normal())[:k],  # rmax - rmin overflows: scale inf, inv 0
    ]
    specials = [np.nan, np.inf, -np.inf, F32_MAX, -F32_MAX, 1e-45, -0.0, 2.0**31, -(2.0**31)]
    for value in specials:
        for where in sorted({0, min(3, k - 1), k // 2, k - 1}):  # first, in a block, middle, last (tail)
            row = normal() * 10.0 ** rng.uniform(-3, 3)
            row[where] = value
            rows.append(row)
    rows.append(np.full(k, np.nan))
    rows += [normal() * 10.0 ** rng.uniform(-8, 8) + rng.uniform(-3, 3) for _ in range(random_rows)]
    return np.array(rows, np.float32)


# ---------------------------------------------------------------- against the official temporaries

def official_quantizer(x: np.ndarray, asymmetric: bool):
    """The official kernel's quantized rows, scaling factors and zero points for rows x [rows, K]."""
    model = hybrid_fc_model(x.shape, 2, w_scale=[0.5, 0.25], asymmetric=asymmetric)  # per channel: the
    interp = official_interpreter(model)  # scaling factors stay unmultiplied
    interp.set_tensor(0, x)
    interp.invoke()
    quantized, scaling, _, offsets = (interp.get_tensor(4 + i) for i in range(4))  # after the 4 model tensors
    return quantized, scaling, offsets if asymmetric else np.zeros_like(offsets)


@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
@pytest.mark.parametrize("k", [8, 16, 23, 64, 128, 136, 520])
def test_quantizer_matches_official_temporaries(k, asymmetric):
    """q, scaling factors and zero points equal the official temporaries, both as int8 codes and as
    the shifted operand of the integer kernel (q + 128 in uint8, padding columns zeroed)."""
    x = stress_rows(k, np.random.default_rng(k))
    quantized, scaling, offsets = official_quantizer(x, asymmetric)
    q = np.zeros(x.shape, np.int8)
    sf, zp = np.zeros(len(x), np.float32), np.zeros(len(x), np.int32)
    quantize_rows(x, q, sf, zp, asymmetric, 0)
    bad = np.nonzero((q != quantized).any(axis=1))[0]
    assert bad.size == 0, f"rows {bad[:10]}: {x[bad[0]][:8]} -> {q[bad[0]][:8]} vs {quantized[bad[0]][:8]}"
    assert np.array_equal(sf.view(np.int32), scaling.view(np.int32))
    assert np.array_equal(zp, offsets)
    shifted = np.full((len(x), k + 13), 77, np.uint8)  # garbage in the padding must be cleared
    quantize_rows(x, shifted, sf, zp, asymmetric, 128)
    assert np.array_equal(shifted[:, :k].astype(np.int16) - 128, quantized)
    assert not shifted[:, k:].any()


# ---------------------------------------------------------------- against the scalar oracle

@jit(error_model="numpy")
def _oracle_quantize(x, q, scaling, offsets, asymmetric):
    """The per-element quantizer these kernels replaced (verified against the official kernel):
    std::minmax_element / NeonMinMax as written, RoundToNearest per element."""
    rows, k_size = x.shape
    body = k_size & ~7
    for r in range(rows):
        row = x[r]
        if asymmetric:
            rmin, rmax = np.float32(0.0), np.float32(0.0)
            for k in range(k_size):  # by value; NaN rows take the official order in the kernel
                v = row[k]
                rmin = v if v < rmin else rmin
                rmax = v if rmax < v else rmax
            if rmin == rmax:
                q[r, :] = 0
                scaling[r], offsets[r] = 1.0, 0
                continue
            scale = np.float64(np.float32(rmax - rmin)) / 255.0
            zp_from_min = -128.0 - np.float64(rmin) / scale
            zp_from_max = 127.0 - np.float64(rmax) / scale
            err_min = 128.0 + abs(np.float64(rmin) / scale)
            err_max = 127.0 + abs(np.float64(rmax) / scale)
            zp_double = zp_from_min if err_min < err_max else zp_from_max
            if zp_double <= -128.0:
                zp = -128
            elif zp_double >= 127.0:
                zp = 127
            else:
                zp = double_to_int8_x86(round_half_away(zp_double))  # NaN (inf range) -> 0
            sf = np.float32(scale)
            scaling[r], offsets[r] = sf, zp
            inv = np.float32(0.0) if sf == np.float32(0.0) else np.float32(1.0 / np.float64(sf))
            for k in range(body):
                v = wrap_int32(round_to_nearest_x86(np.float32(row[k] * inv)) + zp)
                q[r, k] = min(127, max(-128, v))
            for k in range(body, k_size):
                t = np.float32(np.float32(zp) + np.float32(round_half_away(np.float32(inv * row[k]))))
                if np.isnan(t):  # the tail's conversion saturates (measured, see test_quantizer_matches_...)
                    q[r, k] = 0
                elif t >= 2.0**31:
                    q[r, k] = 127
                else:
                    q[r, k] = min(127, max(-128, float_to_int32(t)))
        else:
            value_range = np.float32(0.0)
            for k in range(k_size):
                value_range = max(value_range, abs(row[k]))
            offsets[r] = 0
            if value_range == np.float32(0.0):
                q[r, :] = 0
                scaling[r] = 1.0
                continue
            scaling[r] = np.float32(value_range / np.float32(127.0))
            inv = np.float32(np.float32(127.0) / value_range)
            for k in range(body):
                q[r, k] = min(127, max(-127, round_to_nearest_x86(np.float32(row[k] * inv))))
            for k in range(body, k_size):
                q[r, k] = min(127, max(-127, float_to_int32(round_half_away(np.float32(inv * row[k])))))


@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
def test_quantizer_matches_scalar_oracle(asymmetric):
    """6,000 NaN-free rows (the oracle finds ranges by value), K = 8 .. 300, with infinities,
    subnormal ranges and ties: every code, scale and zero point equal."""
    rng = np.random.default_rng(3)
    checked = 0
    for k in (8, 9, 16, 31, 64, 96, 128, 255, 300):
        x = stress_rows(k, rng, random_rows=700)
        x = x[~np.isnan(x).any(axis=1)]
        want = np.zeros(x.shape, np.int32), np.zeros(len(x), np.float32), np.zeros(len(x), np.int32)
        got = np.zeros(x.shape, np.int8), np.zeros(len(x), np.float32), np.zeros(len(x), np.int32)
        _oracle_quantize(x, *want, asymmetric)
        quantize_rows(x, got[0], got[1], got[2], asymmetric, 0)
        bad = np.nonzero((got[0] != want[0]).any(axis=1))[0]
        assert bad.size == 0, f"K = {k}, rows {bad[:10]}"
        assert np.array_equal(got[1].view(np.int32), want[1].view(np.int32)), f"K = {k}"
        assert np.array_equal(got[2], want[2]), f"K = {k}"
        checked += len(x)
    assert checked > 6000


def _oracle_output(acc_exact, scaling, offsets, row_sums, weight_scales, bias, activation):
    """EvalHybridDense's epilogue step by step: int32 sum, then - wrap(zp * row_sum) in int32, float32
    scale product, float32 multiply, float32 add, then ApplyActivationToVector."""
    batch, n = acc_exact.shape
    out = np.zeros((batch, n), np.float32)
    for b in range(batch):
        for j in range(n):
            total = wrap_int32(int(acc_exact[b, j]))
            if offsets[b]:
                total = wrap_int32(total - wrap_int32(int(offsets[b]) * int(row_sums[j])))
            row_scale = np.float32(weight_scales[j] * scaling[b])
            out[b, j] = np.float32(bias[j] + np.float32(np.float32(total) * row_scale))
    apply_activation(out.reshape(-1), activation)
    return out


@pytest.mark.parametrize("activation", [NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT])
def test_epilogue_matches_stepwise_int32(activation):
    """hybrid_fc_output on the shifted accumulator Σ (q + 128) w (wrapped) with column term
    -128 Σw equals the official step-by-step arithmetic, sums near and past the int32 limits,
    NaN / inf scaling factors and biases included."""
    rng = np.random.default_rng(activation)
    batch, n = 24, 40
    exact = rng.integers(-2**31, 2**31, (batch, n), dtype=np.int64)
    exact[0] = 2**31 - 1
    exact[1] = -2**31
    exact[2] = rng.integers(-1000, 1000, n)
    w_sums = rng.integers(-127 * 4096, 127 * 4096, n, dtype=np.int64)
    shifted = (exact + 128 * w_sums + 2**31) % 2**32 - 2**31  # what int8_gemm returns for q + 128
    acc = np.zeros((32, 48), np.int32)  # padded, as the scratch buffer
    acc[:batch, :n] = shifted
    row_sums = rng.integers(-2**31, 2**31, n, dtype=np.int64).astype(np.int32)
    offsets = rng.integers(-128, 128, batch).astype(np.int32)
    offsets[3] = 0
    scaling = (10.0 ** rng.uniform(-12, 2, batch)).astype(np.float32)
    scaling[4], scaling[5] = np.inf, np.nan
    weight_scales = (10.0 ** rng.uniform(-6, 0, n)).astype(np.float32)
    bias = rng.standard_normal(n).astype(np.float32) * 10
    bias[7] = -0.0
    got = np.zeros((batch, n), np.float32)
    hybrid_fc_output(acc, column_term(w_sums, 128), scaling, offsets, row_sums, weight_scales, bias,
                     *activation_clamp(activation), got)
    if activation in (TANH, SIGN_BIT):
        apply_activation(got.reshape(-1), activation)
    want = _oracle_output(exact, scaling, offsets, row_sums, weight_scales, bias, activation)
    assert np.array_equal(got.view(np.int32), want.view(np.int32))


# ---------------------------------------------------------------- whole models, official

@pytest.mark.parametrize("integer_kernel", [True, False], ids=["int_gemm", "float_blas"])
@pytest.mark.parametrize("activation", [NONE, RELU, RELU_N1_TO_1, RELU6])
@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
def test_fc_stress_rows_match_official(asymmetric, activation, integer_kernel, monkeypatch):
    """Every tensor of an FC on the stress rows (K = 64: full maddubs and quantizer blocks) equals the
    official reference run, on the integer kernel and on the float BLAS fallback."""
    if integer_kernel and int_gemm.ISA is None:
        pytest.skip("no integer dot-product kernel on this CPU")
    if not integer_kernel:
        monkeypatch.setattr(int_gemm, "ISA", None)
    x = stress_rows(64, np.random.default_rng(11))
    model = hybrid_fc_model(x.shape, 37, asymmetric=asymmetric, activation=activation, w_scale=0.003)
    compare_with_official(model, {0: x}).assert_ok()


@pytest.mark.parametrize("integer_kernel", [True, False], ids=["int_gemm", "float_blas"])
def test_fc_minus_128_weights_and_runtime_weights_match_official(integer_kernel, monkeypatch):
    """The maddubs correction reads q from the shifted operand (q + 128); run-time weights get their
    column term at Eval."""
    if integer_kernel and int_gemm.ISA is None:
        pytest.skip("no integer dot-product kernel on this CPU")
    if not integer_kernel:
        monkeypatch.setattr(int_gemm, "ISA", None)
    rng = np.random.default_rng(5)
    w = rng.integers(-127, 128, (9, 48))
    w[:, ::3] = -128
    x = stress_rows(48, rng)
    x = x[~np.isnan(x).any(axis=1)]
    for asymmetric in (True, False):
        compare_with_official(hybrid_fc_model(x.shape, 9, weights=w, asymmetric=asymmetric), {0: x}).assert_ok()
        model = hybrid_fc_model(x.shape, 9, w_const=False, bias="input", asymmetric=asymmetric)
        inputs = {0: x, 1: w.astype(np.int8), 2: rng.standard_normal(9).astype(np.float32)}
        compare_with_official(model, inputs).assert_ok()


# ---------------------------------------------------------------- NUMBA_DISABLE_JIT

_NO_JIT_SCRIPT = r"""
import sys
import numpy as np
from litelens.kernels import int_gemm
from litelens.kernels.hybrid import (activation_clamp, column_term, hybrid_fc_output, hybrid_fully_connected,
                                     maddubs_pairs, quantize_rows, weight_row_sums)
x = np.load(sys.argv[1])
out = {}
for asym in (True, False):
    q = np.zeros((len(x), x.shape[1] + 3), np.uint8)
    sf, zp = np.zeros(len(x), np.float32), np.zeros(len(x), np.int32)
    quantize_rows(x, q, sf, zp, asym, 128)
    acc = (q[:, :x.shape[1]].astype(np.int64) @ (np.arange(x.shape[1] * 5).reshape(5, -1).T % 255 - 127))
    acc = ((acc + 2**31) % 2**32 - 2**31).astype(np.int32)
    w_sums = (np.arange(x.shape[1] * 5).reshape(5, -1) % 255 - 127).sum(axis=1)
    y = np.zeros((len(x), 5), np.float32)
    hybrid_fc_output(acc, column_term(w_sums, 128), sf, zp, np.arange(5, dtype=np.int32) * 1000 - 2000,
                     np.full(5, 0.01, np.float32), np.ones(5, np.float32), *activation_clamp(3), y)
    out[f"q{asym}"], out[f"sf{asym}"], out[f"zp{asym}"], out[f"y{asym}"] = q, sf, zp, y
    # the whole FC on the integer kernel (NumPy tiles in the AVX2 layout without JIT)
    isa, (n, k) = int_gemm.ISA, (7, x.shape[1])
    w = (np.arange(n * k).reshape(n, k) * 37 % 255 - 128).astype(np.int8)  # -128 included
    a = np.zeros(int_gemm.a_spec(len(x), k, isa)[1], int_gemm.A_DTYPE[isa])
    acc = np.zeros(int_gemm.acc_spec(len(x), n, isa)[1], np.int32)
    pair_n, pair_k = maddubs_pairs(w)
    y = np.zeros((len(x), n), np.float32)
    hybrid_fully_connected(isa, x, a, int_gemm.pack_columns(w, isa), acc, column_term(int_gemm.column_sums(w), 128),
                           weight_row_sums(w).astype(np.int32), pair_n, pair_k, np.full(n, 0.02, np.float32),
                           np.arange(n, dtype=np.float32), asym, 4, sf, zp, y)  # TANH
    out[f"fc{asym}"] = y
np.savez(sys.argv[2], **out)
"""


def test_kernels_run_as_plain_python(tmp_path):
    """NUMBA_DISABLE_JIT=1 runs the same quantizer, epilogue and whole integer-kernel FC (TANH, -128
    weights) and gives the same bits."""
    x = stress_rows(24, np.random.default_rng(2), random_rows=10)
    np.save(tmp_path / "x.npy", x)
    results = {}
    for name, disable in (("jit", "0"), ("python", "1")):
        env = dict(os.environ, NUMBA_DISABLE_JIT=disable)
        done = subprocess.run([sys.executable, "-c", _NO_JIT_SCRIPT, str(tmp_path / "x.npy"),
                               str(tmp_path / f"{name}.npz")], capture_output=True, text=True, env=env,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        results[name] = np.load(tmp_path / f"{name}.npz")
    for key in results["jit"].files:
        a, b = results["jit"][key], results["python"][key]
        assert a.dtype == b.dtype and np.array_equal(a.view(np.uint8), b.view(np.uint8)), key
