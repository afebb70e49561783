"""Elementwise, activation and data-movement ops under the optimized and xnnpack flavors, against the
official interpreter's BUILTIN_WITHOUT_DEFAULT_DELEGATES (optimized) and AUTO (xnnpack) runs.

Integer outputs must be bit-exact. Float outputs: within 1e-5 * max|official| (FLOAT_PATH_TOLERANCE of
litelens.diff.compare: XNNPACK's float kernels use their own polynomial approximations). Whether the
delegate took an op is read from the official AUTO interpreter's execution plan (a DELEGATE node).
"""
import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

import litelens  # noqa: E402
from litelens import build  # noqa: E402
from litelens.official import delegated_by_xnnpack, run_official  # noqa: E402
from flavor_helpers import T, run_litelens  # noqa: E402

RESOLVER = {"optimized": "optimized", "xnnpack": "xnnpack"}


def assert_matches(content: bytes, inputs: dict, flavor: str, expect_path: str | None = None):
    """Every output of litelens(flavor) equals the official run (ints exactly, floats within 1e-5 of max)."""
    theirs = run_official(content, inputs, flavor)
    it = run_litelens(content, inputs, flavor)
    if expect_path is not None:
        assert it.kernel_paths()[0][0] == expect_path, it.kernel_paths()
    for d in it.get_output_details():
        ours, ref = it.get_tensor(d["index"]), theirs[d["index"]]
        if ref.dtype.kind == "f":
            finite = np.isfinite(ref)
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
            np.testing.assert_array_equal(ours[~finite & ~np.isnan(ref)], ref[~finite & ~np.isnan(ref)])
            tol = 1e-5 * (np.abs(ref[finite]).max() if finite.any() else 0.0)
            assert np.all(np.abs(ours[finite].astype(np.float64) - ref[finite]) <= tol)
        else:
            bad = ours != ref
            assert not bad.any(), (f"{int(bad.sum())}/{bad.size} differ; first at {np.argwhere(bad)[0].tolist()}: "
                                   f"ours {ours[bad][0]} official {ref[bad][0]}")
    return it


def all_pairs(dtype=np.int8):
    info = np.iinfo(dtype)
    a = np.arange(info.min, info.max + 1).astype(dtype)
    return a.reshape(-1, 1), a.reshape(1, -1)


def binary_model(op, s1, z1, s2, z2, so, zo, shape1, shape2, out_shape, dtype="int8", act="NONE"):
    a, b = T(shape1, dtype, "a", s1, z1), T(shape2, dtype, "b", s2, z2)
    out = T(out_shape, dtype, "out", so, zo)
    return build.single_op(op, [a, b], [out], {"fused_activation_function": act}).to_bytes()


def delegated(content: bytes, inputs: dict | None = None) -> bool:
    """Did the official XNNPACK delegate take the (single-op) model's op? The official AUTO
    interpreter's execution plan then holds a DELEGATE node next to the replaced op."""
    try:
        return delegated_by_xnnpack(content)
    except RuntimeError:  # a builtin kernel refused the op at Prepare: it was not delegated
        return False


# (s1, z1, s2, z2, s_out, z_out): ordinary, symmetric, very different scales, large output range.
SCALES = [(0.05, 3, 0.03, -7, 0.08, 1), (0.01, 0, 0.01, 0, 0.02, 0), (0.2, -100, 0.003, 50, 0.05, -20),
          (0.5, 10, 0.5, 10, 0.002, 0), (0.0123, 127, 0.0456, -128, 0.0077, -3)]
EXTREME_SCALES = {  # at the delegate's limits: shift 30 / 12 for ADD, tiny / huge product ratio for MUL
    "ADD": [(0.001, 3, 0.00098, -4, 1.0, 0), (0.5, 0, 0.25, 7, 0.5 / 255, -1)],
    "SUB": [(0.001, 3, 0.00098, -4, 1.0, 0), (0.5, 0, 0.25, 7, 0.5 / 255, -1)],
    "MUL": [(0.01, 3, 0.0016, -4, 1.0, 0), (0.9, 0, 0.9, 7, 0.9 * 0.9 / 255.5, -1)],
}


