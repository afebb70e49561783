"""ADD, SUB, MUL, SQUARED_DIFFERENCE, DIV, RSQRT against the official BUILTIN_REF interpreter.

Models are single ops converted by TensorFlow (int8 with int8 inputs/outputs, int16x8, float32 and
int32). Every tensor is compared with the official run. Integer tensors must match bit for bit.
Float tensors too (tolerance 0): each output element is one IEEE float32 operation (or sqrt then a
division, both correctly rounded) followed by an exact clamp, in the official kernels and here.

For the int8 arithmetic itself, converted models get their quantization parameters overwritten in
place (scales across binades, zero points at the type limits, output scales that clamp) and are run
on all 256 x 256 input pairs.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

import tflite  # noqa: E402
from single_op import compare_with_official, convert_fn, random_inputs  # noqa: E402

import litelens  # noqa: E402
from litelens.errors import InputError, ModelError  # noqa: E402
from litelens.official import official_interpreter, run_official  # noqa: E402
from litelens.ops import binary_common  # noqa: E402

S = tf.TensorSpec
F32, I32 = tf.float32, tf.int32

BINARY = {
    "ADD": lambda x, y: x + y,
    "SUB": lambda x, y: x - y,
    "MUL": lambda x, y: x * y,
    "DIV": lambda x, y: x / y,
    "SQUARED_DIFFERENCE": lambda x, y: tf.math.squared_difference(x, y),
}
FUSED = {  # op with a fused activation -> (function, expected fused_activation_function code)
    "ADD+RELU": (lambda x, y: tf.nn.relu(x + y), 1),
    "SUB+RELU_N1_TO_1": (lambda x, y: tf.clip_by_value(x - y, -1.0, 1.0), 2),
    "MUL+RELU6": (lambda x, y: tf.nn.relu6(x * y), 3),
    "DIV+RELU": (lambda x, y: tf.nn.relu(x / y), 1),
}
# Shape pairs: same shapes, scalar, row, column, 4-D with size-1 dimensions on both sides, rank 5.
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
def converted(fn_key: str, shapes: tuple, flavor: str, dtype=F32) -> bytes:
    """One converted single-op model per (function, shapes, flavor), kept for the session."""
    fn = BINARY.get(fn_key) or FUSED.get(fn_key, (None,))[0] or EXTRA[fn_key]
    specs = [S(s, dtype) for s in shapes]
    return convert_fn(fn, specs, flavor=flavor, seed=len(fn_key))


EXTRA = {
    "RSQRT": lambda x: tf.math.rsqrt(x),
    "NONORM": lambda x: x * tf.constant(np.linspace(-2, 3, 16, dtype=np.float32))
    + tf.constant(np.linspace(-1, 1, 16, dtype=np.float32)),
    "TRUNCDIV": lambda x, y: tf.truncatediv(x, y),
}


def model_ops(model: bytes) -> list[tuple[str, int | None]]:
    """(builtin name, fused activation) of each operator, to check the model is what the test wants."""
    m = tflite.Model.GetRootAsModel(model, 0)
    names = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
    out = []
    for i in range(m.Subgraphs(0).OperatorsLength()):
        op = m.Subgraphs(0).Operators(i)
        name = names[m.OperatorCodes(op.OpcodeIndex()).BuiltinCode()]
        act = None
        if name in ("ADD", "SUB", "MUL", "DIV") and op.BuiltinOptions() is not None:
            opts = getattr(tflite, name.capitalize() + "Options")()
            opts.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            act = opts.FusedActivationFunction()
        out.append((name, act))
    return out


def patch_quantization(model: bytes, changes: dict[int, tuple[float, int]]) -> bytes:
    """Overwrite scale and zero point of tensors in place (same FlatBuffer layout, new numbers)."""
    buf = bytearray(model)
    graph = tflite.Model.GetRootAsModel(buf, 0).Subgraphs(0)
    for index, (scale, zero_point) in changes.items():
        q = graph.Tensors(index).Quantization()
        q.ScaleAsNumpy()[:] = scale
        q.ZeroPointAsNumpy()[:] = zero_point
    return bytes(buf)


def set_pot_scale_int16(model: bytes) -> bytes:
    """Flip every ADD/SUB's stored pot_scale_int16 option to true."""
    buf = bytearray(model)
    m = tflite.Model.GetRootAsModel(buf, 0)
    graph = m.Subgraphs(0)
    for i in range(graph.OperatorsLength()):
        op = graph.Operators(i)
        if m.OperatorCodes(op.OpcodeIndex()).BuiltinCode() in (tflite.BuiltinOperator.ADD, tflite.BuiltinOperator.SUB):
            opts = tflite.AddOptions()
            opts.Init(op.BuiltinOptions().Bytes, op.BuiltinOptions().Pos)
            field = opts._tab.Offset(6)
            assert field, "the converter did not store pot_scale_int16"
            buf[opts._tab.Pos + field] = 1
    return bytes(buf)


