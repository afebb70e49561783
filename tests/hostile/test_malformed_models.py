"""Each kind of malformed model the hostile-model issue names gives a ModelError that says what is wrong.

Models are built with ``litelens.build`` (deliberately wrong descriptions) or by editing the bytes of
a valid one at positions found with the ``tflite`` bindings. Every test checks the message names the
problem, and that the error comes at load or ``allocate_tensors``, before any kernel runs. The same
kinds of damage are also produced at random by the fuzz campaign (``test_fuzz.py``); these tests pin
down one clear example of each.
"""
from __future__ import annotations

import struct
import time

import numpy as np
import pytest
import tflite

import litelens
from litelens import build
from litelens.build import Operator, Tensor

RNG = np.random.default_rng(0)


def fc_model(**changes) -> build.Model:
    """int8 FULLY_CONNECTED with per-channel weights: x [2, 6] -> y [2, 4]."""
    tensors = {
        "x": Tensor([2, 6], "int8", "x", scale=0.05, zero_point=-3),
        "w": Tensor([4, 6], "int8", "w", data=RNG.integers(-127, 128, (4, 6)), scale=[0.01, 0.02, 0.03, 0.04]),
        "b": Tensor([4], "int32", "b", data=RNG.integers(-99, 99, 4), scale=[5e-4, 1e-3, 1.5e-3, 2e-3]),
        "y": Tensor([2, 4], "int8", "y", scale=0.1, zero_point=2),
    }
    for name, tensor in changes.items():
        tensors[name] = tensor
    return build.single_op("FULLY_CONNECTED", [tensors["x"], tensors["w"], tensors["b"]], [tensors["y"]],
                           {"fused_activation_function": "NONE"})


def chain_model() -> build.Model:
    """Two float ops: t = a + b; y = t * b."""
    tensors = [Tensor([2, 3], "float32", "a"), Tensor([2, 3], "float32", "b"), Tensor([2, 3], "float32", "t"),
               Tensor([2, 3], "float32", "y")]
    ops = [Operator("ADD", [0, 1], [2], {}), Operator("MUL", [2, 1], [3], {})]
    return build.graph(tensors, ops, inputs=[0, 1], outputs=[3])


def run(content: bytes, **kwargs) -> litelens.Interpreter:
    interp = litelens.Interpreter(model_content=content, **kwargs)
    interp.allocate_tensors()
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], np.ones(d["shape"], d["dtype"]))
    interp.invoke()
    return interp


def refused(content: bytes, match: str, stage: str | None = None, **kwargs) -> litelens.ModelError:
    """Assert loading or allocating ``content`` raises a ModelError matching ``match`` (at ``stage``)."""
    at = "load"
    with pytest.raises(litelens.ModelError, match=match) as err:
        interp = litelens.Interpreter(model_content=content, **kwargs)
        at = "allocate"
        interp.allocate_tensors()
        at = "invoke"
    assert at != "invoke"
    if stage is not None:
        assert at == stage, f"raised at {at}, expected at {stage}: {err.value}"
    assert err.value.__cause__ is None or isinstance(err.value.__cause__, litelens.ModelError), \
        f"an op's Prepare raised {err.value.__cause__!r} instead of checking"
    return err.value


def test_the_base_models_run():
    run(fc_model().to_bytes())
    out = run(chain_model().to_bytes()).get_tensor(3)
    np.testing.assert_array_equal(out, np.full((2, 3), 2.0, np.float32))


# ---------------------------------------------------------------- the FlatBuffer itself

def _field_position(table, slot: int) -> int:
    """Byte position of a table's field (slot 4 = first field)."""
    off = table._tab.Offset(slot)
    assert off, "field absent"
    return table._tab.Pos + off


def _vector_length_position(table, slot: int) -> int:
    return table._tab.Vector(table._tab.Offset(slot)) - 4


def _patch(content: bytes, pos: int, fmt: str, value) -> bytes:
    data = bytearray(content)
    struct.pack_into(fmt, data, pos, value)
    return bytes(data)


def test_every_truncation_is_refused_or_harmless():
    content = fc_model().to_bytes()
    reference = run(content).get_tensor(3)
    refusals = 0
    for cut in range(len(content)):
        try:
            out = run(content[:cut]).get_tensor(3)
        except litelens.ModelError:
            refusals += 1
            continue
        np.testing.assert_array_equal(out, reference)  # only padding was cut
    assert refusals > len(content) * 0.9


def test_root_offset_outside_the_file():
    content = fc_model().to_bytes()
    refused(_patch(content, 0, "<I", len(content) + 64), "malformed model", "load")