@pytest.mark.parametrize("flavor", ["optimized", "xnnpack"])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6", "RELU_N1_TO_1"])
@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_8bit_binary_all_input_pairs(flavor, op, act, dtype):
    x1, x2 = all_pairs(np.dtype(dtype))
    for s1, z1, s2, z2, so, zo in SCALES:
        if dtype == "uint8":
            z1, z2, zo = (min(max(z + 128, 0), 255) for z in (z1, z2, zo))
        content = binary_model(op, s1, z1, s2, z2, so, zo, x1.shape, x2.shape, (256, 256), dtype=dtype, act=act)
        assert_matches(content, {0: x1, 1: x2}, flavor)


@pytest.mark.parametrize("shapes", [
    ((3, 7, 21), (3, 7, 21)),          # same shape: 16-lane blocks, scalar tail
    ((2, 40), (2, 40)),                # same shape, a multiple of 16
    ((2, 1, 35), (2, 5, 35)),          # five-fold with y4 = 35 > 1
    ((4, 1), (4, 13)),                 # y4 = 1: 8-lane scalar broadcast, scalar tail
    ((13,), (1,)),                     # scalar second input
    ((2, 3, 1, 5), (1, 3, 4, 5)),      # y4 > 1 with y1 > 1
    ((2, 1, 3), (1, 4, 1)),            # generic broadcast: reference loop
])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_optimized_8bit_lane_modes(shapes, op, dtype):
    """Lane modes of the optimized NEON blocks (int8 ADD 16/8 lanes, int8 MUL 16/16, uint8 8/8) and the
    XNNPACK kernels, on broadcasts that hit every loop and tail."""
    rng = np.random.default_rng(1)
    s1, s2 = shapes
    out_shape = np.broadcast_shapes(s1, s2)
    shift = 128 if dtype == "uint8" else 0
    for scales in SCALES + EXTREME_SCALES[op]:
        z = [min(max(zp + shift, 0), 255) if dtype == "uint8" else zp for zp in scales[1::2]]
        content = binary_model(op, scales[0], z[0], scales[2], z[1], scales[4], z[2], s1, s2, out_shape, dtype=dtype)
        info = np.iinfo(dtype)
        inputs = {0: rng.integers(info.min, info.max + 1, s1).astype(dtype),
                  1: rng.integers(info.min, info.max + 1, s2).astype(dtype)}
        assert_matches(content, inputs, "optimized")
        assert_matches(content, inputs, "xnnpack")


@pytest.mark.parametrize("op,s_out,takes", [
    # ADD/SUB: input scale / output scale in [1/1024, 256)
    ("ADD", 0.5 / 256, False), ("ADD", np.float32(0.5) / np.float32(255.99), True),
    ("ADD", 0.5 * 1024, True), ("ADD", 0.5 * 1025, False), ("SUB", 0.5 / 256, False), ("SUB", 0.5 * 1024, True),
    # MUL: s1 * s2 / s_out in [1/65536, 256)
    ("MUL", 0.25 / 256, False), ("MUL", 0.25 / 255.9, True), ("MUL", 0.25 * 65536, True),
    ("MUL", 0.25 * 65600, False),
])
def test_xnnpack_scale_limits(op, s_out, takes):
    x1 = np.arange(-128, 128, dtype=np.int8).reshape(16, 16)
    content = binary_model(op, 0.5, 0, 0.5, 0, float(s_out), 0, (16, 16), (16, 16), (16, 16))
    inputs = {0: x1, 1: x1.T.copy()}
    assert delegated(content, inputs) == takes
    it = assert_matches(content, inputs, "xnnpack", "xnnpack" if takes else "optimized")
    assert (it.kernel_paths()[0][1] is None) == takes


def test_xnnpack_rejects_tanh_activation_and_int16():
    x1 = np.arange(-128, 128, dtype=np.int8).reshape(16, 16)
    content = binary_model("ADD", 0.05, 0, 0.05, 0, 0.1, 0, (16, 16), (16, 16), (16, 16), act="TANH")
    assert not delegated(content, {0: x1, 1: x1})
    it = run_litelens(content, {0: x1, 1: x1}, "xnnpack")
    assert "activation" in it.kernel_paths()[0][1]
    x16 = np.arange(-128, 128, dtype=np.int16).reshape(16, 16) * 100
    content = binary_model("ADD", 0.05, 0, 0.05, 0, 0.1, 0, (16, 16), (16, 16), (16, 16), dtype="int16")
    assert not delegated(content, {0: x16, 1: x16})
    assert_matches(content, {0: x16, 1: x16}, "xnnpack", "optimized")


