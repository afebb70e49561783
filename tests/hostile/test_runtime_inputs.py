"""Bad inputs at run time: a clear error, and the interpreter keeps working afterwards.

The op tests already cover int8 GATHER out of range (int32 ids), int8 RSQRT below the zero point, DIV by
zero and set_tensor's dtype/shape checks. This file covers the rest: odd values given to set_tensor
and resize_tensor_input, GATHER with int64 / negative / batched indices, int16 RSQRT, an error in the
middle of a graph (every tensor is right on the next run, compared with the official interpreter),
the golden MobileBERT with an id past its vocabulary, and how the interpreter reports a bug inside an
op (an exception from Prepare or Eval becomes a ModelError naming the op, with the cause kept).
"""
from __future__ import annotations

import numpy as np
import pytest

import litelens
from litelens import build
from litelens.build import Operator, Tensor

RNG = np.random.default_rng(1)


def _official(content: bytes, inputs: dict) -> dict:
    pytest.importorskip("ai_edge_litert")
    from litelens.official import run_official

    return run_official(content, inputs, "reference")


def _allocated(content: bytes, preserve_all_tensors: bool = False) -> litelens.Interpreter:
    interp = litelens.Interpreter(model_content=content, preserve_all_tensors=preserve_all_tensors)
    interp.allocate_tensors()
    return interp


def _tanh_model(shape=(2, 3)) -> bytes:
    x = Tensor(shape, "float32", "x")
    return build.single_op("TANH", [x], [x.copy(name="y")]).to_bytes()


# ---------------------------------------------------------------- set_tensor / resize

@pytest.mark.parametrize("value, match", [
    ([[1.0, 2.0, 3.0], [4.0]], "not an array"),  # ragged
    ("abc", "dtype float32"),
    (None, "dtype float32"),
    (np.zeros((2, 3), np.float64), "dtype float32, got float64"),
    (np.zeros((3, 2), np.float32), r"shape \[2, 3\], got \[3, 2\]"),
    (np.float32(1.0), r"shape \[2, 3\], got \[\]"),
])
def test_set_tensor_refuses_values_that_do_not_fit(value, match):
    interp = _allocated(_tanh_model())
    with pytest.raises(litelens.InputError, match=match):
        interp.set_tensor(0, value)
    interp.set_tensor(0, np.zeros((2, 3), np.float32))  # still usable
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(1), np.zeros((2, 3), np.float32))


@pytest.mark.parametrize("index, match", [
    (1, "not an input"), (-1, "not an input"), (10**9, "not an input"),
    ("0", "must be an integer"), (0.0, "must be an integer"), (None, "must be an integer"),
])
def test_set_tensor_refuses_bad_indices(index, match):
    interp = _allocated(_tanh_model())
    with pytest.raises(litelens.InputError, match=match):
        interp.set_tensor(index, np.zeros((2, 3), np.float32))
    interp.set_tensor(np.int64(0), np.zeros((2, 3), np.float32))  # a NumPy integer is an index


def test_a_constant_listed_as_model_input_cannot_be_set():
    """The official interpreter runs such a model; litelens runs it too but refuses to overwrite it."""
    x, c = Tensor([3], "float32", "x"), build.constant(np.arange(3, dtype=np.float32), name="c")
    model = build.single_op("ADD", [x, c], [Tensor([3], "float32", "y")], {})
    model.inputs = [0, 1]
    interp = _allocated(model.to_bytes())
    with pytest.raises(litelens.InputError, match="'c' is a constant"):
        interp.set_tensor(1, np.zeros(3, np.float32))
    interp.set_tensor(0, np.ones(3, np.float32))
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(2), [1, 2, 3])


@pytest.mark.parametrize("shape, match", [([2, -3], "negative dimension"), (["a", 3], "list of integers"),
                                          ([2.5, 3], "list of integers")])
def test_resize_refuses_bad_shapes(shape, match):
    interp = _allocated(_tanh_model())
    with pytest.raises(litelens.InputError, match=match):
        interp.resize_tensor_input(0, shape)
    interp.set_tensor(0, np.zeros((2, 3), np.float32))
    interp.invoke()


def test_resize_to_an_absurd_shape_is_refused_at_allocate():
    interp = _allocated(_tanh_model())
    interp.resize_tensor_input(0, [2**31 - 1, 2**31 - 1])
    with pytest.raises(litelens.ModelError, match="max_tensor_bytes"):
        interp.allocate_tensors()
    interp.resize_tensor_input(0, [4, 1])
    interp.allocate_tensors()
    interp.set_tensor(0, np.full((4, 1), 0.5, np.float32))
    interp.invoke()
    np.testing.assert_allclose(interp.get_tensor(1), np.tanh(np.full((4, 1), 0.5, np.float32)), rtol=1e-6)


