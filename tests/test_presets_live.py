"""Every factory preset at its published size (seq 128), in every flavor the converter accepts, against
the official reference kernels run live: every tensor, integer tensors bit for bit and float tensors
with tolerance 0 (the float kernels reproduce the reference operation order, so exact equality is the
right bar). mobilebert-tiny is covered by the committed goldens (tests/test_golden_reference.py);
the int8 MobileBERT also by tests/test_mobilebert_full.py (four texts).
"""
import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from factory_cache import factory_model  # noqa: E402
from single_op import compare_with_official  # noqa: E402

import litelens  # noqa: E402
from litelens.official import official_interpreter, set_inputs  # noqa: E402
from litelens.tokenizer import corpus_texts, encode  # noqa: E402

SEQ = 128
CASES = [(preset, flavor) for preset in ("mobilebert", "bert-tiny")
         for flavor in ("float32", "float16", "dynamic", "int8")
         if (preset, flavor) != ("mobilebert", "int8")]  # that one has its own file


def _texts():
    corpus = corpus_texts()
    return {"padded": corpus[3], "full": " ".join(corpus[:20])}


def _official_error(model, inputs):
    interp = official_interpreter(model, "reference", preserve_all_tensors=False)
    set_inputs(interp, inputs)
    try:
        interp.invoke()
    except RuntimeError as err:
        return str(err)
    return None


@pytest.mark.slow
@pytest.mark.parametrize("preset,flavor", CASES)
@pytest.mark.parametrize("text", ["padded", "full"])
def test_every_tensor_matches_reference(preset, flavor, text):
    model = factory_model(preset, flavor)
    inputs = encode(_texts()[text], seq=SEQ)
    error = _official_error(model, inputs)
    if error is not None:
        # The official reference kernels refuse this input (bert-tiny int8: the int8 SUM of the mask
        # reads codes as uint8, the count lands on the zero point and DIV rejects the divisor).
        # litelens must refuse it too, with a clear error rather than an answer.
        interp = litelens.Interpreter(model_content=model)
        interp.allocate_tensors()
        index = {d["name"]: d["index"] for d in interp.get_input_details()}
        for name, value in inputs.items():
            interp.set_tensor(index[name], value)
        with pytest.raises(litelens.ModelError):
            interp.invoke()
        return
    comparison = compare_with_official(model, inputs, resolver="reference")
    assert comparison.compared > 50
    comparison.assert_ok()