_TENSOR_TYPES = {np.dtype(np.float32): tflite.TensorType.FLOAT32, np.dtype(np.int8): tflite.TensorType.INT8,
                 np.dtype(np.int16): tflite.TensorType.INT16}


def one_op_model(opcode: str, shapes, dtype, activation=None, quant=None) -> bytes:
    """A hand-built model with one binary op (tensors 0, 1 -> 2), for what the converter never emits:
    broadcasts of rank 7 and 8, fused TANH / SIGN_BIT, no options table (activation None), empty
    tensors. ``quant`` is [(scale, zero_point)] * 3 for int8."""
    import flatbuffers

    b = flatbuffers.Builder(1024)

    def vector(start, items):
        start(b, len(items))
        for item in reversed(items):
            b.PrependUOffsetTRelative(item)
        return b.EndVector()

    tensors = []
    for i, shape in enumerate(shapes):
        q = None
        if quant is not None:
            scale = b.CreateNumpyVector(np.array([quant[i][0]], np.float32))
            zero_point = b.CreateNumpyVector(np.array([quant[i][1]], np.int64))
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, scale)
            tflite.QuantizationParametersAddZeroPoint(b, zero_point)
            q = tflite.QuantizationParametersEnd(b)
        shape_vector, name = b.CreateNumpyVector(np.array(shape, np.int32)), b.CreateString(f"t{i}")
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape_vector)
        tflite.TensorAddType(b, _TENSOR_TYPES[np.dtype(dtype)])
        tflite.TensorAddName(b, name)
        if q is not None:
            tflite.TensorAddQuantization(b, q)
        tensors.append(tflite.TensorEnd(b))
    options = None
    if activation is not None:
        kind = opcode.capitalize() + "Options"
        getattr(tflite, kind + "Start")(b)
        getattr(tflite, kind + "AddFusedActivationFunction")(b, activation)
        options = (getattr(tflite.BuiltinOptions, kind), getattr(tflite, kind + "End")(b))
    inputs, outputs = b.CreateNumpyVector(np.array([0, 1], np.int32)), b.CreateNumpyVector(np.array([2], np.int32))
    tflite.OperatorStart(b)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, options[0])
        tflite.OperatorAddBuiltinOptions(b, options[1])
    operators = vector(tflite.SubGraphStartOperatorsVector, [tflite.OperatorEnd(b)])
    tensor_vector = vector(tflite.SubGraphStartTensorsVector, tensors)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensor_vector)
    tflite.SubGraphAddInputs(b, inputs)
    tflite.SubGraphAddOutputs(b, outputs)
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


def assert_same_bits(model: bytes, inputs: dict[int, np.ndarray]) -> None:
    """Every tensor of the official reference run equals ours, bit for bit (floats included)."""
    theirs = run_official(model, inputs)
    ours = run_litelens(model, inputs)
    for index, expected in theirs.items():
        got = ours[index]
        assert got.dtype == expected.dtype and got.shape == expected.shape, index
        bad = got.view(f"u{got.itemsize}") != expected.view(f"u{expected.itemsize}")
        assert not bad.any(), (f"tensor {index}: {int(bad.sum())}/{bad.size} differ; first at "
                               f"{np.argwhere(bad)[0]}: ours {got[bad][0]} official {expected[bad][0]}")


