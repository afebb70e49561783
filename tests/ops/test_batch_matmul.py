"""BATCH_MATMUL against the official BUILTIN_REF kernel (ai-edge-litert), every tensor compared.

TensorFlow-converted single-op models (float32, int8, int16x8) over adj_x / adj_y, K = 1 / odd /
300 (the int8 accumulator then needs float64 to stay exact), size-1 and broadcast batch dims, ranks
2 to 5, constant and run-time rhs; hand-built FlatBuffers for what the converter never writes
(int8 x int8 -> int32, int16 x int8) and for models both interpreters must refuse.

Integer tensors must match bit for bit. Float32 tensors are compared with tolerance 0: the kernel
reproduces the reference loop's sequential float32 sums (no reordering, no FMA), so a difference
is an arithmetic difference, not noise.
"""
from __future__ import annotations

import functools

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")
import tflite  # noqa: E402

from single_op import compare_with_official, convert_fn  # noqa: E402

import litelens  # noqa: E402
from litelens.errors import ModelError  # noqa: E402

from .test_fully_connected import _official_refuses, assert_matches, build_model, op_names, tensor  # noqa: E402

spec = tf.TensorSpec
CONST = np.random.default_rng(11)

# name -> (lhs shape, rhs shape or ("const", shape), adj_x, adj_y)
CASES = {
    "plain": ((2, 5, 16), (2, 16, 6), False, False),
    "adj_y_attention_scores": ((4, 12, 8), (4, 12, 8), False, True),
    "adj_x": ((2, 16, 5), (2, 16, 3), True, False),
    "adj_x_adj_y": ((3, 7, 5), (3, 4, 7), True, True),
    "k1": ((2, 5, 1), (2, 1, 4), False, False),
    "size1_batch": ((1, 5, 7), (1, 7, 3), False, False),
    "broadcast_rank5": ((2, 1, 3, 5, 4), (1, 2, 1, 4, 3), False, False),
    "broadcast_rank_mismatch": ((2, 3, 5, 4), (3, 4, 6), False, False),
    "rank2": ((5, 9), (9, 3), False, False),
    "k300": ((1, 3, 300), (1, 300, 4), False, False),
    "const_rhs": ((2, 5, 16), ("const", (2, 16, 6)), False, False),
    "const_rhs_adj_y": ((2, 5, 16), ("const", (2, 6, 16)), False, True),
    "const_rhs_broadcast": ((3, 2, 5, 16), ("const", (1, 16, 6)), False, False),
}


@functools.lru_cache(maxsize=None)
def bmm_model(case: str, flavor: str) -> bytes:
    lhs_shape, rhs_shape, adj_x, adj_y = CASES[case]
    specs = [spec(lhs_shape, tf.float32)]
    if rhs_shape[0] == "const":
        rhs = CONST.standard_normal(rhs_shape[1]).astype(np.float32)

        def fn(a):
            return tf.matmul(a, rhs, adjoint_a=adj_x, adjoint_b=adj_y)
    else:
        specs.append(spec(rhs_shape, tf.float32))

        def fn(a, b):
            return tf.matmul(a, b, adjoint_a=adj_x, adjoint_b=adj_y)

    return convert_fn(fn, specs, flavor=flavor)


