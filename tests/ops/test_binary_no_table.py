"""8-bit ADD, SUB and MUL without pair tables (kernels/binary_int8.py), on every kernel path.

* The step algebra: ``rounding_step`` / ``floor_step`` / ``Step.negated`` / ``Step.plus`` against the
  gemmlowp functions they replace (kernels/fixedpoint.py, kernels/gemmlowp.py), on random integers.
* Every input pair: for 16 quantizations per (path, op, dtype) - random scales over four decades,
  zero points anywhere in the type, all four clamping activations, extreme ones, powers of two whose
  roundings all meet exact ties - the tableless
  kernel against the element kernels it replaces (the arithmetic the official interpreter runs, checked
  against it in tests/ops/test_elementwise.py and tests/flavors/test_elementwise.py), bit for bit, on
  all 65536 pairs laid out four ways (both inputs moving, either fixed per row, rows with tails) and on
  a long row (4133) with a fixed input. ADD/SUB run both
  ways: in a one-rounding linear form fitted at Prepare when one exists, else as steps.
* MobileBERT's shapes and the fallback parameter sets through litelens.Interpreter against the official
  interpreter (BUILTIN_REF, BUILTIN_WITHOUT_DEFAULT_DELEGATES, AUTO), every tensor bit-exact.
* Prepare keeps no array above 4 KB for these ops; NUMBA_DISABLE_JIT=1 gives the same bits.
"""
from __future__ import annotations

import os
import subprocess
import sys
import zlib

import numpy as np
import pytest

from litelens import build
from litelens.kernels import binary_int8 as b8
from litelens.kernels import elementwise as k
from litelens.kernels import neon_add
from litelens.kernels import xnnpack_elementwise as xk
from litelens.kernels.broadcast import plan_broadcast
from litelens.kernels.fixedpoint import rounding_divide_by_pot, saturating_rounding_doubling_high_mul
from litelens.ops.binary_common import run_binary

from flavor_helpers import T  # noqa: E402

import litelens  # noqa: E402

ACTIVATIONS = ("NONE", "RELU", "RELU6", "RELU_N1_TO_1")
PATHS = ("reference", "optimized", "xnnpack", "xnnpack-arm64")
FAST = (b8.add_sub_8bit, b8.add_linear_8bit, b8.mul_8bit)


# --------------------------------------------------------------------------------------- step algebra

def _srdhm(a, b):
    return int(saturating_rounding_doubling_high_mul.py_func(a, b))


def _rdbpot(x, e):
    return int(rounding_divide_by_pot.py_func(x, e))


def test_rounding_step_is_the_gemmlowp_chain():
    rng = np.random.default_rng(0)
    for _ in range(300):
        multiplier = int(rng.integers(1 << 30, 1 << 31))
        pre = int(rng.integers(0, 21))
        e = int(rng.integers(0, 32))
        offset = int(rng.integers(-255, 256))
        away = b8.rounding_step(multiplier, pre, e, offset)
        floor = b8.rounding_step(multiplier, pre, e, offset, b8.FLOOR)
        for x in rng.integers(-256, 256, 40):
            a = (int(x) + offset) << pre
            if not -2**31 <= a < 2**31:
                continue
            h = _srdhm(a, multiplier)
            assert away(x) == _rdbpot(h, e)
            assert floor(x) == h >> e
            assert away.negated()(x) == -_rdbpot(h, e)
            assert away.plus(-77)(x) == _rdbpot(h, e) - 77


def test_rounding_step_exact_ties():
    """Ties of RDBPOT (away from zero) on both signs, and SRDHM's own tie (toward +inf)."""
    step = b8.rounding_step(1 << 30, 0, 2)  # x / 2 then / 4: h = round(x / 2) ties up, then away from 0
    for x in range(-40, 41):
        assert step(x) == _rdbpot(_srdhm(x, 1 << 30), 2), x


def test_floor_step_and_linear_factor():
    rng = np.random.default_rng(1)
    for _ in range(200):
        m, pre, shift = int(rng.integers(-2**31 + 1, 2**31)), int(rng.integers(0, 10)), int(rng.integers(10, 50))
        addend = int(rng.integers(-2**40, 2**40))
        step = b8.floor_step(m, pre, addend, shift)
        for x in rng.integers(-70000, 70000, 20):
            assert step(x) == (int(x) * m * 2**pre + addend) >> shift
    assert b8.linear_factor(1 << 19, 1877165604) == (1877165604, 19)
    assert b8.linear_factor(-(1 << 19), 5) == (-5, 19)
    assert b8.linear_factor(12 << 3, 1) == (12 >> 2, 5)
    assert b8.linear_factor(1 << 19, 3 << 30) is None  # k1 would not fit int32