def divisor_inputs(model: bytes, seed: int = 0) -> dict[int, np.ndarray]:
    """Random inputs whose second input never means 0 (its zero point for int8, 0 otherwise)."""
    inputs = random_inputs(model, seed)
    interp = litelens.Interpreter(model_content=model)
    second = interp.get_input_details()[1]
    zero = second["quantization"][1] if second["dtype"] == np.int8 else 0
    x = np.array(inputs[second["index"]], dtype=second["dtype"])
    x[x == zero] = zero + 1 if zero < 100 else zero - 1
    inputs[second["index"]] = x
    return inputs


# ------------------------------------------------------------------ converted single-op models
@pytest.mark.parametrize("flavor", ["int8", "float32"])
@pytest.mark.parametrize("shape_key", list(SHAPES))
@pytest.mark.parametrize("op", list(BINARY))
def test_binary_op_broadcasts(op, shape_key, flavor):
    if op == "SQUARED_DIFFERENCE" and shape_key == "5d":
        pytest.skip("the converter lowers a 5-D squared difference to SUB + SQUARE")
    model = converted(op, SHAPES[shape_key], flavor)
    assert [name for name, _ in model_ops(model)] == [op]
    inputs = divisor_inputs(model) if op == "DIV" else random_inputs(model)
    compare_with_official(model, inputs).assert_ok()  # floats exact: tolerance 0


@pytest.mark.parametrize("flavor", ["int8", "float32"])
@pytest.mark.parametrize("key", list(FUSED))
def test_fused_activations(key, flavor):
    model = converted(key, ((4, 6), (4, 6)), flavor)
    assert model_ops(model)[0][1] == FUSED[key][1], "the converter did not fuse the activation"
    inputs = divisor_inputs(model, 3) if key.startswith("DIV") else random_inputs(model, 3)
    compare_with_official(model, inputs).assert_ok()


@pytest.mark.parametrize("flavor", ["int8", "float32"])
def test_nonorm_constant_operands(flavor):
    """MobileBERT's NoNorm: MUL by a constant weight row, then ADD a constant bias row."""
    model = converted("NONORM", ((8, 16),), flavor)
    assert [name for name, _ in model_ops(model)] == ["MUL", "ADD"]
    for seed in range(3):
        compare_with_official(model, random_inputs(model, seed)).assert_ok()


# ------------------------------------------------------------------ int8 arithmetic on every input pair
# (s1, s2, s_out, z1, z2, z_out): scale ratios from 2**-7 to 2**7, zero points at the int8 limits,
# output scales small enough that most results clamp.
QUANTIZATIONS = [
    (0.02, 0.02, 0.03, 0, 0, 0),
    (0.0123, 0.0123 * 2**-7, 0.05, -128, 127, 5),
    (0.5, 0.5 * 2**6, 0.9, 127, -128, -128),
    (0.003, 0.7, 0.001, 13, -77, 100),
    (1.3e-4, 2.2e-4, 5e-5, -5, 3, -1),
    (3.0, 0.25, 40.0, 50, -20, 127),
    (0.0371, 0.0371 * 2**7, 0.0371 * 3, -100, 100, -7),
]
CODES = np.arange(-128, 128, dtype=np.int8)


@pytest.mark.parametrize("direct", [False, True], ids=["pair_table", "direct_kernel"])
@pytest.mark.parametrize("op", list(BINARY))
def test_int8_every_input_pair(op, direct, monkeypatch):
    """All 65536 (x1, x2) pairs through a [256, 1] x [1, 256] broadcast, for several quantizations,
    both through the 256 x 256 table and through the arithmetic kernels element by element."""
    monkeypatch.setattr(binary_common, "PAIR_TABLES", not direct)
    base = converted(op, ((256, 1), (1, 256)), "int8")
    for s1, s2, so, z1, z2, zo in QUANTIZATIONS:
        model = patch_quantization(base, {0: (s1, z1), 1: (s2, z2), 2: (so, zo)})
        x2 = CODES.copy()
        if op == "DIV":  # a divisor equal to its zero point is an error, tested separately
            x2[x2 == z2] = z2 + 1 if z2 < 127 else z2 - 1
        assert_same_bits(model, {0: CODES.reshape(256, 1), 1: x2.reshape(1, 256)})


