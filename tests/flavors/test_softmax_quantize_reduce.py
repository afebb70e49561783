"""SOFTMAX, QUANTIZE, DEQUANTIZE, MEAN and SUM under the optimized and xnnpack flavors, against the official
interpreter's BUILTIN_WITHOUT_DEFAULT_DELEGATES (optimized) and AUTO (xnnpack) runs on this x86-64 machine.

Integer outputs must be bit-exact. DEQUANTIZE's float outputs are compared bit for bit too: litelens does
the same float operations in the same order (float32 multiply then add in the NEON blocks, a double
product in the tail, XNNPACK's float(q - zp) * scale). Float SOFTMAX/MEAN/SUM: within 1e-5 * max|official|
(the float tolerance of the non-reference paths; Eigen and XNNPACK sum in their own orders). Many cases
also assert that the official paths differ from each other on the inputs used, so the test would fail if
litelens ran the reference arithmetic. Whether the delegate took an op is read from the official AUTO
interpreter's execution plan (a DELEGATE node).
"""
import numpy as np
import pytest

pytest.importorskip("ai_edge_litert")

import litelens  # noqa: E402
from litelens import build  # noqa: E402
from litelens.official import delegated_by_xnnpack, official_interpreter, run_official  # noqa: E402
from flavor_helpers import T, run_litelens  # noqa: E402

RANGE = {np.int8: (-128, 127), np.uint8: (0, 255), np.int16: (-32768, 32767)}


def check(content: bytes, inputs: dict, flavor: str, path: str | None = None, exact_floats: bool = False):
    """litelens(flavor) vs the official run: outputs equal (floats exactly or within 1e-5 of max). Returns
    the official output."""
    theirs = run_official(content, inputs, flavor)
    it = run_litelens(content, inputs, flavor)
    if path is not None:
        assert it.kernel_paths()[0][0] == path, it.kernel_paths()
    d = it.get_output_details()[0]
    ours, ref = it.get_tensor(d["index"]), theirs[d["index"]]
    assert ours.dtype == ref.dtype and ours.shape == ref.shape
    if ref.dtype.kind == "f" and not exact_floats:
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
        finite = np.isfinite(ref)
        np.testing.assert_array_equal(ours[~finite & ~np.isnan(ref)], ref[~finite & ~np.isnan(ref)])
        tol = 1e-5 * (np.abs(ref[finite]).max() if finite.any() else 0.0)
        assert np.all(np.abs(ours[finite].astype(np.float64) - ref[finite]) <= tol)
    elif ref.dtype.kind == "f":
        np.testing.assert_array_equal(ours.view(np.uint32), ref.view(np.uint32))
    else:
        bad = ours != ref
        assert not bad.any(), (f"{int(bad.sum())}/{bad.size} differ; first at {np.argwhere(bad)[0].tolist()}: "
                               f"ours {ours[bad][0]} official {ref[bad][0]}")
    return ref


def official_out(content: bytes, inputs: dict, resolver: str):
    """The official run's (single) model output."""
    index = litelens.Interpreter(model_content=content).get_output_details()[0]["index"]
    return run_official(content, inputs, resolver)[index]


delegated = delegated_by_xnnpack


def codes(dtype, shape, seed=0):
    lo, hi = RANGE[dtype]
    x = np.random.default_rng(seed).integers(lo, hi + 1, size=shape).astype(dtype)
    x.reshape(-1)[:2] = [lo, hi]
    return x


# ---------------------------------------------------------------- QUANTIZE float -> integer


def float_values(n, scale, zero_point, seed=0):
    """Exact ties of x / scale (both signs), values beyond the type range, and NaN/inf/huge at the end
    (the scalar tail) and at the front (a NEON block)."""
    rng = np.random.default_rng(seed)
    k = rng.integers(-400, 400, size=n) + rng.choice([0.5, 0.5, 0.25, 0.0], size=n) - zero_point
    x = (k * np.float64(np.float32(scale))).astype(np.float32)
    x[:4] = [np.nan, np.inf, -1e30, 0.5 * scale]
    x[-4:] = [np.nan, -np.inf, 3e9 * scale, -2.5 * scale]
    return x


@pytest.mark.parametrize("flavor", ["optimized", "xnnpack"])
@pytest.mark.parametrize("dtype,scale,zp", [(np.int8, 0.037, -5), (np.int8, 1.0, 0), (np.uint8, 0.02, 128),
                                            (np.uint8, 0.5, 3), (np.int16, 1e-3, 0), (np.int16, 0.25, 7)])
