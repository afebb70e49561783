"""``litelens.build``: descriptions -> .tflite bytes that the official interpreter and litelens read alike.

What could go wrong and is checked: an option field written to the wrong slot or with the wrong type
(every field of every option table of the schema is written with a non-default value and read back);
quantization (per-channel scales, zero points, axis) or signature names not reaching the official
interpreter; an omitted optional input; a rebuilt real model computing anything different (every
tensor of the rebuilt golden MobileBERT equals the original's, bit for bit, in both interpreters).
"""
from __future__ import annotations

import flatbuffers
import numpy as np
import pytest
import tflite

import litelens
from litelens import build
from litelens.build.schema import options_table_for, read_options, table_fields, write_options
from litelens.goldens import golden_dir

ALL_TABLES = sorted(k for k in vars(tflite.BuiltinOptions) if not k.startswith("_") and k != "NONE")


def _non_default(field):
    if field.kind == "scalar":
        return True if field.number_type == "Bool" else 1.5 if field.number_type.startswith("Float") else 3
    if field.kind == "vector":
        return [1, -2, 3] if field.number_type != "Bool" else [True, False]
    return "abc"


@pytest.mark.parametrize("table", ALL_TABLES)
def test_every_option_table_round_trips(table):
    fields = {name: f for name, f in table_fields(table).items() if f.kind != "table"}
    values = {f.name: _non_default(f) for f in fields.values()}
    b = flatbuffers.Builder(64)
    b.Finish(write_options(b, table, values))
    back = read_options(getattr(tflite, table).GetRootAs(b.Output(), 0))
    assert len(back) == len(values)
    folded = {k.replace("_", ""): v for k, v in back.items()}
    for name, value in values.items():
        assert folded[name.lower()] == value, (table, name)


def test_op_to_table_mapping():
    assert options_table_for("BATCH_MATMUL") == "BatchMatMulOptions"
    assert options_table_for("MEAN") == options_table_for("SUM") == "ReducerOptions"
    assert options_table_for("PADV2") == "PadV2Options"
    assert options_table_for("FULLY_CONNECTED") == "FullyConnectedOptions"
    assert options_table_for("TANH") is None
    for op in litelens.supported_ops():  # every table named exists in the bindings
        table = options_table_for(op)
        assert table is None or hasattr(tflite, table + "Start")


def test_unknown_option_field_is_a_clear_error():
    x = build.Tensor([2], "float32", "x")
    with pytest.raises(ValueError, match="fused_activation_function"):
        build.single_op("ADD", [x, x], [x.copy(name="y")], {"activation": 1}).to_bytes()
    with pytest.raises(ValueError, match="unknown value"):
        build.single_op("ADD", [x, x], [x.copy(name="y")], {"fused_activation_function": "GELU"})


# ---------------------------------------------------------------- against the official interpreter

def _fc_model(rng, per_channel=True):
    scales = [0.01, 0.02, 0.005] if per_channel else 0.02
    x = build.Tensor([2, 5], "int8", "x", scale=0.05, zero_point=-7)
    w = build.Tensor([3, 5], "int8", "w", data=rng.integers(-127, 128, (3, 5)), scale=scales, zero_point=0)
    bias_scale = (np.float32(0.05) * np.asarray(scales, np.float32)).tolist()
    b = build.Tensor([3], "int32", "b", data=rng.integers(-500, 500, 3), scale=bias_scale)
    y = build.Tensor([2, 3], "int8", "y", scale=0.03, zero_point=4)
    return build.single_op("FULLY_CONNECTED", [x, w, b], [y], {"fused_activation_function": "RELU6"})


