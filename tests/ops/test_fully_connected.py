"""FULLY_CONNECTED against the official BUILTIN_REF kernel (ai-edge-litert), every tensor compared.

Two sources of models:
* TensorFlow-converted single-op models (float32; int8 with per-channel weights, the converter's
  default, and with per-tensor weights; int16x8) over K = 1 / odd / 300, N = 1 / odd, batch 1 / many,
  2-D / 3-D / 4-D / 1-D inputs (keep_num_dims both ways), with and without bias, every fused
  activation the converter fuses, run-time weights.
* Hand-built FlatBuffers for what the converter never writes: weights with a non-zero zero point
  (per tensor: applied; per channel: ignored by the official kernel), an effective scale > 1 that
  overflows the int32 cast, int16 with an int32 bias, a run-time bias, inf/NaN float inputs, and
  models both interpreters must refuse.

Integer tensors must match bit for bit. Float32 tensors are compared with tolerance 0 as well: the
kernel reproduces the reference loop's order of float32 operations (sequential sum, no FMA, then
+ bias, then clamp), so any difference is an arithmetic difference, not noise.
Inputs: full-range random codes (hit the clamps) and codes spread around the zero point (exercise
rounding rather than saturation).
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
from litelens.official import official_interpreter  # noqa: E402

spec = tf.TensorSpec


# ---------------------------------------------------------------- inputs

def moderate_inputs(model: bytes, seed: int) -> dict[int, np.ndarray]:
    """Codes spread around each input's zero point (int) or N(0, 2) values (float)."""
    rng = np.random.default_rng(seed)
    out = {}
    for d in litelens.Interpreter(model_content=model).get_input_details():
        shape, dtype = tuple(d["shape"]), np.dtype(d["dtype"])
        if dtype.kind == "i":
            info, zp = np.iinfo(dtype), d["quantization"][1]
            spread = 30 if dtype.itemsize == 1 else 3000
            codes = np.rint(zp + rng.standard_normal(shape) * spread)
            out[d["index"]] = np.clip(codes, info.min, info.max).astype(dtype)
        else:
            out[d["index"]] = (rng.standard_normal(shape) * 2).astype(dtype)
    return out


def assert_matches(model: bytes, seeds=(0, 1)) -> None:
    """Every tensor equal to the official reference run, on full-range and on moderate inputs."""
    for seed in seeds:
        compare_with_official(model, random_inputs(model, seed)).assert_ok()
        compare_with_official(model, moderate_inputs(model, seed)).assert_ok()


def op_names(model: bytes) -> list[str]:
    return [op["op_name"] for op in official_interpreter(model)._get_ops_details()]


# ---------------------------------------------------------------- converted models

def _dense_fn(k, n, bias, activation, seed):
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    b = rng.standard_normal(n).astype(np.float32)
    act = {"none": tf.identity, "relu": tf.nn.relu, "relu6": tf.nn.relu6,
           "relu_n1_to_1": lambda y: tf.clip_by_value(y, -1.0, 1.0)}[activation]

    def fn(x):
        y = tf.matmul(x, w) if len(x.shape) >= 2 else tf.linalg.matvec(w.T, x)
        return act(y + b if bias else y)

    return fn


def _convert_per_tensor(fn, specs, seed=0) -> bytes:
    """Full-int8 conversion with per-tensor weights (converter._experimental_disable_per_channel)."""
    function = tf.function(fn, input_signature=specs)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], function)
    assert hasattr(converter, "_experimental_disable_per_channel")
    converter._experimental_disable_per_channel = True
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
    converter.inference_input_type = converter.inference_output_type = tf.int8

    def representative():
        rng = np.random.default_rng(seed)
        for _ in range(16):
            yield [(rng.standard_normal(tuple(s.shape)) * 2).astype(np.float32) for s in specs]

    converter.representative_dataset = representative
    return converter.convert()


@functools.lru_cache(maxsize=None)
def dense_model(shape, k, n, bias=True, activation="none", flavor="int8", seed=0) -> bytes:
    fn = _dense_fn(k, n, bias, activation, seed)
    specs = [spec(shape, tf.float32)]
    if flavor == "int8-per-tensor":
        return _convert_per_tensor(fn, specs, seed)
    return convert_fn(fn, specs, flavor=flavor, seed=seed)


