"""Local and propagated error on hand-built graphs whose exact answers are known.

Each graph's scales are chosen so that the real-valued result is known in closed form: an ADD whose
exact sum is representable in its output codes (0 LSB error), the same ADD with an output scale twice
as coarse (every odd sum is a tie: exactly 0.5 LSB, rounded away from zero), clipped sums, a
FULLY_CONNECTED whose requantization scale is exactly 1, and a QUANTIZE of inputs on a quarter-LSB
grid. Where the official interpreter is installed, its outputs are checked to be the ones the
inspection measured (litelens is bit-exact with it, so the known answers hold for the official
arithmetic too).
"""
from __future__ import annotations

import math

import numpy as np
import pytest
from graph_builder import Graph, add_options

import litelens


def check_against_official(model: bytes, inputs: dict[int, np.ndarray], result) -> None:
    """Every op output the inspection read equals the official reference run (skipped without it)."""
    pytest.importorskip("ai_edge_litert")
    from litelens.official import run_official

    theirs = run_official(model, inputs, "reference")
    for t in result.tensors():
        np.testing.assert_array_equal(result.interpreter.get_tensor(t.index), theirs[t.index], err_msg=t.name)


def add_graph(out_scale: float, out_zp: int) -> bytes:
    g = Graph()
    a = g.input("a", np.int8, (4, 64), (0.1, 3))
    b = g.input("b", np.int8, (4, 64), (0.1, -5))
    out = g.tensor("sum", np.int8, (4, 64), (out_scale, out_zp))
    g.op("ADD", [a, b], [out], add_options())
    g.outputs = [out]
    return g.to_bytes()


def codes(rng, lo, hi, shape=(4, 64)):
    return rng.integers(lo, hi + 1, size=shape).astype(np.int8)


def test_add_exactly_representable_has_zero_local_error():
    # real = 0.1 (a - 3) + 0.1 (b + 5) = 0.1 (a + b + 2): code a + b + 3 of the output (scale 0.1, zp 1)
    rng = np.random.default_rng(1)
    inputs = {0: codes(rng, -50, 50), 1: codes(rng, -50, 50)}
    model = add_graph(0.1, 1)
    result = litelens.inspect(model, inputs=inputs)
    t = result.op(0).output
    assert t.local.exact and t.local.sqnr_db == math.inf
    assert t.local.max_abs_error_lsb == 0.0
    # The shadow run adds the inputs as DEQUANTIZE gives them (float32): float32 rounding only.
    assert t.propagated.sqnr_db > 120 and t.propagated.max_abs_error_lsb < 1e-4
    assert t.saturation == 0.0
    expected = inputs[0].astype(int) + inputs[1].astype(int) + 3
    np.testing.assert_array_equal(result.interpreter.get_tensor(2), expected)
    assert result.ranked() == [] and result.exact_ops() == result.ops
    check_against_official(model, inputs, result)


def test_add_with_a_coarser_output_scale_errs_half_an_lsb_on_every_tie():
    # Output scale 0.2, zp 0: the exact value is (a + b + 2) / 2 codes. Even sums are exact; odd sums
    # are ties, rounded away from zero: +0.5 LSB when positive, -0.5 LSB when negative.
    rng = np.random.default_rng(2)
    inputs = {0: codes(rng, -60, 60), 1: codes(rng, -60, 60)}
    model = add_graph(0.2, 0)
    result = litelens.inspect(model, inputs=inputs)
    t = result.op(0).output
    n = inputs[0].astype(int) + inputs[1].astype(int) + 2
    errors = t.samples["local"].reshape(n.shape)
    expected = np.where(n % 2 == 0, 0.0, 0.5 * np.sign(n))
    np.testing.assert_allclose(errors, expected, atol=1e-9)
    odd = (n % 2 != 0).mean()
    assert t.local.max_abs_error_lsb == pytest.approx(0.5)
    assert t.local.mean_abs_error_lsb == pytest.approx(0.5 * odd)
    assert t.local.rmse_over_scale == pytest.approx(math.sqrt(0.25 * odd))
    exact = 0.1 * n.astype(float)
    assert t.local.sqnr_db == pytest.approx(10 * math.log10((exact ** 2).sum() / (0.01 * odd * n.size)), abs=1e-6)
    check_against_official(model, inputs, result)


