"""--explain: the step-by-step arithmetic recomputes the interpreter's output code, element by element.

Each explanation recomputes its element from the op's input codes and Prepare results the way the
official reference kernel does and must land on the code litelens produced (litelens is bit-exact with
the official interpreter, so this checks the explanation against the official arithmetic). Checked on
the golden int8 models and on TF-converted int8 and int16x8 models covering every explained op.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

import litelens
from litelens.errors import ModelError
from litelens.inspect.explain import EXPLAINERS, parse_element

GOLDEN = Path(__file__).resolve().parents[2] / "golden" / "models"
ELEMENTS_PER_OP = 8


def check_every_op(result, rng) -> set[str]:
    """Explain the worst element and a few random ones of every op; all recomputations must match."""
    explained = set()
    for op in result.ops:
        size = int(np.prod(op.output.shape))
        for element in [None, 0, size - 1, *rng.integers(0, size, ELEMENTS_PER_OP).tolist()]:
            explanation = result.explain(op.index, element)
            assert explanation.actual is not None
            if explanation.computed is None:
                assert op.opcode not in EXPLAINERS or explanation.note, op.opcode
                continue
            assert explanation.matches, f"op {op.index} {op.opcode} element {element}:\n{explanation.render()}"
            explained.add(op.opcode)
    return explained


def inspect_golden(name: str):
    try:
        return litelens.inspect(GOLDEN / f"{name}.tflite")
    except ModelError as err:
        if "unsupported op" in str(err):
            pytest.skip(str(err).split(".")[0])
        raise


def test_explanations_match_on_mobilebert_tiny_int8():
    result = inspect_golden("mobilebert-tiny-int8")
    explained = check_every_op(result, np.random.default_rng(0))
    assert {"FULLY_CONNECTED", "BATCH_MATMUL", "ADD", "SUB", "MUL", "SOFTMAX", "TANH", "QUANTIZE",
            "DEQUANTIZE"} <= explained


def test_explanations_match_on_bert_tiny_int8():
    result = inspect_golden("bert-tiny-int8")
    explained = check_every_op(result, np.random.default_rng(1))
    assert {"MEAN", "SUM", "SQUARED_DIFFERENCE", "RSQRT", "DIV", "GELU"} <= explained


@pytest.mark.parametrize("flavor", ["int8", "int16x8"])
def test_explanations_match_on_converted_models(flavor):
    pytest.importorskip("tensorflow")
    from zoo import zoo_inputs, zoo_model

    model = zoo_model(flavor)
    result = litelens.inspect(model, inputs=zoo_inputs(model))
    explained = check_every_op(result, np.random.default_rng(2))
    if flavor == "int8":
        assert {"LOGISTIC", "DIV", "SQUARED_DIFFERENCE", "RSQRT", "GELU", "MEAN", "SUM"} <= explained
    else:  # the int16 paths: int64 accumulators, 16-bit multipliers, zero points 0
        assert {"FULLY_CONNECTED", "BATCH_MATMUL", "ADD", "SUB", "MUL", "MEAN", "QUANTIZE"} <= explained


def test_the_attention_scale_explained():
    """MobileBERT's attention scores x 1/sqrt(d) share the scale of the -10000 mask they are added to:
    the explanation shows the value before rounding far below one code, rounded to the zero point."""
    result = inspect_golden("mobilebert-tiny-int8")
    explanation = result.explain(29)
    assert explanation.opcode == "MUL" and explanation.matches
    before = next(s.value for s in explanation.steps if s.label == "value before rounding")
    assert abs(before) < 0.5  # far less than one output step
    assert int(explanation.actual) == 127  # the zero point: real 0
    assert explanation.output_real == 0.0 and explanation.exact_real != 0.0
    text = explanation.render()
    assert "SRDHM" in text and "RoundingDivideByPOT" in text and "matches" in text


def test_element_forms_and_errors():
    assert parse_element(None) is None and parse_element("") is None
    assert parse_element("7") == 7 and parse_element("0,3,5") == (0, 3, 5) and parse_element("4,") == (4,)
    with pytest.raises(ValueError):
        parse_element("a,b")
    result = inspect_golden("mobilebert-tiny-int8")
    assert result.explain(6, 5).element == result.explain(6, (0, 0, 5)).element
    with pytest.raises(ValueError):
        result.explain(6, 10**9)
    with pytest.raises(ValueError):
        result.explain(6, (0, 0))
    with pytest.raises(ValueError):
        result.explain(len(result.ops))
    moved = result.explain(20)  # TRANSPOSE
    assert moved.computed is None and "only moves data" in moved.note and moved.error_lsb == 0.0
