"""MAXIMUM and MINIMUM against the official BUILTIN_REF interpreter.

Converted single-op models (int8 with int8 inputs/outputs, float32, int32, int64) and hand-built
ones for what the converter never emits: float16, uint8, int16, inputs quantized differently,
rank-8 broadcasts, empty tensors, NaN payloads. Every tensor is compared bit for bit, floats
included (tolerance 0): each output element is a copy of one input element, so there is no
rounding to tolerate, only which operand is chosen (NaN and signed zeros included).
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

import flatbuffers  # noqa: E402
import tflite  # noqa: E402
from single_op import compare_with_official, convert_fn, random_inputs  # noqa: E402

import litelens  # noqa: E402
from litelens.errors import ModelError  # noqa: E402
from litelens.model import load_model  # noqa: E402
from litelens.official import run_official  # noqa: E402

S = tf.TensorSpec

# ------------------------------------------------------------------ helpers (also used by test_l2norm.py)
TENSOR_TYPES = {
    np.dtype(np.float32): tflite.TensorType.FLOAT32, np.dtype(np.float16): tflite.TensorType.FLOAT16,
    np.dtype(np.int8): tflite.TensorType.INT8, np.dtype(np.uint8): tflite.TensorType.UINT8,
    np.dtype(np.int16): tflite.TensorType.INT16, np.dtype(np.int32): tflite.TensorType.INT32,
    np.dtype(np.int64): tflite.TensorType.INT64, np.dtype(np.bool_): tflite.TensorType.BOOL,
}


def one_op_model(opcode: str, tensors, inputs, outputs, options=None) -> bytes:
    """A model with one operator. ``tensors``: [(shape, dtype, (scale, zero_point) or None)];
    ``inputs``/``outputs``: tensor indices; ``options``: (options table name, {field: value}) or None."""
    b = flatbuffers.Builder(1024)

    def vector(start, items):
        start(b, len(items))
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    offsets = []
    for i, (shape, dtype, quant) in enumerate(tensors):
        q = None
        if quant is not None:
            scale = b.CreateNumpyVector(np.array([quant[0]], np.float32))
            zero_point = b.CreateNumpyVector(np.array([quant[1]], np.int64))
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, scale)
            tflite.QuantizationParametersAddZeroPoint(b, zero_point)
            q = tflite.QuantizationParametersEnd(b)
        shape_vector, name = b.CreateNumpyVector(np.array(shape, np.int32)), b.CreateString(f"t{i}")
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape_vector)
        tflite.TensorAddType(b, TENSOR_TYPES[np.dtype(dtype)])
        tflite.TensorAddName(b, name)
        if q is not None:
            tflite.TensorAddQuantization(b, q)
        offsets.append(tflite.TensorEnd(b))
    table = None
    if options is not None:
        kind, fields = options
        getattr(tflite, kind + "Start")(b)
        for field, value in fields.items():
            getattr(tflite, kind + "Add" + field)(b, value)
        table = (getattr(tflite.BuiltinOptions, kind), getattr(tflite, kind + "End")(b))
    input_vector = b.CreateNumpyVector(np.array(inputs, np.int32))
    output_vector = b.CreateNumpyVector(np.array(outputs, np.int32))
    tflite.OperatorStart(b)
    tflite.OperatorAddInputs(b, input_vector)
    tflite.OperatorAddOutputs(b, output_vector)
    if table is not None:
        tflite.OperatorAddBuiltinOptionsType(b, table[0])
        tflite.OperatorAddBuiltinOptions(b, table[1])
    operators = vector(tflite.SubGraphStartOperatorsVector, [tflite.OperatorEnd(b)])
    tensor_vector = vector(tflite.SubGraphStartTensorsVector, offsets)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensor_vector)
    tflite.SubGraphAddInputs(b, input_vector)
    tflite.SubGraphAddOutputs(b, output_vector)
    tflite.SubGraphAddOperators(b, operators)
    subgraphs = vector(tflite.ModelStartSubgraphsVector, [tflite.SubGraphEnd(b)])
    code = getattr(tflite.BuiltinOperator, opcode)
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddBuiltinCode(b, code)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
    tflite.OperatorCodeAddVersion(b, 1)
    codes = vector(tflite.ModelStartOperatorCodesVector, [tflite.OperatorCodeEnd(b)])
    tflite.BufferStart(b)
    buffers = vector(tflite.ModelStartBuffersVector, [tflite.BufferEnd(b)])
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddSubgraphs(b, subgraphs)
    tflite.ModelAddOperatorCodes(b, codes)
    tflite.ModelAddBuffers(b, buffers)
    b.Finish(tflite.ModelEnd(b), b"TFL3")
    return bytes(b.Output())


def run_litelens(model: bytes, inputs: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    interp = litelens.Interpreter(model_content=model, preserve_all_tensors=True)
    interp.allocate_tensors()
    for index, value in inputs.items():
        interp.set_tensor(index, value)
    interp.invoke()
    return {d["index"]: interp.get_tensor(d["index"]) for d in interp.get_tensor_details()}


def assert_same_bits(model: bytes, inputs: dict[int, np.ndarray]) -> dict[int, np.ndarray]:
    """Every tensor of the official reference run equals ours bit for bit (NaN payloads included);
    returns the official tensors."""
    theirs = run_official(model, inputs)
    ours = run_litelens(model, inputs)
    for index, expected in theirs.items():
        got = ours[index]
        assert got.dtype == expected.dtype and got.shape == expected.shape, (index, got.shape, expected.shape)
        bits = f"u{got.itemsize}"
        bad = got.view(bits) != expected.view(bits)
        assert not bad.any(), (f"tensor {index}: {int(bad.sum())}/{bad.size} differ; first at "
                               f"{np.argwhere(bad)[0]}: ours {got[bad][0]} official {expected[bad][0]}")
    return theirs


def opcodes(model: bytes) -> list[str]:
    return [op.opcode for op in load_model(model).subgraphs[0].operators]


def official_refuses(model: bytes, inputs: dict[int, np.ndarray]) -> bool:
    try:
        run_official(model, inputs)
    except (RuntimeError, ValueError):
        return True
    return False


# ------------------------------------------------------------------ converted single-op models
OPS = {"MAXIMUM": tf.math.maximum, "MINIMUM": tf.math.minimum}
SHAPES = {
    "same": ((2, 3, 4), (2, 3, 4)),
    "scalar": ((4, 5), ()),
    "scalar_first": ((), (3, 5)),
    "row": ((3, 8), (8,)),
    "column": ((6, 5), (6, 1)),
    "4d": ((2, 1, 3, 1), (1, 4, 1, 5)),
    "5d": ((2, 1, 3, 1, 2), (3, 1, 2)),
}


@functools.lru_cache(maxsize=None)
def converted(op: str, shapes: tuple, flavor: str, dtype=tf.float32) -> bytes:
    fn = OPS[op]
    return convert_fn(lambda x, y: fn(x, y), [S(s, dtype) for s in shapes], flavor=flavor, seed=len(op))


@pytest.mark.parametrize("flavor", ["int8", "float32"])
@pytest.mark.parametrize("shape_key", list(SHAPES))
def test_maximum_broadcasts(shape_key, flavor):
    model = converted("MAXIMUM", SHAPES[shape_key], flavor)
    assert opcodes(model) == ["MAXIMUM"]
    for seed in range(2):
        compare_with_official(model, random_inputs(model, seed)).assert_ok()  # tolerance 0


@pytest.mark.parametrize("flavor", ["int8", "float32"])
@pytest.mark.parametrize("shape_key", ["same", "scalar_first", "column", "4d"])
def test_minimum_broadcasts(shape_key, flavor):
    model = converted("MINIMUM", SHAPES[shape_key], flavor)
    assert opcodes(model) == ["MINIMUM"]
    compare_with_official(model, random_inputs(model, 1)).assert_ok()


@pytest.mark.parametrize("dtype", [tf.int32, tf.int64])
@pytest.mark.parametrize("op", list(OPS))
def test_integer_types_converted(op, dtype):
    model = converted(op, ((4, 6), (6,)), "float32", dtype)
    assert opcodes(model) == [op]
    compare_with_official(model, random_inputs(model, 2)).assert_ok()


@pytest.mark.parametrize("flavor", ["int8", "float32"])
def test_constant_operand_as_in_mean_pooling(flavor):
    """bert-tiny's ``max(count, 1e-9)``: a tensor against a scalar constant (int8: same quantization)."""
    model = convert_fn(lambda x: tf.math.maximum(x, 0.25), [S((3, 7), tf.float32)], flavor=flavor)
    assert opcodes(model) == ["MAXIMUM"]
    inputs = random_inputs(model, 4)
    compare_with_official(model, inputs).assert_ok()


