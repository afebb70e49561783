"""MEAN and SUM against the official reference kernels (BUILTIN_REF), every tensor compared exactly.

Floats too (tolerance 0): the reference kernel adds each output's inputs in ascending order of the
reduced index, starting from 0.0f, and litelens adds in that same order. Axis sets the converter
normalises away (negative, duplicate, unsorted) are written into the converted model.
"""
from functools import lru_cache

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from single_op import compare_with_official, convert_fn, patch_model, random_inputs  # noqa: E402

import litelens  # noqa: E402
from litelens.kernels.fixedpoint import multiply_by_quantized_multiplier, quantize_multiplier  # noqa: E402
from litelens.official import run_official  # noqa: E402


REDUCERS = {"MEAN": tf.reduce_mean, "SUM": tf.reduce_sum}


@lru_cache(maxsize=None)
def reduce_model(op: str, shape: tuple, axes: tuple, keep_dims: bool, flavor: str = "int8",
                 dtype=tf.float32) -> bytes:
    def fn(x):
        return REDUCERS[op](x, axis=list(axes), keepdims=keep_dims)

    return convert_fn(fn, [tf.TensorSpec(shape, dtype)], flavor=flavor, int_io=True)


@lru_cache(maxsize=None)
def with_axes(op: str, shape: tuple, axes: tuple, keep_dims: bool, flavor: str = "int8",
              axis_type: str = "INT32", uint8: bool = False) -> bytes:
    """The converted reduction with its axis tensor replaced by ``axes`` verbatim (and its output shape
    fixed up), optionally as an int64 tensor or with uint8 input/output."""
    rank = len(shape)
    resolved = sorted({a % rank for a in axes})
    out_shape = [1 if i in resolved else d for i, d in enumerate(shape)] if keep_dims else \
        [d for i, d in enumerate(shape) if i not in resolved]
    start = tuple(resolved) if resolved else (0,)

    def edit(model, schema):
        graph = model.subgraphs[0]
        (op_,) = graph.operators
        x, axis, y = (graph.tensors[i] for i in (*op_.inputs, op_.outputs[0]))
        data = np.array(axes, np.int64 if axis_type == "INT64" else np.int32)
        axis.type = getattr(schema.TensorType, axis_type)
        axis.shape = [len(axes)]
        model.buffers[axis.buffer].data = data.view(np.uint8)
        y.shape = out_shape
        y.shapeSignature = None
        if uint8:
            for t in (x, y):
                t.type = schema.TensorType.UINT8
                t.quantization.zeroPoint = [int(t.quantization.zeroPoint[0]) + 128]

    return patch_model(reduce_model(op, shape, start, keep_dims, flavor), edit)


SHAPE = (2, 3, 4, 5)
AXES = [(3,), (1,), (0,), (1, 2), (0, 2), (0, 3), (1, 3), (0, 1, 2, 3), (2, 0)]


@pytest.mark.parametrize("keep_dims", [False, True])
@pytest.mark.parametrize("axes", AXES, ids=str)
@pytest.mark.parametrize("flavor", ["int8", "float32"])
@pytest.mark.parametrize("op", ["MEAN", "SUM"])
def test_axes(op, flavor, axes, keep_dims):
    m = reduce_model(op, SHAPE, axes, keep_dims, flavor)
    for seed in range(2):
        compare_with_official(m, seed=seed).assert_ok()


@pytest.mark.parametrize("shape,axes", [((7,), (0,)), ((6, 33), (1,)), ((6, 33), (0,)), ((3, 1, 8), (1,)),
                                        ((2, 1000), (1,)), ((4, 32, 48), (1, 2)), ((1, 128, 512), (2,))])
@pytest.mark.parametrize("flavor", ["int8", "float32"])
@pytest.mark.parametrize("op", ["MEAN", "SUM"])
def test_shapes(op, flavor, shape, axes):
    compare_with_official(reduce_model(op, shape, axes, False, flavor)).assert_ok()


@pytest.mark.parametrize("axes", [(-1,), (-3, -2), (1, 1), (2, -2, 1), (3, 0, -4), (-4, -3, -2, -1)], ids=str)
@pytest.mark.parametrize("flavor", ["int8", "float32"])
@pytest.mark.parametrize("op", ["MEAN", "SUM"])
def test_negative_and_duplicate_axes(op, flavor, axes):
    for keep_dims in (False, True):
        compare_with_official(with_axes(op, SHAPE, axes, keep_dims, flavor)).assert_ok()


@pytest.mark.parametrize("axes", [(3,), (0, 2)], ids=str)
@pytest.mark.parametrize("op", ["MEAN", "SUM"])
def test_uint8(op, axes):
    m = with_axes(op, SHAPE, axes, False, uint8=True)
    compare_with_official(m, seed=3).assert_ok()


