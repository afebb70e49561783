"""QUANTIZE and DEQUANTIZE against the official reference kernels (BUILTIN_REF).

Every tensor is compared exactly, floats included: the reference DEQUANTIZE rounds one double product
(per tensor) or one float32 product (per channel) to float32, and litelens does the same operations.
Boundary models come from TensorFlow's converter (float in/out around an int8 op); the other type
pairs and per-channel parameters, which the converter does not emit on its own, are single-op models
written with the schema's object API.
"""
from functools import lru_cache

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from single_op import compare_with_official, convert_fn  # noqa: E402

import litelens  # noqa: E402


def single_op_model(opcode: str, inputs: list[dict], output: dict) -> bytes:
    """A one-op model. Tensors are dicts: type ("INT8", ...), shape, optional scale/zero_point lists,
    axis (quantized dimension), data (a constant). Inputs without data are model inputs."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    m = schema.ModelT()
    m.version = 3
    code = schema.OperatorCodeT()
    code.builtinCode = getattr(schema.BuiltinOperator, opcode)
    code.deprecatedBuiltinCode = min(code.builtinCode, 127)
    code.version = 1
    m.operatorCodes = [code]
    m.buffers = [schema.BufferT()]
    graph = schema.SubGraphT()
    graph.tensors = []
    for i, spec in enumerate(inputs + [output]):
        t = schema.TensorT()
        t.name = f"t{i}".encode()
        t.type = getattr(schema.TensorType, spec["type"])
        t.shape = list(spec["shape"])
        buffer = schema.BufferT()
        if spec.get("data") is not None:
            buffer.data = np.ascontiguousarray(spec["data"]).view(np.uint8).reshape(-1)
        m.buffers.append(buffer)
        t.buffer = len(m.buffers) - 1
        if "scale" in spec:
            q = schema.QuantizationParametersT()
            q.scale, q.zeroPoint = list(spec["scale"]), list(spec["zero_point"])
            q.quantizedDimension = spec.get("axis", 0)
            t.quantization = q
        graph.tensors.append(t)
    op = schema.OperatorT()
    op.opcodeIndex = 0
    op.inputs = list(range(len(inputs)))
    op.outputs = [len(inputs)]
    graph.operators = [op]
    graph.inputs = [i for i, spec in enumerate(inputs) if spec.get("data") is None]
    graph.outputs = [len(inputs)]
    m.subgraphs = [graph]
    builder = flatbuffers.Builder(1024)
    builder.Finish(m.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


def tensor(type_, shape, scale=None, zero_point=None, axis=0, data=None):
    spec = {"type": type_, "shape": shape, "data": data}
    if scale is not None:
        spec.update(scale=list(np.atleast_1d(scale)), zero_point=list(np.atleast_1d(zero_point)), axis=axis)
    return spec


RANGES = {"INT8": (-128, 127), "UINT8": (0, 255), "INT16": (-32768, 32767), "INT32": (-(2**31), 2**31 - 1)}
NP_TYPES = {"INT8": np.int8, "UINT8": np.uint8, "INT16": np.int16, "INT32": np.int32}


def integer_inputs(type_, shape, seed=0):
    """Random codes of the type, with its two extremes and zero at the front."""
    lo, hi = RANGES[type_]
    x = np.random.default_rng(seed).integers(lo, hi + 1, size=shape, dtype=np.int64)
    x.reshape(-1)[:3] = [lo, hi, 0]
    return x.astype(NP_TYPES[type_])


def float_inputs(shape, scale, zero_point, seed=0):
    """Values across and beyond the int8 range, exact ties, and the special values."""
    rng = np.random.default_rng(seed)
    x = ((rng.integers(-300, 300, size=shape) + rng.choice([0.0, 0.5, 0.25], size=shape) - zero_point)
         * scale).astype(np.float32)
    flat = x.reshape(-1)
    flat[:9] = [np.nan, np.inf, -np.inf, 1e30, -1e30, 3e9 * scale, -0.0, 0.5 * scale, -0.5 * scale]
    return x


# ---------------------------------------------------------------- converter-made boundaries


def tanh(x):
    return tf.math.tanh(x)


@lru_cache(maxsize=None)
def boundary_model(calibration_scale: float) -> bytes:
    """float32 in -> QUANTIZE -> int8 TANH -> DEQUANTIZE -> float32 out."""
    return convert_fn(tanh, [tf.TensorSpec([4, 250], tf.float32)], flavor="int8", int_io=False,
                      calibration_scale=calibration_scale)


@pytest.mark.parametrize("calibration_scale", [0.1, 2.0, 30.0])
def test_converter_boundaries(calibration_scale):
    m = boundary_model(calibration_scale)
    interp = litelens.Interpreter(model_content=m)
    assert [op["op_name"] for op in interp._get_ops_details()] == ["QUANTIZE", "TANH", "DEQUANTIZE"]
    scale, zero_point = interp.get_input_details()[0]["quantization"]
    q = interp.graph.tensors[interp._get_ops_details()[0]["outputs"][0]].quantization
    for seed in range(2):
        x = float_inputs((4, 250), float(q.scale[0]), int(q.zero_point[0]), seed)
        compare_with_official(m, {0: x}).assert_ok()


# ---------------------------------------------------------------- QUANTIZE float -> integer


@pytest.mark.parametrize("type_,scale,zero_point", [
    ("INT8", 0.037, -5), ("INT8", 1e-4, 0), ("INT8", 3.0, 127), ("UINT8", 0.02, 128), ("UINT8", 0.7, 3),
    ("INT16", 1e-3, 0), ("INT16", 0.5, 0)])
def test_quantize_float(type_, scale, zero_point):
    m = single_op_model("QUANTIZE", [tensor("FLOAT32", [3, 300])], tensor(type_, [3, 300], scale, zero_point))
    compare_with_official(m, {0: float_inputs((3, 300), scale, zero_point)}).assert_ok()


@pytest.mark.parametrize("type_,axis", [("INT8", 0), ("INT8", 1), ("UINT8", 2), ("INT16", 1)])
def test_quantize_float_per_channel(type_, axis):
    shape = [3, 4, 5]
    channels = shape[axis]
    scales = np.linspace(0.01, 0.2, channels).astype(np.float32)
    zero_points = [0] * channels if type_ == "INT16" else list(range(channels))
    if type_ == "UINT8":
        zero_points = [z + 120 for z in zero_points]
    m = single_op_model("QUANTIZE", [tensor("FLOAT32", shape)],
                        tensor(type_, shape, scales, zero_points, axis=axis))
    compare_with_official(m, {0: float_inputs(shape, 0.05, 0)}).assert_ok()


# ---------------------------------------------------------------- QUANTIZE integer -> integer

REQUANTIZE = [  # (in type, in scale, in zp, out type, out scale, out zp)
    ("INT8", 0.05, 3, "INT8", 0.05, 3), ("INT8", 0.05, 3, "INT8", 0.021, -20), ("INT8", 0.01, 0, "INT8", 0.3, 100),
    ("INT8", 0.05, -1, "UINT8", 0.05, 127), ("UINT8", 0.05, 128, "INT8", 0.05, 0), ("UINT8", 0.1, 10, "UINT8", 0.03, 200),
    ("INT8", 0.05, 5, "INT16", 1e-4, 0), ("UINT8", 0.05, 5, "INT16", 3e-3, 0),
    ("INT16", 1e-3, 0, "INT8", 0.1, -3), ("INT16", 1e-3, 0, "INT16", 7e-4, 0), ("INT16", 1e-3, 0, "INT32", 1e-5, 0),
    ("INT32", 1e-6, 0, "INT8", 0.02, 1), ("INT32", 1e-6, 0, "INT16", 1e-4, 0),
]


@pytest.mark.parametrize("case", REQUANTIZE, ids=lambda c: "-".join(map(str, c)))
def test_requantize(case):
    in_type, in_scale, in_zp, out_type, out_scale, out_zp = case
    shape = [2, 500]
    m = single_op_model("QUANTIZE", [tensor(in_type, shape, in_scale, in_zp)],
                        tensor(out_type, shape, out_scale, out_zp))
    compare_with_official(m, {0: integer_inputs(in_type, shape)}).assert_ok()


def test_int16_requantize_needs_zero_points_0():
    m = single_op_model("QUANTIZE", [tensor("INT16", [4], 1e-3, 2)], tensor("INT16", [4], 1e-3, 0))
    with pytest.raises(litelens.ModelError, match="zero points 0"):
        litelens.Interpreter(model_content=m).allocate_tensors()


def test_quantize_to_float_is_an_error():
    m = single_op_model("QUANTIZE", [tensor("INT8", [4], 0.1, 0)], tensor("FLOAT32", [4]))
    with pytest.raises(litelens.ModelError, match="dtype"):
        litelens.Interpreter(model_content=m).allocate_tensors()


# ---------------------------------------------------------------- DEQUANTIZE


@pytest.mark.parametrize("type_,scale,zero_point", [
    ("INT8", 0.037, -5), ("INT8", 1.7e-5, 100), ("UINT8", 0.02, 128), ("UINT8", 3.3, 0), ("INT16", 1.3e-4, 0)])
def test_dequantize(type_, scale, zero_point):
    shape = [4, 300]
    m = single_op_model("DEQUANTIZE", [tensor(type_, shape, scale, zero_point)], tensor("FLOAT32", shape))
    compare_with_official(m, {0: integer_inputs(type_, shape)}).assert_ok()


@pytest.mark.parametrize("type_,axis", [("INT8", 0), ("INT8", 2), ("UINT8", 1)])
def test_dequantize_per_channel(type_, axis):
    shape = [3, 4, 50]
    channels = shape[axis]
    scales = (np.random.default_rng(1).uniform(1e-3, 0.3, channels)).astype(np.float32)
    zero_points = [i - channels // 2 for i in range(channels)]
    if type_ == "UINT8":
        zero_points = [z + 128 for z in zero_points]
    m = single_op_model("DEQUANTIZE", [tensor(type_, shape, scales, zero_points, axis=axis)],
                        tensor("FLOAT32", shape))
    compare_with_official(m, {0: integer_inputs(type_, shape)}).assert_ok()


def test_dequantize_per_channel_constant():
    """A per-channel int8 constant (how quantized weights reach a float graph)."""
    w = integer_inputs("INT8", [6, 10], seed=3)
    scales = np.linspace(0.001, 0.05, 6).astype(np.float32)
    m = single_op_model("DEQUANTIZE", [tensor("INT8", [6, 10], scales, [0] * 6, axis=0, data=w)],
                        tensor("FLOAT32", [6, 10]))
    compare_with_official(m, {}).assert_ok()


def test_dequantize_float16_constant_and_input():
    rng = np.random.default_rng(2)
    values = np.concatenate([rng.standard_normal(200) * 100, [65504, -65504, 6e-8, -0.0, np.inf, np.nan]])
    half = values.astype(np.float16)
    constant = single_op_model("DEQUANTIZE", [tensor("FLOAT16", [half.size], data=half)],
                               tensor("FLOAT32", [half.size]))
    compare_with_official(constant, {}).assert_ok()
    model_input = single_op_model("DEQUANTIZE", [tensor("FLOAT16", [half.size])], tensor("FLOAT32", [half.size]))
    compare_with_official(model_input, {0: half}).assert_ok()


def test_float16_flavor_weights_are_dequantized_exactly():
    """The converter's float16 flavor stores constants as float16 behind a DEQUANTIZE."""

    w = tf.constant(np.random.default_rng(4).standard_normal((8, 8)).astype(np.float32))

    def fn(x):
        return tf.nn.softmax(tf.concat([x, tf.reshape(w, [1, 64])], axis=0))

    m = convert_fn(fn, [tf.TensorSpec([1, 64], tf.float32)], flavor="float16")
    interp = litelens.Interpreter(model_content=m)
    assert "DEQUANTIZE" in [op["op_name"] for op in interp._get_ops_details()]
    compare_with_official(m).assert_ok()


def test_int16_dequantize_needs_zero_point_0():
    m = single_op_model("DEQUANTIZE", [tensor("INT16", [4], 1e-3, 1)], tensor("FLOAT32", [4]))
    with pytest.raises(litelens.ModelError, match="zero point 0"):
        litelens.Interpreter(model_content=m).allocate_tensors()