# ------------------------------------------------------------------ hand-built models, every dtype
def values(rng, dtype, shape) -> np.ndarray:
    """Values with many ties, the type's extremes, and (floats) NaN, infinities, signed zeros, subnormals."""
    dtype = np.dtype(dtype)
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        pool = np.array([info.min, info.min + 1, -1 if info.min < 0 else 1, 0, 1, 2, info.max - 1, info.max])
        out = rng.integers(info.min, info.max, size=shape, endpoint=True, dtype=dtype)
    else:
        info = np.finfo(dtype)
        pool = np.array([np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, info.smallest_subnormal,
                         -info.smallest_subnormal, info.max, -info.max, 1.0, -1.0, 1.5])
        out = np.asarray(rng.standard_normal(shape) * 2).astype(dtype)
    mask = rng.random(shape) < 0.5
    out[mask] = pool.astype(dtype)[rng.integers(0, pool.size, size=int(mask.sum()))]
    return out


ALL_DTYPES = [np.float32, np.float16, np.int8, np.uint8, np.int16, np.int32, np.int64]
HAND_SHAPES = [((5, 7), (5, 7)), ((4, 1, 3), (2, 1)), ((), (6,)), ((3, 1, 2, 1, 2, 1, 2, 1), (3, 1, 2, 1, 2, 1, 2))]


