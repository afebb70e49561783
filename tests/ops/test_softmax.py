"""SOFTMAX against the official reference kernel (BUILTIN_REF): int8 (and uint8, int8 -> int16,
int16) bit-exact, float32 bit-exact too (same expf, same summation order), so every tolerance is 0.

Models come from TensorFlow's converter; beta, scales and types the converter never writes
(tf.nn.softmax(x * c) stays a MUL + SOFTMAX with beta 1) are set by editing the converted model.
"""
from functools import lru_cache

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from single_op import compare_with_official, convert_fn, patch_model  # noqa: E402

import litelens  # noqa: E402
from litelens.official import run_official  # noqa: E402


def softmax(x):
    return tf.nn.softmax(x)


@lru_cache(maxsize=None)
def softmax_model(shape: tuple, flavor: str = "int8", calibration_scale: float = 2.0) -> bytes:
    return convert_fn(softmax, [tf.TensorSpec(shape, tf.float32)], flavor=flavor,
                      calibration_scale=calibration_scale)


@lru_cache(maxsize=None)
def edited(shape: tuple, flavor: str = "int8", beta: float | None = 1.0, input_scale: float | None = None,
           input_zero_point: int | None = None, io_type: str | None = None, output_type: str | None = None) -> bytes:
    """The converted softmax with beta, the input quantization or the tensor types replaced."""

    def edit(model, schema):
        graph = model.subgraphs[0]
        (op,) = graph.operators
        x, y = graph.tensors[op.inputs[0]], graph.tensors[op.outputs[0]]
        if beta is not None:
            op.builtinOptions.beta = beta
        if input_scale is not None:
            x.quantization.scale = [input_scale]
        if input_zero_point is not None:
            x.quantization.zeroPoint = [input_zero_point]
        if io_type == "uint8":  # same real values: codes and zero points shift by 128
            for t in (x, y):
                t.type = schema.TensorType.UINT8
                t.quantization.zeroPoint = [int(t.quantization.zeroPoint[0]) + 128]
        if output_type == "int16":
            y.type = schema.TensorType.INT16
            y.quantization.scale, y.quantization.zeroPoint = [1 / 32768], [0]

    return patch_model(softmax_model(shape, flavor), edit)


def int8_rows(shape, seed, dtype=np.int8):
    """Random codes plus rows that stress the kernel: constant, one hot, and extreme spreads."""
    rng = np.random.default_rng(seed)
    info = np.iinfo(dtype)
    x = rng.integers(info.min, info.max + 1, size=shape).astype(dtype)
    rows = x.reshape(-1, shape[-1])
    if rows.shape[0] >= 4:
        rows[0] = info.min
        rows[0, :500] = info.max  # all equal up to 500 entries (512 at the max would abort, see below)
        rows[1] = info.min
        rows[1, -1] = info.max  # one hot: differences of -255
        rows[2] = rng.choice([info.min, info.max], size=shape[-1])
        rows[3] = info.max - rng.integers(0, 4, size=shape[-1])  # tiny differences
    return x


ROW_LENGTHS = [1, 2, 7, 128, 513]


@pytest.mark.parametrize("depth", ROW_LENGTHS)
def test_int8_row_lengths(depth):
    shape = (5, depth)
    model = softmax_model(shape)
    for seed in range(3):
        compare_with_official(model, {0: int8_rows(shape, seed)}).assert_ok()


@pytest.mark.parametrize("shape", [(9,), (2, 3, 16), (2, 2, 3, 5)])
def test_int8_any_rank(shape):
    compare_with_official(softmax_model(shape), {0: int8_rows(shape, 1)}).assert_ok()


@pytest.mark.parametrize("shape", [(5, 1), (5, 7), (4, 513), (2, 3, 16)])
def test_float32(shape):
    model = softmax_model(shape, "float32")
    rng = np.random.default_rng(3)
    x = (rng.standard_normal(shape) * 8).astype(np.float32)
    x.reshape(-1, shape[-1])[0] = -1e30  # (x - max) * beta underflows exp() to 0 for none of them
    compare_with_official(model, {0: x}).assert_ok()


# (beta, input scale): small and large scales push differences past diff_min (exp == 0 cut-off);
# beta * scale * 2**26 above 2**31 - 1 saturates the multiplier.
BETA_SCALES = [(1.0, 0.001), (1.0, 0.25), (1.0, 1.0), (0.5, 0.05), (2.0, 0.05), (0.3, 0.7),
               (7.5, 0.02), (1e-4, 0.05), (100.0, 0.5), (1000.0, 0.05)]


@pytest.mark.parametrize("beta,scale", BETA_SCALES)
def test_int8_beta_and_scale(beta, scale):
    shape = (6, 40)
    model = edited(shape, beta=beta, input_scale=scale, input_zero_point=3)
    for seed in range(2):
        compare_with_official(model, {0: int8_rows(shape, seed)}).assert_ok()