@pytest.mark.parametrize("shapes", [((3, 7, 21), (3, 7, 21)), ((2, 40), (2, 40)), ((2, 1, 35), (2, 5, 35)),
                                    ((4, 1), (4, 13)), ((13,), (1,)), ((2, 3, 1, 5), (1, 3, 4, 5)),
                                    ((2, 1, 3), (1, 4, 1)), ((5, 1, 40), (1, 1, 40)), ((1,), (1,)), ((0, 3), (1, 3))])
@pytest.mark.parametrize("lanes", [(8, 16), (16, 16), (8, 8)])
def test_lane_pattern_matches_the_lane_modes(shapes, lanes):
    out = np.broadcast_shapes(*shapes)
    size = int(np.prod(out, dtype=np.int64))
    modes = neon_add.add_lane_modes(shapes[0], shapes[1], size, *lanes)
    period, vector_end, kind = b8.lane_pattern(modes)
    vector = (np.arange(size) % period) < vector_end
    assert np.array_equal(np.where(vector, kind, neon_add.SCALAR), modes)


# ------------------------------------------------------------------- every pair against the element kernels

def _quantizations(op: str, dtype: str, seed: int):
    """16 (s1, z1, s2, z2, s_out, z_out, activation): 10 random, 4 at the edges, 2 all ties."""
    rng = np.random.default_rng(seed)
    lo, hi = (-128, 127) if dtype == "int8" else (0, 255)
    out = []
    for i in range(10):
        s1, s2 = (float(10 ** rng.uniform(-4, 0)) for _ in range(2))
        if op == "MUL":
            so = s1 * s2 * float(10 ** rng.uniform(-2.5, 1.5))
        else:
            so = max(s1, s2) * float(10 ** rng.uniform(-2, 1.2))
        z = [int(rng.integers(lo, hi + 1)) for _ in range(3)]
        out.append((s1, z[0], s2, z[1], so, z[2], ACTIVATIONS[i % 4]))
    mid = 0 if dtype == "int8" else 128
    out += [(0.5, lo, 0.5 * 2**-9, hi, 0.5 / 300, mid, "NONE"),  # very different input scales
            (0.003, hi, 0.7, lo, 0.001, lo, "RELU"),  # output scale far below the inputs': clamps
            (0.02, mid, 0.02, mid, 0.03, mid, "NONE"),  # equal scales
            (1.3e-4, lo + 3, 2.2e-4, hi - 1, 40.0 if op != "MUL" else 1e-9, hi, "RELU6")]
    # powers of two: exact halves everywhere, so every rounding's tie rule shows (output step; input step)
    if op == "MUL":
        out += [(2.0**-3, lo + 9, 2.0**-3, hi - 20, 2.0**-4, mid - 3, "NONE"),
                (2.0**-2, mid + 1, 2.0**-5, mid, 2.0**-10, mid, "NONE")]
    else:
        out += [(2.0**-4, lo + 9, 2.0**-4, hi - 20, 2.0**-3, mid - 3, "NONE"),
                (1.0, mid + 5, 2.0**-21, mid - 2, 2.0**-17, mid, "NONE")]
    return out


def _model(op, dtype, q, shapes):
    s1, z1, s2, z2, so, zo, act = q
    out_shape = np.broadcast_shapes(*shapes)
    return build.single_op(op, [T(shapes[0], dtype, "a", s1, z1), T(shapes[1], dtype, "b", s2, z2)],
                           [T(out_shape, dtype, "o", so, zo)], {"fused_activation_function": act}).to_bytes()