def test_quantize_float(flavor, dtype, scale, zp):
    n = 8 * 37 + 5  # NEON blocks of 8 and a 5-element scalar tail
    m = build.single_op("QUANTIZE", [T([n], np.float32, "x")], [T([n], dtype, "q", scale, zp)]).to_bytes()
    x = {0: float_values(n, scale, zp)}
    path = "optimized" if (flavor == "optimized" or dtype == np.int16) else "xnnpack"
    ref = check(m, x, flavor, path)
    if flavor == "optimized":  # ties to even in the blocks, away from zero in the reference kernel
        assert not np.array_equal(ref, official_out(m, x, "reference"))


# ---------------------------------------------------------------- QUANTIZE integer -> integer


@pytest.mark.parametrize("flavor", ["optimized", "xnnpack"])
@pytest.mark.parametrize("din,dout,s_in,s_out,zp_in,zp_out", [
    (np.int8, np.int8, 0.5, 1.0, 3, -2), (np.int8, np.int8, 0.1, 0.4, -128, 0), (np.int8, np.int8, 3.0, 1.0, 1, 5),
    (np.int8, np.uint8, 0.5, 1.0, 0, 128), (np.uint8, np.int8, 0.25, 1.0, 128, 0), (np.uint8, np.uint8, 0.75, 1.5, 7, 9),
    (np.int8, np.int16, 0.5, 1.0, 1, 0), (np.int16, np.int8, 0.5, 1.0, 0, 0)])
def test_requantize(flavor, din, dout, s_in, s_out, zp_in, zp_out):
    lo, hi = RANGE[din]
    x = np.concatenate([np.arange(max(lo, -300), min(hi, 300) + 1), [lo, hi, 0, 1, -1][: 5 if lo < 0 else 3]])
    x = np.resize(x, 16 * 17 + 7).astype(din)  # blocks of 16 and a 7-element tail
    m = build.single_op("QUANTIZE", [T([x.size], din, "x", s_in, zp_in)], [T([x.size], dout, "q", s_out, zp_out)]).to_bytes()
    taken = flavor == "xnnpack" and din == dout and din != np.int16
    check(m, {0: x}, flavor, "xnnpack" if taken else "optimized")


@pytest.mark.parametrize("ratio,taken", [(1 / 256, True), (1 / 256 * 0.999, False), (128.0, True), (128.5, False)])
def test_quantize_scale_ratio_limits(ratio, taken):
    x = codes(np.int8, [40])
    m = build.single_op("QUANTIZE", [T([40], np.int8, "x", 0.01 * ratio, 1)], [T([40], np.int8, "q", 0.01, -3)]).to_bytes()
    assert delegated(m) == taken
    check(m, {0: x}, "xnnpack", "xnnpack" if taken else "optimized")


# ---------------------------------------------------------------- DEQUANTIZE


@pytest.mark.parametrize("flavor", ["optimized", "xnnpack"])
@pytest.mark.parametrize("dtype,scale,zp", [(np.int8, 0.0123, -7), (np.int8, 0.3, 127), (np.uint8, 0.0071, 131),
                                            (np.int16, 0.00037, 0)])
def test_dequantize(flavor, dtype, scale, zp):
    n = 8 * 40 + 3
    x = codes(dtype, [n], seed=1)
    m = build.single_op("DEQUANTIZE", [T([n], dtype, "x", scale, zp)], [T([n], np.float32, "y")]).to_bytes()
    path = "xnnpack" if flavor == "xnnpack" and dtype != np.int16 else "optimized"
    ref = check(m, {0: x}, flavor, path, exact_floats=True)
    if flavor == "optimized" and dtype != np.int16:  # the blocks' mul-then-add rounds twice
        assert not np.array_equal(ref.view(np.uint32), official_out(m, {0: x}, "reference").view(np.uint32))


def test_dequantize_constant_input_stays_builtin():
    """A constant int8 input is unpacked by the delegate itself; the node runs the builtin kernel."""
    data = codes(np.int8, [8, 8], seed=2)
    m = build.single_op("DEQUANTIZE", [T([8, 8], np.int8, "w", 0.02, 3, data=data)], [T([8, 8], np.float32, "y")])
    content = m.to_bytes()
    it = litelens.Interpreter(model_content=content, flavor="xnnpack")
    it.allocate_tensors()
    assert it.kernel_paths()[0][0] == "optimized"
    assert "constant" in it.kernel_paths()[0][1]


# ---------------------------------------------------------------- SOFTMAX