def test_table_pointer_outside_the_file():
    content = fc_model().to_bytes()
    root = tflite.Model.GetRootAsModel(content, 0)
    tensor = root.Subgraphs(0).Tensors(1)
    # the vtable pointer of tensor 1 sends the reader 2 GB before the table
    refused(_patch(content, tensor._tab.Pos, "<i", 2**31 - 1), "malformed model", "load")


def test_vector_offset_outside_the_file():
    content = fc_model().to_bytes()
    tensor = tflite.Model.GetRootAsModel(content, 0).Subgraphs(0).Tensors(0)
    pos = _field_position(tensor, 4)  # uoffset of the shape vector
    refused(_patch(content, pos, "<I", 0xFFFFFF00), "malformed model", "load")


def test_huge_vector_length():
    content = fc_model().to_bytes()
    root = tflite.Model.GetRootAsModel(content, 0)
    pos = _vector_length_position(root.Subgraphs(0), 4)  # the tensors vector
    refused(_patch(content, pos, "<I", 0x7FFFFFFF), "tensors claims 2147483647 entries", "load")
    pos = _vector_length_position(root.Subgraphs(0).Tensors(0), 4)  # a shape vector, just past the end
    n = (len(content) - pos) // 4
    refused(_patch(content, pos, "<I", n), f"tensor 0 'x' shape \\({n} entries\\) runs past the end of the file",
            "load")


def test_buffer_larger_than_the_file():
    content = fc_model().to_bytes()
    root = tflite.Model.GetRootAsModel(content, 0)
    weights = root.Buffers(root.Subgraphs(0).Tensors(1).Buffer())
    pos = _vector_length_position(weights, 4)
    refused(_patch(content, pos, "<I", len(content) * 4), "buffer .* more than the file can hold", "load")
    refused(_patch(content, pos, "<I", len(content) - pos), "buffer .* ends past the end of the file", "load")


def test_buffer_index_out_of_range():
    content = fc_model(w=Tensor([4, 6], "int8", "w", data=np.ones((4, 6)), scale=0.1, buffer=77)).to_bytes()
    refused(content, "tensor 1 'w' uses buffer 77, but the model has 3 buffers", "load")


def test_overlapping_tables_do_not_make_the_parse_slow():
    """Every entry of a long tensors vector points at one tensor whose shape has 4000 entries: 4000 x
    4000 reads from a 100 kB file. The parse budget refuses it at once instead of taking minutes."""
    tensors = [Tensor([1] * 4000, "float32", "big")] + [Tensor([1], "float32", f"t{i}") for i in range(4000)]
    model = build.graph(tensors, [Operator("ADD", [1, 2], [3], {})], inputs=[1, 2], outputs=[3])
    data = bytearray(model.to_bytes())
    graph = tflite.Model.GetRootAsModel(bytes(data), 0).Subgraphs(0)
    vector = graph._tab.Vector(graph._tab.Offset(4))
    target = graph.Tensors(0)._tab.Pos
    for i in range(graph.TensorsLength()):
        struct.pack_into("<I", data, vector + 4 * i, target - (vector + 4 * i))
    start = time.perf_counter()
    refused(bytes(data), "overlap", "load")
    assert time.perf_counter() - start < 5


# ---------------------------------------------------------------- shapes and memory

def test_negative_dimension():
    refused(fc_model(x=Tensor([-2, 6], "int8", "x", scale=0.05)).to_bytes(), "negative dimension", "load")


def test_absurd_shape_over_the_default_cap_is_refused_without_allocating():
    x = Tensor([65536, 65536, 2], "float32", "x")  # 32 GiB
    content = build.single_op("TANH", [x], [x.copy(name="y")]).to_bytes()
    start = time.perf_counter()
    err = refused(content, "max_tensor_bytes", "allocate")
    assert "34359738368 bytes" in str(err) and str(4 << 30) in str(err)
    assert time.perf_counter() - start < 2


def test_the_cap_is_configurable_and_counts_every_tensor():
    x = Tensor([100, 100], "float32", "x")  # 40 kB each, x and y
    content = build.single_op("TANH", [x], [x.copy(name="y")]).to_bytes()
    run(content, max_tensor_bytes=80_000)
    err = refused(content, "bring the model's tensors to 80000 bytes", "allocate", max_tensor_bytes=79_999)
    assert "'y'" in str(err)
    refused(content, "would need 40000 bytes", "allocate", max_tensor_bytes=39_999)