@pytest.mark.parametrize("flavor", ["optimized", "xnnpack"])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_float_binary_overflow(flavor, op):
    big = np.float32(3e38)
    x1 = np.array([[big, -big, 1.0, np.inf, np.nan, 0.0]], np.float32)
    x2 = np.array([[big, big, -1.0, 1.0, 1.0, -0.0]], np.float32)
    content = build.single_op(op, [T((1, 6), "float32", "a"), T((1, 6), "float32", "b")],
                              [T((1, 6), "float32", "out")], {"fused_activation_function": "NONE"}).to_bytes()
    assert_matches(content, {0: x1, 1: x2}, flavor)


def unary_model(op, dtype, x_shape, si=None, zi=0, so=None, zo=0, options=None):
    return build.single_op(op, [T(x_shape, dtype, "x", si, zi)], [T(x_shape, dtype, "y", so, zo)], options).to_bytes()


@pytest.mark.parametrize("op", ["TANH", "LOGISTIC"])
@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_xnnpack_8bit_tanh_logistic_tables(op, dtype):
    """Every input code for 20 random input quantizations (the XNNPACK table rounds half to even and
    computes the sigmoid in double; one of these scales hits a code where TFLite's table differs)."""
    rng = np.random.default_rng(5 if op == "LOGISTIC" and dtype == "int8" else 7)
    info = np.iinfo(dtype)
    x = np.arange(info.min, info.max + 1).astype(dtype).reshape(1, -1)
    offset = 128 if dtype == "uint8" else 0
    for k in range(20):
        si = float(np.exp(rng.uniform(np.log(1e-3), np.log(1.0))))
        zi = int(rng.integers(-128, 128)) + offset
        if op == "TANH":
            so, zo = (1 / 128, offset)
            if k % 2 == 0:
                so, zo = float(np.exp(rng.uniform(-5.5, -3.5))), offset + int(rng.integers(-20, 20))
        else:
            so, zo = 1 / 256, (-128 if dtype == "int8" else 0)
        content = unary_model(op, dtype, x.shape, si, zi, so, zo)
        assert_matches(content, {0: x}, "xnnpack", "xnnpack")
        assert_matches(content, {0: x}, "optimized", "optimized")
    assert delegated(content)


def test_logistic_xnnpack_table_tie():
    """x = 31 * 0.028116066 gives sigmoid * 256 = 180.5...: TFLite rounds to 53, XNNPACK to 52."""
    x = np.arange(-128, 128, dtype=np.int8).reshape(1, -1)
    content = unary_model("LOGISTIC", "int8", x.shape, 0.028116066028565014, -52, 1 / 256, -128)
    theirs = run_official(content, {0: x}, "xnnpack")[1]
    assert theirs[0, 107] == 52
    assert_matches(content, {0: x}, "xnnpack", "xnnpack")
    assert run_official(content, {0: x}, "optimized")[1][0, 107] == 53


def test_xnnpack_rsqrt_float_specials():
    """XNNPACK's rsqrt14 + one Newton step under flush-to-zero: 0 and subnormals give NaN, +inf gives 0,
    inputs above ~8.5e37 give 1.5 * rsqrt (y0**2 flushes to zero)."""
    x = np.array([[0.0, -0.0, 1e-40, 1e-30, -1.0, np.inf, -np.inf, np.nan, 4.0, 1e30, 3.4e38, 2.0]], np.float32)
    content = unary_model("RSQRT", "float32", x.shape)
    theirs = run_official(content, {0: x}, "xnnpack")[1]
    assert np.isnan(theirs[0, :3]).all() and theirs[0, 5] == 0.0
    assert_matches(content, {0: x}, "xnnpack", "xnnpack")
    assert_matches(content, {0: x}, "optimized", "optimized")