def _oracle(path, arch, op, params, q, shapes, x1, x2, out):
    """The element kernel the tableless one replaces, on the same inputs."""
    plan = params.plan
    a = params.arithmetic
    args = (out.reshape(-1), x1.reshape(-1), x2.reshape(-1), plan.loops, plan.strides1, plan.strides2)
    dtype = x1.dtype
    info = np.iinfo(dtype)
    uint8 = dtype == np.uint8
    if path == "xnnpack":
        if op == "MUL" and arch == "arm64":
            m, pre, post = xk.qs8_mul_rndnu_params(q[0], q[2], q[4])
            xk.qs8_mul_rndnu(*args, a.zero_point1, a.zero_point2, m, pre, post, a.out_zero_point, a.act_min,
                             a.act_max)
        elif op == "MUL":
            xk.qs8_mul(*args, a.zero_point1, a.zero_point2, np.float32(a.scale), a.out_zero_point, a.act_min,
                       a.act_max)
        else:
            xk.qs8_add(*args, a.bias, a.multiplier1, a.multiplier2, a.shift, a.out_zero_point, a.act_min, a.act_max)
    elif op == "MUL" and path == "optimized":
        lanes = 8 if uint8 else 16
        modes = neon_add.add_lane_modes(shapes[0], shapes[1], plan.size, lanes, lanes)
        neon_add.neon_mul_8bit(*args, modes, 0, a.offset1, a.offset2, a.out_multiplier, a.out_shift, a.out_offset,
                               a.act_min, a.act_max, int(info.min), int(info.max), uint8)
    elif op == "MUL":
        k.quantized_mul(*args, a.offset1, a.offset2, a.out_multiplier, a.out_shift, a.out_offset, a.act_min,
                        a.act_max)
    elif op == "ADD" and path == "optimized":
        modes = neon_add.add_lane_modes(shapes[0], shapes[1], plan.size, 8, 8 if uint8 else 16)
        if uint8:
            modes[modes == neon_add.ELEMENTWISE] = neon_add.BROADCAST
        neon_add.neon_add_8bit(*args, modes, 0, a.offset1, a.multiplier1, a.shift1, a.offset2, a.multiplier2,
                               a.shift2, a.left_shift, a.out_multiplier, a.out_shift, a.out_offset, a.act_min,
                               a.act_max, int(info.min), int(info.max))
    else:
        k.quantized_add_sub(*args, a.offset1, a.multiplier1, a.shift1, a.offset2, a.multiplier2, a.shift2,
                            a.left_shift, a.sign, a.out_multiplier, a.out_shift, a.out_offset, a.act_min,
                            a.act_max, a.vector_count)


def _layouts(dtype):
    """Shape pairs and inputs covering all 65536 pairs: both moving, x1 fixed per row, x2 fixed per row,
    rows with 16/8-lane tails, and one long row with a fixed input."""
    codes = np.arange(256, dtype=np.uint8).view(np.dtype(dtype))
    a, b = np.meshgrid(codes, codes, indexing="ij")
    rng = np.random.default_rng(3)
    long_n = 4096 + 37  # a long row with a fixed input
    tails = rng.permutation(a.reshape(-1))[:3 * 7 * 37].reshape(3, 7, 37)
    return [(((256, 256), (256, 256)), a, b),
            (((256, 1), (1, 256)), codes.reshape(256, 1), codes.reshape(1, 256)),
            (((1, 256), (256, 1)), codes.reshape(1, 256), codes.reshape(256, 1)),
            (((3, 7, 37), (37,)), tails, codes[rng.integers(0, 256, 37)]),
            (((long_n,), (1,)), codes[rng.integers(0, 256, long_n)], codes[[77]]),
            (((1,), (long_n,)), codes[[200]], codes[rng.integers(0, 256, long_n)])]


@pytest.mark.parametrize("dtype", ["int8", "uint8"])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
@pytest.mark.parametrize("path", PATHS)
def test_every_pair_matches_the_element_kernels(path, op, dtype):
    fast = 0
    kernels = set()
    for n, q in enumerate(_quantizations(op, dtype, seed=zlib.crc32(f"{path} {op} {dtype}".encode()))):
        for shapes, x1, x2 in _layouts(dtype):
            content = _model(op, dtype, q, shapes)
            try:
                it = litelens.Interpreter(model_content=content, flavor=path)
                it.allocate_tensors()
            except litelens.ModelError:  # e.g. an ADD output scale the official kernel refuses too
                continue
            taken, _ = it.kernel_paths()[0]
            params = it.op_params(0)
            for name, value in vars(params).items():
                assert not (isinstance(value, np.ndarray) and value.nbytes > 4096), name
            kernels.add(params.kernel)
            if params.kernel in FAST:
                fast += 1
                assert all(not isinstance(v, np.ndarray) or v.nbytes <= 4096 for v in params.args)
            got = np.zeros(np.broadcast_shapes(*shapes), x1.dtype)
            want = np.ones_like(got)
            run_binary(params, [x1, x2], [got])
            _oracle(taken, "arm64" if path.endswith("arm64") else "x86_64", op, params, q, shapes, x1, x2, want)
            bad = got != want
            assert not bad.any(), (f"quantization {n} {q} shapes {shapes} path {taken}: {int(bad.sum())} differ, "
                                   f"first {np.argwhere(bad)[0].tolist()}: ours {got[bad][0]} want {want[bad][0]}")
    assert fast >= 40, f"only {fast} cases ran the tableless kernels"
    if op != "MUL" and not path.startswith("xnnpack"):  # both ADD kernels ran: the linear form and the steps
        assert {b8.add_linear_8bit, b8.add_sub_8bit} <= kernels, kernels


