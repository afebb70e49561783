"""int16 (int16x8) coverage against the official reference kernels (BUILTIN_REF), all bit-exact.

* TANH / LOGISTIC: every one of the 65,536 int16 codes, for input scales on both official paths —
  the power-of-two fast path (2**-12, and 2**-11 for TANH; multiplier 0 read as 3 << shift) and the
  general path with a multiplier (converter-made scales, odd hand-picked ones, scales so small the
  shift stops at 31 or the multiplier truncates to 0, so large that x * M overflows int32 or M itself
  does not fit) — and every Prepare refusal of the official kernels.
* The 256-entry sigmoid table is built from a formula (``lut.sigmoid_table_uint16``); it is checked
  against the table measured from the official interpreter (golden/int16_tables/, made by record.py),
  and the kernels against fingerprints of official outputs recorded there (these two run without
  TensorFlow or the official interpreter).
* SQUARED_DIFFERENCE int16: the official kernel has no int16 path (Eval fails: "SquaredDifference only
  supports FLOAT32 and INT32 now"); litelens refuses it too.
* MEAN over non-last axes (incl. reductions long enough to overflow an int16 * count in int32),
  CONCATENATION/TRANSPOSE/RESHAPE/STRIDED_SLICE/SLICE/GATHER/PAD, and the ops an int16x8 conversion of
  tanh / sigmoid / x * sigmoid(x) emits.
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

import litelens
from litelens import build
from litelens.kernels import lut
from litelens.ops.activations import Sigmoid16Params, sigmoid16_input_scaling

RECORDING = Path(__file__).resolve().parents[2] / "golden" / "int16_tables" / "sigmoid_table_uint16.json"
ALL_INT16 = np.arange(-32768, 32768, dtype=np.int16)
OUT_SCALE = 1 / 32768


def _recording() -> dict:
    return json.loads(RECORDING.read_text())


def unary_model(op: str, in_scale: float, out_scale: float = OUT_SCALE, in_zp: int = 0, out_zp: int = 0,
                shape=(65536,)) -> bytes:
    x = build.Tensor(shape, np.int16, "x", scale=in_scale, zero_point=in_zp)
    y = build.Tensor(shape, np.int16, "y", scale=out_scale, zero_point=out_zp)
    return build.single_op(op, [x], [y]).to_bytes()


def run_litelens(model: bytes, inputs: dict) -> litelens.Interpreter:
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    for index, value in inputs.items():
        interp.set_tensor(index, value)
    interp.invoke()
    return interp


def _official():
    pytest.importorskip("ai_edge_litert")
    from litelens.official import official_interpreter, run_official

    return official_interpreter, run_official


def _compare(model: bytes, inputs: dict | None = None, seed: int = 0):
    _official()
    from single_op import compare_with_official

    compare_with_official(model, inputs, seed=seed).assert_ok()


# ---------------------------------------------------------------- the sigmoid table (no TF needed)

def test_sigmoid_table_is_the_measured_one():
    table = lut.sigmoid_table_uint16()
    assert table.dtype == np.uint16 and table.shape == (256,)
    np.testing.assert_array_equal(table, np.array(_recording()["table"]))


def test_table_is_monotone_from_one_half_to_saturation():
    table = lut.sigmoid_table_uint16().astype(np.int64)
    assert table[0] == 32768 and table[-1] == 65535
    assert (np.diff(table) >= 0).all()


@pytest.mark.parametrize("run", _recording()["outputs_sha256"]["runs"],
                         ids=lambda r: f"{r['op']}-{r['input_scale']:.6g}")
def test_kernels_reproduce_recorded_official_outputs(run):
    model = unary_model(run["op"], run["input_scale"], run["output_scale"])
    got = run_litelens(model, {0: ALL_INT16}).get_tensor(1)
    assert hashlib.sha256(got.astype("<i2").tobytes()).hexdigest() == run["sha256"]


# ---------------------------------------------------------------- input scaling (Prepare)

@pytest.mark.parametrize("scale, pot_shifts, expected", [
    (2.0**-12, (0, 1), (0, 0)),  # TANH power of two: v = 3x
    (2.0**-11, (0, 1), (0, 1)),  # TANH power of two: v = 6x
    (2.0**-11, (0,), (24576, 12)),  # LOGISTIC has no shift-1 fast path: 6 * 2**12
    (2.0**-13, (0, 1), (24576, 14)),  # a power of two outside the fast path
    (2.0**-12 * (1 + 4e-4), (0,), (0, 0)),  # within CheckedLog2's 1e-3 of log2: the fast path
    (1 / (3 * 4096), (0,), (16384, 14)),  # v = x exactly
    (1e-10, (0,), (2638, 31)),  # the doubling loop stops at shift 31 (M = 1.2288e-6 * 2**31)
    (3e-14, (0,), (0, 31)),  # the multiplier truncates to 0: the kernel then takes 3 << 31
    (2e5, (0,), (lut.INT32_MIN, 0)),  # 2e5 * 12288 does not fit int32: cvttsd2si gives INT32_MIN
])
def test_input_scaling(scale, pot_shifts, expected):
    assert sigmoid16_input_scaling(float(np.float32(scale)), pot_shifts) == expected


# ---------------------------------------------------------------- TANH / LOGISTIC vs official, all codes

# (input scale, fast path for TANH, fast path for LOGISTIC)
SCALES = [
    (2.0**-12, True, True), (2.0**-11, True, False), (2.0**-13, False, False), (2.0**-10, False, False),
    (2.0**-12 * (1 + 4e-4), True, True), (2.0**-12 * (1 + 2e-3), False, False),
    (1 / (3 * 4096), False, False), (2 / (3 * 4096), False, False), (7.77e-5, False, False), (1e-4, False, False),
    (3.1e-4, False, False), (1e-3, False, False), (0.01, False, False), (0.1, False, False),
    (1.0, False, False), (1.3333, False, False), (1.34, False, False), (10.0, False, False),
    (1000.0, False, False), (2e5, False, False), (1e6, False, False),
    (1e-8, False, False), (1e-10, False, False), (3e-14, False, False), (1e-15, False, False),
]


@pytest.mark.parametrize("op", ["TANH", "LOGISTIC"])
@pytest.mark.parametrize("scale, tanh_pot, logistic_pot", SCALES,
                         ids=lambda v: f"{v:.6g}" if isinstance(v, float) else None)
def test_all_codes(op, scale, tanh_pot, logistic_pot):
    model = unary_model(op, scale)
    params = run_litelens(model, {0: ALL_INT16}).op_params(0)
    assert isinstance(params, Sigmoid16Params)
    fast_path = params.input_multiplier == 0 and params.input_left_shift <= 1  # (0, 31): a truncated multiplier
    assert fast_path == (tanh_pot if op == "TANH" else logistic_pot)
    _compare(model, {0: ALL_INT16})


@pytest.mark.parametrize("out_scale", [2.0**-15 * (1 + 1e-4), 1 / 32767])
def test_tanh_output_scale_near_a_power_of_two(out_scale):
    """TANH only asks CheckedLog2(output scale) == -15, so these run (as if the scale were 2**-15)."""
    _compare(unary_model("TANH", 3.1e-4, out_scale), {0: ALL_INT16})


@pytest.mark.parametrize("op", ["TANH", "LOGISTIC"])
def test_any_shape(op):
    model = unary_model(op, 4.2e-4, shape=(2, 128, 256))
    _compare(model, {0: ALL_INT16.reshape(2, 128, 256)})


REFUSED = {  # (op, in scale, in zp, out scale, out zp)
    "tanh_input_zero_point": ("TANH", 1e-3, 3, OUT_SCALE, 0),
    "tanh_output_zero_point": ("TANH", 1e-3, 0, OUT_SCALE, 5),
    "tanh_output_scale_2**-14": ("TANH", 1e-3, 0, 2.0**-14, 0),
    "tanh_output_scale_off_by_1%": ("TANH", 1e-3, 0, OUT_SCALE * 1.01, 0),
    "logistic_input_zero_point": ("LOGISTIC", 1e-3, 3, OUT_SCALE, 0),
    "logistic_output_zero_point": ("LOGISTIC", 1e-3, 0, OUT_SCALE, 5),
    "logistic_output_scale_2**-14": ("LOGISTIC", 1e-3, 0, 2.0**-14, 0),
    "logistic_output_scale_not_exact": ("LOGISTIC", 1e-3, 0, OUT_SCALE * (1 + 1e-4), 0),
    "logistic_output_scale_1/32767": ("LOGISTIC", 1e-3, 0, 1 / 32767, 0),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_like_official(case):
    op, in_s, in_zp, out_s, out_zp = REFUSED[case]
    model = unary_model(op, in_s, out_s, in_zp, out_zp, shape=(8,))
    official_interpreter, _ = _official()
    with pytest.raises((RuntimeError, ValueError)):
        official_interpreter(model)
    with pytest.raises(litelens.ModelError, match=f"int16 {op}"):
        litelens.Interpreter(model_content=model).allocate_tensors()


# ---------------------------------------------------------------- converter-made int16x8 models

def _tf():
    return pytest.importorskip("tensorflow")


def _convert(fn, shapes, calibration_scale: float = 2.0) -> bytes:
    tf = _tf()
    _official()
    from single_op import convert_fn

    return convert_fn(fn, [tf.TensorSpec(s, tf.float32) for s in shapes], flavor="int16x8",
                      calibration_scale=calibration_scale)


def _op_names(model: bytes) -> list[str]:
    return [op["op_name"] for op in litelens.Interpreter(model_content=model)._get_ops_details()]


@pytest.mark.parametrize("calibration_scale", [0.5, 3.0, 20.0])
@pytest.mark.parametrize("name", ["tanh", "sigmoid"])
def test_converted_all_codes(name, calibration_scale):
    tf = _tf()
    fn = {"tanh": tf.math.tanh, "sigmoid": tf.math.sigmoid}[name]
    model = _convert(fn, [[65536]], calibration_scale)
    assert _op_names(model) == [{"tanh": "TANH", "sigmoid": "LOGISTIC"}[name]]
    _compare(model, {0: ALL_INT16})


def test_converted_swish():
    """x * sigmoid(x): LOGISTIC then an int16 MUL of its output with its input."""
    tf = _tf()
    model = _convert(lambda x: x * tf.math.sigmoid(x), [[4, 4096]])
    assert _op_names(model) == ["LOGISTIC", "MUL"]
    _compare(model, {0: ALL_INT16[:16384].reshape(4, 4096)})
    _compare(model, {0: ALL_INT16[16384:32768].reshape(4, 4096)})


def test_l2_normalize_is_not_convertible_to_int16x8():
    """Recorded so a converter that starts accepting it is noticed: then add the ops it emits here."""
    tf = _tf()
    with pytest.raises(Exception, match="16x8"):
        _convert(lambda x: tf.math.l2_normalize(x, axis=-1), [[4, 16]])


# ---------------------------------------------------------------- SQUARED_DIFFERENCE int16: refused by both

def _expect_squared_difference_refused(model: bytes, inputs: dict) -> None:
    official_interpreter, _ = _official()
    interp = official_interpreter(model)  # Prepare accepts int16 ...
    for index, value in inputs.items():
        interp.set_tensor(index, value)
    with pytest.raises(RuntimeError, match="SquaredDifference only supports"):
        interp.invoke()  # ... Eval does not
    with pytest.raises(litelens.ModelError, match="int16 SQUARED_DIFFERENCE"):
        litelens.Interpreter(model_content=model).allocate_tensors()


def test_squared_difference_int16_refused_like_official():
    x1 = build.Tensor([4, 8], np.int16, "x1", scale=1e-3, zero_point=0)
    x2 = build.Tensor([8], np.int16, "x2", scale=3e-4, zero_point=0)
    y = build.Tensor([4, 8], np.int16, "y", scale=1e-4, zero_point=0)
    model = build.single_op("SQUARED_DIFFERENCE", [x1, x2], [y]).to_bytes()
    rng = np.random.default_rng(0)
    _expect_squared_difference_refused(model, {0: rng.integers(-32768, 32768, (4, 8)).astype(np.int16),
                                               1: rng.integers(-32768, 32768, 8).astype(np.int16)})


def test_converted_squared_difference_int16_refused_like_official():
    tf = _tf()
    model = _convert(tf.math.squared_difference, [[4, 16], [4, 16]])
    assert _op_names(model) == ["SQUARED_DIFFERENCE"]
    _expect_squared_difference_refused(model, {0: np.zeros((4, 16), np.int16), 1: np.ones((4, 16), np.int16)})


# ---------------------------------------------------------------- MEAN over any axes

def mean_model(shape, axes, keep_dims: bool, in_scale: float, out_scale: float) -> bytes:
    reduced = {a % len(shape) for a in axes}
    out_shape = [1 if i in reduced else d for i, d in enumerate(shape) if keep_dims or i not in reduced]
    x = build.Tensor(shape, np.int16, "x", scale=in_scale, zero_point=0)
    y = build.Tensor(out_shape, np.int16, "y", scale=out_scale, zero_point=0)
    return build.single_op("MEAN", [x, build.constant(np.array(axes, np.int32), name="axes")], [y],
                           {"keep_dims": keep_dims}).to_bytes()


@pytest.mark.parametrize("shape, axes, keep_dims, in_scale, out_scale", [
    ((3, 5, 7, 9), [0, 2], False, 1e-3, 3e-4),
    ((3, 5, 7, 9), [1, 3], True, 1e-3, 7e-3),
    ((3, 5, 7, 9), [-4, -1], True, 2e-3, 1e-3),
    ((3, 5, 7, 9), [0, 1, 2], False, 1e-3, 1e-4),
    ((3, 5, 7, 9), [0, 1, 2, 3], False, 1e-3, 1e-3),
    ((4, 6, 8), [1, 1], False, 1e-3, 1e-3),  # a repeated axis counts once
    ((4, 6, 8), [0], False, 1e-3, 1.0),
    ((4, 6, 8), [0], True, 1.0, 1e-6),
])
def test_mean(shape, axes, keep_dims, in_scale, out_scale):
    rng = np.random.default_rng(len(shape) + len(axes))
    for _ in range(2):
        _compare(mean_model(shape, axes, keep_dims, in_scale, out_scale),
                 {0: rng.integers(-32768, 32768, shape).astype(np.int16)})


@pytest.mark.parametrize("code", [32767, -32768])
@pytest.mark.parametrize("shape, axes", [((70000, 2), [0]), ((2, 70000), [1]), ((140000,), [0])])
def test_mean_long_reductions_at_the_extremes(shape, axes, code):
    """70000 * 32767 does not fit int32: the sums still match."""
    _compare(mean_model(shape, axes, False, 1e-3, 1e-3), {0: np.full(shape, code, np.int16)})


@pytest.mark.parametrize("axis", [0, 1, [0, 2], [1, 2]])
def test_converted_mean(axis):
    tf = _tf()
    model = _convert(lambda x: tf.reduce_mean(x, axis=axis, keepdims=True), [[4, 6, 8]])
    assert _op_names(model) == ["MEAN"]
    for seed in range(3):
        _compare(model, seed=seed)


# ---------------------------------------------------------------- copy ops

def _copy_fns():
    tf = _tf()
    return {
        "TRANSPOSE": (lambda x: tf.transpose(x, [2, 0, 1]), [[2, 3, 4]]),
        "RESHAPE": (lambda x: tf.reshape(x, [6, 4]), [[2, 3, 4]]),
        "STRIDED_SLICE": (lambda x: x[:, 1:3, ::2], [[2, 3, 4]]),
        "STRIDED_SLICE shrink": (lambda x: x[:, 0, :], [[2, 3, 4]]),
        "STRIDED_SLICE negative stride": (lambda x: x[::-1, :, 1:], [[2, 3, 4]]),
        "SLICE": (lambda x: tf.slice(x, [0, 1, 0], [2, 2, 3]), [[2, 3, 4]]),
        "GATHER": (lambda x: tf.gather(x, [2, 0, 1, 2], axis=1), [[2, 3, 4]]),
        "PAD": (lambda x: tf.pad(x, [[0, 0], [1, 2]]), [[2, 3]]),
        "CONCATENATION": (lambda a, b: tf.concat([a, b], axis=0), [[2, 3], [4, 3]]),
        "CONCATENATION rescaled": (lambda a, b: tf.concat([a, b * 3.0], axis=1), [[2, 3, 4], [2, 5, 4]]),
    }


@pytest.mark.parametrize("name", ["TRANSPOSE", "RESHAPE", "STRIDED_SLICE", "STRIDED_SLICE shrink",
                                  "STRIDED_SLICE negative stride", "SLICE", "GATHER", "PAD", "CONCATENATION",
                                  "CONCATENATION rescaled"])
def test_converted_copy_ops(name):
    fn, shapes = _copy_fns()[name]
    model = _convert(fn, shapes)
    assert name.split()[0] in _op_names(model)
    for seed in range(3):
        _compare(model, seed=seed)


def concat_model(scales, zero_points) -> bytes:
    a = build.Tensor([2, 3], np.int16, "a", scale=scales[0], zero_point=zero_points[0])
    b = build.Tensor([2, 4], np.int16, "b", scale=scales[1], zero_point=zero_points[1])
    y = build.Tensor([2, 7], np.int16, "y", scale=scales[2], zero_point=zero_points[2])
    return build.single_op("CONCATENATION", [a, b], [y], {"axis": 1}).to_bytes()


@pytest.mark.parametrize("scales", [(1e-3, 2e-3, 1e-3), (1e-3, 1e-3, 2e-3)])
def test_concatenation_int16_scales_are_ignored(scales):
    _compare(concat_model(scales, (0, 0, 0)))


def test_concatenation_int16_nonzero_zero_point_refused_like_official():
    model = concat_model((1e-3, 1e-3, 1e-3), (1, 1, 1))
    official_interpreter, _ = _official()
    with pytest.raises((RuntimeError, ValueError)):
        official_interpreter(model)
    with pytest.raises(litelens.ModelError):
        litelens.Interpreter(model_content=model).allocate_tensors()
