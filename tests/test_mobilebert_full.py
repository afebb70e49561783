"""The full 24-layer MobileBERT int8 (built by the factory, seq 128) runs bit-exact with the official
reference kernels on every tensor, for padded and unpadded texts; and in the optimized and xnnpack
flavors bit-exact with the official BUILTIN_WITHOUT_DEFAULT_DELEGATES and AUTO runs (every integer
tensor; the model's float tensors within the path tolerance)."""
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")

from factory_cache import factory_model  # noqa: E402
from single_op import compare_with_official  # noqa: E402

from litelens.tokenizer import corpus_texts, encode  # noqa: E402

SEQ = 128


def _texts() -> list[str]:
    corpus = corpus_texts()
    long_text = " ".join(corpus[:20])  # fills all 128 positions: no padding
    return [corpus[0], corpus[5] + " " + corpus[6], "ok", long_text]


@pytest.fixture(scope="module")
def model() -> bytes:
    return factory_model("mobilebert", "int8")


@pytest.mark.slow
@pytest.mark.parametrize("text_index", range(4))
def test_every_tensor_bit_exact_with_reference(model, text_index):
    text = _texts()[text_index]
    inputs = encode(text, seq=SEQ)
    padded = int(inputs["input_mask"].sum()) < SEQ
    assert padded == (text_index != 3)
    comparison = compare_with_official(model, inputs, resolver="reference")
    assert comparison.compared > 1000  # every tensor of 24 layers, not just the output
    comparison.assert_ok()


@pytest.mark.slow
@pytest.mark.parametrize("resolver", ["optimized", "xnnpack"])
@pytest.mark.parametrize("text_index", [0, 3])
def test_every_tensor_bit_exact_with_other_paths(model, resolver, text_index):
    inputs = encode(_texts()[text_index], seq=SEQ)
    comparison = compare_with_official(model, inputs, resolver=resolver)
    assert comparison.compared > 300  # XNNPACK leaves the tensors inside its partitions unwritten
    comparison.assert_ok()