def test_an_output_shape_over_the_cap_is_refused():
    """The shapes Prepare computes count too: a broadcast of [65536, 1] and [1, 65536] is 16 GiB."""
    a, b = Tensor([65536, 1], "float32", "a"), Tensor([1, 65536], "float32", "b")
    content = build.single_op("ADD", [a, b], [Tensor([1], "float32", "y")], {}).to_bytes()
    refused(content, r"'y' of shape \[65536, 65536\].*max_tensor_bytes", "allocate")


def test_work_buffers_count_against_the_cap():
    """An int8 FULLY_CONNECTED with 20000 rows of K = 6: 200 kB of tensors, but its Eval works on rows
    padded to the integer kernel's tile (or widened to float), several MB: refused at allocate, not
    allocated at invoke (found by the fuzzer: a 64 MB input made a 2.5 GB scratch)."""
    content = fc_model(x=Tensor([20000, 6], "int8", "x", scale=0.05, zero_point=-3),
                       y=Tensor([20000, 4], "int8", "y", scale=0.1, zero_point=2)).to_bytes()
    run(content, max_tensor_bytes=64 << 20)
    refused(content, "op 0 FULLY_CONNECTED: its work buffers and tables", "allocate", max_tensor_bytes=1 << 20)


def test_a_zero_dimension_does_not_hide_huge_ones():
    """[0, 2**31-1, 2**31-1] holds no element, but loops over its other dimensions would never end."""
    x = Tensor([0, 2**31 - 1, 2**31 - 1], "float32", "x")
    content = build.single_op("TANH", [x], [x.copy(name="y")]).to_bytes()
    refused(content, "max_tensor_bytes", "allocate")


# ---------------------------------------------------------------- quantization

def test_scales_and_zero_points_of_different_lengths():
    x = Tensor([2, 6], "int8", "x", scale=[0.05, 0.05], zero_point=[0, 0, 0])
    refused(fc_model(x=x).to_bytes(), "2 scales but 3 zero points", "load")


def test_per_channel_scale_count_does_not_match_the_axis():
    w = Tensor([4, 6], "int8", "w", data=np.ones((4, 6)), scale=[0.1, 0.2, 0.3])
    refused(fc_model(w=w).to_bytes(), "3 per-channel scales on axis 0", "load")


@pytest.mark.parametrize("axis", [2, 7, -1, 2**31 - 1])
def test_per_channel_axis_out_of_range(axis):
    w = Tensor([4, 6], "int8", "w", data=np.ones((4, 6)), scale=[0.1, 0.2, 0.3, 0.4], axis=axis)
    refused(fc_model(w=w).to_bytes(), f"per-channel scales on axis {axis}", "load")


@pytest.mark.parametrize("scale", [float("nan"), float("inf"), -0.5])
def test_scale_that_is_not_a_number_or_negative(scale):
    refused(fc_model(y=Tensor([2, 4], "int8", "y", scale=scale)).to_bytes(), "scales must be finite", "load")


def test_zero_scale_on_a_quantized_activation():
    refused(fc_model(y=Tensor([2, 4], "int8", "y", scale=0.0)).to_bytes(), "scale 0.0; it must be positive",
            "allocate")


def _q8(shape, scale, name):
    return Tensor(shape, "int8", name, scale=scale, zero_point=0)


@pytest.mark.parametrize("op, inputs, output", [
    ("MUL", [_q8([4], 3.4e38, "a"), _q8([4], 10.0, "b")], _q8([4], 1.0, "y")),  # s1 * s2 overflows
    ("DIV", [_q8([4], 1.0, "a"), _q8([4], 1e-45, "b")], _q8([4], 1e-45, "y")),  # s2 * so underflows to 0
    ("RSQRT", [_q8([4], 1e-45, "a")], _q8([4], 1e-30, "y")),  # sqrt(s) * so underflows to 0
    ("QUANTIZE", [_q8([4], 1.0, "a")], Tensor([4], "int8", "y", scale=[0.0])),  # divides by 0
    ("BATCH_MATMUL", [_q8([2, 2], 3.4e38, "a"), _q8([2, 2], 10.0, "b")], _q8([2, 2], 1.0, "y")),
])
def test_scales_whose_multiplier_overflows(op, inputs, output):
    """Found by the fuzzer: each was an OverflowError or ZeroDivisionError escaping Prepare."""
    refused(build.single_op(op, inputs, [output]).to_bytes(), "multiplier is inf", "allocate")


def test_zero_point_outside_the_type():
    refused(fc_model(x=Tensor([2, 6], "int8", "x", scale=0.1, zero_point=300)).to_bytes(),
            r"zero point 300, outside the type's range -128\.\.127", "load")