@pytest.mark.parametrize("flavor", ["float32", "int8", "int16x8"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_converted(case, flavor):
    model = bmm_model(case, flavor)
    if op_names(model) != ["BATCH_MATMUL"]:
        pytest.skip(f"the converter wrote {op_names(model)} for this case")
    assert_matches(model)


def test_cases_reach_batch_matmul():
    """The case table really exercises BATCH_MATMUL with both adj flags and a constant rhs."""
    from litelens.model import load_model

    seen = set()
    for case in CASES:
        ops = load_model(bmm_model(case, "int8")).subgraphs[0].operators
        if [op.opcode for op in ops] == ["BATCH_MATMUL"]:
            seen.add((bool(ops[0].options.AdjX()), bool(ops[0].options.AdjY())))
    assert seen == {(False, False), (True, False), (False, True), (True, True)}
    assert sum(op_names(bmm_model(c, "int8")) == ["BATCH_MATMUL"] for c in CASES) >= len(CASES) - 2


# ---------------------------------------------------------------- hand-built models

def bmm_options(adj_x=False, adj_y=False):
    def write(b):
        tflite.BatchMatMulOptionsStart(b)
        tflite.BatchMatMulOptionsAddAdjX(b, adj_x)
        tflite.BatchMatMulOptionsAddAdjY(b, adj_y)
        return tflite.BatchMatMulOptionsEnd(b)

    return write


def bmm_model_by_hand(lhs, rhs, out, adj_x=False, adj_y=False, rhs_const=False) -> bytes:
    """lhs / rhs / out: (shape, dtype, scale, zero_point); scale None = not quantized."""
    tensors = []
    for name, (shape, dtype, scale, zp) in zip(("lhs", "rhs", "out"), (lhs, rhs, out)):
        data = None
        if name == "rhs" and rhs_const:
            info = np.iinfo(dtype)
            data = CONST.integers(info.min, info.max + 1, shape)
        tensors.append(tensor(name, shape, dtype, data, scale=scale, zero_point=zp))
    return build_model("BATCH_MATMUL", tensors, [0, 1], [2], tflite.BuiltinOptions.BatchMatMulOptions,
                       bmm_options(adj_x, adj_y))


I8, I16, I32 = np.int8, np.int16, np.int32
HAND_BUILT = {  # name -> (lhs, rhs, out[, adj_x, adj_y, rhs_const]); each (shape, dtype, scale, zero point)
    # int8 x int8 -> int32: the raw product, zero points ignored (EvalInt8Int32)
    "int8_to_int32": (((2, 5, 40), I8, 0.1, 3), ((2, 40, 7), I8, 0.2, -4), ((2, 5, 7), I32, None, None)),
    "int8_to_int32_adj": (((3, 6, 5), I8, 0.1, 3), ((1, 7, 6), I8, 0.2, -4), ((3, 5, 7), I32, None, None),
                          True, True),
    # int16 lhs, int8 rhs -> int16 (EvalInt16Int8): int64 accumulator, int64 MBQM
    "int16_x_int8": (((2, 4, 33), I16, 1e-3, 0), ((2, 33, 5), I8, 0.02, 0), ((2, 4, 5), I16, 4e-3, 0)),
    "int16_x_int8_const_adj_y": (((3, 4, 33), I16, 1e-3, 0), ((5, 33), I8, 0.02, 0), ((3, 4, 5), I16, 2e-2, 0),
                                 False, True, True),
    # int8 with a scale ratio above 1 (left shift in MBQM) and an asymmetric output
    "int8_multiplier_above_one": (((2, 3, 4), I8, 0.5, 10), ((2, 4, 3), I8, 0.5, -7), ((2, 3, 3), I8, 0.1, 20)),
}


@pytest.mark.parametrize("case", sorted(HAND_BUILT))
def test_hand_built(case):
    assert_matches(bmm_model_by_hand(*HAND_BUILT[case]), seeds=(0, 1, 2))


def test_multiplier_uses_float32_scale_product():
    """real = double(float32(l_s * r_s)) / double(out_s): pinned on scales where it matters.

    For these scales the float32-rounded product moves the quantized multiplier enough that
    acc = 98 * 59 = 5782 requantizes to 52, where the full double product would give 51 (found by
    search). K = 1 and every code pair, so all 65536 products are checked.
    """
    model = bmm_model_by_hand(((1, 256, 1), np.int8, np.float32(0.00997574), 0),
                              ((1, 1, 256), np.int8, np.float32(0.025046742), 0),
                              ((1, 256, 256), np.int8, np.float32(0.028056474), 0))
    codes = np.arange(-128, 128, dtype=np.int8)
    inputs = {0: codes.reshape(1, 256, 1), 1: codes.reshape(1, 1, 256)}
    compare_with_official(model, inputs).assert_ok()
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    for index, value in inputs.items():
        interp.set_tensor(index, value)
    interp.invoke()
    out = interp.get_tensor(2)[0]
    assert out[98 + 128, 59 + 128] == 52 and out[-98 + 128, 59 + 128] == -52


REFUSED = {
    "rank6": (((1, 2, 1, 3, 5, 4), np.float32, None, None), ((1, 2, 1, 3, 4, 3), np.float32, None, None),
              ((1, 2, 1, 3, 5, 3), np.float32, None, None)),
    "batch_not_broadcastable": (((2, 5, 4), np.float32, None, None), ((3, 4, 3), np.float32, None, None),
                                ((2, 5, 3), np.float32, None, None)),
    "k_mismatch": (((2, 5, 4), np.float32, None, None), ((2, 5, 3), np.float32, None, None),
                   ((2, 5, 3), np.float32, None, None)),
    "int16_zero_point": (((2, 3, 4), np.int16, 1e-3, 5), ((2, 4, 3), np.int16, 1e-3, 0),
                         ((2, 3, 3), np.int16, 1e-3, 0)),
    "rank1": (((4,), np.float32, None, None), ((4, 3), np.float32, None, None), ((3,), np.float32, None, None)),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_like_official(case):
    model = bmm_model_by_hand(*REFUSED[case])
    assert _official_refuses(model)
    with pytest.raises(ModelError, match="BATCH_MATMUL"):
        litelens.Interpreter(model_content=model).allocate_tensors()


def test_hybrid_runs():
    """float32 lhs with int8 rhs is the hybrid kernel (covered in depth by test_hybrid.py)."""
    model = bmm_model_by_hand(((2, 3, 4), np.float32, None, None), ((2, 4, 3), np.int8, 0.1, 0),
                              ((2, 3, 3), np.float32, None, None), rhs_const=True)
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    compare_with_official(model, {0: x}).assert_ok()
