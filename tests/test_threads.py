"""``num_threads``: big ops split their rows across threads, with the bits of one thread.

The split must really happen (the plans are checked), cover every row exactly once, and give the
official reference interpreter's bits.
"""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import litelens
from litelens import build
from litelens.parallel import part_bounds, row_parts


@given(rows=st.integers(0, 5000), threads=st.integers(1, 8), align=st.integers(1, 64),
       ns_per_row=st.floats(0, 1e6))
def test_row_parts_cover_every_row_once(rows, threads, align, ns_per_row):
    parts = row_parts(rows, threads, align, ns_per_row)
    assert 1 <= len(parts) <= threads
    covered = [r for start, stop in parts for r in range(start, stop)]
    assert covered == list(range(rows))
    assert all(start % align == 0 for start, _ in parts)


def test_small_work_is_not_split():
    assert row_parts(128, 2, 8, ns_per_row=10.0) == ((0, 128),)
    assert len(row_parts(128, 2, 8, ns_per_row=10_000.0)) == 2


def test_part_bounds():
    assert list(part_bounds(((0, 64), (64, 128)))) == [0, 64, 128]
    assert not part_bounds(((0, 3),)).flags.writeable


def _fc_model(dtype: str, m: int, k: int, n: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    if dtype == "float32":
        x = build.Tensor([m, k], "float32", "x")
        w = build.Tensor([n, k], "float32", "w", data=rng.standard_normal((n, k)).astype(np.float32))
        b = build.Tensor([n], "float32", "b", data=rng.standard_normal(n).astype(np.float32))
        y = build.Tensor([m, n], "float32", "y")
        value = rng.standard_normal((m, k)).astype(np.float32)
    else:
        x = build.Tensor([m, k], "int8", "x", scale=0.05, zero_point=3)
        w = build.Tensor([n, k], "int8", "w", data=rng.integers(-127, 128, (n, k)).astype(np.int8),
                         scale=0.01, zero_point=0)
        b = build.Tensor([n], "int32", "b", data=rng.integers(-5000, 5000, n).astype(np.int32), scale=0.0005,
                         zero_point=0)
        y = build.Tensor([m, n], "int8", "y", scale=0.5, zero_point=-2)
        value = rng.integers(-128, 128, (m, k)).astype(np.int8)
    model = build.single_op("FULLY_CONNECTED", [x, w, b], [y], {"fused_activation_function": "RELU"}).to_bytes()
    return model, value


def _run(model: bytes, value: np.ndarray, threads: int):
    interp = litelens.Interpreter(model_content=model, num_threads=threads)
    interp.allocate_tensors()
    interp.set_tensor(interp.get_input_details()[0]["index"], value)
    interp.invoke()
    return interp, interp.get_tensor(interp.get_output_details()[0]["index"])


@pytest.mark.parametrize("dtype,m", [("float32", 200), ("float32", 37), ("int8", 1000), ("int8", 517)])
def test_fully_connected_split_matches_one_thread_and_official(dtype, m):
    pytest.importorskip("ai_edge_litert")
    from litelens.official import run_official

    model, value = _fc_model(dtype, m, 512, 512)
    one, expected = _run(model, value, 1)
    for threads in (2, 3):
        interp, got = _run(model, value, threads)
        parts = interp.op_params(0).parts
        assert len(parts) == threads, parts  # the split happened
        assert np.array_equal(got, expected)
    official = run_official(model, {0: value}, "reference")
    out = one.get_output_details()[0]["index"]
    assert np.array_equal(official[out], expected)


def test_num_threads_is_validated():
    model, _ = _fc_model("float32", 2, 4, 4)
    for bad in (-2, 1.5, "2", True):
        with pytest.raises(ValueError, match="num_threads"):
            litelens.Interpreter(model_content=model, num_threads=bad)
    litelens.Interpreter(model_content=model, num_threads=-1)  # the official "runtime decides": one thread


@pytest.mark.parametrize("activation,asymmetric", [("RELU", True), ("NONE", False), ("TANH", True)])
def test_hybrid_fully_connected_split_matches_one_thread_and_official(activation, asymmetric):
    """The dynamic-range (hybrid) FC: float input, int8 weights, rows quantized per thread block."""
    pytest.importorskip("ai_edge_litert")
    from litelens.kernels import int_gemm
    from litelens.official import run_official

    if int_gemm.ISA is None:
        pytest.skip("the hybrid split runs on the integer kernel")
    rng = np.random.default_rng(7)
    m, k, n = 300, 512, 512
    x = build.Tensor([m, k], "float32", "x")
    weights = rng.integers(-128, 128, (n, k)).astype(np.int8)  # -128 too: the maddubs correction
    w = build.Tensor([n, k], "int8", "w", data=weights, scale=0.02, zero_point=0)
    b = build.Tensor([n], "float32", "b", data=rng.standard_normal(n).astype(np.float32))
    y = build.Tensor([m, n], "float32", "y")
    model = build.single_op("FULLY_CONNECTED", [x, w, b], [y], {"fused_activation_function": activation,
                                                               "asymmetric_quantize_inputs": asymmetric}).to_bytes()
    value = (rng.standard_normal((m, k)) * 3).astype(np.float32)
    value[5] = 0.0  # an all-zero row (the whole-input zero test stays global)
    one, expected = _run(model, value, 1)
    interp, got = _run(model, value, 2)
    assert len(interp.op_params(0).parts) == 2
    assert np.array_equal(got.view(np.int32), expected.view(np.int32))
    official = run_official(model, {0: value}, "reference")
    out = one.get_output_details()[0]["index"]
    assert np.array_equal(official[out].view(np.int32), expected.view(np.int32))