@pytest.mark.parametrize("op,dtype,si,zi,so,zo,takes", [
    ("GELU", "int8", 0.05, 3, 0.04, -100, False), ("GELU", "float32", None, 0, None, 0, True),
    ("RSQRT", "int8", 0.05, -128, 0.02, -128, False), ("RSQRT", "int16", 0.001, 0, 0.001, 0, False),
    ("TANH", "int16", 0.0007, 0, 1 / 32768, 0, False), ("LOGISTIC", "int16", 0.0007, 0, 1 / 32768, 0, False),
    ("TANH", "float32", None, 0, None, 0, True), ("LOGISTIC", "float32", None, 0, None, 0, True),
])
def test_xnnpack_unary_delegation(op, dtype, si, zi, so, zo, takes):
    if dtype == "float32":
        x = np.linspace(0.01 if op == "RSQRT" else -10, 10, 2001).astype(np.float32).reshape(1, -1)
    else:
        info = np.iinfo(dtype)
        x = np.arange(max(info.min, zi), min(info.max, zi + 4000) + 1).astype(dtype).reshape(1, -1)
    content = unary_model(op, dtype, x.shape, si, zi, so, zo)
    assert delegated(content) == takes
    assert_matches(content, {0: x}, "xnnpack", "xnnpack" if takes else "optimized")
    assert_matches(content, {0: x}, "optimized", "optimized")


def _paths_agree(content, inputs, expect_takes: bool | None = None):
    """litelens' xnnpack_rejects agrees with the official delegate, and both flavors match."""
    takes = delegated(content)
    if expect_takes is not None:
        assert takes == expect_takes
    it = assert_matches(content, inputs, "xnnpack", "xnnpack" if takes else "optimized")
    assert_matches(content, inputs, "optimized", "optimized")
    return it


@pytest.mark.parametrize("op", ["DIV", "MAXIMUM", "MINIMUM", "SQUARED_DIFFERENCE"])
@pytest.mark.parametrize("dtype", ["float32", "int8"])
def test_float_only_binary_ops(op, dtype):
    rng = np.random.default_rng(3)
    if dtype == "float32":
        x1 = np.concatenate([rng.standard_normal(60), [0.0, 1.0, -1.0, 3e38]]).astype(np.float32).reshape(4, 16)
        x2 = np.concatenate([rng.standard_normal(60), [0.0, 0.0, -0.0, 1e-3]]).astype(np.float32).reshape(4, 16)
        q = (None, 0, None, 0, None, 0)
    else:
        x1 = rng.integers(-128, 128, (4, 16)).astype(np.int8)
        x2 = rng.integers(-128, 128, (4, 16)).astype(np.int8)
        x2[x2 == 5] = 6  # DIV: the divisor's zero point means 0
        q = (0.05, 0, 0.04, 5, 0.1, -3) if op != "MAXIMUM" and op != "MINIMUM" else (0.05, 0, 0.05, 0, 0.05, 0)
    options = {"fused_activation_function": "NONE"} if op == "DIV" else None
    a, b = T(x1.shape, dtype, "a", q[0], q[1]), T(x2.shape, dtype, "b", q[2], q[3])
    content = build.single_op(op, [a, b], [T(x1.shape, dtype, "out", q[4], q[5])], options).to_bytes()
    with np.errstate(all="ignore"):
        _paths_agree(content, {0: x1, 1: x2}, dtype == "float32")


MOVEMENT = {
    "TRANSPOSE": lambda x: ([build.constant(np.array([2, 0, 1], np.int32), name="perm")], (5, 2, 3), None),
    # the delegate reads an int64 perm as int32 words: [1, 2, 0] -> [1, 0, 2]
    "TRANSPOSE_i64": lambda x: ([build.constant(np.array([1, 2, 0], np.int64), name="perm")], (3, 5, 2), None),
    "PAD": lambda x: ([build.constant(np.array([[1, 0], [0, 2], [3, 1]], np.int32), name="p")], (3, 5, 9), None),
    "PADV2": lambda x: ([build.constant(np.array([[1, 0], [0, 2], [3, 1]], np.int32), name="p")], (3, 5, 9), None),
    "RESHAPE": lambda x: ([build.constant(np.array([6, 5], np.int32), name="s")], (6, 5), None),
    "RESHAPE_opts": lambda x: ([], (3, 10), {"new_shape": [3, 10]}),
    "SQUEEZE": lambda x: ([], (2, 3, 5), {"squeeze_dims": []}),
    "EXPAND_DIMS": lambda x: ([build.constant(np.array([1], np.int32), name="axis")], (2, 1, 3, 5), None),
    "SLICE": lambda x: ([build.constant(np.array([0, 1, 2], np.int32), name="b"),
                         build.constant(np.array([2, 2, 3], np.int32), name="s")], (2, 2, 3), None),
    "SLICE_minus1": lambda x: ([build.constant(np.array([1, 1, 0], np.int32), name="b"),
                                build.constant(np.array([-1, 2, -1], np.int32), name="s")], (1, 2, 5), None),
    "STRIDED_SLICE": lambda x: ([build.constant(np.array([0, 1, -4], np.int32), name="b"),
                                 build.constant(np.array([2, 3, -1], np.int32), name="e"),
                                 build.constant(np.array([1, 1, 1], np.int32), name="st")], (2, 2, 3),
                                {"begin_mask": 1}),
    "STRIDED_SLICE_step": lambda x: ([build.constant(np.array([0, 0, 0], np.int32), name="b"),
                                      build.constant(np.array([2, 3, 5], np.int32), name="e"),
                                      build.constant(np.array([1, 2, 2], np.int32), name="st")], (2, 2, 3), None),
    "STRIDED_SLICE_shrink": lambda x: ([build.constant(np.array([1, 0, 0], np.int32), name="b"),
                                        build.constant(np.array([2, 3, 5], np.int32), name="e"),
                                        build.constant(np.array([1, 1, 1], np.int32), name="st")], (3, 5),
                                       {"shrink_axis_mask": 1}),
}
MOVEMENT_TAKES = {"TRANSPOSE": True, "TRANSPOSE_i64": None, "PAD": True, "PADV2": False, "RESHAPE": True,
                  "RESHAPE_opts": True, "SQUEEZE": False, "EXPAND_DIMS": False, "SLICE": True, "SLICE_minus1": False,
                  "STRIDED_SLICE": True, "STRIDED_SLICE_step": False, "STRIDED_SLICE_shrink": False}


