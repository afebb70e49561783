"""The speed paths of the dynamic-range MobileBERT's kernels give the official bits.

* Hybrid row quantization (kernels/hybrid.py ``quantize_rows``): rows in blocks of 16 (ranges, then
  scales, then codes), ranges from a signed and an unsigned integer max over the float bits, bounded
  rows clamped by one saturating conversion (literal 0..255 bounds for the shifted operand), and
  symmetric rows clamped to -128 rather than -127 there (never reached: checked on the rows that
  come closest). Against the official kernel's own temporaries, tolerance 0.
* Hybrid FULLY_CONNECTED whole models with row counts around the blocks and K with tails: every
  tensor against the official BUILTIN_REF run, bit for bit.
* float32 SOFTMAX (kernels/softmax.py): the row sums eight rows at a time in registers, the other
  rows one by one: every row count 1..17 against the official run, bit for bit.
* float32 ADD / SUB / MUL (kernels/elementwise.py ``float_binary``): row offsets walked as an
  odometer over the outer loops, runs indexed with unsigned offsets: broadcasts with size-1 dims in
  the middle, ranks 3..6, against the official run, bit for bit.

Float tensors are compared bit for bit (tolerance 0): each kernel keeps the official operation order.
"""
from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from single_op import compare_with_official, random_inputs  # noqa: E402

from litelens.kernels import int_gemm  # noqa: E402
from litelens.kernels.hybrid import quantize_rows  # noqa: E402

from .test_elementwise import assert_same_bits, one_op_model  # noqa: E402
from .test_hybrid import hybrid_fc_model  # noqa: E402
from .test_hybrid_speed_paths import official_quantizer  # noqa: E402
from .test_softmax import softmax_model  # noqa: E402

F32 = np.float32


