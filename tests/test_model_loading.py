"""Loading: the large-model layout (buffers stored after the FlatBuffer by offset and size)."""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")
import tflite  # noqa: E402

from single_op import compare_with_official  # noqa: E402

from litelens.model import load_model  # noqa: E402


def _offset_model(flavor: str) -> bytes:
    w = tf.constant(np.random.default_rng(0).standard_normal((64, 32)).astype(np.float32))
    f = tf.function(lambda x: tf.nn.relu(tf.matmul(x, w)), input_signature=[tf.TensorSpec([3, 64], tf.float32)])
    converter = tf.lite.TFLiteConverter.from_concrete_functions([f.get_concrete_function()], f)
    converter._experimental_use_buffer_offset = True
    if flavor == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = lambda: ([np.random.default_rng(i).standard_normal((3, 64)).astype(np.float32)]
                                                    for i in range(8))
    return converter.convert()


def test_buffers_after_the_flatbuffer():
    # (the converter keeps the offset layout for float models only; the quantizer rewrites it inline)
    model = _offset_model("float32")
    root = tflite.Model.GetRootAsModel(model, 0)
    offsets = [root.Buffers(i).Offset() for i in range(root.BuffersLength())]
    assert max(offsets) > 1, "the converter did not use the offset layout"
    info = load_model(model)
    constants = [t for t in info.subgraphs[0].tensors if t.data is not None]
    assert constants and all(not t.data.flags.writeable for t in constants)
    compare_with_official(model).assert_ok()


def test_buffer_pointing_past_the_end_is_a_model_error():
    model = bytearray(_offset_model("float32"))
    root = tflite.Model.GetRootAsModel(bytes(model), 0)
    for i in range(root.BuffersLength()):
        buffer = root.Buffers(i)
        if buffer.Offset() > 1:
            field = buffer._tab.Offset(8)  # Buffer.size (uint64)
            position = buffer._tab.Pos + field
            model[position:position + 8] = (len(model) * 2).to_bytes(8, "little")
            break
    import litelens

    with pytest.raises(litelens.ModelError, match="outside"):
        litelens.Interpreter(model_content=bytes(model))