FLAVORS = ["float32", "int8", "int8-per-tensor", "int16x8"]
SHAPES = [  # (input shape, K, N)
    ((1, 1), 1, 5),
    ((3, 7), 7, 1),
    ((4, 64), 64, 33),
    ((2, 300), 300, 17),
    ((2, 5, 16), 16, 6),  # converter writes keep_num_dims=True
    ((2, 1, 3, 9), 9, 4),
    ((16,), 16, 6),  # matvec: 1-D input, keep_num_dims=True
]


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("shape,k,n", SHAPES)
def test_shapes(shape, k, n, flavor):
    model = dense_model(shape, k, n, bias=len(shape) != 4, flavor=flavor)
    assert op_names(model) == ["FULLY_CONNECTED"]
    assert_matches(model)


@pytest.mark.parametrize("flavor", FLAVORS)
@pytest.mark.parametrize("activation", ["relu", "relu6", "relu_n1_to_1"])
def test_fused_activations(activation, flavor):
    model = dense_model((3, 24), 24, 10, activation=activation, flavor=flavor, seed=3)
    assert op_names(model) == ["FULLY_CONNECTED"]
    assert_matches(model)


@pytest.mark.parametrize("flavor", ["float32", "int8"])
def test_runtime_weights(flavor):
    def fn(x, w):
        return tf.matmul(x, w, transpose_b=True)

    model = convert_fn(fn, [spec([3, 16], tf.float32), spec([6, 16], tf.float32)], flavor=flavor)
    assert op_names(model) == ["FULLY_CONNECTED"]
    assert_matches(model)