@pytest.mark.parametrize("flavor", ["optimized", "xnnpack"])
@pytest.mark.parametrize("din,dout,s_in,zp_in,beta", [
    (np.int8, np.int8, 0.1, 0, 1.0), (np.int8, np.int8, 0.0431, -17, 1.0), (np.int8, np.int8, 0.5, 5, 0.3),
    (np.int8, np.int16, 0.1, 0, 1.0), (np.uint8, np.uint8, 0.05, 128, 1.0), (np.uint8, np.int16, 0.2, 100, 2.0),
    (np.int16, np.int16, 0.001, 0, 1.0)])
def test_softmax_quantized(flavor, din, dout, s_in, zp_in, beta):
    out_q = {(np.int8, np.int8): (1 / 256, -128), (np.int8, np.int16): (1 / 32768, 0),
             (np.uint8, np.uint8): (1 / 256, 0), (np.uint8, np.int16): (1 / 32768, 0),
             (np.int16, np.int16): (1 / 32768, 0)}[(din, dout)]
    shape = [64, 37]
    x = codes(din, shape, seed=3)
    x[1::3] //= 9  # rows with narrow ranges: many entries near the maximum
    x[2::5, :4] = x[2::5, :4].max()
    m = build.single_op("SOFTMAX", [T(shape, din, "x", s_in, zp_in)], [T(shape, dout, "y", *out_q)],
                        {"beta": beta}).to_bytes()
    check(m, {0: x}, flavor, "optimized" if din != np.int16 else None)


def test_softmax_int8_float_table_differs_from_reference():
    """The float table and the fixed-point reference disagree on a few rows in 20000 (6 here)."""
    shape = [20000, 37]
    x = np.random.default_rng(0).integers(-128, 128, shape).astype(np.int8)
    m = build.single_op("SOFTMAX", [T(shape, np.int8, "x", 0.1, 0)], [T(shape, np.int8, "y", 1 / 256, -128)],
                        {"beta": 1.0}).to_bytes()
    ref = check(m, {0: x}, "optimized", "optimized")
    assert (ref != official_out(m, {0: x}, "reference")).any(axis=1).sum() >= 3


@pytest.mark.parametrize("beta,taken", [(1.0, True), (2.0, False)])
def test_softmax_float(beta, taken):
    x = (np.random.default_rng(4).standard_normal([10, 33]) * 4).astype(np.float32)
    m = build.single_op("SOFTMAX", [T([10, 33], np.float32, "x")], [T([10, 33], np.float32, "y")],
                        {"beta": beta}).to_bytes()
    assert delegated(m) == taken
    check(m, {0: x}, "xnnpack", "xnnpack" if taken else "optimized")
    check(m, {0: x}, "optimized", "optimized")


# ---------------------------------------------------------------- MEAN and SUM


def reduce_model(op, shape, axes, keep, dtype, s_in=None, zp_in=0, s_out=None, zp_out=0):
    ax = build.constant(np.array(axes, np.int32), name="axes")
    rank = len(shape)
    norm = {a % rank for a in axes}
    out_shape = [1 if i in norm else d for i, d in enumerate(shape)] if keep else \
        [d for i, d in enumerate(shape) if i not in norm]
    return build.single_op(op, [T(shape, dtype, "x", s_in, zp_in), ax], [T(out_shape, dtype, "y", s_out, zp_out)],
                           {"keep_dims": keep}).to_bytes()


QUANT_REDUCE = [  # shape, axes, keep, (s_in, zp_in, s_out, zp_out)
    ([4, 37], [1], False, (0.05, 3, 0.9, -4)),
    ([4, 37], [0], True, (0.05, -100, 0.07, 20)),
    ([3, 5, 7], [0, 2], False, (0.3, 10, 2.0, 0)),
    ([3, 5, 7], [-1, 0, -1], True, (0.01, 0, 0.01, 0)),
    ([2, 6, 4, 3], [1, 3], False, (0.02, 127, 0.5, -128)),
]


@pytest.mark.parametrize("flavor", ["optimized", "xnnpack"])
@pytest.mark.parametrize("op", ["MEAN", "SUM"])
@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("case", range(len(QUANT_REDUCE)))
def test_reduce_quantized(flavor, op, dtype, case):
    shape, axes, keep, (s_in, zp_in, s_out, zp_out) = QUANT_REDUCE[case]
    if dtype == np.uint8:
        zp_in, zp_out = zp_in + 128, zp_out + 128
    m = reduce_model(op, shape, axes, keep, dtype, s_in, zp_in, s_out, zp_out)
    for seed in range(3):
        check(m, {0: codes(dtype, shape, seed)}, flavor, flavor)