def block_edge_rows(k: int, rows: int, seed: int) -> np.ndarray:
    """[rows, k] float32: ordinary rows of random magnitudes, with special kinds (a NaN of either
    sign, +-inf, all zeros, signed zeros, a constant, a subnormal range, 1 / scale overflowing,
    one-signed rows)
    placed at the first, 15th, 16th, 17th and last rows - a different kind at each edge per seed -
    so that blocks of 16 start and end on them."""
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal((rows, k)) * 10.0 ** rng.uniform(-3, 3, (rows, 1))).astype(F32)
    row = lambda: rng.standard_normal(k).astype(F32)  # noqa: E731
    specials = [
        np.where(np.arange(k) == k // 2, np.nan, row()), np.where(np.arange(k) == k - 1, np.inf, row()),
        np.where(np.arange(k) == 0, -np.inf, row()), np.zeros(k), np.where(rng.random(k) < 0.5, 0.0, -0.0),
        np.full(k, 3.0), np.full(k, 1e-40), row() * 3e-39, np.abs(row()) + 2.0, -np.abs(row()) - 7.0,
        np.where(np.arange(k) == k // 3, -np.nan, -np.abs(row()) - 1.0),  # a negative NaN, no value >= 0
        np.where(np.arange(k) == 1, -np.nan, 0.0),  # a negative NaN among zeros
    ]
    for j, where in enumerate(sorted({0, min(14, rows - 1), min(15, rows - 1), min(16, rows - 1), rows - 1})):
        x[where] = specials[(seed + j) % len(specials)]
    if not x.any():  # an all-zero input skips the quantizer (NeonIsZeroVector): its temporaries stay unset
        x[0, -1] = 1.0
    return x


@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
@pytest.mark.parametrize("rows", [1, 15, 16, 17, 33])
@pytest.mark.parametrize("k", [8, 13, 128])
def test_quantizer_row_blocks_match_official(rows, k, asymmetric):
    """Codes, scaling factors and zero points equal the official temporaries for row counts around
    the blocks of 16, as int8 codes (shift 0, general bounds) and as the shifted operand of the
    integer kernel in both its layouts: uint8 (AMX / VNNI, literal bounds) and int16 (AVX2)."""
    x = block_edge_rows(k, rows, seed=rows * 1000 + k)
    quantized, scaling, offsets = official_quantizer(x, asymmetric)
    q = np.zeros(x.shape, np.int8)
    sf, zp = np.zeros(rows, F32), np.zeros(rows, np.int32)
    quantize_rows(x, q, sf, zp, asymmetric, 0)
    bad = np.nonzero((q != quantized).any(axis=1))[0]
    assert bad.size == 0, f"rows {bad[:10]}: {x[bad[0]][:8]} -> {q[bad[0]][:8]} vs {quantized[bad[0]][:8]}"
    assert np.array_equal(sf.view(np.int32), scaling.view(np.int32))
    assert np.array_equal(zp, offsets)
    for dtype in (np.uint8, np.int16):
        shifted = np.full((rows, k + 5), 99, dtype)  # padding must be cleared
        sf2, zp2 = np.zeros(rows, F32), np.zeros(rows, np.int32)
        quantize_rows(x, shifted, sf2, zp2, asymmetric, 128)
        assert np.array_equal(shifted[:, :k].astype(np.int32) - 128, quantized.astype(np.int32)), dtype
        assert not shifted[:, k:].any()
        assert np.array_equal(sf2.view(np.int32), scaling.view(np.int32)) and np.array_equal(zp2, offsets)


def _ranges_reaching_past_127(count: int, rng) -> np.ndarray:
    """float32 ranges r with r * float(127 / r) > 127 in float32: the symmetric codes' largest |x * inv|."""
    r = rng.uniform(0.5, 4.0, 200_000).astype(F32) * F32(10.0) ** rng.integers(-20, 20, 200_000).astype(F32)
    past = r[(r * (F32(127.0) / r)).astype(F32) > F32(127.0)]
    assert past.size >= count, "no range found whose product rounds above 127"
    return past[:count]


@pytest.mark.parametrize("k", [16, 21])
def test_symmetric_codes_at_the_limit_match_official(k):
    """The symmetric bounded rows take the clamp [-128, 127] (one saturating conversion) instead of
    the official [-127, 127]: the same codes, since |x * inv| <= 127 * (1 + 2**-24)**2. Checked on
    rows whose range r has r * float(127 / r) > 127 (the largest products possible), with -r and r
    and values just inside in the blocks of 8 and the tail."""
    rng = np.random.default_rng(k)
    ranges = _ranges_reaching_past_127(40, rng)
    x = np.empty((len(ranges), k), F32)
    for i, r in enumerate(ranges):
        x[i] = (rng.uniform(-1, 1, k) * r).astype(F32)
        x[i, [0, 3, 9, k - 1]] = [r, -r, np.nextafter(r, F32(0)), -r if i % 2 else r]
    quantized, scaling, _ = official_quantizer(x, asymmetric=False)
    assert (np.abs(quantized) == 127).any(axis=1).all()
    for dtype, shift in ((np.int8, 0), (np.uint8, 128), (np.int16, 128)):
        q = np.zeros(x.shape, dtype)
        sf, zp = np.zeros(len(x), F32), np.zeros(len(x), np.int32)
        quantize_rows(x, q, sf, zp, False, shift)
        assert np.array_equal(q.astype(np.int32) - shift, quantized.astype(np.int32)), dtype
        assert np.array_equal(sf.view(np.int32), scaling.view(np.int32))


@pytest.mark.parametrize("integer_kernel", [True, False], ids=["int_gemm", "float_blas"])
@pytest.mark.parametrize("asymmetric", [True, False], ids=["asym", "sym"])
@pytest.mark.parametrize("rows,k", [(17, 40), (33, 13), (16, 64)])
def test_fc_row_blocks_match_official(rows, k, asymmetric, integer_kernel, monkeypatch):
    """A hybrid FC on rows with special kinds at the block edges: every tensor equals the official
    reference run, on the integer kernel and on the float BLAS fallback."""
    if integer_kernel and int_gemm.ISA is None:
        pytest.skip("no integer dot-product kernel on this CPU")
    if not integer_kernel:
        monkeypatch.setattr(int_gemm, "ISA", None)
    x = block_edge_rows(k, rows, seed=rows + k)
    x[np.isnan(x)] = 1.0  # a NaN anywhere makes the whole output NaN: keep the other rows telling
    model = hybrid_fc_model(x.shape, 24, asymmetric=asymmetric, activation=1, w_scale=0.004)
    compare_with_official(model, {0: x}).assert_ok()


@pytest.mark.parametrize("depth", [5, 128])
def test_softmax_float_row_counts_match_official(depth):
    """Every row count 1..17 (the eight-row register sums, then the rows left one by one), with
    masked rows and a NaN row among them, against the official reference run, bit for bit."""
    rng = np.random.default_rng(depth)
    for rows in range(1, 18):
        x = (rng.standard_normal((rows, depth)) * 5).astype(F32)
        x[rows // 2, : depth // 2] = -10000.0
        if rows > 9:
            x[9, depth - 1] = np.nan
        compare_with_official(softmax_model((rows, depth), "float32"), {0: x}).assert_ok()


BROADCASTS = [
    ((4, 1, 6), (1, 5, 6)),
    ((2, 3, 1, 5), (2, 1, 4, 5)),
    ((3, 1, 4, 1, 2), (1, 2, 4, 3, 1)),
    ((2, 1, 3, 1, 2, 7), (1, 2, 1, 3, 2, 7)),
    ((5, 1, 1, 8), (1, 3, 2, 1)),  # inner run broadcast on the left operand
]


@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("shapes", BROADCASTS, ids=lambda s: f"{s[0]}x{s[1]}")
def test_float_broadcast_odometer_matches_official(op, shapes):
    """float32 binary ops whose broadcast keeps several outer loops (size-1 dims in the middle, on
    either side): the odometer over the row offsets, every stride pattern of the inner run."""
    a, b = shapes
    out = tuple(max(x, y) for x, y in zip(a, b))
    for first, second in ((a, b), (b, a)):
        model = one_op_model(op, (first, second, out), np.float32, 0)
        assert_same_bits(model, random_inputs(model))


def test_softmax_float_row_maxima_keys_match_official():
    """The row maxima as an integer max over order keys (NaN keys replaced by the lowest, the start at
    key(-FLT_MAX)): rows all NaN, all -inf, -inf and -FLT_MAX, NaN of either sign with finite values,
    +inf, signed zeros only, -FLT_MAX only, subnormals only, against the official run, bit for bit."""
    depth = 37
    rng = np.random.default_rng(3)
    base = lambda: (rng.standard_normal(depth) * 3).astype(F32)  # noqa: E731
    rows = [np.full(depth, np.nan), np.full(depth, -np.inf), np.where(np.arange(depth) % 2, -np.inf, -3.4e38),
            np.where(np.arange(depth) == 5, np.nan, base()), np.where(np.arange(depth) == 30, -np.nan, base()),
            np.where(np.arange(depth) == 0, np.inf, base()), np.where(rng.random(depth) < 0.5, -0.0, 0.0),
            np.full(depth, -0.0), np.full(depth, -3.4028235e38), np.full(depth, 1e-44) * rng.integers(1, 5, depth),
            base() - 100.0, base()]
    x = np.array(rows, F32)
    compare_with_official(softmax_model(x.shape, "float32"), {0: x}).assert_ok()