@pytest.mark.parametrize("case", sorted(MOVEMENT))
@pytest.mark.parametrize("dtype", ["float32", "int8", "uint8", "int16", "int32"])
def test_data_movement(case, dtype):
    op = case.split("_")[0] if not case.startswith("STRIDED") else "STRIDED_SLICE"
    op = "EXPAND_DIMS" if case == "EXPAND_DIMS" else op
    x = (np.arange(30) - 15).astype(dtype).reshape(2, 3, 5)
    q = (0.1, 3) if dtype in ("int8", "uint8", "int16") else (None, 0)
    if dtype == "int16":
        q = (0.1, 0)
    extra, out_shape, options = MOVEMENT[case](x)
    inputs = [T(x.shape, dtype, "x", *q)] + extra
    content = build.single_op(op, inputs, [T(out_shape, dtype, "y", *q)], options).to_bytes()
    expect = MOVEMENT_TAKES[case] and dtype in ("float32", "int8", "uint8")
    _paths_agree(content, {0: x}, expect if MOVEMENT_TAKES[case] is not None else None)


@pytest.mark.parametrize("op", ["SLICE", "STRIDED_SLICE"])
def test_xnnpack_rank0_slice_fails_like_the_official_interpreter(op):
    x = np.array(1.5, np.float32)
    names = ("b", "s", "st") if op == "STRIDED_SLICE" else ("b", "s")
    extra = [build.constant(np.zeros(0, np.int32), name=n) for n in names]
    content = build.single_op(op, [T((), "float32", "x")] + extra, [T((), "float32", "y")]).to_bytes()
    with pytest.raises(Exception, match="reshape"):
        run_official(content, {0: x}, "xnnpack")
    with pytest.raises(litelens.ModelError, match="XNNPACK"):
        run_litelens(content, {0: x}, "xnnpack")
    assert_matches(content, {0: x}, "optimized")


@pytest.mark.parametrize("act", ["NONE", "RELU", "RELU6"])
@pytest.mark.parametrize("n_inputs", [2, 5, 6])
def test_concatenation(act, n_inputs):
    xs = [(np.arange(6) - 3 + k).astype(np.float32).reshape(2, 3) * 2 for k in range(n_inputs)]
    content = build.single_op("CONCATENATION", [T((2, 3), "float32", f"x{k}") for k in range(n_inputs)],
                              [T((2, 3 * n_inputs), "float32", "y")],
                              {"axis": -1, "fused_activation_function": act}).to_bytes()
    inputs = dict(enumerate(xs))
    takes = delegated(content)
    assert takes == (n_inputs <= 5)
    if not takes and act != "NONE":  # the builtin kernel refuses a fused activation; litelens too
        with pytest.raises(RuntimeError, match="activation"):
            run_official(content, inputs, "xnnpack")
        with pytest.raises(Exception, match="activation"):
            run_litelens(content, inputs, "xnnpack")
        return
    it = assert_matches(content, inputs, "xnnpack", "xnnpack" if takes else "optimized")
    if act != "NONE" and takes:  # the delegate ignores the fused activation
        assert (it.get_tensor(it.get_output_details()[0]["index"]) < 0).any()