@pytest.mark.parametrize("dtype", [np.int8, np.uint8])
@pytest.mark.parametrize("shape", [[1, 3, 5, 21], [2, 4, 4, 16], [1, 7, 2, 35]])
def test_mean_spatial_4d_optimized(dtype, shape):
    """The NHWC H,W mean kernel: channels in blocks of 16 round their last shift ties-up, the tail away from
    zero; the input zero point enters only through a rounded bias."""
    zp_in = -37 if dtype == np.int8 else 91
    for axes in ([1, 2], [2, 1], [-3, -2]):
        m = reduce_model("MEAN", shape, axes, True, dtype, 0.0213, zp_in, 0.0213 / 3, -9 if dtype == np.int8 else 7)
        for seed in range(3):
            check(m, {0: codes(dtype, shape, seed)}, "optimized", "optimized")


def test_sum_int16_optimized():
    """The optimized SUM is typed (the reference one reads int16 as bytes, so litelens refuses it there)."""
    m = reduce_model("SUM", [5, 33], [1], False, np.int16, 0.001, 0, 0.02, 0)
    check(m, {0: codes(np.int16, [5, 33])}, "optimized", "optimized")
    with pytest.raises(litelens.ModelError if hasattr(litelens, "ModelError") else ValueError):
        litelens.Interpreter(model_content=m, flavor="reference").allocate_tensors()


@pytest.mark.parametrize("flavor", ["optimized", "xnnpack"])
@pytest.mark.parametrize("op", ["MEAN", "SUM"])
def test_reduce_float(flavor, op):
    x = (np.random.default_rng(5).standard_normal([3, 40, 6]) * 3).astype(np.float32)
    for axes in ([1], [2], [0, 2], [0, 1, 2]):
        m = reduce_model(op, [3, 40, 6], axes, False, np.float32)
        check(m, {0: x}, flavor, flavor)


@pytest.mark.parametrize("dtype,axes,taken", [
    (np.int8, [1], True), (np.uint8, [0, 1], True), (np.float32, [-1], True), (np.int16, [1], False),
    (np.int32, [1], False)])
def test_reduce_delegation(dtype, axes, taken):
    q = (0.1, 0, 0.1, 0) if dtype in (np.int8, np.uint8, np.int16) else (None, 0, None, 0)
    for op in ("MEAN", "SUM"):
        m = reduce_model(op, [4, 8], axes, False, dtype, *q)
        assert delegated(m) == taken
        if dtype != np.int16 or op == "MEAN":
            it = litelens.Interpreter(model_content=m, flavor="xnnpack")
            it.allocate_tensors()
            assert (it.kernel_paths()[0][0] == "xnnpack") == taken


@pytest.mark.parametrize("op", ["MEAN", "SUM"])
@pytest.mark.parametrize("shape,axes", [([8, 1000], [1]), ([8, 37], [-1]), ([5, 13], [1]), ([3, 7], [1]),
                                        ([4, 9, 33], [2]), ([4, 1, 9], [2]), ([4, 9, 1, 5], [1, 3]),
                                        ([2, 3, 5], [1, 2]), ([6, 2], [0]), ([3, 40, 6], [1])])
def test_reduce_float_optimized_bit_exact(op, shape, axes):
    """float MEAN over a trailing block runs Eigen's SSE packet sum (bit-exact here); other float reductions
    add in memory order from the first element."""
    x = (np.random.default_rng(6).standard_normal(shape) * 1000).astype(np.float32)
    m = reduce_model(op, shape, axes, False, np.float32)
    check(m, {0: x}, "optimized", "optimized", exact_floats=True)


@pytest.mark.parametrize("shape,beta", [([8, 37], 1.0), ([5, 13], 0.7), ([3, 1000], 1.0), ([1, 7], 2.0),
                                        ([16, 64], 1.0), ([2, 3, 5], 1.0), ([9], 0.5)])
def test_softmax_float_optimized_bit_exact(shape, beta):
    """Eigen's expressions: pexp on whole packets, expf on the last size % 4 elements, SSE row sums."""
    x = (np.random.default_rng(7).standard_normal(shape) * 4).astype(np.float32)
    m = build.single_op("SOFTMAX", [T(shape, np.float32, "x")], [T(shape, np.float32, "y")], {"beta": beta}).to_bytes()
    check(m, {0: x}, "optimized", "optimized", exact_floats=True)


