"""Hybrid (dynamic-range) FULLY_CONNECTED and BATCH_MATMUL against the official BUILTIN_REF kernels.

Float32 activations, int8 weights, each input row quantized on the fly. Two sources of models:
* TensorFlow's converter, flavor ``dynamic`` (per-channel FC weights by default, per-tensor with
  ``_experimental_disable_per_channel``; BATCH_MATMUL weights are per tensor). The converter always
  writes ``asymmetric_quantize_inputs = true``; the symmetric variant is the same model with that
  flag flipped in place.
* Hand-built FlatBuffers for what the converter never writes: TANH / SIGN_BIT fused activations,
  weights equal to -128, run-time weights, per-channel BATCH_MATMUL weights, weight zero points,
  depth K = 2048 (integer sums past 2**24), batch layouts the official loop mis-indexes.

Every tensor is compared with tolerance 0, float32 outputs included: the kernels reproduce the
official operation order (float32 scale product, int32 -> float32 conversion, float32 multiply, then
float32 add, no FMA; the NEON_2_SSE rounding of the quantizer), so any difference is a real
arithmetic difference. Inputs mix magnitudes (1e-3 .. 1e3) and include all-zero rows, rows offset
from zero (asymmetric zero points far from 0) and, in dedicated tests, NaN, inf and values that sit
just below a rounding tie.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")
import tflite  # noqa: E402

from single_op import compare_with_official  # noqa: E402

import litelens  # noqa: E402
from litelens.errors import ModelError  # noqa: E402
from litelens.kernels.hybrid import weight_row_sums  # noqa: E402
from litelens.model import load_model  # noqa: E402
from litelens.official import official_interpreter, run_official  # noqa: E402

from .test_fully_connected import build_model, op_names, tensor  # noqa: E402

spec = tf.TensorSpec
FC_OPTIONS = tflite.BuiltinOptions.FullyConnectedOptions
BMM_OPTIONS = tflite.BuiltinOptions.BatchMatMulOptions
NONE, RELU, RELU_N1_TO_1, RELU6, TANH, SIGN_BIT = range(6)


# ---------------------------------------------------------------- inputs and comparison

def hybrid_inputs(model: bytes, seed: int) -> dict[int, np.ndarray]:
    """Float inputs whose rows differ in scale and offset; one row in three is all zeros."""
    rng = np.random.default_rng(seed)
    out = {}
    for d in litelens.Interpreter(model_content=model).get_input_details():
        shape, dtype = tuple(d["shape"]), np.dtype(d["dtype"])
        if dtype.kind == "i":  # run-time int8 weights
            out[d["index"]] = rng.integers(-127, 128, shape).astype(dtype)
            continue
        rows = rng.standard_normal(shape).reshape(-1, shape[-1]) if shape else rng.standard_normal((1, 1))
        scales = 10.0 ** rng.uniform(-3, 3, (rows.shape[0], 1))
        shifts = rng.choice([0.0, 0.0, 2.5, -4.0], (rows.shape[0], 1))
        rows = (rows + shifts) * scales
        rows[::3] = 0.0
        out[d["index"]] = rows.reshape(shape).astype(dtype)
    return out


def assert_matches(model: bytes, seeds=(0, 1, 2)) -> None:
    """Every tensor equal (float32 too, tolerance 0) to the official reference run."""
    for seed in seeds:
        compare_with_official(model, hybrid_inputs(model, seed)).assert_ok()


def operand_types(model: bytes) -> list[list[str]]:
    return [[t.__name__ for t in op["operand_types"]] for op in official_interpreter(model)._get_ops_details()]


def with_asymmetric(model: bytes, asymmetric: bool) -> bytes:
    """The model with its single op's ``asymmetric_quantize_inputs`` flag overwritten in place.

    The converter writes the flag (true), so the byte exists; FullyConnectedOptions keeps it in
    vtable slot 10, BatchMatMulOptions in slot 8.
    """
    buf = bytearray(model)
    op = load_model(bytes(buf)).subgraphs[0].operators[0]
    slot = 10 if op.opcode == "FULLY_CONNECTED" else 8
    offset = op.options._tab.Offset(slot)
    assert offset, "the options table has no asymmetric_quantize_inputs field to overwrite"
    buf[op.options._tab.Pos + offset] = int(asymmetric)
    patched = bytes(buf)
    assert bool(load_model(patched).subgraphs[0].operators[0].options.AsymmetricQuantizeInputs()) == asymmetric
    return patched


def _convert_dynamic(fn, specs, per_channel: bool = True) -> bytes:
    function = tf.function(fn, input_signature=specs)
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function.get_concrete_function()], function)
    converter.optimizations = [tf.lite.Optimize.DEFAULT]  # = factory flavor "dynamic"
    if not per_channel:
        assert hasattr(converter, "_experimental_disable_per_channel")
        converter._experimental_disable_per_channel = True
    return converter.convert()


# ---------------------------------------------------------------- FULLY_CONNECTED, converted

@functools.lru_cache(maxsize=None)
def dense_model(shape, k, n, bias=True, activation="none", per_channel=True, asymmetric=True, seed=0) -> bytes:
    rng = np.random.default_rng(seed)
    w = (rng.standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)  # >= 1024 values: quantized
    b = rng.standard_normal(n).astype(np.float32)
    act = {"none": tf.identity, "relu": tf.nn.relu, "relu6": tf.nn.relu6,
           "relu_n1_to_1": lambda y: tf.clip_by_value(y, -1.0, 1.0)}[activation]

    def fn(x):
        y = tf.matmul(x, w) if len(x.shape) >= 2 else tf.linalg.matvec(w.T, x)
        return act(y + b if bias else y)

    model = _convert_dynamic(fn, [spec(shape, tf.float32)], per_channel)
    return model if asymmetric else with_asymmetric(model, False)


FC_SHAPES = [  # (input shape, K, N); K % 8 and K % 16 vary (quantizer tail, maddubs blocks)
    ((3, 67), 67, 40),
    ((2, 5, 128), 128, 64),  # keep_num_dims: [2, 5, 64]
    ((7, 33), 33, 48),
    ((2, 1100), 1100, 2),  # the exact accumulator needs float64
    ((16,), 16, 80),  # 1-D input
    ((2, 1, 3, 40), 40, 30),  # flattened to [6, 40]
]


@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
@pytest.mark.parametrize("per_channel", [True, False], ids=["per_channel", "per_tensor"])
@pytest.mark.parametrize("shape,k,n", FC_SHAPES)
def test_fc_converted(shape, k, n, per_channel, asymmetric):
    model = dense_model(shape, k, n, bias=len(shape) != 4, per_channel=per_channel, asymmetric=asymmetric)
    assert operand_types(model)[0][:2] == ["float32", "int8"]  # really hybrid
    interp = official_interpreter(model)
    weights = interp.get_tensor_details()[interp._get_ops_details()[0]["inputs"][1]]
    assert len(weights["quantization_parameters"]["scales"]) == (n if per_channel else 1)
    assert_matches(model)


@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
@pytest.mark.parametrize("activation", ["relu", "relu6", "relu_n1_to_1"])
def test_fc_fused_activations(activation, asymmetric):
    model = dense_model((4, 48), 48, 32, activation=activation, asymmetric=asymmetric, seed=3)
    assert op_names(model) == ["FULLY_CONNECTED"]  # the activation is fused
    assert_matches(model)


# ---------------------------------------------------------------- FULLY_CONNECTED, hand-built

def fc_options(activation=NONE, keep_num_dims=False, asymmetric=True):
    def write(b):
        tflite.FullyConnectedOptionsStart(b)
        tflite.FullyConnectedOptionsAddFusedActivationFunction(b, activation)
        tflite.FullyConnectedOptionsAddKeepNumDims(b, keep_num_dims)
        tflite.FullyConnectedOptionsAddAsymmetricQuantizeInputs(b, asymmetric)
        return tflite.FullyConnectedOptionsEnd(b)

    return write


def hybrid_fc_model(x_shape, n, w_scale=0.02, w_zp=0, bias="const", w_const=True, weights=None, seed=0,
                    **options) -> bytes:
    """A hybrid FULLY_CONNECTED: float32 x, int8 weights [n, K], float32 bias 'const' / 'input' / None."""
    rng = np.random.default_rng(seed)
    k = x_shape[-1]
    w = rng.integers(-127, 128, (n, k)) if weights is None else weights
    out_shape = tuple(x_shape[:-1]) + (n,) if options.get("keep_num_dims") else (int(np.prod(x_shape)) // k, n)
    tensors = [
        tensor("x", x_shape, np.float32),
        tensor("w", (n, k), np.int8, w if w_const else None, scale=w_scale, zero_point=w_zp),
        tensor("bias", (n,), np.float32, rng.standard_normal(n) if bias == "const" else None),
        tensor("out", out_shape, np.float32),
    ]
    return build_model("FULLY_CONNECTED", tensors, [0, 1, 2 if bias else -1], [3], FC_OPTIONS, fc_options(**options))


def _weights_with_min(n, k, seed=0):
    """Random weights with many -128 values among the first K & ~15 columns."""
    w = np.random.default_rng(seed).integers(-127, 128, (n, k))
    w[:, ::3] = -128
    return w


FC_HAND_BUILT = {
    "tanh": dict(x_shape=(5, 40), n=9, activation=TANH),
    "tanh_sym": dict(x_shape=(5, 40), n=9, activation=TANH, asymmetric=False),
    "sign_bit": dict(x_shape=(5, 40), n=9, activation=SIGN_BIT),
    "relu_n1_to_1_no_bias": dict(x_shape=(4, 21), n=7, activation=RELU_N1_TO_1, bias=None, w_scale=0.002),
    "relu6_sym": dict(x_shape=(4, 21), n=7, activation=RELU6, asymmetric=False),
    # -128 weights in maddubs blocks meet q = -128 (the row minimum under asymmetric quantization)
    "weights_minus_128": dict(x_shape=(6, 40), n=5, weights=_weights_with_min(5, 40)),
    "weights_minus_128_k64": dict(x_shape=(6, 64), n=11, weights=_weights_with_min(11, 64, 1)),
    "weights_minus_128_sym": dict(x_shape=(6, 40), n=5, weights=_weights_with_min(5, 40), asymmetric=False),
    "per_channel": dict(x_shape=(3, 24), n=4, w_scale=[0.01, 0.2, 0.003, 0.05]),
    "per_channel_zero_points_ignored": dict(x_shape=(3, 24), n=4, w_scale=[0.01, 0.2, 0.003, 0.05],
                                            w_zp=[3, -7, 0, 100]),
    "per_tensor_zero_point_ignored": dict(x_shape=(3, 24), n=4, w_zp=-9, asymmetric=False),
    "runtime_weights_and_bias": dict(x_shape=(4, 19), n=6, w_const=False, bias="input"),
    "runtime_weights_sym": dict(x_shape=(4, 19), n=6, w_const=False, asymmetric=False),
    "keep_num_dims": dict(x_shape=(2, 3, 17), n=5, keep_num_dims=True),
    "k1": dict(x_shape=(9, 1), n=3),
}


@pytest.mark.parametrize("case", sorted(FC_HAND_BUILT))
def test_fc_hand_built(case):
    assert_matches(hybrid_fc_model(**FC_HAND_BUILT[case]))


def _quantizer_rows(k: int, rng) -> np.ndarray:
    """Rows that stress the quantizer: ordinary, tiny, huge, one-signed, constant, one-hot, +-0,
    values at and just below rounding ties, and shifted far from zero."""
    rows = [rng.standard_normal(k), rng.standard_normal(k) * 1e-30, rng.standard_normal(k) * 1e30,
            np.abs(rng.standard_normal(k)), -np.abs(rng.standard_normal(k)) - 5, np.full(k, 3.0),
            np.full(k, -2.0), np.eye(1, k, k // 2)[0] * -7, np.where(rng.random(k) < 0.5, 0.0, -0.0),
            rng.standard_normal(k) + 100, rng.integers(-127, 128, k) + 0.5,
            np.append(127.0, rng.integers(-127, 128, k - 1) + np.float32(0.5 - 2.0**-25))[:k],
            np.append(255.0, np.abs(rng.integers(0, 255, k - 1)) + np.float32(0.5 - 2.0**-25))[:k]]
    rows += [rng.standard_normal(k) * 10.0 ** rng.uniform(-6, 6) + rng.uniform(-3, 3) for _ in range(40)]
    return np.array(rows, np.float32)


@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
def test_quantizer_matches_official_temporaries(asymmetric):
    """The kernels' quantized rows, scaling factors and zero points equal the official kernel's own
    temporaries (input_quantized, scaling_factors, input_offsets of EvalHybridDense) for K = 1 to 40."""
    from litelens.kernels.hybrid import quantize_rows_asymmetric, quantize_rows_symmetric

    rng = np.random.default_rng(9)
    for k in (1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 33, 40):
        x = _quantizer_rows(k, rng)
        model = hybrid_fc_model(x.shape, 2, w_scale=[0.5, 0.25], asymmetric=asymmetric)  # per channel:
        interp = official_interpreter(model)  # the scaling factors stay unmultiplied
        interp.set_tensor(0, x)
        interp.invoke()
        quantized, scaling, _, offsets = (interp.get_tensor(4 + i) for i in range(4))  # after the 4 model tensors
        q = np.zeros(x.shape, np.float32)
        sf = np.zeros(len(x), np.float32)
        zp = np.zeros(len(x), np.int32)
        (quantize_rows_asymmetric if asymmetric else quantize_rows_symmetric)(x, q, sf, zp)
        assert np.array_equal(q, quantized), f"K = {k}: rows {np.nonzero((q != quantized).any(axis=1))[0]}"
        assert np.array_equal(sf, scaling), f"K = {k}"
        assert np.array_equal(zp, offsets if asymmetric else np.zeros_like(zp)), f"K = {k}"


def test_fc_maddubs_sign_wrap_is_exercised():
    """The official sum really differs from the exact one: a -128 weight in the maddubs columns
    (k < 32 for K = 40) meets a negative q, and the output differs from the exact-integer result."""
    model = hybrid_fc_model(**FC_HAND_BUILT["weights_minus_128_sym"])
    x = hybrid_inputs(model, 1)[0]
    q = _official_quantized_input(model, x).astype(np.int64)
    w = official_interpreter(model).get_tensor(1).astype(np.int64)
    assert ((q[:, None, :32] < 0) & (w[None, :, :32] == -128)).sum() > 10
    exact = q @ w.T  # what a correct int8 dot product gives, per [row, unit]
    wrapped = exact + 256 * ((q[:, None, :32] < 0) * (w[None, :, :32] == -128) * q[:, None, :32]).sum(-1)
    assert (wrapped != exact).any()


def _official_quantized_input(model: bytes, x: np.ndarray) -> np.ndarray:
    """The official kernel's int8 quantized-input temporary after running x (tensor after the model's)."""
    interp = official_interpreter(model)
    interp.set_tensor(0, x)
    interp.invoke()
    n_model = len(load_model(model).subgraphs[0].tensors)
    temps = [t for t in interp.get_tensor_details() if t["index"] >= n_model and t["dtype"] == np.int8]
    return interp.get_tensor(temps[0]["index"])


def test_fc_quantizer_ties():
    """0.49999997f = 0.5 - 2**-25 is where the x86 RoundToNearest (v + 0.5f in float32 - a tie that
    rounds to 1.0f - then truncation) and std::round disagree: 1 on the first K & ~7 columns,
    0 on the tail. Symmetric: max |x| = 127 makes the inverse scale exactly 1. Asymmetric: a row
    in [0, 255] has scale 1 and zero point -128."""
    below = np.float32(0.5 - 2.0**-25)
    x = np.zeros((4, 21), np.float32)
    x[:2, 0] = 127.0
    x[0, 1], x[0, 2] = below, -below  # body
    x[1, 17], x[1, 18] = below, -below  # tail (K = 21: columns 16..20)
    x[2:, 0] = 255.0
    x[2, 1] = x[3, 17] = below
    sym = hybrid_fc_model((4, 21), 5, asymmetric=False)
    q = _official_quantized_input(sym, x)
    assert (q[0, 1], q[0, 2], q[1, 17], q[1, 18]) == (1, -1, 0, 0)
    compare_with_official(sym, {0: x}).assert_ok()
    asym = hybrid_fc_model((4, 21), 5)
    q = _official_quantized_input(asym, x)
    assert (q[2, 1], q[3, 17]) == (-127, -128)
    compare_with_official(asym, {0: x}).assert_ok()


@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
def test_fc_special_values(asymmetric):
    """NaN and inf inputs: quantized codes, scaling factors and the outputs follow the official
    comparisons (std::minmax_element, NeonMinMax, cvttps2dq giving INT32_MIN for NaN)."""
    model = hybrid_fc_model((8, 21), 6, asymmetric=asymmetric, seed=4)
    x = np.random.default_rng(5).standard_normal((8, 21)).astype(np.float32)
    x[0, 3] = np.nan  # NaN inside a block of 8
    x[1, 18] = np.nan  # NaN on the tail
    x[2, 0] = np.nan  # NaN first (the minmax start value)
    x[3, 5] = np.inf
    x[4, 20] = -np.inf
    x[5, :] = np.nan
    x[6, 7] = 1e30
    x[7, :] = 1e-40  # subnormals
    compare_with_official(model, {0: x}).assert_ok()


def test_fc_zero_input_shortcut():
    """An all-zero input skips quantization: output = activation(bias), so a -0.0 bias stays -0.0
    (the quantized path would give -0.0 + 0.0 = +0.0). NaN in a block of 4 counts as zero there
    (|v| > 0 is false); in the tail it does not."""
    bias = np.array([-0.0, 1.5, -2.0, 0.0, -0.0], np.float32)
    tensors = [tensor("x", (3, 6), np.float32), tensor("w", (5, 6), np.int8, np.ones((5, 6)), scale=0.1),
               tensor("bias", (5,), np.float32, bias), tensor("out", (3, 5), np.float32)]
    model = build_model("FULLY_CONNECTED", tensors, [0, 1, 2], [3], FC_OPTIONS, fc_options())
    cases = {"zeros": np.zeros((3, 6), np.float32), "negative_zeros": np.full((3, 6), -0.0, np.float32)}
    x = np.zeros((3, 6), np.float32)
    x[0, 2] = np.nan  # element 2 of 18: inside the first block of 4
    cases["nan_in_block"] = x
    x = np.zeros((3, 6), np.float32)
    x[2, 5] = np.nan  # element 17 of 18: tail
    cases["nan_in_tail"] = x
    x = np.zeros((3, 6), np.float32)
    x[1, 1] = 2.0  # one non-zero row: the other rows go through the quantizer with range 0
    cases["one_row"] = x
    for name, x in cases.items():
        compare_with_official(model, {0: x}).assert_ok()
        out = run_official(model, {0: x})[3]
        if name in ("zeros", "negative_zeros", "nan_in_block"):
            assert np.array_equal(np.signbit(out), np.signbit(np.broadcast_to(bias, out.shape)))
    assert not np.signbit(run_official(model, {0: cases["one_row"]})[3][0, 0])


def test_fc_large_depth_matches():
    """K = 3000 with extreme weights: |sum| passes 2**24, so int32 -> float32 rounds (float64
    accumulator here); the official row sums wrap in their int16 lanes (asymmetric mode)."""
    w = np.where(np.random.default_rng(2).random((4, 3000)) < 0.5, 127, 126)
    assert (weight_row_sums(w) != w.sum(axis=1)).all()
    model = hybrid_fc_model((3, 3000), 4, weights=w, w_scale=1e-3)
    x = np.abs(np.random.default_rng(3).standard_normal((3, 3000))).astype(np.float32) + 1
    compare_with_official(model, {0: x}).assert_ok()
    compare_with_official(with_asymmetric(model, False), {0: x}).assert_ok()


# ---------------------------------------------------------------- BATCH_MATMUL, converted

BMM_CASES = {  # name -> (lhs shape, constant rhs shape, adj_x, adj_y)
    "plain": ((2, 5, 64), (2, 64, 40), False, False),
    "k_odd": ((2, 6, 67), (2, 67, 20), False, False),
    "adj_y": ((2, 5, 64), (2, 40, 64), False, True),
    "adj_x": ((2, 64, 5), (2, 64, 40), True, False),
    "rhs_batch_one": ((3, 5, 64), (1, 64, 40), False, False),  # the official folds lhs to [15, 64]
    "rank4": ((2, 3, 5, 64), (2, 3, 64, 40), False, False),  # two batch dims: official mis-indexes
    "rank4_rhs_rank3": ((2, 3, 5, 64), (3, 64, 40), False, False),
    "rank5": ((2, 1, 3, 4, 48), (1, 2, 1, 48, 30), False, False),
}


@functools.lru_cache(maxsize=None)
def bmm_model(case: str, asymmetric: bool = True) -> bytes:
    lhs_shape, rhs_shape, adj_x, adj_y = BMM_CASES[case]
    rhs = np.random.default_rng(7).standard_normal(rhs_shape).astype(np.float32)

    def fn(a):
        return tf.matmul(a, rhs, adjoint_a=adj_x, adjoint_b=adj_y)

    model = _convert_dynamic(fn, [spec(lhs_shape, tf.float32)])
    return model if asymmetric else with_asymmetric(model, False)


@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
@pytest.mark.parametrize("case", sorted(BMM_CASES))
def test_bmm_converted(case, asymmetric):
    model = bmm_model(case, asymmetric)
    assert op_names(model) == ["BATCH_MATMUL"]
    assert operand_types(model)[0] == ["float32", "int8"]
    assert_matches(model)


def test_bmm_batch_indexing_quirk_is_real():
    """With two non-broadcast batch dims the official kernel scales batch (b1, b2) by the factors of
    flat batch b1 + b2 (not 3 * b1 + b2). Batches that are the same matrix times 10**(3*b1 + b2)
    show it: relative to a float matmul, the (1, j) outputs come out 100 times too small."""
    model = bmm_model("rank4", asymmetric=False)
    base = np.random.default_rng(0).standard_normal((5, 64))
    factors = 10.0 ** (3 * np.arange(2)[:, None] + np.arange(3)[None, :])  # [2, 3]
    x = (base[None, None] * factors[:, :, None, None]).astype(np.float32)
    compare_with_official(model, {0: x}).assert_ok()
    interp = official_interpreter(model)
    w = interp.get_tensor(interp._get_ops_details()[0]["inputs"][1]).astype(np.float64)  # [2, 3, 64, 40]
    out = run_official(model, {0: x})[interp.get_output_details()[0]["index"]]
    ratio = np.abs(out).sum(axis=(2, 3)) / np.abs(x.astype(np.float64) @ w).sum(axis=(2, 3))
    ratio /= ratio[0, 0]
    assert np.allclose(ratio[0], 1, rtol=0.05)
    assert np.allclose(ratio[1], 0.01, rtol=0.05)


# ---------------------------------------------------------------- BATCH_MATMUL, hand-built

def bmm_options(adj_x=False, adj_y=False, asymmetric=True):
    def write(b):
        tflite.BatchMatMulOptionsStart(b)
        tflite.BatchMatMulOptionsAddAdjX(b, adj_x)
        tflite.BatchMatMulOptionsAddAdjY(b, adj_y)
        tflite.BatchMatMulOptionsAddAsymmetricQuantizeInputs(b, asymmetric)
        return tflite.BatchMatMulOptionsEnd(b)

    return write


def hybrid_bmm_model(lhs_shape, rhs_shape, out_shape, scale=0.02, axis=0, rhs_const=True, rhs=None,
                     seed=0, **options) -> bytes:
    rng = np.random.default_rng(seed)
    data = rng.integers(-128, 128, rhs_shape) if rhs is None else rhs
    tensors = [tensor("lhs", lhs_shape, np.float32),
               tensor("rhs", rhs_shape, np.int8, data if rhs_const else None, scale=scale, axis=axis),
               tensor("out", out_shape, np.float32)]
    return build_model("BATCH_MATMUL", tensors, [0, 1], [2], BMM_OPTIONS, bmm_options(**options))


BMM_HAND_BUILT = {
    "per_channel": dict(lhs_shape=(2, 3, 24), rhs_shape=(2, 24, 4), out_shape=(2, 3, 4),
                        scale=[0.01, 0.2, 0.003, 0.05], axis=2),
    "per_channel_adj_y_sym": dict(lhs_shape=(2, 3, 24), rhs_shape=(2, 4, 24), out_shape=(2, 3, 4),
                                  scale=[0.01, 0.2, 0.003, 0.05], axis=1, adj_y=True, asymmetric=False),
    "rank2": dict(lhs_shape=(5, 33), rhs_shape=(33, 7), out_shape=(5, 7)),
    "runtime_rhs": dict(lhs_shape=(2, 4, 19), rhs_shape=(2, 19, 6), out_shape=(2, 4, 6), rhs_const=False),
    "runtime_rhs_adj_x_adj_y": dict(lhs_shape=(3, 19, 4), rhs_shape=(1, 6, 19), out_shape=(3, 4, 6),
                                    rhs_const=False, adj_x=True, adj_y=True),
    "lhs_broadcast": dict(lhs_shape=(1, 4, 19), rhs_shape=(3, 19, 6), out_shape=(3, 4, 6)),
    "rank5_rhs_batches_sym": dict(lhs_shape=(2, 1, 3, 4, 16), rhs_shape=(2, 1, 3, 16, 5),
                                  out_shape=(2, 1, 3, 4, 5), asymmetric=False),
    "rank5_rhs_batches_sym_adj_x": dict(lhs_shape=(1, 2, 3, 16, 4), rhs_shape=(2, 1, 3, 16, 5),
                                        out_shape=(2, 2, 3, 4, 5), asymmetric=False, adj_x=True),
}


@pytest.mark.parametrize("case", sorted(BMM_HAND_BUILT))
def test_bmm_hand_built(case):
    assert_matches(hybrid_bmm_model(**BMM_HAND_BUILT[case]))


@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
@pytest.mark.parametrize("k", [2048, 3000])
def test_bmm_large_depth(k, asymmetric):
    """Weights near +-127: the int32 total and row_sum * zp pass 2**24, so the official float32
    ``total -= row_sum * offset`` rounds twice (no FMA) before truncating back to int32; at K = 3000
    the row sums also wrap in their int16 lanes."""
    rng = np.random.default_rng(0)
    w = rng.integers(100, 128, (1, k, 6))
    w[..., 1] *= -1
    model = hybrid_bmm_model((1, 4, k), (1, k, 6), (1, 4, 6), scale=0.01, rhs=w, asymmetric=asymmetric)
    for seed in range(3):
        x = (np.random.default_rng(seed).standard_normal((1, 4, k)) + 3.0 * (seed % 2)).astype(np.float32)
        compare_with_official(model, {0: x}).assert_ok()


def test_bmm_special_values():
    model = hybrid_bmm_model((2, 3, 21), (2, 21, 4), (2, 3, 4))
    x = np.random.default_rng(1).standard_normal((2, 3, 21)).astype(np.float32)
    x[0, 0, 2], x[0, 1, 17], x[1, 0, 0], x[1, 2, 9] = np.nan, np.inf, -np.inf, np.nan
    x[0, 2] = 0.0
    compare_with_official(model, {0: x}).assert_ok()
    compare_with_official(with_asymmetric(model, False), {0: x}).assert_ok()


# ---------------------------------------------------------------- refused

def test_refused_asymmetric_with_uncomputed_row_sums():
    """Asymmetric with a rank-5 rhs whose first batch dim is not 1: the official loop reads row sums
    beyond those ReductionSumVector computed (uninitialised memory); litelens refuses the model."""
    model = hybrid_bmm_model((2, 1, 3, 4, 16), (2, 1, 3, 16, 5), (2, 1, 3, 4, 5))
    with pytest.raises(ModelError, match="row sums"):
        litelens.Interpreter(model_content=model).allocate_tensors()


def test_refused_bmm_depth_zero():
    model = hybrid_bmm_model((2, 3, 0), (2, 0, 4), (2, 3, 4))
    with pytest.raises(ModelError, match="K = 0"):
        litelens.Interpreter(model_content=model).allocate_tensors()


@pytest.mark.parametrize("case", ["int16_weights", "per_channel_axis_1", "int8_output",
                                  "int32_bias"])
def test_fc_refused(case):
    w = np.ones((3, 8))
    t = [tensor("x", (2, 8), np.float32), tensor("w", (3, 8), np.int8, w, scale=0.1),
         tensor("bias", (3,), np.float32, np.ones(3)), tensor("out", (2, 3), np.float32)]
    if case == "int16_weights":
        t[1] = tensor("w", (3, 8), np.int16, w, scale=0.1)
    elif case == "per_channel_axis_1":
        t[1] = tensor("w", (3, 8), np.int8, w, scale=np.full(8, 0.1), axis=1)
    elif case == "int8_output":
        t[3] = tensor("out", (2, 3), np.int8, scale=0.1)
    else:
        t[2] = tensor("bias", (3,), np.int32, np.ones(3), scale=0.1)
    model = build_model("FULLY_CONNECTED", t, [0, 1, 2], [3], FC_OPTIONS, fc_options())
    with pytest.raises(ModelError, match="FULLY_CONNECTED"):
        litelens.Interpreter(model_content=model).allocate_tensors()