def test_int64_axis_is_refused_like_the_official_kernel():
    m = with_axes("MEAN", SHAPE, (1,), False, axis_type="INT64")
    with pytest.raises((RuntimeError, ValueError), match="INT32"):  # the official Prepare refuses it too
        run_official(m, random_inputs(m))
    with pytest.raises(litelens.ModelError, match="int32"):
        litelens.Interpreter(model_content=m).allocate_tensors()


def test_out_of_range_axis_is_an_error():
    m = with_axes("SUM", SHAPE, (0,), False)

    def edit(model, schema):
        graph = model.subgraphs[0]
        model.buffers[graph.tensors[graph.operators[0].inputs[1]].buffer].data = \
            np.array([4], np.int32).view(np.uint8)

    with pytest.raises(litelens.ModelError, match="out of range"):
        litelens.Interpreter(model_content=patch_model(m, edit)).allocate_tensors()


def test_float_sum_order_matters_and_matches():
    """Values whose float32 sum depends on the order of addition: only the official order matches."""
    m = reduce_model("SUM", (3, 4, 6), (0, 2), False, "float32")
    rng = np.random.default_rng(9)
    x = (rng.standard_normal((3, 4, 6)) * np.float32(1e7)).astype(np.float32)
    x[:, :, ::3] = np.float32(1e-3)
    compare_with_official(m, {0: x}).assert_ok()


@pytest.mark.parametrize("op", ["MEAN", "SUM"])
def test_int32(op):
    m = reduce_model(op, (3, 5, 7), (0, 2), False, "float32", tf.int32)
    x = np.random.default_rng(1).integers(-(2**31), 2**31, size=(3, 5, 7)).astype(np.int32)
    compare_with_official(m, {0: x}).assert_ok()  # SUM wraps around in int32, MEAN sums in int64


@pytest.mark.parametrize("axes", [(2,), (1,), (0, 2)], ids=str)
def test_int16_mean(axes):
    m = reduce_model("MEAN", (3, 4, 50), axes, True, "int16x8")
    for seed in range(2):
        compare_with_official(m, seed=seed).assert_ok()


def test_int16_sum_is_refused():
    m = reduce_model("SUM", (3, 4, 5), (1,), False, "int16x8")
    with pytest.raises(litelens.ModelError, match="int16 SUM"):
        litelens.Interpreter(model_content=m).allocate_tensors()


def test_int8_sum_reads_codes_as_uint8_like_the_official_reference():
    """The official reference SUM passes int8 data as uint8 (reduce.cc): a NumPy model of exactly
    that reproduces its output, and it is not the int8 result one would expect."""
    m = reduce_model("SUM", (4, 3, 8), (1,), False, "int8")
    x = random_inputs(m, seed=5)[0]
    interp = litelens.Interpreter(model_content=m)
    interp.allocate_tensors()
    (x_detail,), (y_detail,) = interp.get_input_details(), interp.get_output_details()
    (in_scale, in_zp), (out_scale, out_zp) = x_detail["quantization"], y_detail["quantization"]
    official = run_official(m, {0: x})[y_detail["index"]]

    multiplier, shift = quantize_multiplier(float(np.float32(in_scale)) / float(np.float32(out_scale)))
    sums = x.view(np.uint8).astype(np.int64).sum(axis=1) - in_zp * 3
    model = np.array([multiply_by_quantized_multiplier(int(s), multiplier, shift) for s in sums.ravel()])
    as_uint8 = np.clip(model + out_zp, 0, 255).astype(np.uint8).view(np.int8).reshape(sums.shape)
    np.testing.assert_array_equal(official, as_uint8)

    interp.set_tensor(0, x)
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(y_detail["index"]), official)


@pytest.mark.parametrize("op", ["MEAN", "SUM"])
def test_resized_input(op):
    """Prepare works from the current input shape, not the one stored in the model."""
    from litelens.official import official_interpreter, read_all_tensors

    m = reduce_model(op, (2, 3, 8), (0, 2), True, "float32")
    x = np.random.default_rng(2).standard_normal((5, 3, 7)).astype(np.float32)
    official = official_interpreter(m)
    official.resize_tensor_input(0, x.shape)
    official.allocate_tensors()
    official.set_tensor(0, x)
    official.invoke()
    expected = read_all_tensors(official)
    ours = litelens.Interpreter(model_content=m)
    ours.resize_tensor_input(0, x.shape)
    ours.allocate_tensors()
    ours.set_tensor(0, x)
    ours.invoke()
    out = ours.get_output_details()[0]["index"]
    assert ours.get_tensor(out).shape == (1, 3, 1)
    np.testing.assert_array_equal(ours.get_tensor(out), expected[out])