@pytest.mark.parametrize("approximate", [False, True])
def test_xnnpack_float_gelu_is_bit_exact(approximate):
    """XNNPACK's rational 12/10 GELU interpolants (kernels/xnnpack_gelu.py) match bit for bit here."""
    x = np.concatenate([np.linspace(-8, 8, 4001), [-0.0, 1e-30, np.inf, -np.inf]]).astype(np.float32).reshape(1, -1)
    content = build.single_op("GELU", [T(x.shape, "float32", "x")], [T(x.shape, "float32", "y")],
                              {"approximate": approximate}).to_bytes()
    theirs = run_official(content, {0: x}, "xnnpack")[1]
    ours = run_litelens(content, {0: x}, "xnnpack").get_tensor(1)
    np.testing.assert_array_equal(ours, theirs)


def test_optimized_float_logistic_has_no_exp_shortcut():
    """Eigen's logistic is e / (1 + e) everywhere; the reference kernel returns exp(x) below -9 (relative
    difference e: 1.7e-5 at x = -10.987, beyond the float tolerance for a one-element tensor)."""
    x = np.array(-10.987041, np.float32)
    content = build.single_op("LOGISTIC", [T((), "float32", "x")], [T((), "float32", "y")]).to_bytes()
    for flavor in ("optimized", "xnnpack"):
        assert_matches(content, {0: x}, flavor)
    assert_matches(content, {0: x}, "reference")


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL", "DIV", "SQUARED_DIFFERENCE"])
def test_xnnpack_float_flushes_subnormals(op):
    x1 = np.array([[1e-38, -3e-39, 2e-20, 1.0, 5e-39, 0.0]], np.float32)
    x2 = np.array([[-0.99e-38, 1e-45, 1e-20, 1e-39, 1.0, 1e-40]], np.float32)
    options = None if op == "SQUARED_DIFFERENCE" else {"fused_activation_function": "NONE"}
    content = build.single_op(op, [T((1, 6), "float32", "a"), T((1, 6), "float32", "b")],
                              [T((1, 6), "float32", "out")], options).to_bytes()
    theirs = run_official(content, {0: x1, 1: x2}, "xnnpack")[2]
    with np.errstate(all="ignore"):
        ours = run_litelens(content, {0: x1, 1: x2}, "xnnpack").get_tensor(2)
    np.testing.assert_array_equal(ours.view(np.uint32), theirs.view(np.uint32))


@pytest.mark.parametrize("offset", [False, True])
def test_xnnpack_strided_slice_end_zero_means_the_end(offset):
    """The delegate passes end 0 (or end_mask) to XNNPACK, where 0 means "to the end"."""
    x = np.arange(-6, 6, dtype=np.int8).reshape(3, 4)
    extra = [build.constant(np.array(v, np.int32), name=n) for n, v in
             (("b", [1, 0]), ("e", [0, 3] if not offset else [0, 2]), ("s", [1, 1]))]
    out_shape = (2, 3) if not offset else (2, 2)  # xnnpack: rows 1.. to the end
    content = build.single_op("STRIDED_SLICE", [T(x.shape, "int8", "x", 0.1, 0)] + extra,
                              [T(out_shape, "int8", "y", 0.1, 0)], {"offset": offset}).to_bytes()
    assert delegated(content)
    assert_matches(content, {0: x}, "xnnpack", "xnnpack")


@pytest.mark.parametrize("shape", [(9363,), (2, 48), (5,)])
def test_optimized_int16_add_neon_block(shape):
    """Same-shape int16 ADD runs AddElementwiseInt16's NEON block (NEON_2_SSE on x86-64) on 16 lanes."""
    rng = np.random.default_rng(11)
    for s1, s2, so in [(0.0013, 0.0021, 0.003), (0.5, 0.0001, 0.7), (0.001, 0.001, 0.0005)]:
        x1 = rng.integers(-32768, 32768, shape).astype(np.int16)
        x2 = rng.integers(-32768, 32768, shape).astype(np.int16)
        a, b = T(shape, "int16", "a", s1, 0), T(shape, "int16", "b", s2, 0)
        content = build.single_op("ADD", [a, b], [T(shape, "int16", "out", so, 0)],
                                  {"fused_activation_function": "NONE", "pot_scale_int16": False}).to_bytes()
        assert_matches(content, {0: x1, 1: x2}, "optimized", "optimized")
        assert_matches(content, {0: x1, 1: x2}, "xnnpack", "optimized")