def test_int8_div_small_dividends_follow_the_official_x86_build():
    """The official int8 DIV shifts right by more than 31 for small dividends (undefined in C++);
    the x86-64 wheel then gives e.g. 0 / -128 = zero_point + 1 here, and 1 / -128 = -128 (the real
    quotient is -0.0078, or -0.4 output steps). litelens follows."""
    model = patch_quantization(converted("DIV", ((256, 1), (1, 256)), "int8"),
                               {0: (0.01, 0), 1: (0.01, 0), 2: (0.02, -58)})
    x2 = CODES.copy()
    x2[128] = 1
    inputs = {0: CODES.reshape(256, 1), 1: x2.reshape(1, 256)}
    theirs = run_official(model, inputs)[2]
    assert theirs[128, 0] == -57 and theirs[129, 0] == -128, "the official build no longer shows the quirk"
    assert_same_bits(model, inputs)


@pytest.mark.parametrize("n", [1005, 13])
def test_sub_output_multiplier_above_one(n):
    """SUB with an output scale over 2**20 times finer than its inputs: the official same-shape loop is
    vectorised 4-wide and shifts by a negative amount differently from its scalar tail; both followed."""
    base = converted("SUB", ((n,), (n,)), "int8")
    rng = np.random.default_rng(n)
    for ratio in (30.0, 200.0, 5000.0):
        s1, s2 = 0.07, 0.128
        model = patch_quantization(base, {0: (s1, 94), 1: (s2, 21), 2: (2 * s2 / 2**20 / ratio, -60)})
        inputs = {0: rng.integers(-128, 128, n).astype(np.int8), 1: rng.integers(-128, 128, n).astype(np.int8)}
        assert_same_bits(model, inputs)


def test_div_by_zero_point_is_an_input_error():
    model = converted("DIV", ((3, 4), (3, 4)), "int8")
    inputs = divisor_inputs(model)
    zero = litelens.Interpreter(model_content=model).get_input_details()[1]["quantization"][1]
    bad = {k: v.copy() for k, v in inputs.items()}
    bad[1].flat[5] = zero
    with pytest.raises(RuntimeError):
        run_official(model, bad)
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    for k, v in bad.items():
        interp.set_tensor(k, v)
    with pytest.raises(InputError, match="division by zero"):
        interp.invoke()
    for k, v in inputs.items():  # still usable
        interp.set_tensor(k, v)
    interp.invoke()
    out = interp.get_output_details()[0]["index"]
    np.testing.assert_array_equal(interp.get_tensor(out), run_official(model, inputs)[out])


# ------------------------------------------------------------------ RSQRT
def rsqrt_model(flavor: str, n: int) -> bytes:
    fn = EXTRA["RSQRT"]
    specs = [S((n,), F32)]
    if flavor == "float32":
        return convert_fn(fn, specs, flavor=flavor)
    return _positive_rsqrt(flavor, n)


@functools.lru_cache(maxsize=None)
def _positive_rsqrt(flavor: str, n: int) -> bytes:
    import tensorflow as tf_

    from litelens.factory.flavors import convert

    concrete = tf_.function(EXTRA["RSQRT"], input_signature=[S((n,), F32)]).get_concrete_function()
    rng = np.random.default_rng(0)
    rep = lambda: ([rng.uniform(0.01, 4.0, (n,)).astype(np.float32)] for _ in range(8))  # noqa: E731
    return convert(concrete, flavor, rep, int_io=True)


@pytest.mark.parametrize("quant", [(0.0157, -128, 0.0378, -128), (0.22, 20, 5.85, 70), (1.3e-4, -95, 2.35, 76),
                                   (0.034, -41, 0.0047, -57), (7.43, -16, 0.23, 3), (1e4, -128, 1e3, 0)])
def test_rsqrt_int8_every_code(quant):
    """Every code at or above the input zero point (the last quantization's multiplier is below 2**-12)."""
    s_in, z_in, s_out, z_out = quant
    model = patch_quantization(_positive_rsqrt("int8", 256), {0: (s_in, z_in), 1: (s_out, z_out)})
    assert [name for name, _ in model_ops(model)] == ["RSQRT"]
    assert_same_bits(model, {0: np.clip(np.arange(-128, 128), z_in, 127).astype(np.int8)})