# ---------------------------------------------------------------- graph

def test_op_reading_a_tensor_nobody_provides():
    model = chain_model()
    model.tensors.append(Tensor([2, 3], "float32", "orphan"))
    model.operators[1].inputs[1] = 4
    refused(model.to_bytes(), "input tensor 4 'orphan' is neither a model input, a constant, nor the output",
            "allocate")


def test_cycle():
    model = chain_model()
    model.operators[0].inputs[0] = 3  # ADD reads MUL's output, MUL reads ADD's
    refused(model.to_bytes(), "op 0 ADD: input tensor 3 'y' is produced only by a later op", "allocate")


def test_tensor_written_by_two_ops():
    model = chain_model()
    model.operators[1].outputs[0] = 2
    model.outputs = [2]
    refused(model.to_bytes(), "output tensor 2 't' is already the output of op 0", "allocate")


def test_op_writing_a_constant_or_a_model_input():
    model = chain_model()
    model.operators[1].outputs[0] = 1
    model.outputs = [1]
    refused(model.to_bytes(), "output tensor 1 'b' is a constant or a model input", "allocate")


def test_tensor_index_outside_the_model():
    model = chain_model()
    model.operators[1].inputs[0] = 99
    refused(model.to_bytes(), "op 1 MUL has input tensor 99, outside 0..3", "load")


def test_model_output_never_computed():
    model = chain_model()
    model.tensors.append(Tensor([1], "float32", "ghost"))
    model.outputs = [3, 4]
    refused(model.to_bytes(), "model output tensor 4 'ghost' is never computed", "allocate")


def test_tensor_of_a_type_litelens_does_not_compute_with():
    x = Tensor([2, 3], "float32", "x", type="COMPLEX64")
    refused(build.single_op("TANH", [x], [Tensor([2, 3], "float32", "y")]).to_bytes(),
            "unsupported type COMPLEX64", "allocate")


# ---------------------------------------------------------------- options

def test_wrong_option_table():
    model = fc_model()
    model.operators[0].options, model.operators[0].options_table = {"new_shape": [4]}, "ReshapeOptions"
    refused(model.to_bytes(), "op 0 FULLY_CONNECTED has the option table ReshapeOptions; FULLY_CONNECTED "
                              "takes FullyConnectedOptions", "load")


def test_option_table_on_an_op_without_options_is_ignored_like_the_official_runtime():
    x = Tensor([2, 3], "float32", "x")
    run(build.single_op("TANH", [x], [x.copy(name="y")], {"fused_activation_function": 1},
                        options_table="AddOptions").to_bytes())


def test_option_vector_outside_the_file():
    x = Tensor([2, 6], "float32", "x")
    content = build.single_op("RESHAPE", [x], [Tensor([3, 4], "float32", "y")], {"new_shape": [3, 4]}).to_bytes()
    op = tflite.Model.GetRootAsModel(content, 0).Subgraphs(0).Operators(0)
    options = tflite.ReshapeOptions()
    table = op.BuiltinOptions()
    options.Init(table.Bytes, table.Pos)
    pos = _vector_length_position(options, 4)
    refused(_patch(content, pos, "<I", 0x3FFFFFFF), "ReshapeOptions table cannot be read", "load")


def test_option_values_out_of_range():
    model = fc_model()
    model.operators[0].options = {"fused_activation_function": 99}
    refused(model.to_bytes(), "fused activation 99", "allocate")
    model.operators[0].options = {"weights_format": 7}
    refused(model.to_bytes(), "FULLY_CONNECTED", "allocate")


# ---------------------------------------------------------------- after an error

def test_a_failed_allocate_leaves_the_interpreter_usable():
    content = chain_model().to_bytes()
    interp = litelens.Interpreter(model_content=content, max_tensor_bytes=1 << 20)
    interp.allocate_tensors()
    interp.resize_tensor_input(0, [1 << 20, 3])
    with pytest.raises(litelens.ModelError, match="max_tensor_bytes"):
        interp.allocate_tensors()
    with pytest.raises(ValueError, match="allocate_tensors"):
        interp.invoke()
    interp.resize_tensor_input(0, [2, 3])
    interp.allocate_tensors()
    interp.set_tensor(0, np.full((2, 3), 3, np.float32))
    interp.set_tensor(1, np.full((2, 3), 2, np.float32))
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(3), np.full((2, 3), 10, np.float32))
    assert list(interp.get_output_details()[0]["shape"]) == [2, 3]