def test_hand_made_extremes_match_the_element_kernels():
    """Quantizations at the edges of the steps' form: the largest input ratio the NEON ELEMENTWISE lanes
    take in the form (2**-20), output multipliers just below one, the widest MUL left shift that fits."""
    cases = [("ADD", "optimized", (1.0, 3, 2.0**-20 * 1.01, -5, 2.0**-18, 0, "NONE")),
             ("ADD", "optimized", (1.0, 3, 2.0**-21 * 0.99, -5, 2.0**-18, 0, "NONE")),  # outside: fallback
             ("ADD", "reference", (0.5, 0, 0.25, 7, 1.0 / 2**20 * 1.001, -1, "NONE")),
             ("SUB", "reference", (0.5, 0, 0.25, 7, 1.0 / 2**20 * 1.001, -1, "NONE")),
             ("MUL", "reference", (1.0, 0, 1.0, 0, 2.0**-14 * 1.01, 0, "NONE")),
             ("MUL", "optimized", (1.0, -128, 1.0, 127, 2.0**-16 * 1.01, 0, "NONE")),  # would wrap: fallback
             ("MUL", "xnnpack-arm64", (0.9, 0, 0.9, 7, 0.9 * 0.9 / 255.5, -1, "NONE"))]
    for op, path, q in cases:
        for shapes, x1, x2 in _layouts("int8")[:2]:
            it = litelens.Interpreter(model_content=_model(op, "int8", q, shapes), flavor=path)
            it.allocate_tensors()
            params = it.op_params(0)
            got, want = np.zeros((256, 256), np.int8), np.ones((256, 256), np.int8)
            run_binary(params, [x1, x2], [got])
            _oracle(it.kernel_paths()[0][0], "arm64" if path.endswith("arm64") else "x86_64", op, params, q,
                    shapes, x1, x2, want)
            assert np.array_equal(got, want), (op, path, q, shapes)


# ------------------------------------------------------------------------ against the official interpreter

MOBILEBERT_SHAPES = [((1, 128, 128), (1, 128, 128)), ((1, 128, 128), (128,)), ((1, 4, 128, 128), (1, 1, 1, 128)),
                     ((1, 128, 512), (512,)), ((1, 128, 512), (128, 512)), ((1, 4, 128, 128), ()),
                     ((), (1, 1, 1, 128)), ((1, 1, 1, 128), ()), ((5000,), (1,)), ((1,), (4099,))]
QUANT = {"ADD": (0.07, 3, 0.031, -9, 0.09, -2), "SUB": (0.02, -128, 0.05, 127, 0.08, 5),
         "MUL": (0.06, 2, 0.011, 128 - 256, 0.004, 6)}


@pytest.mark.parametrize("flavor", ["reference", "optimized", "xnnpack"])
@pytest.mark.parametrize("op", ["ADD", "SUB", "MUL"])
def test_mobilebert_shapes_against_the_official_interpreter(op, flavor):
    pytest.importorskip("ai_edge_litert")
    from litelens.official import run_official
    rng = np.random.default_rng(7)
    s1, z1, s2, z2, so, zo = QUANT[op]
    for shapes in MOBILEBERT_SHAPES:
        for act in ("NONE", "RELU"):
            content = _model(op, "int8", (s1, z1, s2, z2, so, zo, act), shapes)
            inputs = {i: rng.integers(-128, 128, s).astype(np.int8) for i, s in enumerate(shapes)}
            theirs = run_official(content, inputs, flavor)
            it = litelens.Interpreter(model_content=content, flavor=flavor)
            it.allocate_tensors()
            assert it.op_params(0).kernel in FAST, (shapes, it.op_params(0).kernel)
            for i, v in inputs.items():
                it.set_tensor(i, v)
            it.invoke()
            ours = it.get_tensor(2)
            assert ours.shape == theirs[2].shape and np.array_equal(ours, theirs[2]), (shapes, act)


