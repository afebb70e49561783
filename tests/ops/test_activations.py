"""TANH, LOGISTIC and GELU against the official reference kernels (BUILTIN_REF).

8-bit: every one of the 256 input codes, for several input quantizations (converter-made and
edited: odd scales, asymmetric zero points, uint8); bit-exact. int16 GELU: all 65536 codes, bit-exact.
float32: all bit-exact (tolerance 0): TANH and LOGISTIC call glibc tanhf/expf with the reference
cut-offs; the official float GELU evaluates Eigen's own float32 tanh/erfc/exp approximations, which
litelens reproduces operation by operation (they differ from glibc by a few ulp, and Eigen's tanh is
exactly +-1 beyond |x| ~ 7.9, so matching libm instead would be off by up to ~1e-6).
"""
from functools import lru_cache

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from single_op import compare_with_official, convert_fn, patch_model  # noqa: E402

import litelens  # noqa: E402

def tanh(x):
    return tf.math.tanh(x)


def logistic(x):
    return tf.math.sigmoid(x)


def gelu(x):
    return tf.nn.gelu(x, approximate=False)


def gelu_approximate(x):
    return tf.nn.gelu(x, approximate=True)


OPS = {"tanh": tanh, "logistic": logistic, "gelu": gelu, "gelu_approximate": gelu_approximate}
ALL_INT8 = np.arange(-128, 128, dtype=np.int8)
ALL_UINT8 = np.arange(256, dtype=np.uint8)


@lru_cache(maxsize=None)
def model(op: str, flavor: str = "int8", calibration_scale: float = 2.0, size: int = 256) -> bytes:
    return convert_fn(OPS[op], [tf.TensorSpec([size], tf.float32)], flavor=flavor,
                      calibration_scale=calibration_scale)


@lru_cache(maxsize=None)
def requantized(op: str, input_scale: float, input_zero_point: int, output_scale: float | None = None,
                output_zero_point: int | None = None, uint8: bool = False) -> bytes:
    """The converted int8 model with the quantization (and optionally the type) of its tensors replaced."""

    def edit(m, schema):
        graph = m.subgraphs[0]
        (op_,) = graph.operators
        x, y = graph.tensors[op_.inputs[0]], graph.tensors[op_.outputs[0]]
        x.quantization.scale, x.quantization.zeroPoint = [input_scale], [input_zero_point]
        if output_scale is not None:
            y.quantization.scale, y.quantization.zeroPoint = [output_scale], [output_zero_point]
        if uint8:
            x.type = y.type = schema.TensorType.UINT8
            x.quantization.zeroPoint = [input_zero_point + 128]
            y.quantization.zeroPoint = [int(y.quantization.zeroPoint[0]) + 128]

    return patch_model(model(op), edit)


@pytest.mark.parametrize("calibration_scale", [0.3, 2.0, 12.0])
@pytest.mark.parametrize("op", sorted(OPS))
def test_int8_all_codes(op, calibration_scale):
    compare_with_official(model(op, calibration_scale=calibration_scale), {0: ALL_INT8}).assert_ok()


# (input scale, input zero point, output scale, output zero point); None keeps the converter's output.
QUANTIZATIONS = [(0.0123, 37, None, None), (0.5, -100, None, None), (1e-3, 0, None, None),
                 (0.07, 5, 0.011, -3), (0.2, 120, 0.9, 60)]


@pytest.mark.parametrize("quant", QUANTIZATIONS)
@pytest.mark.parametrize("op", ["tanh", "gelu", "gelu_approximate"])
def test_int8_all_codes_edited_quantization(op, quant):
    compare_with_official(requantized(op, *quant), {0: ALL_INT8}).assert_ok()


@pytest.mark.parametrize("quant", [(0.0123, 37), (0.5, -100), (1e-3, 0)])
def test_logistic_int8_edited_input_quantization(quant):
    compare_with_official(requantized("logistic", *quant), {0: ALL_INT8}).assert_ok()


@pytest.mark.parametrize("op", sorted(OPS))
def test_uint8_all_codes(op):
    compare_with_official(requantized(op, 0.04, -7, uint8=True), {0: ALL_UINT8}).assert_ok()


SPECIAL = [np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 3e38, -3e38, 9.0, -9.0, -9.000001, 16.619047,
           16.62, 1.0, -1.0, 0.99999994, -1.0000001, 7.9073896, -7.9073896, 11.0, -11.0, 14.5, -14.5, 88.0, -88.0]


def float_inputs(size: int, seed: int) -> np.ndarray:
    """Normal values, a log sweep of both signs (every branch of the approximations) and special values."""
    rng = np.random.default_rng(seed)
    sweep = np.logspace(-4, 2.2, 1000)
    x = np.concatenate([SPECIAL, sweep, -sweep, rng.standard_normal(size - len(SPECIAL) - 2000) * 5])
    return x.astype(np.float32)


@pytest.mark.parametrize("op", sorted(OPS))
def test_float32_bit_exact(op):
    m = model(op, "float32", size=8192)
    for seed in range(2):
        compare_with_official(m, {0: float_inputs(8192, seed)}).assert_ok()


def test_logistic_int8_needs_output_scale_one_over_256():
    m = requantized("logistic", 0.05, 0, output_scale=0.004, output_zero_point=-128)
    with pytest.raises(litelens.ModelError, match="1/256"):
        litelens.Interpreter(model_content=m).allocate_tensors()


@pytest.mark.parametrize("op", sorted(OPS))
def test_other_shapes_use_the_same_table(op):
    """The table op is elementwise: a 3-D tensor gives the same codes as the flat one."""
    m = convert_fn(OPS[op], [tf.TensorSpec([2, 4, 32], tf.float32)], flavor="int8")
    x = ALL_INT8.reshape(2, 4, 32)
    compare_with_official(m, {0: x}).assert_ok()


ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)


@pytest.mark.parametrize("calibration_scale", [0.5, 3.0, 20.0])
@pytest.mark.parametrize("op", ["gelu", "gelu_approximate"])
def test_int16_gelu_all_codes(op, calibration_scale):
    m = convert_fn(OPS[op], [tf.TensorSpec([65536], tf.float32)], flavor="int16x8",
                   calibration_scale=calibration_scale)
    compare_with_official(m, {0: ALL_INT16}).assert_ok()


