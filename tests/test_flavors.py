"""Flavor names, per-op overrides, the kernel path each op gets, and ``Interpreter.run_op``."""
import numpy as np
import pytest

import litelens
from litelens.flavors import FlavorError, parse_flavor
from litelens.goldens import golden_dir

MODEL = golden_dir() / "models" / "mobilebert-tiny-int8.tflite"


def test_names_and_overrides():
    spec = parse_flavor({"default": "reference", "SOFTMAX": "optimized", 21: "xnnpack-arm64"})
    assert spec.for_op(3, "ADD").path == "reference"
    assert spec.for_op(3, "SOFTMAX").path == "optimized"
    assert (spec.for_op(21, "SOFTMAX").path, spec.for_op(21, "SOFTMAX").arch) == ("xnnpack", "arm64")
    assert parse_flavor("reference,SOFTMAX=optimized,21=xnnpack-arm64") == spec
    assert parse_flavor("optimized-arm64").default.arch == "arm64"
    assert parse_flavor("xnnpack").default.arch == "x86_64"


@pytest.mark.parametrize("bad", ["bogus", "Reference", {"softmax": "optimized"}, {"SOFTMAX": "fast"},
                                 {-1: "optimized"}, "reference,=optimized", 3, {True: "optimized"}])
def test_bad_flavors_are_refused_clearly(bad):
    with pytest.raises(FlavorError):
        parse_flavor(bad)


def test_override_must_name_an_op_of_the_model():
    with pytest.raises(FlavorError, match="the model has 111 ops"):
        litelens.Interpreter(model_path=MODEL, flavor={"default": "reference", 111: "optimized"})
    with pytest.raises(FlavorError, match="SOFTMAXX"):
        litelens.Interpreter(model_path=MODEL, flavor={"SOFTMAXX": "optimized"})


def test_kernel_paths_follow_the_overrides():
    interp = litelens.Interpreter(model_path=MODEL, flavor={"default": "reference", "SOFTMAX": "optimized",
                                                            6: "optimized"})
    interp.allocate_tensors()
    paths = [p for p, _ in interp.kernel_paths()]
    for node, path in zip(interp.nodes, paths):
        expected = "optimized" if node.opcode == "SOFTMAX" or node.index == 6 else "reference"
        assert path == expected, (node.index, node.opcode)
    assert interp._get_ops_details()[6]["kernel_path"] == "optimized"


def test_xnnpack_leaves_rejected_ops_to_the_optimized_kernels():
    interp = litelens.Interpreter(model_path=MODEL, flavor="xnnpack")
    interp.allocate_tensors()
    for node, (path, note) in zip(interp.nodes, interp.kernel_paths()):
        assert path in ("xnnpack", "optimized")
        assert (note is None) == (path == "xnnpack"), (node.index, node.opcode, note)
        if node.opcode in ("SOFTMAX", "GATHER"):  # XNNPACK never takes int8 SOFTMAX or GATHER
            assert path == "optimized" and note


def test_run_op_reruns_one_op_on_given_inputs():
    interp = litelens.Interpreter(model_path=MODEL)
    interp.allocate_tensors()
    rng = np.random.default_rng(0)
    high = {"input_ids": 1809, "input_mask": 2, "segment_ids": 2}
    for d in interp.get_input_details():
        interp.set_tensor(d["index"], rng.integers(0, high[d["name"]], d["shape"]).astype(d["dtype"]))
    seen = {}

    def keep(node, params, inputs, outputs):
        seen[node.index] = ({t.index: np.array(a) for t, a in zip(node.inputs, inputs) if t is not None},
                            [np.array(o) for o in outputs])

    interp.invoke(observer=keep)
    for index in (6, 16, 30):
        inputs, outputs = seen[index]
        again = interp.run_op(index, inputs)
        assert all(np.array_equal(a, b) for a, b in zip(again, outputs))
    inputs, _ = seen[6]
    t = next(iter(inputs))
    with pytest.raises(litelens.InputError, match="must be"):
        interp.run_op(6, {t: inputs[t][..., :-1]})
    with pytest.raises(litelens.InputError, match="out of range"):
        interp.run_op(111, {})


@pytest.mark.parametrize("opcode", ["ADD", "MUL", "TANH", "RESHAPE"])
def test_xnnpack_refuses_what_the_delegate_cannot_define(opcode):
    """An 8-bit tensor with a subnormal scale in a node XNNPACK takes: the official AUTO interpreter
    fails to prepare ("unsupported scale value"), so litelens refuses the model under xnnpack only."""
    pytest.importorskip("ai_edge_litert")
    from litelens import build
    from litelens.diff.worker import OfficialWorker

    def model(scale):
        a = build.Tensor([4], "int8", "a", scale=scale, zero_point=0)
        y = build.Tensor([4] if opcode != "RESHAPE" else [2, 2], "int8", "y",
                         scale=1 / 128 if opcode == "TANH" else scale, zero_point=0)
        extra = {"ADD": [build.Tensor([4], "int8", "b", scale=scale, zero_point=0)],
                 "MUL": [build.Tensor([4], "int8", "b", scale=1.0, zero_point=0)],
                 "TANH": [],
                 "RESHAPE": [build.Tensor([2], "int32", "shape", data=np.array([2, 2], np.int32))]}[opcode]
        return build.single_op(opcode, [a, *extra], [y]).to_bytes()

    worker = OfficialWorker()
    try:
        for scale, refused in ((1e-40, True), (0.1, False)):
            content = model(scale)
            names = [d for d in litelens.Interpreter(model_content=content).get_input_details()]
            inputs = {d["index"]: np.arange(4, dtype=np.int8).reshape(d["shape"]) for d in names}
            official = worker.run(content, inputs, "xnnpack")
            assert (official.error is not None) == refused, official.error
            interp = litelens.Interpreter(model_content=content, flavor="xnnpack")
            if refused:
                assert "unsupported scale" in official.error
                with pytest.raises(litelens.ModelError, match="XNNPACK delegate cannot define tensor 0"):
                    interp.allocate_tensors()
                litelens.Interpreter(model_content=content, flavor="optimized").allocate_tensors()
            else:
                interp.allocate_tensors()
                assert interp.kernel_paths()[0] == ("xnnpack", None)
    finally:
        worker.close()
