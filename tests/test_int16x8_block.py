"""int16x8 (int16 activations, int8 weights): the converter refuses the factory presets (their
attention mask goes through an int32 -> float CAST it cannot quantize to 16x8), so this builds a
transformer block with a float mask input — attention, softmax, residual ADD, LayerNorm as
MEAN/SUB/MUL/RSQRT, GELU feed-forward, and a BERT pooler (first token, dense, TANH) — converts it to
int16x8 and compares every tensor with the official reference kernels: integer tensors bit for bit,
float tensors exactly (tolerance 0).

LayerNorm's variance is mean(d * d) with d = x - mean. Written with tf.math.squared_difference, the
int16x8 model holds an int16 SQUARED_DIFFERENCE, which the official kernel cannot run (its Eval has no
int16 path: "SquaredDifference only supports FLOAT32 and INT32 now"); the last test checks that both
interpreters refuse that form.
"""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from single_op import compare_with_official, convert_fn  # noqa: E402

import litelens  # noqa: E402

SEQ, WIDTH, HEADS = 16, 64, 4
rng = np.random.default_rng(11)


def _w(*shape, scale=0.15):
    return tf.constant((rng.standard_normal(shape) * scale).astype(np.float32))


WQ, WK, WV, WO, WP = (_w(WIDTH, WIDTH) for _ in range(5))
W1, W2 = _w(WIDTH, 4 * WIDTH), _w(4 * WIDTH, WIDTH)
GAMMA = tf.constant((1 + 0.1 * rng.standard_normal(WIDTH)).astype(np.float32))
BETA = tf.constant((0.1 * rng.standard_normal(WIDTH)).astype(np.float32))


def _layer_norm(x):
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    d = x - mean
    var = tf.reduce_mean(d * d, axis=-1, keepdims=True)
    return d * tf.math.rsqrt(var + 1e-6) * GAMMA + BETA


def _layer_norm_squared_difference(x):
    mean = tf.reduce_mean(x, axis=-1, keepdims=True)
    var = tf.reduce_mean(tf.math.squared_difference(x, mean), axis=-1, keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + 1e-6) * GAMMA + BETA


def _heads(x):  # [1, seq, width] -> [1, heads, seq, width / heads]
    return tf.transpose(tf.reshape(x, [1, SEQ, HEADS, WIDTH // HEADS]), [0, 2, 1, 3])


def block(x, mask):
    q, k, v = (_heads(tf.matmul(x, w)) for w in (WQ, WK, WV))
    scores = tf.matmul(q, k, transpose_b=True) * (1.0 / np.sqrt(WIDTH // HEADS))
    scores += (1.0 - mask[:, None, None, :]) * -10000.0
    context = tf.matmul(tf.nn.softmax(scores), v)  # [1, heads, seq, dh]
    context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [1, SEQ, WIDTH])
    h = _layer_norm(x + tf.matmul(context, WO))
    out = _layer_norm(h + tf.matmul(tf.nn.gelu(tf.matmul(h, W1), approximate=False), W2))
    pooled = tf.math.tanh(tf.matmul(out[:, 0], WP))  # BERT pooler: [1, seq, width] -> [1, width]
    return out, pooled


SPECS = [tf.TensorSpec([1, SEQ, WIDTH], tf.float32), tf.TensorSpec([1, SEQ], tf.float32)]


@pytest.fixture(scope="module")
def model():
    return convert_fn(block, SPECS, flavor="int16x8", int_io=False, calibration_scale=1.0)


def test_it_is_really_int16x8(model):
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    dtypes = {np.dtype(d["dtype"]).name for d in interp.get_tensor_details()}
    assert "int16" in dtypes
    ops = {op["op_name"] for op in interp._get_ops_details()}
    assert {"FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX", "MEAN", "RSQRT", "GELU", "TANH", "STRIDED_SLICE"} <= ops
    assert "SQUARED_DIFFERENCE" not in ops


def _as_model_inputs(model, reals):
    """The converter may make the boundary int16: quantize real values with the input's own scale."""
    interp = litelens.Interpreter(model_content=model)
    out = {}
    for detail, real in zip(interp.get_input_details(), reals):
        scale, zero_point = detail["quantization"]
        if np.dtype(detail["dtype"]) == np.int16:
            real = np.clip(np.round(real / scale) + zero_point, -32768, 32767).astype(np.int16)
        out[detail["index"]] = real
    return out


@pytest.mark.parametrize("padding", [0, 5])
def test_every_tensor_matches_reference(model, padding):
    x = rng.standard_normal((1, SEQ, WIDTH)).astype(np.float32)
    mask = np.ones((1, SEQ), np.float32)
    mask[0, SEQ - padding:] = 0
    comparison = compare_with_official(model, _as_model_inputs(model, [x, mask]), resolver="reference")
    comparison.assert_ok()


def test_squared_difference_layer_norm_is_refused_like_official():
    from litelens.official import official_interpreter

    spec = [tf.TensorSpec([1, SEQ, WIDTH], tf.float32)]
    model = convert_fn(_layer_norm_squared_difference, spec, flavor="int16x8", int_io=False, calibration_scale=1.0)
    official = official_interpreter(model)
    with pytest.raises(RuntimeError, match="SquaredDifference only supports FLOAT32 and INT32"):
        official.invoke()
    with pytest.raises(litelens.ModelError, match="int16 SQUARED_DIFFERENCE"):
        litelens.Interpreter(model_content=model).allocate_tensors()