def test_reading_tensors_that_do_not_exist():
    interp = _allocated(_tanh_model())
    with pytest.raises(litelens.InputError, match="out of range"):
        interp.get_tensor(5)
    with pytest.raises(litelens.InputError, match="must be an integer"):
        interp.get_tensor("y")


def test_a_signature_output_that_nothing_computes():
    """The signature maps its output to a tensor no op writes (found by the fuzzer: a ValueError that
    was not a ModelError)."""
    import struct

    import tflite

    x = Tensor([2, 3], "float32", "x")
    model = build.single_op("TANH", [x], [x.copy(name="y")])
    model.tensors.append(Tensor([4], "float32", "orphan"))
    data = bytearray(model.to_bytes())
    entry = tflite.Model.GetRootAsModel(bytes(data), 0).SignatureDefs(0).Outputs(0)
    struct.pack_into("<I", data, entry._tab.Pos + entry._tab.Offset(6), 2)  # TensorMap.tensor_index
    interp = _allocated(bytes(data))
    runner = interp.get_signature_runner()
    with pytest.raises(litelens.ModelError, match="tensor 2 'orphan' has no value"):
        runner(x=np.zeros((2, 3), np.float32))
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(1), np.zeros((2, 3), np.float32))


# ---------------------------------------------------------------- GATHER

def _gather_model(index_dtype: str, batch_dims: int = 0) -> bytes:
    if batch_dims:
        params, ids, out = Tensor([2, 5, 3], "float32", "p"), Tensor([2, 4], index_dtype, "ids"), \
            Tensor([2, 4, 3], "float32", "y")
        options = {"axis": 1, "batch_dims": 1}
    else:
        params, ids, out = Tensor([5, 3], "float32", "p"), Tensor([2, 2], index_dtype, "ids"), \
            Tensor([2, 2, 3], "float32", "y")
        options = {"axis": 0}
    return build.single_op("GATHER", [params, ids], [out], options).to_bytes()


@pytest.mark.parametrize("index_dtype, batch_dims, bad", [
    ("int64", 0, 5), ("int64", 0, -1), ("int32", 0, -(2**31)), ("int64", 0, 2**40),
    ("int32", 1, 5), ("int64", 1, -3),
])
def test_gather_index_out_of_range(index_dtype, batch_dims, bad):
    content = _gather_model(index_dtype, batch_dims)
    interp = _allocated(content)
    shape = (2, 4) if batch_dims else (2, 2)
    params = RNG.standard_normal((2, 5, 3) if batch_dims else (5, 3)).astype(np.float32)
    ids = RNG.integers(0, 5, shape).astype(index_dtype)
    interp.set_tensor(0, params)
    bad_ids = ids.copy()
    bad_ids[1, 1] = bad
    interp.set_tensor(1, bad_ids)
    with pytest.raises(litelens.InputError, match=rf"GATHER: index {bad} is out of range \[0, 5\)"):
        interp.invoke()
    interp.set_tensor(1, ids)
    interp.invoke()
    expected = _official(content, {0: params, 1: ids})
    np.testing.assert_array_equal(interp.get_tensor(2), expected[2])


def test_gather_with_an_empty_batch():
    """Resized to batch 0 (found by the fuzzer: Eval reshaped the empty indices to [0, -1])."""
    interp = litelens.Interpreter(model_content=_gather_model("int32", batch_dims=1))
    interp.resize_tensor_input(0, [0, 5, 3])
    interp.resize_tensor_input(1, [0, 4])
    interp.allocate_tensors()
    interp.set_tensor(0, np.zeros((0, 5, 3), np.float32))
    interp.set_tensor(1, np.zeros((0, 4), np.int32))
    interp.invoke()
    assert interp.get_tensor(2).shape == (0, 4, 3)


def test_golden_mobilebert_with_an_id_past_the_vocabulary():
    from litelens.goldens import golden_dir

    content = (golden_dir() / "models" / "mobilebert-tiny-int8.tflite").read_bytes()
    interp = _allocated(content)
    details = {d["name"]: d for d in interp.get_input_details()}
    ids = next(d for name, d in details.items() if "input_ids" in name)

    def feed(id_values):
        for d in details.values():
            value = np.ones(d["shape"], d["dtype"]) if d is not ids else id_values
            interp.set_tensor(d["index"], value)

    good = np.arange(int(np.prod(ids["shape"]))).reshape(ids["shape"]).astype(ids["dtype"]) + 2
    feed(good)
    interp.invoke()
    before = [interp.get_tensor(d["index"]) for d in interp.get_output_details()]
    bad = good.copy()
    bad.reshape(-1)[3] = 10**6
    feed(bad)
    with pytest.raises(litelens.InputError, match="GATHER: index 1000000 is out of range"):
        interp.invoke()
    feed(good)
    interp.invoke()
    for d, value in zip(interp.get_output_details(), before):
        np.testing.assert_array_equal(interp.get_tensor(d["index"]), value)