def test_float32_special_values():
    """Rows with -inf, +inf, NaN and huge values (the max starts at -FLT_MAX, as in the reference)."""
    x = np.array([[-np.inf] * 4, [0.0, -np.inf, 1.0, -np.inf], [np.inf, 1.0, 2.0, 3.0], [np.nan, 1.0, 2.0, 3.0],
                  [3e38, -3e38, 0.0, 1.0], [-1e30, -1e30, -1e30, -1e30], [1e-45, 0.0, -0.0, 1e-40]], np.float32)
    compare_with_official(softmax_model((7, 4), "float32"), {0: x}).assert_ok()


@pytest.mark.parametrize("beta", [0.0, 0.25, 3.0])
def test_float32_beta(beta):
    shape = (4, 33)
    model = edited(shape, "float32", beta=beta)
    x = (np.random.default_rng(5).standard_normal(shape) * 3).astype(np.float32)
    compare_with_official(model, {0: x}).assert_ok()


@pytest.mark.parametrize("depth", [7, 300])
def test_uint8(depth):
    shape = (6, depth)
    model = edited(shape, io_type="uint8", input_scale=0.1)
    compare_with_official(model, {0: int8_rows(shape, 2, np.uint8)}).assert_ok()


def test_int8_in_int16_out():
    shape = (6, 50)
    model = edited(shape, output_type="int16", input_scale=0.08)
    compare_with_official(model, {0: int8_rows(shape, 4)}).assert_ok()


def test_large_negative_differences_saturate_to_zero():
    """A row [127, -128, ...] with a coarse scale: every non-max entry is past diff_min -> code -128."""
    shape = (6, 40)
    model = edited(shape, input_scale=0.5)
    x = int8_rows(shape, 0)
    out = run_official(model, {0: x})
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    interp.set_tensor(0, x)
    interp.invoke()
    ours = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_array_equal(ours, out[interp.get_output_details()[0]["index"]])
    assert (ours[1, :-1] == -128).all() and ours[1, -1] == 127


def test_too_many_entries_at_the_maximum_is_an_input_error():
    """A row with >= 512 entries at its maximum overflows the 8-bit output shift: the official kernel
    aborts the process (TFLITE_CHECK in reference/softmax.h), so it is not run here; litelens raises."""
    model = softmax_model((2, 600))
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    x = np.zeros((2, 600), np.int8)
    x[0, ::2] = 100  # row 0: 300 maxima is fine
    interp.set_tensor(0, x)
    with pytest.raises(litelens.InputError, match="row 1"):
        interp.invoke()


def test_beta_too_small_for_quantized_kernel_is_an_error():
    model = edited((2, 8), beta=1e-9, input_scale=0.01)  # beta * scale * 2**26 < 1: official aborts
    with pytest.raises(litelens.ModelError, match="too small"):
        litelens.Interpreter(model_content=model).allocate_tensors()


def test_wrong_output_quantization_is_an_error():
    def edit(model, schema):
        graph = model.subgraphs[0]
        graph.tensors[graph.operators[0].outputs[0]].quantization.zeroPoint = [0]

    model = patch_model(softmax_model((2, 8)), edit)
    with pytest.raises(litelens.ModelError, match="zero point -128"):
        litelens.Interpreter(model_content=model).allocate_tensors()


@pytest.mark.parametrize("depth", [1, 2, 7, 128, 513])
def test_int16_row_lengths(depth):
    shape = (5, depth)
    model = softmax_model(shape, "int16x8")
    for seed in range(2):
        compare_with_official(model, {0: int8_rows(shape, seed, np.int16)}).assert_ok()


@pytest.mark.parametrize("beta,scale", [(1.0, 1e-4), (1.0, 3e-3), (0.5, 1e-3), (4.0, 2e-4), (1.0, 0.05)])
def test_int16_beta_and_scale(beta, scale):
    shape = (6, 40)
    model = edited(shape, "int16x8", beta=beta, input_scale=scale)
    compare_with_official(model, {0: int8_rows(shape, 1, np.int16)}).assert_ok()


@pytest.mark.parametrize("depth", [1, 7, 8, 9, 128, 131])
def test_float32_masked_rows_and_the_expf_bands(depth):
    """The vectorised float path: -10000 attention masks (expf -> 0 in the loop), arguments in
    [-103.97, -88] (subnormal or 2**-149 results, redone by the scalar expf), NaN / inf, rows whose
    maximum is +0.0 or -0.0, every row length around the 8-wide max and the 8-row sums."""
    rng = np.random.default_rng(depth)
    rows = 19
    x = (rng.standard_normal((rows, depth)) * 4).astype(np.float32)
    x[0::3, depth // 2:] = -10000.0
    x[1::4, :] = rng.uniform(-104.5, -87.5, (len(range(1, rows, 4)), depth)).astype(np.float32)
    x[1::4, 0] = 0.0  # the band relative to a maximum of 0
    x[2, :] = np.where(rng.random(depth) < 0.5, -0.0, 0.0).astype(np.float32)
    x[5, rng.integers(0, depth)] = np.nan
    x[7, rng.integers(0, depth)] = np.inf
    x[8, rng.integers(0, depth)] = -np.inf
    compare_with_official(softmax_model((rows, depth), "float32"), {0: x}).assert_ok()