def test_clipped_sums_are_counted_as_saturation():
    # The same exact sum, now with inputs up to +-120: code a + b + 3 leaves [-128, 127] for some.
    rng = np.random.default_rng(3)
    inputs = {0: codes(rng, -120, 120), 1: codes(rng, -120, 120)}
    model = add_graph(0.1, 1)
    result = litelens.inspect(model, inputs=inputs)
    t = result.op(0).output
    position = inputs[0].astype(int) + inputs[1].astype(int) + 3
    clipped = (position > 127) | (position < -128)
    assert clipped.any()
    assert t.saturation == pytest.approx(clipped.mean())
    expected_lsb = np.where(position > 127, 127 - position, np.where(position < -128, -128 - position, 0))
    np.testing.assert_allclose(t.samples["local"].reshape(position.shape), expected_lsb, atol=1e-9)
    assert t.at_bounds == pytest.approx(((position >= 127) | (position <= -128)).mean())
    check_against_official(model, inputs, result)


def test_fully_connected_with_unit_requantization_is_exact():
    # x scale 0.5, w scale 0.25, out scale 0.125: real = 0.125 * sum(x w) + bias, codes sum(x w) + bias.
    rng = np.random.default_rng(4)
    g = Graph()
    x = g.input("x", np.int8, (3, 8), (0.5, 0))
    w = g.tensor("w", np.int8, (5, 8), (0.25, 0), data=rng.integers(-3, 4, size=(5, 8)))
    bias = g.tensor("bias", np.int32, (5,), (0.125, 0), data=np.array([1, -2, 3, 0, -5]))
    out = g.tensor("y", np.int8, (3, 5), (0.125, 0))
    g.op("FULLY_CONNECTED", [x, w, bias], [out])
    g.outputs = [out]
    model = g.to_bytes()
    inputs = {0: codes(rng, -3, 3, (3, 8))}
    result = litelens.inspect(model, inputs=inputs)
    t = result.op(0).output
    assert t.local.exact and t.local.max_abs_error_lsb == 0.0
    expected = inputs[0].astype(int) @ g.tensors[w].data.astype(int).T + g.tensors[bias].data
    np.testing.assert_array_equal(result.interpreter.get_tensor(out), expected)
    explanation = result.explain(0, (2, 4))
    assert explanation.matches and explanation.error_lsb == 0.0
    before = next(s.value for s in explanation.steps if s.label == "value before rounding")
    assert before == expected[2, 4]  # the requantization scale is exactly 1
    check_against_official(model, inputs, result)


def test_quantize_on_a_quarter_lsb_grid_then_dequantize():
    # x = 0.125 * m / 4: QUANTIZE to scale 0.125 (zp 0) errs by -0.25, +0.5 (tie, away from zero for
    # m > 0), +0.25 LSB for m = 1, 2, 3 mod 4. DEQUANTIZE then adds nothing, and the propagated error of
    # its float output is the QUANTIZE error.
    g = Graph()
    x = g.input("x", np.float32, (1, 400))
    q = g.tensor("q", np.int8, (1, 400), (0.125, 0))
    y = g.tensor("y", np.float32, (1, 400))
    g.op("QUANTIZE", [x], [q])
    g.op("DEQUANTIZE", [q], [y])
    g.outputs = [y]
    model = g.to_bytes()
    m = np.arange(1, 401)
    inputs = {0: (0.125 * m / 4).astype(np.float32).reshape(1, 400)}
    result = litelens.inspect(model, inputs=inputs)
    quantize, dequantize = result.op(0).output, result.op(1).output
    expected = np.select([m % 4 == 1, m % 4 == 2, m % 4 == 3], [-0.25, 0.5, 0.25], 0.0)
    expected = np.where(m / 4 > 127.5, 127 - m / 4, expected)  # beyond code 127: clipped
    np.testing.assert_allclose(quantize.samples["local"], expected, atol=1e-12)
    assert quantize.saturation == pytest.approx((m / 4 >= 127.5).mean())
    assert dequantize.local.exact  # scale * (q - zp) is exact in float32 here
    assert dequantize.propagated.sqnr_db == pytest.approx(quantize.local.sqnr_db, abs=1e-9)
    check_against_official(model, inputs, result)