def test_keep_num_dims_flags():
    """Both keep_num_dims values occur among the converted models, with the output shapes of the spec."""
    from litelens.model import load_model

    seen = set()
    for shape, k, n in SHAPES:
        model = dense_model(shape, k, n, bias=len(shape) != 4)
        keep = bool(load_model(model).subgraphs[0].operators[0].options.KeepNumDims())
        interp = litelens.Interpreter(model_content=model)
        interp.allocate_tensors()
        out = tuple(interp.get_output_details()[0]["shape"])
        assert out == (tuple(shape[:-1]) + (n,) if keep else (int(np.prod(shape)) // k, n))
        seen.add(keep)
    assert seen == {True, False}


# ---------------------------------------------------------------- hand-built models

_TYPES = {np.dtype(np.float32): tflite.TensorType.FLOAT32, np.dtype(np.int8): tflite.TensorType.INT8,
          np.dtype(np.int16): tflite.TensorType.INT16, np.dtype(np.int32): tflite.TensorType.INT32,
          np.dtype(np.int64): tflite.TensorType.INT64}


def tensor(name, shape, dtype, data=None, scale=None, zero_point=None, axis=0):
    """A tensor description for :func:`build_model` (data makes it a constant)."""
    return dict(name=name, shape=tuple(shape), dtype=np.dtype(dtype),
                data=None if data is None else np.asarray(data, dtype=dtype).reshape(shape),
                scale=scale, zero_point=zero_point, axis=axis)


def _int_vector(b, start, values, kind="Int32"):
    start(b, len(values))
    for v in reversed(values):
        getattr(b, f"Prepend{kind}")(v)
    return b.EndVector()


def build_model(opcode: str, tensors: list[dict], inputs: list[int], outputs: list[int],
                options_type: int = 0, write_options=None) -> bytes:
    """A one-operator .tflite: ``tensors`` (from :func:`tensor`), op inputs (-1 = omitted) and outputs.

    Model inputs are the op's non-constant inputs; ``write_options(builder)`` returns the options
    table offset (it must be built before the operator).
    """
    b = flatbuffers.Builder(1024)
    buffers, tensor_offsets = [], []
    for t in tensors:
        buffer_index = 0
        if t["data"] is not None:
            raw = t["data"].tobytes()
            b.StartVector(1, len(raw), 16)
            b.head -= len(raw)
            b.Bytes[b.head:b.head + len(raw)] = raw
            data = b.EndVector(len(raw))
            tflite.BufferStart(b)
            tflite.BufferAddData(b, data)
            buffers.append(tflite.BufferEnd(b))
            buffer_index = len(buffers)
        quant = None
        if t["scale"] is not None:
            scale = np.atleast_1d(np.asarray(t["scale"], np.float32))
            zp = np.atleast_1d(np.asarray(0 if t["zero_point"] is None else t["zero_point"], np.int64))
            zp = np.broadcast_to(zp, scale.shape)
            tflite.QuantizationParametersStartScaleVector(b, scale.size)
            for v in reversed(scale):
                b.PrependFloat32(float(v))
            scale_off = b.EndVector()
            zp_off = _int_vector(b, tflite.QuantizationParametersStartZeroPointVector,
                                 [int(v) for v in zp], "Int64")
            tflite.QuantizationParametersStart(b)
            tflite.QuantizationParametersAddScale(b, scale_off)
            tflite.QuantizationParametersAddZeroPoint(b, zp_off)
            tflite.QuantizationParametersAddQuantizedDimension(b, t["axis"])
            quant = tflite.QuantizationParametersEnd(b)
        name = b.CreateString(t["name"])
        shape = _int_vector(b, tflite.TensorStartShapeVector, list(t["shape"]))
        tflite.TensorStart(b)
        tflite.TensorAddShape(b, shape)
        tflite.TensorAddType(b, _TYPES[t["dtype"]])
        tflite.TensorAddBuffer(b, buffer_index)
        tflite.TensorAddName(b, name)
        if quant is not None:
            tflite.TensorAddQuantization(b, quant)
        tensor_offsets.append(tflite.TensorEnd(b))

    options = write_options(b) if write_options else None
    op_in = _int_vector(b, tflite.OperatorStartInputsVector, inputs)
    op_out = _int_vector(b, tflite.OperatorStartOutputsVector, outputs)
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, 0)
    tflite.OperatorAddInputs(b, op_in)
    tflite.OperatorAddOutputs(b, op_out)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, options_type)
        tflite.OperatorAddBuiltinOptions(b, options)
    operator = tflite.OperatorEnd(b)

    graph_inputs = [i for i in inputs if i >= 0 and tensors[i]["data"] is None]
    tflite.SubGraphStartTensorsVector(b, len(tensor_offsets))
    for off in reversed(tensor_offsets):
        b.PrependUOffsetTRelative(off)
    tensors_vec = b.EndVector()
    tflite.SubGraphStartOperatorsVector(b, 1)
    b.PrependUOffsetTRelative(operator)
    ops_vec = b.EndVector()
    g_in = _int_vector(b, tflite.SubGraphStartInputsVector, graph_inputs)
    g_out = _int_vector(b, tflite.SubGraphStartOutputsVector, outputs)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddInputs(b, g_in)
    tflite.SubGraphAddOutputs(b, g_out)
    tflite.SubGraphAddOperators(b, ops_vec)
    subgraph = tflite.SubGraphEnd(b)

    code = getattr(tflite.BuiltinOperator, opcode)
    tflite.OperatorCodeStart(b)
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
    tflite.OperatorCodeAddBuiltinCode(b, code)
    tflite.OperatorCodeAddVersion(b, 1)
    opcode_off = tflite.OperatorCodeEnd(b)

    tflite.BufferStart(b)
    empty = tflite.BufferEnd(b)
    tflite.ModelStartBuffersVector(b, len(buffers) + 1)
    for off in reversed([empty] + buffers):
        b.PrependUOffsetTRelative(off)
    buffers_vec = b.EndVector()
    tflite.ModelStartSubgraphsVector(b, 1)
    b.PrependUOffsetTRelative(subgraph)
    subgraphs_vec = b.EndVector()
    tflite.ModelStartOperatorCodesVector(b, 1)
    b.PrependUOffsetTRelative(opcode_off)
    codes_vec = b.EndVector()
    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, 3)
    tflite.ModelAddOperatorCodes(b, codes_vec)
    tflite.ModelAddSubgraphs(b, subgraphs_vec)
    tflite.ModelAddBuffers(b, buffers_vec)
    b.Finish(tflite.ModelEnd(b), file_identifier=b"TFL3")
    return bytes(b.Output())


