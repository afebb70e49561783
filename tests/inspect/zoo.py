"""Small multi-op models converted by TensorFlow for the inspection tests (one conversion per flavor
per session): every op litelens supports that the converter emits from plain TF code, in float32, int8
and int16x8."""
from __future__ import annotations

import functools

import numpy as np


def _zoo_fn():
    import tensorflow as tf

    rng = np.random.default_rng(0)
    weights = tf.constant(rng.standard_normal((12, 8)).astype(np.float32) * 0.3)
    table = tf.constant(rng.standard_normal((10, 8)).astype(np.float32))

    def zoo(x, y, ids):  # x, y: [2, 6, 8]; ids: [2, 6] in [0, 10)
        a = x + y
        b = x - y
        c = x * y
        d = x / (y * y + 1.0)
        e = tf.math.squared_difference(x, y)
        f = tf.math.rsqrt(x * x + 0.5)
        g = tf.nn.softmax(a, axis=-1)
        h = tf.sigmoid(b)
        i = tf.tanh(c)
        j = tf.nn.gelu(d, approximate=False)
        k = tf.reduce_mean(e, axis=-1, keepdims=True)
        sums = tf.reduce_sum(f, axis=1)
        m = tf.concat([g, h], axis=1)  # [2, 12, 8]
        n = tf.matmul(m, weights, transpose_b=True)  # FULLY_CONNECTED -> [2, 12, 12]
        o = tf.reshape(tf.matmul(i, j, transpose_b=True), [2, 36])  # BATCH_MATMUL (adj_y)
        s = tf.transpose(tf.pad(tf.slice(m, [0, 1, 2], [2, 5, 4]), [[0, 0], [1, 1], [0, 2]]), [0, 2, 1])
        w = tf.gather(table, ids) * x + y
        z = tf.gather(w, [1, 0, 3], axis=1)
        return n, o, k, sums, s, z

    specs = [tf.TensorSpec((2, 6, 8), tf.float32), tf.TensorSpec((2, 6, 8), tf.float32),
             tf.TensorSpec((2, 6), tf.int32)]
    return zoo, specs


def _zoo16_fn():
    import tensorflow as tf

    weights = tf.constant(np.random.default_rng(1).standard_normal((12, 8)).astype(np.float32) * 0.3)

    def zoo16(x, y):
        a = x + y
        c = x * y
        g = tf.nn.softmax(a, axis=-1)
        k = tf.reduce_mean(c, axis=-1, keepdims=True)
        n = tf.matmul(x - y, weights, transpose_b=True)
        o = tf.matmul(g, c, transpose_b=True)
        return n, o, k

    return zoo16, [tf.TensorSpec((2, 6, 8), tf.float32), tf.TensorSpec((2, 6, 8), tf.float32)]


@functools.lru_cache(maxsize=None)
def zoo_model(flavor: str) -> bytes:
    from single_op import convert_fn

    fn, specs = _zoo16_fn() if flavor == "int16x8" else _zoo_fn()
    return convert_fn(fn, specs, flavor=flavor, int_io=False)


def zoo_inputs(model: bytes, seed: int = 0) -> dict[int, np.ndarray]:
    """Inputs in the range the zoo was calibrated on: N(0, 2) floats, ids in [0, 8)."""
    import litelens

    rng = np.random.default_rng(seed)
    interp = litelens.Interpreter(model_content=model)
    out = {}
    for d in interp.get_input_details():
        shape = tuple(int(s) for s in d["shape"])
        if np.dtype(d["dtype"]).kind == "i":
            out[d["index"]] = rng.integers(0, 8, shape).astype(d["dtype"])
        else:
            out[d["index"]] = (rng.standard_normal(shape) * 2).astype(d["dtype"])
    return out