def test_rank_limits_follow_the_delegate():
    """QUANTIZE checks the rank (rank 7 stays builtin); SOFTMAX and MEAN do not, and the official delegate then
    fails to define the rank-7 tensors: the official interpreter refuses the model, and so does litelens."""
    shape7 = [1] * 6 + [3]
    q7 = build.single_op("QUANTIZE", [T(shape7, np.float32, "x")], [T(shape7, np.int8, "y", 0.1, 0)]).to_bytes()
    assert not delegated(q7)
    check(q7, {0: np.linspace(-3, 3, 3).astype(np.float32).reshape(shape7)}, "xnnpack", "optimized")
    q6 = build.single_op("QUANTIZE", [T(shape7[1:], np.float32, "x")], [T(shape7[1:], np.int8, "y", 0.1, 0)]).to_bytes()
    assert delegated(q6)
    s7 = build.single_op("SOFTMAX", [T(shape7, np.float32, "x")], [T(shape7, np.float32, "y")], {"beta": 1.0}).to_bytes()
    m7 = reduce_model("MEAN", shape7, [6], False, np.int8, 0.1, 0, 0.1, 0)
    for content in (s7, m7):
        with pytest.raises(Exception):
            official_interpreter(content, "xnnpack", preserve_all_tensors=False)
        with pytest.raises(ValueError, match="XNNPACK"):
            litelens.Interpreter(model_content=content, flavor="xnnpack").allocate_tensors()


@pytest.mark.parametrize("op,dtype,expected", [("SUM", np.int8, 5), ("MEAN", np.int8, 0), ("SUM", np.uint8, 5)])
def test_xnnpack_reduce_of_empty_input(op, dtype, expected):
    """A zero sum through XNNPACK's convert: SUM gives the output zero point; MEAN's 1/0 scale makes NaN -> 0."""
    m = reduce_model(op, [0, 3], [0], False, dtype, 0.1, 2, 0.1, 5)
    ref = check(m, {0: np.zeros((0, 3), dtype)}, "xnnpack", "xnnpack")
    assert (ref == expected).all()


@pytest.mark.parametrize("op", ["MEAN", "SUM"])
@pytest.mark.parametrize("shape,axes", [([8, 1000], [1]), ([8, 37], [-1]), ([2, 3, 5], [1, 2]), ([3, 4, 5], [0, 1, 2]),
                                        ([4, 1, 9], [2]), ([4, 9, 1], [1]), ([3, 40, 6], [1]), ([6, 2], [0]),
                                        ([7, 33, 5], [0, 1]), ([3, 4, 5, 6], [1, 2])])
def test_reduce_float_xnnpack_bit_exact(op, shape, axes):
    """XNNPACK's float reduce where litelens knows its order: the AVX-512 row microkernel (innermost axis
    reduced) and the sequential-then-scale discontiguous reduce (one run of axes)."""
    x = (np.random.default_rng(8).standard_normal(shape) * 1000).astype(np.float32)
    m = reduce_model(op, shape, axes, False, np.float32)
    check(m, {0: x}, "xnnpack", "xnnpack", exact_floats=True)


@pytest.mark.parametrize("shape,axes", [([3, 40, 6], [0, 2]), ([4, 9, 1, 5], [1, 3]), ([5, 6, 7], [0, 2])])
def test_sum_float_xnnpack_several_runs_bit_exact(shape, axes):
    x = (np.random.default_rng(9).standard_normal(shape) * 1000).astype(np.float32)
    check(reduce_model("SUM", shape, axes, False, np.float32), {0: x}, "xnnpack", "xnnpack", exact_floats=True)


@pytest.mark.parametrize("op", ["DEQUANTIZE", "QUANTIZE", "SUM"])
def test_xnnpack_refuses_subnormal_scale(op):
    """The delegate needs normal scales on the 8-bit tensors it defines: it fails to prepare otherwise
    (DEQUANTIZE, SUM), or crashes (QUANTIZE f32 -> int8 segfaults in the 2.3.0 wheel, so it is not run here)."""
    if op == "DEQUANTIZE":
        m = build.single_op(op, [T([20], np.int8, "x", 1e-40, 3)], [T([20], np.float32, "y")]).to_bytes()
    elif op == "QUANTIZE":
        m = build.single_op(op, [T([20], np.float32, "x")], [T([20], np.int8, "y", 1e-40, 3)]).to_bytes()
    else:
        m = reduce_model(op, [4, 5], [1], False, np.int8, 1e-40, 0, 0.1, 0)
    if op != "QUANTIZE":
        with pytest.raises(Exception):
            official_interpreter(m, "xnnpack", preserve_all_tensors=False)
    with pytest.raises(ValueError, match="XNNPACK"):
        litelens.Interpreter(model_content=m, flavor="xnnpack").allocate_tensors()