# ---------------------------------------------------------------- RSQRT int16, errors mid-graph

def test_rsqrt_int16_negative_input_and_recovery():
    x, y = Tensor([8], "int16", "x", scale=1e-3), Tensor([8], "int16", "y", scale=2e-3)
    content = build.single_op("RSQRT", [x], [y]).to_bytes()
    interp = _allocated(content)
    good = np.array([1, 2, 100, 1000, 5000, 20000, 32767, 7], np.int16)
    bad = good.copy()
    bad[5] = -1
    interp.set_tensor(0, bad)
    with pytest.raises(litelens.InputError, match=r"RSQRT.*\[5\] is -1"):
        interp.invoke()
    interp.set_tensor(0, good)
    interp.invoke()
    np.testing.assert_array_equal(interp.get_tensor(1), _official(content, {0: good})[1])


def test_an_error_in_the_middle_of_the_graph_then_a_full_correct_run():
    """ADD -> GATHER (ids from the graph) -> TANH: a bad id stops the run at op 1; the next run with
    good ids recomputes every tensor exactly as the official interpreter does."""
    tensors = [Tensor([5, 3], "float32", "a"), Tensor([5, 3], "float32", "b"), Tensor([5, 3], "float32", "s"),
               Tensor([4], "int32", "ids"), Tensor([4, 3], "float32", "g"), Tensor([4, 3], "float32", "y")]
    ops = [Operator("ADD", [0, 1], [2], {}), Operator("GATHER", [2, 3], [4], {"axis": 0}),
           Operator("TANH", [4], [5])]
    content = build.graph(tensors, ops, inputs=[0, 1, 3], outputs=[5]).to_bytes()
    interp = _allocated(content, preserve_all_tensors=True)  # the intermediates are compared too
    a, b = RNG.standard_normal((2, 5, 3)).astype(np.float32)
    interp.set_tensor(0, a)
    interp.set_tensor(1, b)
    interp.set_tensor(3, np.array([0, 4, 9, 1], np.int32))
    with pytest.raises(litelens.InputError, match="op 1 GATHER: index 9"):
        interp.invoke()
    ids = np.array([0, 4, 2, 1], np.int32)
    interp.set_tensor(3, ids)
    interp.invoke()
    expected = _official(content, {0: a, 1: b, 3: ids})
    for index in (2, 4, 5):
        np.testing.assert_array_equal(interp.get_tensor(index), expected[index])


# ---------------------------------------------------------------- bugs inside an op

def test_an_exception_inside_eval_names_the_op(monkeypatch):
    from litelens.ops.activations import Tanh

    def broken(self, params, inputs, outputs):
        raise IndexError("index 7 is out of bounds")

    interp = _allocated(_tanh_model())
    interp.set_tensor(0, np.zeros((2, 3), np.float32))
    monkeypatch.setattr(Tanh, "eval", broken)
    with pytest.raises(litelens.ModelError, match="op 0 TANH: eval failed: IndexError: index 7") as err:
        interp.invoke()
    assert isinstance(err.value.__cause__, IndexError)
    assert not isinstance(err.value, litelens.InputError)
    monkeypatch.undo()
    interp.invoke()


def test_an_exception_inside_prepare_names_the_op(monkeypatch):
    from litelens.ops.activations import Tanh

    def broken(self, node):
        return (1, 2)[node.index + 5]

    monkeypatch.setattr(Tanh, "prepare", broken)
    with pytest.raises(litelens.ModelError, match="op 0 TANH: prepare failed: IndexError") as err:
        _allocated(_tanh_model())
    assert isinstance(err.value.__cause__, IndexError)


def test_an_observer_error_is_not_disguised():
    interp = _allocated(_tanh_model())
    interp.set_tensor(0, np.zeros((2, 3), np.float32))

    def observer(node, params, inputs, outputs):
        raise KeyError("the caller's own bug")

    with pytest.raises(KeyError, match="the caller's own bug"):
        interp.invoke(observer=observer)
    interp.invoke()