def test_details_reach_the_official_interpreter():
    pytest.importorskip("ai_edge_litert")
    from litelens.official import official_interpreter

    model = _fc_model(np.random.default_rng(0))
    interp = official_interpreter(model.to_bytes())
    details = {d["name"]: d for d in interp.get_tensor_details()}
    w = details["w"]["quantization_parameters"]
    np.testing.assert_array_equal(w["scales"], np.float32([0.01, 0.02, 0.005]))
    assert w["quantized_dimension"] == 0 and list(w["zero_points"]) == [0, 0, 0]
    assert details["x"]["quantization"] == (np.float32(0.05), -7)
    assert details["y"]["dtype"] == np.int8 and list(details["y"]["shape"]) == [2, 3]
    assert interp.get_signature_list() == {"serving_default": {"inputs": ["x"], "outputs": ["y"]}}
    ops = interp._get_ops_details()
    assert [op["op_name"] for op in ops] == ["FULLY_CONNECTED"]


@pytest.mark.parametrize("per_channel", [True, False])
def test_single_op_bit_exact(per_channel):
    pytest.importorskip("ai_edge_litert")
    from single_op import compare_with_official

    model = _fc_model(np.random.default_rng(1), per_channel).to_bytes()
    for seed in range(3):
        compare_with_official(model, seed=seed).assert_ok()


def test_omitted_optional_input_and_graph():
    """FULLY_CONNECTED without bias (-1), feeding ADD and TANH in a three-op float graph."""
    pytest.importorskip("ai_edge_litert")
    from single_op import compare_with_official

    rng = np.random.default_rng(2)
    tensors = [
        build.Tensor([4, 6], "float32", "x"),
        build.constant(rng.standard_normal((5, 6)).astype(np.float32), name="w"),
        build.Tensor([4, 5], "float32", "fc"),
        build.constant(rng.standard_normal(5).astype(np.float32), name="shift"),
        build.Tensor([4, 5], "float32", "sum"),
        build.Tensor([4, 5], "float32", "y"),
    ]
    ops = [
        build.Operator("FULLY_CONNECTED", [0, 1, -1], [2], {}),
        build.Operator("ADD", [2, 3], [4], {"fused_activation_function": "RELU"}),
        build.Operator("TANH", [4], [5]),
    ]
    model = build.graph(tensors, ops)
    assert model.graph_inputs() == [0] and model.graph_outputs() == [5]
    compare_with_official(model.to_bytes()).assert_ok()


def test_rebuilt_golden_model_computes_the_same():
    """from_bytes -> to_bytes on the tiny MobileBERT: every tensor equal in litelens and officially."""
    path = golden_dir() / "models" / "mobilebert-tiny-int8.tflite"
    original = path.read_bytes()
    description = build.from_bytes(original)
    rebuilt = description.to_bytes()
    assert build.from_bytes(rebuilt).to_bytes() == rebuilt  # a fixed point after one round
    ids = np.random.default_rng(3).integers(0, 1000, (1, 16)).astype(np.int32)
    inputs = {0: ids, 1: np.ones((1, 16), np.int32), 2: np.zeros((1, 16), np.int32)}

    def run(content):
        interp = litelens.Interpreter(model_content=content, preserve_all_tensors=True)
        interp.allocate_tensors()
        for index, value in inputs.items():
            interp.set_tensor(index, value)
        interp.invoke()
        return [interp.get_tensor(t.index) for t in interp.graph.tensors]

    for a, b in zip(run(original), run(rebuilt), strict=True):
        np.testing.assert_array_equal(a, b)
    pytest.importorskip("ai_edge_litert")
    from litelens.official import run_official

    count = len(description.tensors)  # higher indices are the interpreter's scratch tensors
    theirs, ours = run_official(original, inputs), run_official(rebuilt, inputs)
    assert set(range(count)) <= theirs.keys() and set(range(count)) <= ours.keys()
    for index in range(count):
        np.testing.assert_array_equal(theirs[index], ours[index])


def test_wrong_descriptions_are_written_as_given():
    """The builder does not validate: a zero-point vector of the wrong length reaches the file."""
    x = build.Tensor([2, 3], "int8", "x", scale=[0.1, 0.2], zero_point=[1, 2, 3], axis=5)
    model = build.single_op("TANH", [x], [build.Tensor([2, 3], "int8", "y", scale=0.1)])
    content = model.to_bytes()
    with pytest.raises(litelens.ModelError, match="2 scales but 3 zero points"):
        litelens.Interpreter(model_content=content)