@pytest.mark.parametrize("shapes", HAND_SHAPES, ids=["same", "3d", "scalar", "rank8"])
@pytest.mark.parametrize("dtype", ALL_DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", list(OPS))
def test_every_dtype(op, dtype, shapes):
    out_shape = np.broadcast_shapes(*shapes)
    quant = (0.05, 3) if dtype in (np.int8, np.uint8, np.int16) else None
    model = one_op_model(op, [(shapes[0], dtype, quant), (shapes[1], dtype, quant), (out_shape, dtype, quant)],
                         [0, 1], [2])
    rng = np.random.default_rng(len(shapes[0]))
    assert_same_bits(model, {0: values(rng, dtype, shapes[0]), 1: values(rng, dtype, shapes[1])})


SPECIALS = [np.nan, -np.nan, np.inf, -np.inf, 0.0, -0.0, 1e-45, -1e-45, 3.4e38, -3.4e38, 1.0, -1.0, 1.5]


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", list(OPS))
def test_special_float_pairs(op, dtype):
    """All pairs of special values, in both orders: with a NaN the second operand wins, and
    max(0, -0) / min(0, -0) return the second zero."""
    with np.errstate(over="ignore"):  # float16: +-3.4e38 become infinities
        specials = np.array(SPECIALS, dtype=np.float32).astype(dtype)
    n = specials.size
    model = one_op_model(op, [((n, 1), dtype, None), ((1, n), dtype, None), ((n, n), dtype, None)], [0, 1], [2])
    theirs = assert_same_bits(model, {0: specials.reshape(n, 1), 1: specials.reshape(1, n)})
    out = theirs[2]
    assert out[0, 10] == 1.0 and np.isnan(out[10, 0])  # op(NaN, 1) is 1, op(1, NaN) is NaN
    assert np.signbit(out[4, 5]) and not np.signbit(out[5, 4])  # (0, -0) -> -0, (-0, 0) -> 0


@pytest.mark.parametrize("dtype", [np.float32, np.float16], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", list(OPS))
def test_random_float_bits(op, dtype):
    """Random bit patterns: every class of float, NaN payloads (quiet and signalling) kept as they are."""
    rng = np.random.default_rng(7)
    bits = np.dtype(dtype).itemsize * 8
    raw = [rng.integers(0, 2**bits, size=(64, 64), dtype=np.uint64).astype(f"u{bits // 8}").view(dtype)
           for _ in range(2)]
    model = one_op_model(op, [((64, 64), dtype, None)] * 3, [0, 1], [2])
    assert_same_bits(model, {0: raw[0], 1: raw[1]})


@pytest.mark.parametrize("dtype", [np.int8, np.uint8], ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("op", list(OPS))
def test_quantized_codes_compared_raw(op, dtype):
    """All 256 x 256 code pairs with three different quantizations: the official kernel compares
    the stored codes and ignores every scale and zero point; so does litelens."""
    codes = np.arange(256).astype(np.uint8).view(np.int8).astype(dtype) if dtype == np.int8 else \
        np.arange(256, dtype=np.uint8)
    quants = [(0.1, 0), (1.0, 50), (0.5, 7)]
    model = one_op_model(op, [((256, 1), dtype, quants[0]), ((1, 256), dtype, quants[1]),
                              ((256, 256), dtype, quants[2])], [0, 1], [2])
    theirs = assert_same_bits(model, {0: codes.reshape(256, 1), 1: codes.reshape(1, 256)})
    pick = np.maximum if op == "MAXIMUM" else np.minimum
    assert np.array_equal(theirs[2], pick(codes.reshape(256, 1), codes.reshape(1, 256)))


@pytest.mark.parametrize("op", list(OPS))
def test_same_shapes_of_rank_9(op):
    shape = (2, 1, 2, 1, 1, 2, 1, 1, 3)
    model = one_op_model(op, [(shape, np.float32, None)] * 3, [0, 1], [2])
    rng = np.random.default_rng(3)
    assert_same_bits(model, {0: values(rng, np.float32, shape), 1: values(rng, np.float32, shape)})


@pytest.mark.parametrize("op", list(OPS))
def test_empty_tensors(op):
    model = one_op_model(op, [((2, 0), np.int32, None), ((1, 1), np.int32, None), ((2, 0), np.int32, None)],
                         [0, 1], [2])
    ours = run_litelens(model, {0: np.zeros((2, 0), np.int32), 1: np.ones((1, 1), np.int32)})
    assert ours[2].shape == (2, 0)
    assert_same_bits(model, {0: np.zeros((2, 0), np.int32), 1: np.ones((1, 1), np.int32)})


# ------------------------------------------------------------------ models the official interpreter refuses
@pytest.mark.parametrize("op", list(OPS))
def test_refused_models(op):
    f32 = np.float32
    cases = {
        "mixed dtypes": ([((2, 3), f32, None), ((2, 3), np.int32, None), ((2, 3), f32, None)],
                         {0: np.ones((2, 3), f32), 1: np.ones((2, 3), np.int32)}),
        "not broadcastable": ([((2, 3), f32, None), ((3, 2), f32, None), ((2, 3), f32, None)],
                              {0: np.ones((2, 3), f32), 1: np.ones((3, 2), f32)}),
        "bool": ([((2,), np.bool_, None)] * 3, {0: np.ones(2, np.bool_), 1: np.ones(2, np.bool_)}),
    }
    for name, (tensors, inputs) in cases.items():
        model = one_op_model(op, tensors, [0, 1], [2])
        assert official_refuses(model, inputs), name
        with pytest.raises(ModelError):
            litelens.Interpreter(model_content=model).allocate_tensors()


@pytest.mark.parametrize("op", list(OPS))
def test_broadcast_of_rank_9_is_refused(op):
    """The official kernel aborts the process (TFLITE_CHECK kMaxRank = 8), so it is not run here."""
    shapes = [(2,) + (1,) * 7 + (3,), (1, 2) + (1,) * 6 + (3,), (2, 2) + (1,) * 6 + (3,)]
    model = one_op_model(op, [(s, np.float32, None) for s in shapes], [0, 1], [2])
    with pytest.raises(ModelError, match="rank 9"):
        litelens.Interpreter(model_content=model).allocate_tensors()
