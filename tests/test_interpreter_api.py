"""The Interpreter's Python API matches the official one's; bad models and inputs give clear errors."""
import numpy as np
import pytest

import litelens

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from single_op import convert_fn  # noqa: E402

from litelens.official import official_interpreter  # noqa: E402


@pytest.fixture(scope="module")
def int8_model():
    def fn(x, ids):
        return tf.transpose(tf.reshape(x, [2, 12, 3]), [0, 2, 1]), tf.gather(tf.constant(np.eye(8, dtype=np.float32)), ids)

    return convert_fn(fn, [tf.TensorSpec([2, 4, 9], tf.float32), tf.TensorSpec([3], tf.int32)], flavor="int8")


def _same_details(ours, theirs):
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert a["name"] == b["name"]
        assert a["index"] == b["index"]
        np.testing.assert_array_equal(a["shape"], b["shape"])
        np.testing.assert_array_equal(a["shape_signature"], b["shape_signature"])
        assert a["dtype"] == b["dtype"]
        assert a["quantization"][1] == b["quantization"][1]
        assert a["quantization"][0] == pytest.approx(b["quantization"][0], rel=1e-7)
        qa, qb = a["quantization_parameters"], b["quantization_parameters"]
        np.testing.assert_array_equal(qa["scales"], qb["scales"])
        np.testing.assert_array_equal(qa["zero_points"], qb["zero_points"])
        assert qa["quantized_dimension"] == qb["quantized_dimension"]


def test_details_match_official(int8_model):
    ours = litelens.Interpreter(model_content=int8_model)
    ours.allocate_tensors()
    theirs = official_interpreter(int8_model)
    _same_details(ours.get_input_details(), theirs.get_input_details())
    _same_details(ours.get_output_details(), theirs.get_output_details())
    _same_details(ours.get_tensor_details(), theirs.get_tensor_details())


def test_set_tensor_checks_dtype_and_shape(int8_model):
    interp = litelens.Interpreter(model_content=int8_model)
    interp.allocate_tensors()
    x = interp.get_input_details()[0]
    with pytest.raises(litelens.InputError, match="dtype"):
        interp.set_tensor(x["index"], np.zeros(x["shape"], np.float32))
    with pytest.raises(litelens.InputError, match="shape"):
        interp.set_tensor(x["index"], np.zeros((1, 2), np.int8))
    with pytest.raises(ValueError, match="allocate_tensors"):
        litelens.Interpreter(model_content=int8_model).invoke()


def test_no_signature_runner_without_signature_defs(int8_model):
    # Models converted from concrete functions carry no signature defs; both interpreters refuse.
    with pytest.raises(ValueError):
        official_interpreter(int8_model).get_signature_runner()
    with pytest.raises(ValueError, match="no signature"):
        litelens.Interpreter(model_content=int8_model).get_signature_runner()


def test_unsupported_op_is_named_with_the_supported_list():
    model = convert_fn(lambda x: tf.math.cumsum(x, axis=1), [tf.TensorSpec([2, 5], tf.float32)], flavor="float32")
    with pytest.raises(litelens.ModelError) as err:
        litelens.Interpreter(model_content=model)
    message = str(err.value)
    assert "CUMSUM" in message and "RESHAPE" in message and "TRANSPOSE" in message


@pytest.mark.parametrize("content", [b"", b"1234", b"\x00" * 64, b"abcdTFL3" + b"\xff" * 40])
def test_garbage_is_a_model_error(content):
    with pytest.raises(litelens.ModelError):
        litelens.Interpreter(model_content=content).allocate_tensors()


def test_truncated_model_is_a_model_error(int8_model):
    for cut in (9, 100, len(int8_model) // 2, len(int8_model) - 50):
        with pytest.raises(litelens.ModelError):
            litelens.Interpreter(model_content=int8_model[:cut]).allocate_tensors()