def fc_options(activation=0, keep_num_dims=False, weights_format=0, quantized_bias_type=0):
    def write(b):
        tflite.FullyConnectedOptionsStart(b)
        tflite.FullyConnectedOptionsAddFusedActivationFunction(b, activation)
        tflite.FullyConnectedOptionsAddKeepNumDims(b, keep_num_dims)
        tflite.FullyConnectedOptionsAddWeightsFormat(b, weights_format)
        tflite.FullyConnectedOptionsAddQuantizedBiasType(b, quantized_bias_type)
        return tflite.FullyConnectedOptionsEnd(b)

    return write


def fc_model(x_shape, n, dtype=np.int8, in_q=(0.05, 3), w_scale=0.02, w_zp=0, out_q=(0.1, -5), bias="const",
             bias_dtype=np.int32, bias_scale=None, w_const=True, seed=0, **options) -> bytes:
    """A quantized FULLY_CONNECTED with chosen quantization; bias 'const', 'input' or None."""
    rng = np.random.default_rng(seed)
    k = x_shape[-1]
    w_scale = np.atleast_1d(np.asarray(w_scale, np.float32))
    w = rng.integers(-127, 128, (n, k)).astype(np.int8)
    in_s = np.float32(in_q[0])
    if bias_scale is None:
        bias_scale = np.float32(in_s * w_scale[0]) if w_scale.size == 1 else in_s * w_scale
    tensors = [
        tensor("x", x_shape, dtype, scale=in_q[0], zero_point=in_q[1]),
        tensor("w", (n, k), np.int8, w if w_const else None, scale=w_scale, zero_point=w_zp),
        tensor("bias", (n,), bias_dtype, rng.integers(-3000, 3000, n) if bias == "const" else None,
               scale=bias_scale, zero_point=0),
        tensor("out", (), dtype, scale=out_q[0], zero_point=out_q[1]),
    ]
    out_shape = tuple(x_shape[:-1]) + (n,) if options.get("keep_num_dims") else (int(np.prod(x_shape)) // k, n)
    tensors[3]["shape"] = out_shape
    inputs = [0, 1, 2 if bias else -1]
    return build_model("FULLY_CONNECTED", tensors, inputs, [3], tflite.BuiltinOptions.FullyConnectedOptions,
                       fc_options(**options))


HAND_BUILT = {
    # per-tensor weights with a zero point: the official kernel applies it (weights_offset = -zp)
    "per_tensor_weight_zp": dict(x_shape=(5, 40), n=9, w_zp=7, activation=1),
    "per_tensor_weight_zp_negative": dict(x_shape=(2, 3, 13), n=4, w_zp=-20, keep_num_dims=True),
    # per-channel weights with zero points: ignored (weights are symmetric by spec)
    "per_channel_weight_zp_ignored": dict(x_shape=(4, 33), n=3, w_scale=[0.01, 0.02, 0.03], w_zp=[5, -2, 9]),
    # a single per-channel scale (N = 1) is per-tensor: its zero point applies
    "single_channel": dict(x_shape=(6, 10), n=1, w_scale=[0.03], w_zp=[4], activation=3),
    # effective scale 1e6: round(acc * scale) leaves int32 for |acc| > 2147; x86's cvttsd2si gives
    # INT32_MIN for either sign, then + zp wraps in int32 (to near INT32_MAX when zp < 0)
    "scale_above_one_overflows": dict(x_shape=(3, 64), n=8, in_q=(1.0, 0), w_scale=1.0, out_q=(1e-6, -5),
                                      bias_scale=1.0),
    "scale_above_one_overflows_zp_positive": dict(x_shape=(3, 64), n=8, in_q=(1.0, 0), w_scale=1.0,
                                                  out_q=(1e-6, 9), bias_scale=1.0),
    # power-of-two scales: acc * 2**-7 lands exactly on .5 often, so half-away vs half-even shows
    "rounding_ties": dict(x_shape=(64, 8), n=16, in_q=(2.0**-3, 0), w_scale=2.0**-4, out_q=(1.0, 0)),
    "runtime_bias": dict(x_shape=(2, 12), n=5, bias="input"),
    "runtime_weights_and_bias": dict(x_shape=(2, 12), n=5, bias="input", w_const=False, w_zp=3),
    "no_bias_relu_n1_to_1": dict(x_shape=(7, 20), n=6, bias=None, activation=2, out_q=(0.01, 0)),
    "flat_3d_input": dict(x_shape=(2, 3, 8), n=5),  # keep_num_dims False: [6, 5]
    "int16_int64_bias": dict(x_shape=(3, 50), n=7, dtype=np.int16, in_q=(1e-3, 0), out_q=(2e-3, 0),
                             bias_dtype=np.int64),
    "int16_int32_bias": dict(x_shape=(3, 50), n=7, dtype=np.int16, in_q=(1e-3, 0), out_q=(2e-3, 0),
                             quantized_bias_type=tflite.TensorType.INT32),
    "int16_per_channel": dict(x_shape=(4, 30), n=3, dtype=np.int16, in_q=(1e-3, 0), out_q=(5e-3, 0),
                              w_scale=[0.01, 0.02, 0.005], bias_dtype=np.int64, activation=1),
}


@pytest.mark.parametrize("case", sorted(HAND_BUILT))
def test_hand_built(case):
    assert_matches(fc_model(**HAND_BUILT[case]), seeds=(0, 1, 2))


def test_edge_cases_are_exercised():
    """The overflow and tie cases really overflow / tie in the official run (else they test nothing)."""
    from litelens.official import run_official

    model = fc_model(**HAND_BUILT["scale_above_one_overflows"])
    out = run_official(model, moderate_inputs(model, 0))[3]
    assert (out == 127).mean() > 0.9  # negative and positive accumulators alike: INT32_MIN - 5 wraps

    model = fc_model(**HAND_BUILT["rounding_ties"])
    interp = official_interpreter(model)
    x = moderate_inputs(model, 0)[0]
    w = interp.get_tensor(1).astype(np.int64)
    bias = interp.get_tensor(2).astype(np.int64)
    acc = x.astype(np.int64) @ w.T + bias
    assert (acc % 128 == 64).sum() >= 4


def test_float_inf_and_nan():
    """+-inf clamps to +-FLT_MAX without activation (CalculateActivationRange); NaN passes through."""
    model = dense_model((4, 8), 8, 3, flavor="float32", seed=5)
    interp = litelens.Interpreter(model_content=model)
    index = interp.get_input_details()[0]["index"]
    x = np.ones((4, 8), np.float32)
    x[0, 0], x[1, 3], x[2, 5] = np.inf, -np.inf, np.nan
    x[3] = 1e30
    compare_with_official(model, {index: x}).assert_ok()


# ---------------------------------------------------------------- refused models

def _official_refuses(model: bytes) -> bool:
    try:
        official_interpreter(model)
    except (RuntimeError, ValueError):
        return True
    return False


REFUSED = {
    "tanh": dict(x_shape=(2, 8), n=3, activation=4),
    "sign_bit": dict(x_shape=(2, 8), n=3, activation=5),
    "bias_scale_far_off": dict(x_shape=(2, 8), n=3, bias_scale=1.0),
    "shuffled_weights": dict(x_shape=(2, 8), n=3, weights_format=1),
    "int16_nonzero_input_zp": dict(x_shape=(2, 8), n=3, dtype=np.int16, in_q=(1e-3, 4), out_q=(1e-3, 0),
                                   bias_dtype=np.int64),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_like_official(case):
    model = fc_model(**REFUSED[case])
    assert _official_refuses(model)
    with pytest.raises(ModelError, match="FULLY_CONNECTED"):
        litelens.Interpreter(model_content=model).allocate_tensors()


@pytest.mark.parametrize("case", ["int16_int32_bias_without_option", "input_not_multiple_of_k"])
def test_refused(case):
    """Models litelens refuses although the official kernel runs them (reading garbage or truncating)."""
    if case == "int16_int32_bias_without_option":  # official reads the int32 bias as int64
        model = fc_model((2, 8), 3, dtype=np.int16, in_q=(1e-3, 0), out_q=(1e-3, 0))
    else:  # input_not_multiple_of_k: official silently uses floor(size / K) rows
        t = [tensor("x", (3, 5), np.float32), tensor("w", (2, 4), np.float32, np.ones((2, 4))),
             tensor("out", (3, 2), np.float32)]
        model = build_model("FULLY_CONNECTED", t, [0, 1, -1], [2], tflite.BuiltinOptions.FullyConnectedOptions,
                            fc_options())
    with pytest.raises(ModelError, match="FULLY_CONNECTED"):
        litelens.Interpreter(model_content=model).allocate_tensors()
