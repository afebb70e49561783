"""L2_NORMALIZATION against the official BUILTIN_REF interpreter.

Converted ``tf.math.l2_normalize(x, axis=-1)`` models (float32, int8 with int8 inputs/outputs) and
hand-built ones (uint8, any zero point, special float values, rows longer than the int32 sum of
squares can hold). Every tensor is compared bit for bit, floats included (tolerance 0): the float
kernel is the official one step for step (a sequential float32 sum of float32 squares, a correctly
rounded sqrt, max with 1e-6f, one correctly rounded division per element).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from ops.test_minmax import assert_same_bits, official_refuses, one_op_model, opcodes  # noqa: E402
from single_op import compare_with_official, convert_fn, random_inputs  # noqa: E402

import litelens  # noqa: E402
from litelens.errors import ModelError  # noqa: E402

S = tf.TensorSpec
OUT_Q = {np.int8: (1 / 128, 0), np.uint8: (1 / 128, 128)}


def l2_model(shape, dtype, in_q=None, out_q=None, options=None) -> bytes:
    return one_op_model("L2_NORMALIZATION", [(shape, dtype, in_q), (shape, dtype, out_q)], [0], [1], options)


# ------------------------------------------------------------------ converted single-op models
@functools.lru_cache(maxsize=None)
def converted(shape: tuple, flavor: str) -> bytes:
    model = convert_fn(lambda x: tf.math.l2_normalize(x, axis=-1), [S(shape, tf.float32)], flavor=flavor)
    assert opcodes(model) == ["L2_NORMALIZATION"]
    return model


@pytest.mark.parametrize("flavor", ["int8", "float32"])
@pytest.mark.parametrize("shape", [(4, 16), (2, 3, 32), (64,), (1, 128)], ids=str)
def test_converted(shape, flavor):
    model = converted(shape, flavor)
    for seed in range(2):
        compare_with_official(model, random_inputs(model, seed)).assert_ok()  # tolerance 0


@pytest.mark.parametrize("flavor", ["int8", "float32"])
def test_converted_zero_rows_and_clamps(flavor):
    """Rows that are all zero (the zero point for int8), rows of a single code at either end, one
    nonzero element (the output clamps at 127/128 for int8)."""
    model = converted((6, 16), flavor)
    interp = litelens.Interpreter(model_content=model)
    detail = interp.get_input_details()[0]
    x = random_inputs(model, 5)[detail["index"]]
    if flavor == "int8":
        zero_point = detail["quantization"][1]
        x[0], x[1], x[2], x[3] = zero_point, -128, 127, zero_point
        x[3, 7] = 127
    else:
        x[0], x[1], x[2], x[3] = 0.0, -3.0, 1e-7, 0.0
        x[3, 7] = 5.0
    compare_with_official(model, {detail["index"]: x}).assert_ok()


# ------------------------------------------------------------------ float32 arithmetic
def test_float_special_values():
    """NaN rows stay NaN; an overflowing sum of squares gives an infinite norm (finite elements -> 0,
    infinities -> NaN); norms below 1e-6 are replaced by 1e-6 (tiny and subnormal inputs); -0 stays -0."""
    x = np.array([
        [0, 0, 0, 0], [-0.0, 0, -0.0, 0], [np.nan, 1, 2, 3], [np.inf, 1, -2, 3], [-np.inf, np.inf, 0, 1],
        [1e20, 1, -2, 3], [3e19, 3e19, 1, 1], [1e-7, 2e-7, 0, -1e-7], [1e-40, -1e-41, 0, 0],
        [3.4e38, 0, 0, 0], [1e-6, 0, 0, 0], [9.99e-7, 0, 0, -0.0],
    ], np.float32)
    model = l2_model(x.shape, np.float32)
    theirs = assert_same_bits(model, {0: x})
    assert np.array_equal(theirs[1][8], np.float32([1e-40, -1e-41, 0, 0]) / np.float32(1e-6))


@pytest.mark.parametrize("shape", [(1,), (7, 1), (3, 1000), (2, 2, 2, 2, 5)], ids=str)
def test_float_random(shape):
    """Long rows (the sum order matters), one-element rows, rank 1 and rank 5, magnitudes 1e-4..1e4."""
    rng = np.random.default_rng(len(shape))
    scale = 10.0 ** rng.uniform(-4, 4, size=shape[:-1] + (1,))
    x = (rng.standard_normal(shape) * scale).astype(np.float32)
    assert_same_bits(l2_model(shape, np.float32), {0: x})


# ------------------------------------------------------------------ int8 / uint8 arithmetic
def quantized_rows(rng, dtype, zero_point, rows, depth) -> np.ndarray:
    """Random rows plus the hard ones: all at the zero point (sum 0), one code off it (sum 1), all at
    either end, rows close to the zero point (small sums, large inverse norms), one large value."""
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max, size=(rows, depth), endpoint=True).astype(dtype)
    x[0] = zero_point
    x[1] = zero_point
    x[1, depth // 2] = zero_point + (1 if zero_point < info.max else -1)
    x[2], x[3] = info.min, info.max
    for r in range(4, rows, 3):
        x[r] = np.clip(zero_point + rng.integers(-3, 4, depth), info.min, info.max)
    for r in range(5, rows, 7):
        x[r] = zero_point
        x[r, r % depth] = info.min if zero_point > 0 else info.max
    return x


@pytest.mark.parametrize("zero_point", [-128, -11, 0, 1, 127])
@pytest.mark.parametrize("depth", [1, 3, 16, 128])
def test_int8(depth, zero_point):
    rng = np.random.default_rng(depth * 1000 + zero_point)
    model = l2_model((300, depth), np.int8, (0.02, zero_point), OUT_Q[np.int8])
    assert_same_bits(model, {0: quantized_rows(rng, np.int8, zero_point, 300, depth)})


@pytest.mark.parametrize("zero_point", [0, 3, 128, 255])
@pytest.mark.parametrize("depth", [1, 16, 128])
def test_uint8(depth, zero_point):
    rng = np.random.default_rng(depth * 1000 + zero_point)
    model = l2_model((2, 150, depth), np.uint8, (0.3, zero_point), OUT_Q[np.uint8])
    x = quantized_rows(rng, np.uint8, zero_point, 300, depth).reshape(2, 150, depth)
    assert_same_bits(model, {0: x})


def test_int8_every_two_element_row():
    """All 256 x 256 rows (a, b) with zero point 0: sums of squares 0..32768, each a different 1/sqrt."""
    codes = np.arange(-128, 128, dtype=np.int8)
    x = np.stack(np.meshgrid(codes, codes, indexing="ij"), axis=-1).reshape(-1, 2)
    assert_same_bits(l2_model(x.shape, np.int8, (0.1, 0), OUT_Q[np.int8]), {0: x})


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=lambda d: np.dtype(d).name)
def test_sum_of_squares_wraps_like_int32(dtype):
    """40000 elements of (x - zp)**2 = 255**2 sum to 2.6e9, past INT32_MAX: the official int32
    accumulator wraps negative, which GetInvSqrtQuantizedMultiplierExp treats like 0 (multiplier
    INT32_MAX), so the outputs saturate instead of being about -0.64."""
    low, high = (-128, 127) if dtype == np.int8 else (0, 255)
    x = np.full((3, 40000), low, dtype)
    x[1, ::2] = high
    x[2, :30000] = low + 100
    model = l2_model(x.shape, dtype, (0.02, high), OUT_Q[dtype])
    theirs = assert_same_bits(model, {0: x})
    assert (theirs[1][0] == low).all()


def test_unquantized_int8_input_reads_zero_point_0():
    """The official kernel reads only the input's zero point, 0 when the tensor has no quantization."""
    x = np.arange(-128, 128, dtype=np.int8).reshape(16, 16)
    assert_same_bits(l2_model(x.shape, np.int8, None, OUT_Q[np.int8]), {0: x})