def test_kernels_run_as_plain_python():
    """The new kernels give the same bits with NUMBA_DISABLE_JIT (their .py_func)."""
    from litelens.kernels import neon_add, xnnpack_elementwise as xk
    from litelens.kernels.broadcast import plan_broadcast
    x1, x2 = all_pairs()
    plan = plan_broadcast(x1.shape, x2.shape, (256, 256))
    args = (x1.reshape(-1), x2.reshape(-1), plan.loops, plan.strides1, plan.strides2)
    for kernel, extra in [(xk.qs8_add, (1 << 13, -3000, 5000, 14, 3, -128, 127)),
                          (xk.qs8_mul, (3, -2, np.float32(0.01), 1, -100, 100)),
                          (neon_add.neon_add_8bit, (np.zeros(0, np.uint8), 1, 0, 1 << 30, -1, 5, 1 << 29, -2, 20,
                                                    1 << 30, -10, 0, -128, 127, -128, 127))]:
        jitted, plain = np.empty(65536, np.int8), np.empty(65536, np.int8)
        kernel(jitted, *args, *extra)
        kernel.py_func(plain, *args, *extra)
        np.testing.assert_array_equal(jitted, plain)


@pytest.mark.parametrize("op,scale", [("TANH", 2.0 ** -12), ("TANH", 2.0 ** -11), ("LOGISTIC", 2.0 ** -12),
                                      ("TANH", 0.0007), ("LOGISTIC", 0.0007)])
def test_optimized_int16_tanh_logistic_all_inputs(op, scale):
    """Power-of-two input scales run gemmlowp's int16 tanh/logistic in the optimized kernels (other
    scales the reference table interpolation): every int16 input."""
    x = np.arange(-32768, 32768, dtype=np.int16).reshape(1, -1)
    content = unary_model(op, "int16", x.shape, scale, 0, 1 / 32768, 0)
    assert_matches(content, {0: x}, "optimized", "optimized")
    assert_matches(content, {0: x}, "xnnpack", "optimized")
    assert_matches(content, {0: x}, "reference", "reference")


def test_gemmlowp16_plain_python_parity():
    from litelens.kernels import gemmlowp16
    for x in (-32768, -20000, -4097, -1, 0, 1, 4096, 12345, 32767):
        assert gemmlowp16.tanh16(x) == gemmlowp16.tanh16.py_func(x)
        assert gemmlowp16.logistic16(x) == gemmlowp16.logistic16.py_func(x)


def test_xnnpack_arm64_mul_rndnu_close_to_fp32():
    """xnnpack-arm64 MUL uses XNNPACK's NEON rndnu requantization (kernels/xnnpack_elementwise.py; not
    checkable against an ARM interpreter here): it must stay within one code of the x86 fp32 result and
    differ from it somewhere (the two round differently)."""
    x1, x2 = all_pairs()
    total_diff = 0
    for scales in SCALES:
        content = binary_model("MUL", *scales, x1.shape, x2.shape, (256, 256))
        x86 = run_litelens(content, {0: x1, 1: x2}, "xnnpack")
        arm = run_litelens(content, {0: x1, 1: x2}, "xnnpack-arm64")
        a, b = x86.get_tensor(2).astype(int), arm.get_tensor(2).astype(int)
        assert np.abs(a - b).max() <= 1
        total_diff += int((a != b).sum())
    assert total_diff > 0


@pytest.mark.parametrize("op", ["MAXIMUM", "MINIMUM"])
@pytest.mark.parametrize("shapes", [((4, 1), (1, 4)), ((1, 4), (4, 1)), ((4, 1), (4, 4)), ((4, 4), (4, 1)),
                                    ((1, 1), (2, 1)), ((), ()), ((1,), ()), ((7,), (7,)), ((1, 2, 1), (3, 1, 1))])