def test_rsqrt_int8_below_zero_point_is_an_input_error():
    zero = 20
    model = patch_quantization(_positive_rsqrt("int8", 256), {0: (0.02, zero), 1: (0.03, -100)})
    good = np.clip(np.arange(-128, 128), zero, 127).astype(np.int8)
    bad = good.copy()
    bad[200] = zero - 1
    with pytest.raises(RuntimeError, match="Rsqrt"):
        run_official(model, {0: bad})
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    interp.set_tensor(0, bad)
    with pytest.raises(InputError, match=r"RSQRT.*\[200\]"):
        interp.invoke()
    interp.set_tensor(0, good)  # the interpreter stays usable
    interp.invoke()
    out = interp.get_output_details()[0]["index"]
    np.testing.assert_array_equal(interp.get_tensor(out), run_official(model, {0: good})[out])


@pytest.mark.parametrize("quant", [None, (2.2e-2, 6.2e-5), (1.6e-6, 1.08e-6), (0.388, 8.7e-7), (1e-4, 7.2e-4)])
def test_rsqrt_int16_every_nonnegative_code(quant):
    model = _positive_rsqrt("int16x8", 32768)
    if quant is not None:
        model = patch_quantization(model, {0: (quant[0], 0), 1: (quant[1], 0)})
    assert_same_bits(model, {0: np.arange(32768, dtype=np.int16)})


def test_rsqrt_float32_special_values():
    model = rsqrt_model("float32", 10)
    x = np.array([3e38, -1, 1, 0, -0.0, np.inf, np.nan, 1e-30, 5, 1e-45], np.float32)
    assert_same_bits(model, {0: x})


# ------------------------------------------------------------------ float32 special values, int32, int64
SPECIAL_X = np.array([3e38, -3e38, 1, 0, -1, np.inf, np.nan, -0.0, 1e-30, 5, -5, 2, 1e-45, -np.inf], np.float32)
SPECIAL_Y = np.array([3e38, 3e38, 0, 0, 0, np.inf, 1, 0.0, 1e-30, -0.0, 7, -2, 3, 2], np.float32)


@pytest.mark.parametrize("key", list(BINARY) + ["ADD+RELU", "SUB+RELU_N1_TO_1", "MUL+RELU6"])
def test_float32_overflow_nan_and_division_by_zero(key):
    """Infinities clamp to +-FLT_MAX through the (even absent) activation, except SQUARED_DIFFERENCE."""
    model = converted(key, ((14,), (14,)), "float32")
    assert_same_bits(model, {0: SPECIAL_X, 1: SPECIAL_Y})


INT32_X = np.array([2**31 - 1, -2**31, 2**20, -7, 7, 0, 123456, -5, 46341], np.int32)
INT32_Y = np.array([1, -1, 2**12, 2, -2, 3, -1000, 5, 46341], np.int32)