@pytest.mark.parametrize("case", [
    ("SUB", (0.5, 3, 0.25, -7, 2e-7, 0), ((4, 33), (4, 33)), ("reference", "optimized")),  # output multiplier
    ("SUB", (0.5, 3, 0.25, -7, 2e-7, 0), ((4, 33), (33,)), ("reference", "optimized")),  # above one (+ broadcast)
    ("ADD", (1.0, 3, 2.0**-22, -5, 2.0**-18, 0), ((5, 37), (5, 37)), ("optimized",)),  # NEON input shift < -20
    ("MUL", (1.0, -128, 1.0, 127, 2.0**-16 * 1.01, 0), ((5, 37), (37,)), ("reference", "optimized")),  # p << 16
])
@pytest.mark.parametrize("flavor", ["reference", "optimized"])
def test_parameters_outside_the_steps_fall_back_bit_exactly(case, flavor):
    """Parameter sets the steps cannot express run the element kernels (no table either)."""
    pytest.importorskip("ai_edge_litert")
    from litelens.official import run_official
    op, (s1, z1, s2, z2, so, zo), shapes, fallback_in = case
    content = _model(op, "int8", (s1, z1, s2, z2, so, zo, "NONE"), shapes)
    rng = np.random.default_rng(11)
    inputs = {i: rng.integers(-128, 128, s).astype(np.int8) for i, s in enumerate(shapes)}
    theirs = run_official(content, inputs, flavor)
    it = litelens.Interpreter(model_content=content, flavor=flavor)
    it.allocate_tensors()
    params = it.op_params(0)
    assert (params.kernel not in FAST) == (flavor in fallback_in)
    # at most the optimized fallback's lane modes (one uint8 per output), never a 64 KB pair table
    assert all(not isinstance(v, np.ndarray) or v.nbytes <= max(4096, params.plan.size) for v in params.args)
    for i, v in inputs.items():
        it.set_tensor(i, v)
    it.invoke()
    assert np.array_equal(it.get_tensor(2), theirs[2])


@pytest.mark.parametrize("model", ["mobilebert-tiny-int8", "bert-tiny-int8"])
def test_shipped_int8_models_binary_ops_hold_no_table(model):
    """The int8 models shipped in golden/models: no ADD/SUB/MUL keeps an array above 4 KB in its params."""
    from litelens.goldens import golden_dir

    path = golden_dir() / "models" / f"{model}.tflite"
    for flavor in ("reference", "optimized", "xnnpack"):
        it = litelens.Interpreter(model_path=path, flavor=flavor)
        it.allocate_tensors()
        checked = 0
        for i, node in enumerate(it.nodes):
            if node.opcode in ("ADD", "SUB", "MUL"):
                params = it.op_params(i)
                assert params.kernel in FAST or params.plan.size == 0, (flavor, i, node.opcode)
                assert all(not isinstance(v, np.ndarray) or v.nbytes <= 4096 for v in params.args)
                checked += 1
        assert checked > 10, (model, flavor, checked)


# ------------------------------------------------------------------------------------ plain Python

_NO_JIT_SCRIPT = r"""
import numpy as np
import litelens
from litelens import build
from litelens.ops.binary_common import run_binary
codes = np.arange(256, dtype=np.uint8).view(np.int8)
a, b = np.meshgrid(codes[::7], codes[::5], indexing="ij")
rows = []
for op, q in [("ADD", (0.07, 3, 0.031, -9, 0.09, -2)), ("SUB", (0.02, -128, 0.05, 127, 0.08, 5)),
              ("MUL", (0.06, 2, 0.011, -128, 0.004, 6))]:
    for flavor in ("reference", "optimized", "xnnpack", "xnnpack-arm64"):
        long = np.resize(codes, 4200)  # a fixed input over a long row
        for x1, x2 in [(a, b), (a[:, :1], b[:1, :]), (a.reshape(-1), codes[[9]]), (codes[[200]], long)]:
            out = np.broadcast_shapes(x1.shape, x2.shape)
            s1, z1, s2, z2, so, zo = q
            t = lambda s, n, sc, z: build.Tensor(list(s), "int8", n, scale=sc, zero_point=z)
            m = build.single_op(op, [t(x1.shape, "a", s1, z1), t(x2.shape, "b", s2, z2)], [t(out, "o", so, zo)],
                                {"fused_activation_function": "RELU6"}).to_bytes()
            it = litelens.Interpreter(model_content=m, flavor=flavor)
            it.allocate_tensors()
            got = np.zeros(out, np.int8)
            run_binary(it.op_params(0), [x1, x2], [got])
            rows.append(got.reshape(-1))
print(np.concatenate(rows).tobytes().hex())
"""


def test_tableless_kernels_run_as_plain_python():
    """NUMBA_DISABLE_JIT=1 runs the same code as plain Python: the same bits as the jitted kernels."""
    runs = {}
    for jit_off in ("0", "1"):
        env = dict(os.environ, NUMBA_DISABLE_JIT=jit_off)
        done = subprocess.run([sys.executable, "-c", _NO_JIT_SCRIPT], capture_output=True, text=True, env=env,
                              timeout=600)
        assert done.returncode == 0, done.stderr[-3000:]
        runs[jit_off] = done.stdout.strip().splitlines()[-1]
    assert runs["0"] == runs["1"]