def test_empty_input():
    model = l2_model((3, 0), np.float32)
    assert_same_bits(model, {0: np.zeros((3, 0), np.float32)})


# ------------------------------------------------------------------ models the official interpreter refuses
REFUSED = {
    "fused RELU": ((2, 4), np.float32, None, None, ("L2NormOptions", {"FusedActivationFunction": 1})),
    "fused RELU6, int8": ((2, 4), np.int8, (0.1, 0), OUT_Q[np.int8],
                          ("L2NormOptions", {"FusedActivationFunction": 3})),
    "output scale 1/127": ((2, 4), np.int8, (0.1, 0), (1 / 127, 0), None),
    "int8 output zero point 1": ((2, 4), np.int8, (0.1, 0), (1 / 128, 1), None),
    "uint8 output zero point 0": ((2, 4), np.uint8, (0.1, 0), (1 / 128, 0), None),
    "output not quantized": ((2, 4), np.int8, (0.1, 0), None, None),
    "rank 0": ((), np.float32, None, None, None),
    "int16": ((2, 4), np.int16, (0.1, 0), (1 / 128, 0), None),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_refused_models(case):
    shape, dtype, in_q, out_q, options = REFUSED[case]
    model = l2_model(shape, dtype, in_q, out_q, options)
    assert official_refuses(model, {0: np.ones(shape, dtype)})
    with pytest.raises(ModelError):
        litelens.Interpreter(model_content=model).allocate_tensors()


def test_mixed_dtypes_refused():
    model = one_op_model("L2_NORMALIZATION", [((2, 4), np.float32, None), ((2, 4), np.int8, OUT_Q[np.int8])],
                         [0], [1])
    assert official_refuses(model, {0: np.ones((2, 4), np.float32)})
    with pytest.raises(ModelError, match="dtype"):
        litelens.Interpreter(model_content=model).allocate_tensors()


def test_no_activation_option_table_is_none():
    """NONE stored explicitly and no options table at all both run (the schema default is NONE)."""
    x = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    for options in (None, ("L2NormOptions", {"FusedActivationFunction": 0})):
        assert_same_bits(l2_model((3, 4), np.float32, options=options), {0: x})