@pytest.mark.parametrize("key", ["ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "TRUNCDIV"])
def test_int32_wraps_and_truncates(key):
    model = converted(key, ((9,), (9,)), "float32", I32)
    assert model_ops(model)[0][0] in ("ADD", "SUB", "MUL", "SQUARED_DIFFERENCE", "DIV")
    y = INT32_Y.copy()
    if key == "TRUNCDIV":
        y[1] = 3  # INT32_MIN / -1 traps in the official kernel
    assert_same_bits(model, {0: INT32_X, 1: y})


def test_int32_div_errors():
    model = converted("TRUNCDIV", ((9,), (9,)), "float32", I32)
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    interp.set_tensor(0, INT32_X)
    interp.set_tensor(1, INT32_Y)  # holds INT32_MIN / -1
    with pytest.raises(InputError, match="INT32_MIN"):
        interp.invoke()
    zero = INT32_Y.copy()
    zero[3] = 0
    interp.set_tensor(1, zero)
    with pytest.raises(InputError, match="division by zero"):
        interp.invoke()


def test_int64_add_broadcast():
    model = converted("ADD", ((3, 4), (4,)), "float32", tf.int64)
    x = np.array([[2**62, -2**63, 5, 6]] * 3, np.int64) + np.arange(3)[:, None]
    assert_same_bits(model, {0: x, 1: np.array([2**62, -1, 7, -9], np.int64)})


# ------------------------------------------------------------------ int16 (int16x8 flavor)
@pytest.mark.parametrize("op,shapes", [("ADD", ((4, 16), (4, 16))), ("ADD", ((4, 16), (16,))),
                                       ("SUB", ((4, 16), (4, 1))), ("MUL", ((4, 16), (4, 16))),
                                       ("MUL", ((2, 4, 16), (16,))), ("ADD+RELU", ((4, 6), (4, 6)))])
def test_int16(op, shapes):
    model = converted(op, shapes, "int16x8")
    for seed in range(2):
        compare_with_official(model, random_inputs(model, seed)).assert_ok()


@pytest.mark.parametrize("op,shapes", [("ADD", ((64,), (64,))), ("SUB", ((64,), (64,))), ("SUB", ((8, 8), (1, 8)))])
def test_int16_power_of_two_path(op, shapes):
    base = set_pot_scale_int16(converted(op, shapes, "int16x8"))
    rng = np.random.default_rng(1)
    for scales in [(2**-15, 2**-13, 2**-13), (2**-12, 2**-14, 2**-12), (2**-12, 2**-12, 2**-12)]:
        model = patch_quantization(base, {0: (scales[0], 0), 1: (scales[1], 0), 2: (scales[2], 0)})
        x1 = rng.integers(-32768, 32768, shapes[0]).astype(np.int16)
        x2 = rng.integers(-32768, 32768, shapes[1]).astype(np.int16)
        x1.flat[:4] = [-32768, 32767, -32767, 0]
        x2.flat[:4] = [-32768, 32767, 1, -1]
        assert_same_bits(model, {0: x1, 1: x2})
    # Both inputs finer than the output: the official Prepare refuses, so does litelens.
    model = patch_quantization(base, {0: (2**-12, 0), 1: (2**-11, 0), 2: (2**-13, 0)})
    with pytest.raises(RuntimeError):
        official_interpreter(model)
    with pytest.raises(ModelError, match="power-of-two"):
        litelens.Interpreter(model_content=model).allocate_tensors()


@pytest.mark.parametrize("n", [64, 67])
def test_int16_sub_output_multiplier_above_one(n):
    base = converted("SUB", ((n,), (n,)), "int16x8")
    rng = np.random.default_rng(n)
    for ratio in (3.0, 40.0, 900.0):
        model = patch_quantization(base, {0: (1.2e-4, 0), 1: (3e-4, 0), 2: (2 * 3e-4 / 2**15 / ratio, 0)})
        inputs = {i: rng.integers(-32768, 32768, n).astype(np.int16) for i in (0, 1)}
        assert_same_bits(model, inputs)


# ------------------------------------------------------------------ hand-built models
INT8_QUANT = [(0.1, 3), (0.05, -2), (0.02, 1)]


@pytest.mark.parametrize("rank", [7, 8])
@pytest.mark.parametrize("op", ["ADD", "MUL", "DIV"])
def test_broadcast_rank_7_and_8(op, rank):
    """The official broadcast loop takes up to 8 dimensions (the converter stops at 6)."""
    shape1 = (2, 1) * (rank // 2) + (3,) * (rank % 2)
    shape2 = (1, 3) * (rank // 2) + (1,) * (rank % 2)
    out = tuple(max(a, b) for a, b in zip(shape1, shape2))
    for dtype, quant in ((np.float32, None), (np.int8, INT8_QUANT)):
        model = one_op_model(op, (shape1, shape2, out), dtype, 0, quant)
        inputs = divisor_inputs(model) if op == "DIV" else random_inputs(model)
        assert_same_bits(model, inputs)


@pytest.mark.parametrize("activation", [4, 5], ids=["TANH", "SIGN_BIT"])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_other_fused_activations_clamp_nothing(op, activation):
    for dtype, quant in ((np.float32, None), (np.int8, INT8_QUANT)):
        model = one_op_model(op, ((3, 4), (4,), (3, 4)), dtype, activation, quant)
        assert_same_bits(model, random_inputs(model))


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "DIV"])
def test_no_options_table(op):
    model = one_op_model(op, ((3, 4), (1, 4), (3, 4)), np.int8, None, INT8_QUANT)
    assert_same_bits(model, divisor_inputs(model) if op == "DIV" else random_inputs(model))


@pytest.mark.parametrize("quant", [[(3e-4, 0), (2e-4, 0), (5e-4, 0)], [(1e-3, 100), (7e-4, -50), (2e-3, 7)],
                                   [(1e-3, 0), (1e-3, 0), (1e-2, 0)]])
def test_int16_div(quant):
    """The converter has no int16 DIV; the official kernel has one (same arithmetic as int8)."""
    model = one_op_model("DIV", ((64, 64), (64, 64), (64, 64)), np.int16, 0, quant)
    rng = np.random.default_rng(0)
    x1, x2 = (rng.integers(-32768, 32768, (64, 64)).astype(np.int16) for _ in range(2))
    x1[0, :40] = np.arange(-20, 20) + quant[0][1]  # small dividends: out-of-range shifts
    x2[x2 == quant[1][1]] += 1
    assert_same_bits(model, {0: x1, 1: x2})


@pytest.mark.parametrize("op", ["ADD", "MUL"])
def test_unquantized_int16_wraps(op):
    model = one_op_model(op, ((4, 8), (8,), (4, 8)), np.int16, 1)
    rng = np.random.default_rng(0)
    inputs = {i: rng.integers(-32768, 32768, shape).astype(np.int16) for i, shape in enumerate([(4, 8), (8,)])}
    assert_same_bits(model, inputs)


@pytest.mark.parametrize("shapes", [((0, 3), (3,), (0, 3)), ((2, 0), (1,), (2, 0))])
def test_empty_tensors(shapes):
    for dtype, quant in ((np.float32, None), (np.int8, INT8_QUANT)):
        model = one_op_model("ADD", shapes, dtype, 0, quant)
        assert_same_bits(model, {0: np.zeros(shapes[0], dtype), 1: np.ones(shapes[1], dtype)})


# ------------------------------------------------------------------ Prepare-time errors
def test_add_output_multiplier_at_least_one_is_a_model_error():
    """ADD aborts the official process (TFLITE_CHECK) when 2 max(s) / (2**20 s_out) >= 1."""
    model = patch_quantization(converted("ADD", ((256, 1), (1, 256)), "int8"), {2: (1e-9, 0)})
    with pytest.raises(ModelError, match="output multiplier"):
        litelens.Interpreter(model_content=model).allocate_tensors()


def test_shapes_that_do_not_broadcast_and_too_high_ranks():
    from litelens.ops.add_sub import Add
    from litelens.ops.base import Node, TensorArg

    def node(shape1, shape2, out_shape):
        args = [TensorArg(i, f"t{i}", np.dtype(np.float32), s, None) for i, s in enumerate((shape1, shape2, out_shape))]
        op = Add()
        return op, Node(0, "ADD", op.parse_options(None), args[:2], args[2:])

    op, n = node((3, 4), (5,), (3, 4))
    with pytest.raises(ModelError, match="not broadcastable"):
        op.prepare(n)
    op, n = node((2,) * 9, (1,) * 8 + (2,), (2,) * 9)
    with pytest.raises(ModelError, match="at most rank 8"):
        op.prepare(n)
    op, n = node((2,) * 9, (2,) * 9, (2,) * 9)  # same shapes need no broadcast: any rank
    assert op.prepare(n).output_shapes == [(2,) * 9]


def test_broadcast_plan_fuses_loops():
    """Same shapes and scalars become one loop; only dimensions that step the inputs differently stay apart."""
    from litelens.kernels.broadcast import plan_broadcast

    cases = {  # (shape1, shape2, out): (loops, strides1, strides2)
        ((2, 3, 4), (2, 3, 4), (2, 3, 4)): ([24], [1], [1]),
        ((4, 5), (), (4, 5)): ([20], [1], [0]),
        ((1, 5), (5,), (1, 5)): ([5], [1], [1]),
        ((6, 5), (6, 1), (6, 5)): ([6, 5], [5, 1], [1, 0]),
        ((3, 1, 4), (1, 5, 4), (3, 5, 4)): ([3, 5, 4], [4, 0, 1], [0, 4, 1]),
        ((2, 1, 3, 1), (1, 4, 1, 5), (2, 4, 3, 5)): ([2, 4, 3, 5], [3, 0, 1, 0], [0, 5, 0, 1]),
    }
    for shapes, expected in cases.items():
        plan = plan_broadcast(*shapes)
        assert (plan.loops.tolist(), plan.strides1.tolist(), plan.strides2.tolist()) == expected, shapes
