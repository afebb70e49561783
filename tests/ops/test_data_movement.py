"""Data-movement ops (RESHAPE, TRANSPOSE, GATHER, CONCATENATION, SLICE, STRIDED_SLICE, PAD, CAST,
SQUEEZE, EXPAND_DIMS) against the official reference kernels, float32 and int8 models.

They copy values, so every tensor must match exactly, floats included (tolerance 0).
"""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from single_op import compare_with_official, convert_fn  # noqa: E402

import litelens  # noqa: E402

spec = tf.TensorSpec
X = spec([2, 6, 4, 3], tf.float32)
rng = np.random.default_rng(7)
TABLE = rng.standard_normal((50, 8)).astype(np.float32)

CASES = {
    "reshape": (lambda x: tf.reshape(x, [4, -1, 6]), [X]),
    "transpose": (lambda x: tf.transpose(x, [0, 2, 1, 3]), [X]),
    "transpose_rank2": (lambda x: tf.transpose(tf.reshape(x, [12, 12])), [X]),
    "concat_last": (lambda x: tf.concat([x, x[:, ::-1]], axis=-1), [X]),
    "concat_mid": (lambda x: tf.concat([x[:, :2], x], axis=1), [X]),
    "slice": (lambda x: tf.slice(x, [0, 1, 0, 1], [-1, 3, 2, 2]), [X]),
    "strided": (lambda x: x[:, 1:5:2, ::-1, :], [X]),
    "strided_shrink": (lambda x: x[:, 0, :, 1:], [X]),
    "strided_newaxis_ellipsis": (lambda x: x[..., tf.newaxis, 1:3], [X]),
    "strided_negative": (lambda x: x[:, -3:-1, -1:, :], [X]),
    "pad": (lambda x: tf.pad(x, [[0, 0], [1, 2], [0, 0], [2, 1]]), [X]),
    "squeeze_expand": (lambda x: tf.expand_dims(tf.squeeze(x[:, :1], axis=1), 2), [X]),
}


@pytest.mark.parametrize("flavor", ["float32", "int8"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_matches_reference(case, flavor):
    fn, specs = CASES[case]
    model = convert_fn(fn, specs, flavor=flavor)
    for seed in range(2):
        compare_with_official(model, seed=seed).assert_ok()


def _ids_model(flavor, axis=0, batch_dims=0, ids_shape=(1, 7)):
    table = tf.constant(TABLE if axis == 0 else TABLE.reshape(1, 50, 8))

    def fn(ids):
        return tf.gather(table, ids, axis=axis, batch_dims=batch_dims)

    return convert_fn(fn, [spec(ids_shape, tf.int32)], flavor=flavor)


@pytest.mark.parametrize("flavor", ["float32", "int8"])
def test_gather_embedding(flavor):
    model = _ids_model(flavor)
    ids = {0: rng.integers(0, 50, (1, 7)).astype(np.int32)}
    compare_with_official(model, ids).assert_ok()


def test_gather_out_of_range_is_an_input_error_and_interpreter_survives():
    model = _ids_model("float32")
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    index = interp.get_input_details()[0]["index"]
    interp.set_tensor(index, np.full((1, 7), 50, np.int32))
    with pytest.raises(litelens.InputError, match="out of range"):
        interp.invoke()
    interp.set_tensor(index, np.zeros((1, 7), np.int32))
    interp.invoke()
    out = interp.get_tensor(interp.get_output_details()[0]["index"])
    np.testing.assert_array_equal(out[0, 0], TABLE[0])


def test_cast_int_to_float_and_back():
    def fn(ids, x):
        return tf.cast(ids, tf.float32), tf.cast(x, tf.int32)

    model = convert_fn(fn, [spec([3, 5], tf.int32), spec([3, 5], tf.float32)], flavor="float32")
    inputs = {0: rng.integers(-1000, 1000, (3, 5)).astype(np.int32),
              1: (rng.standard_normal((3, 5)) * 3).astype(np.float32)}
    compare_with_official(model, inputs).assert_ok()
