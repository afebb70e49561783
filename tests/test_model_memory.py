"""What a loaded model keeps in memory: quantization vectors are read-only views of the model bytes
(checked against the schema bindings' values), repeated small values are shared, per-op work buffers
are per-thread scratch rather than one per op."""
from pathlib import Path

import numpy as np
import pytest
import tflite

import litelens
from litelens.model import load_model

MODELS = Path(__file__).resolve().parent.parent / "golden" / "models"


@pytest.fixture(scope="module")
def int8_model() -> bytes:
    return (MODELS / "mobilebert-tiny-int8.tflite").read_bytes()


def _binding_quantization(content: bytes, index: int):
    q = tflite.Model.GetRootAsModel(content, 0).Subgraphs(0).Tensors(index).Quantization()
    return q.ScaleAsNumpy(), q.ZeroPointAsNumpy()


def test_quantization_vectors_are_views_of_the_file_with_the_bindings_values(int8_model):
    info = load_model(int8_model)
    file_bytes = np.frombuffer(int8_model, np.uint8)
    quantized = [t for t in info.subgraphs[0].tensors if t.quantization is not None]
    per_channel = [t for t in quantized if t.quantization.per_channel]
    assert quantized and per_channel, "the tiny int8 MobileBERT has per-tensor and per-channel tensors"
    for t in quantized:
        q = t.quantization
        scale, zero_point = _binding_quantization(int8_model, t.index)
        assert q.scale.dtype == np.float32 and q.zero_point.dtype == np.int64
        np.testing.assert_array_equal(q.scale, scale)
        np.testing.assert_array_equal(q.zero_point, zero_point)
        assert not q.scale.flags.writeable and not q.zero_point.flags.writeable
        assert np.shares_memory(q.scale, file_bytes)  # no copy
        if q.per_channel:
            assert np.shares_memory(q.zero_point, file_bytes)


def test_equal_small_values_are_shared(int8_model):
    tensors = load_model(int8_model).subgraphs[0].tensors
    by_zero_point: dict[int, list] = {}
    for t in tensors:
        if t.quantization is not None and not t.quantization.per_channel:
            by_zero_point.setdefault(int(t.quantization.zero_point[0]), []).append(t.quantization.zero_point)
    assert any(len(group) > 1 for group in by_zero_point.values())
    for group in by_zero_point.values():
        assert all(z is group[0] for z in group)
    by_shape: dict[tuple, list] = {}
    for t in tensors:
        by_shape.setdefault(t.shape, []).append(t.shape)
    for group in by_shape.values():
        assert all(s is group[0] for s in group)


def test_missing_fc_biases_share_one_read_only_zero_array():
    from litelens.ops.fully_connected import _no_bias

    a, b = _no_bias(64, np.int32), _no_bias(64, np.int32)
    assert a is b and not a.flags.writeable and not a.any()
    assert _no_bias(64, np.float32) is not a and _no_bias(64, np.float32).dtype == np.float32


def test_float_batch_matmul_transposes_into_thread_scratch():
    """The float BATCH_MATMULs' transpose buffers are int_gemm scratch specs (shared by every op on a
    thread), not arrays held by each op."""
    interp = litelens.Interpreter(model_path=str(MODELS / "mobilebert-tiny-float32.tflite"))
    interp.allocate_tensors()
    plans = [s.params for s in interp._steps if s.node.opcode == "BATCH_MATMUL"]
    assert plans
    for plan in plans:
        for spec in (plan.lhs_buf, plan.rhs_buf):
            assert isinstance(spec, tuple) and isinstance(spec[0], str) and spec[2] == np.float32