def test_xnnpack_float_minmax_operand_order(op, shapes):
    """NaN and signed zeros: the second operand wins; XNNPACK swaps the operands when the first input
    is broadcast along the innermost non-1 output dim (or the output has one element)."""
    s1, s2 = shapes
    out = np.broadcast_shapes(s1, s2)
    specials = np.array([np.nan, 1.0, 0.0, -0.0, -np.inf, 2.0, np.nan], np.float32)
    x1 = np.resize(specials, int(np.prod(s1, dtype=int))).reshape(s1)
    x2 = np.resize(specials[::-1].copy(), int(np.prod(s2, dtype=int))).reshape(s2)
    content = build.single_op(op, [T(s1, "float32", "a"), T(s2, "float32", "b")], [T(out, "float32", "o")]).to_bytes()
    for flavor in ("xnnpack", "optimized"):
        theirs = run_official(content, {0: x1, 1: x2}, flavor)[2]
        ours = run_litelens(content, {0: x1, 1: x2}, flavor).get_tensor(2)
        np.testing.assert_array_equal(ours.view(np.uint32) & 0xFFC00000 | np.isnan(ours),
                                      theirs.view(np.uint32) & 0xFFC00000 | np.isnan(theirs))


def test_xnnpack_strided_slice_windows_random():
    """40 random begin/end/mask/offset combinations (negative, zero, reversed, out of range): XNNPACK's
    window rules (kernels: ops/slicing.py ``_xnnpack_window``) give the official shape and values."""
    rng = np.random.default_rng(4)
    x = (np.arange(60) - 30).astype(np.int8).reshape(3, 4, 5)
    for _ in range(40):
        extra = [build.constant(rng.integers(-6, 6, 3).astype(np.int32), name="b"),
                 build.constant(rng.integers(-6, 7, 3).astype(np.int32), name="e"),
                 build.constant(np.ones(3, np.int32), name="s")]
        options = {"begin_mask": int(rng.integers(0, 8)), "end_mask": int(rng.integers(0, 8)),
                   "offset": bool(rng.integers(0, 2))}
        content = build.single_op("STRIDED_SLICE", [T(x.shape, "int8", "x", 0.1, 0)] + extra,
                                  [T((1,), "int8", "y", 0.1, 0)], options).to_bytes()
        theirs = run_official(content, {0: x}, "xnnpack")[4]
        ours = run_litelens(content, {0: x}, "xnnpack").get_tensor(4)
        assert ours.shape == theirs.shape and np.array_equal(ours, theirs), options




@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_xnnpack_int8_extreme_scales_all_pairs(op):
    x1, x2 = all_pairs()
    for scales in EXTREME_SCALES[op]:
        content = binary_model(op, *scales, x1.shape, x2.shape, (256, 256))
        assert delegated(content)
        assert_matches(content, {0: x1, 1: x2}, "xnnpack", "xnnpack")
        assert_matches(content, {0: x1, 1: x2}, "optimized", "optimized")


C_OPS = ("ADD,SUB,MUL,DIV,SQUARED_DIFFERENCE,RSQRT,TANH,LOGISTIC,GELU,L2_NORMALIZATION,MAXIMUM,MINIMUM,CONCATENATION,"
         "SLICE,STRIDED_SLICE,TRANSPOSE,RESHAPE,SQUEEZE,EXPAND_DIMS,PAD,PADV2,GATHER,CAST").split(",")


@pytest.mark.parametrize("op", C_OPS)
def test_xnnpack_rejects_agrees_with_the_delegate_on_fuzz_cases(op):
    """12 fuzz-generator cases per op: litelens' kernel path under xnnpack is "xnnpack" exactly when the
    official AUTO interpreter's plan holds a DELEGATE node (rank-0 slices, which both refuse, skipped)."""
    from litelens.fuzz.generators import generator_for
    g = generator_for(op)
    rng = np.random.default_rng(9)
    checked = 0
    for _ in range(12):
        try:
            case = g.build(g.sample(rng, op))
        except ValueError:
            continue
        content = case.model if isinstance(case.model, (bytes, bytearray)) else case.model.to_bytes()
        try:
            it = litelens.Interpreter(model_content=content, flavor="xnnpack")
            it.allocate_tensors()
        except litelens.errors.ModelError:
            assert op in ("SLICE", "STRIDED_SLICE")
            continue
        path, note = it.kernel_paths()[0]
        assert (path == "xnnpack") == delegated(content), (op, note)
        checked += 1
    assert checked >= 6
