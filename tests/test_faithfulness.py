"""Faithfulness: the factory vs Hugging Face ``transformers`` (PyTorch), same random weights.

Each case builds a ``transformers`` model (MobileBertModel, BertModel or a *ForSequenceClassification),
re-draws every parameter, writes it with ``save_pretrained`` (real HF key names and a real config.json),
loads that ``model.safetensors`` through :func:`load_checkpoint` / ``litelens convert --checkpoint``, and
checks that the factory's TensorFlow model and its float32 ``.tflite`` run by ``litelens.Interpreter``
give HF's output (eval mode, the same attention mask) on a padded and an unpadded input.

Tolerance: 1e-4 absolute on outputs of magnitude ~1 (asserted: max |HF| in [0.1, 50]). All three compute
in float32, differing only in summation order and in how the converter folds constants (observed
differences ~1e-6 up to the full 24-layer MobileBERT); a wrong residual, norm, eps, activation, mask
or weight layout changes the outputs by 1e-2 or more.

Needs the ``hf`` extra (torch, transformers, safetensors) and tensorflow; skipped without them.
"""
from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")
tf = pytest.importorskip("tensorflow")

import litelens  # noqa: E402
from litelens.factory.build import build_module, convert_flavors  # noqa: E402
from litelens.factory.checkpoint import load_checkpoint  # noqa: E402

ATOL = 1e-4
SEQ = 16
VOCAB = 700
WEIGHT_STD = 0.02  # HF's initializer_range
NORM_SPREAD = 0.05  # norm gains ~ N(1, .05), biases ~ N(0, .05): no norm or bias is an identity
CLASSIFIER_STD = 0.2  # logits of magnitude ~1, like the hidden states


def randomize(model, seed: int = 1):
    """Re-draw every parameter: HF's own init leaves biases zero and norms identities, which would hide a
    missing bias or a swapped norm."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, param in model.named_parameters():
            noise = torch.randn(param.shape, generator=gen)
            if name.endswith("LayerNorm.weight"):
                param.copy_(1.0 + NORM_SPREAD * noise)
            elif name.endswith("LayerNorm.bias"):
                param.copy_(NORM_SPREAD * noise)
            elif name.startswith("classifier."):
                param.copy_(CLASSIFIER_STD * noise)
            else:
                param.copy_(WEIGHT_STD * noise)
    return model.eval()


def inputs(seq: int, vocab: int, seed: int = 0) -> list[dict[str, np.ndarray]]:
    """A padded input (last third masked, second segment from a third on) and an unpadded one."""
    rng = np.random.default_rng(seed)
    padded = {"input_ids": rng.integers(5, vocab, (1, seq)), "input_mask": np.ones((1, seq)),
              "segment_ids": np.zeros((1, seq))}
    padded["input_mask"][0, seq - seq // 3:] = 0
    padded["input_ids"][0, seq - seq // 3:] = 0
    padded["segment_ids"][0, seq // 3: seq - seq // 3] = 1
    full = {"input_ids": rng.integers(5, vocab, (1, seq)), "input_mask": np.ones((1, seq)),
            "segment_ids": np.zeros((1, seq))}
    return [{k: v.astype(np.int32) for k, v in x.items()} for x in (padded, full)]


def hf_output(model, x: dict[str, np.ndarray], output: str) -> np.ndarray:
    """HF's ``last_hidden_state`` / ``logits`` / mean-pooled L2-normalised embedding."""
    with torch.no_grad():
        out = model(input_ids=torch.tensor(x["input_ids"], dtype=torch.long),
                    attention_mask=torch.tensor(x["input_mask"], dtype=torch.long),
                    token_type_ids=torch.tensor(x["segment_ids"], dtype=torch.long))
    if output == "embedding":  # sentence-transformers: masked mean, then normalize
        mask = torch.tensor(x["input_mask"], dtype=torch.float32)[:, :, None]
        mean = (out.last_hidden_state * mask).sum(1) / mask.sum(1).clamp(min=1e-9)
        return torch.nn.functional.normalize(mean, dim=-1).numpy()
    return getattr(out, output).numpy()


def tf_output(module, x: dict[str, np.ndarray]) -> np.ndarray:
    (value,) = module.serve(**{k: tf.constant(v) for k, v in x.items()}).values()
    return value.numpy()


def litelens_output(model: bytes, x: dict[str, np.ndarray]) -> np.ndarray:
    interp = litelens.Interpreter(model_content=model)
    interp.allocate_tensors()
    for detail in interp.get_input_details():
        interp.set_tensor(detail["index"], x[detail["name"]])
    interp.invoke()
    (out,) = interp.get_output_details()
    return interp.get_tensor(out["index"])


def assert_faithful(got: np.ndarray, want: np.ndarray, what: str):
    assert got.shape == want.shape, f"{what}: shape {got.shape} vs HF {want.shape}"
    assert 0.1 < np.abs(want).max() < 50, f"{what}: HF output of max {np.abs(want).max()} makes 1e-4 meaningless"
    diff = np.abs(got - want).max()
    assert diff <= ATOL, f"{what}: max |diff| {diff:.3g} vs HF (max |HF| {np.abs(want).max():.3g})"


def check(model, tmp_path, output: str, head: str = "auto", seq: int = SEQ, vocab: int = VOCAB,
          tflite: bool = True):
    """save_pretrained -> load_checkpoint -> TF module (and float32 .tflite in litelens) vs HF."""
    model.save_pretrained(tmp_path)
    ckpt = load_checkpoint(tmp_path / "model.safetensors", seq=seq, head=head)
    module = build_module(ckpt.config, params=ckpt.params)
    model_bytes = convert_flavors(module, ckpt.config, ["float32"])[0].model if tflite else None
    for n, x in enumerate(inputs(seq, vocab)):
        want = hf_output(model, x, output)
        assert_faithful(tf_output(module, x), want, f"TF, input {n}")
        if tflite:
            assert_faithful(litelens_output(model_bytes, x), want, f"litelens float32 .tflite, input {n}")
    return ckpt


@pytest.mark.parametrize("name", ["relu", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "silu", "swish"])
def test_activations_match_transformers(name):
    """Each hidden_act the factory accepts is HF's ACT2FN[name] (exact and tanh GELU differ by up to
    ~5e-4, far above this 1e-6 float32 tolerance, and random weights keep pre-activations too small for
    the model-level tests to tell them apart)."""
    from litelens.factory.config import ACTIVATIONS
    from litelens.factory.layers import activation

    assert name in ACTIVATIONS
    x = np.linspace(-8, 8, 4001, dtype=np.float32)
    want = transformers.activations.ACT2FN[name](torch.tensor(x)).numpy()
    np.testing.assert_allclose(activation(name, tf.constant(x)).numpy(), want, rtol=0, atol=1e-6)


MOBILEBERT = dict(vocab_size=VOCAB, num_hidden_layers=2)
MOBILEBERT_VARIANTS = {
    # google/mobilebert-uncased's switches, 2 layers
    "uncased": dict(classifier_activation=False),
    # LayerNorm instead of NoNorm; a large eps makes HF's two eps-less norms (embeddings.LayerNorm and
    # each layer's output.LayerNorm keep torch's 1e-5) differ visibly from the others
    "layer-norm": dict(normalization_type="layer_norm", layer_norm_eps=0.5),
    "no-trigram": dict(trigram_input=False, embedding_size=512, hidden_act="gelu"),  # no projection
    "no-trigram-projected": dict(trigram_input=False, embedding_size=64, hidden_act="gelu_new"),
    "bottleneck-attention": dict(use_bottleneck_attention=True, num_feedforward_networks=2),
    "unshared-query-key": dict(key_query_shared_bottleneck=False, hidden_size=256, intra_bottleneck_size=256,
                               intermediate_size=384, num_attention_heads=8),
    "no-bottleneck": dict(use_bottleneck=False, hidden_size=256, intermediate_size=384, num_attention_heads=4,
                          num_feedforward_networks=1, hidden_act="silu", embedding_size=128),
}


@pytest.mark.parametrize("variant", MOBILEBERT_VARIANTS)
def test_mobilebert_last_hidden_state(tmp_path, variant):
    config = transformers.MobileBertConfig(**MOBILEBERT, **MOBILEBERT_VARIANTS[variant])
    torch.manual_seed(0)
    ckpt = check(randomize(transformers.MobileBertModel(config)), tmp_path, "last_hidden_state")
    assert ckpt.config.head == "hidden"  # no classifier in a MobileBertModel checkpoint
    assert all(name.startswith("pooler.") for name in ckpt.ignored)


BERT_VARIANTS = {
    "minilm": dict(hidden_size=384, num_attention_heads=12, intermediate_size=1536),  # MiniLM-L12-H384 widths
    "gelu-tanh": dict(hidden_size=128, num_attention_heads=2, intermediate_size=256, hidden_act="gelu_new",
                      layer_norm_eps=1e-6),
    "relu": dict(hidden_size=64, num_attention_heads=4, intermediate_size=128, hidden_act="relu",
                 type_vocab_size=3),
}


@pytest.mark.parametrize("variant", BERT_VARIANTS)
def test_bert_last_hidden_state(tmp_path, variant):
    config = transformers.BertConfig(vocab_size=VOCAB, num_hidden_layers=2, **BERT_VARIANTS[variant])
    torch.manual_seed(0)
    check(randomize(transformers.BertModel(config)), tmp_path, "last_hidden_state")


@pytest.mark.parametrize("classifier_activation", [True, False])
def test_mobilebert_sequence_classifier_logits(tmp_path, classifier_activation):
    """``mobilebert.``-prefixed keys + top-level classifier: the logits head, pooler per classifier_activation."""
    config = transformers.MobileBertConfig(**MOBILEBERT, num_labels=4, classifier_activation=classifier_activation)
    torch.manual_seed(0)
    ckpt = check(randomize(transformers.MobileBertForSequenceClassification(config)), tmp_path, "logits")
    assert (ckpt.config.head, ckpt.config.num_labels) == ("logits", 4)
    assert ("pooler.dense.weight" in ckpt.params) == classifier_activation


def test_bert_sequence_classifier_logits(tmp_path):
    config = transformers.BertConfig(vocab_size=VOCAB, num_hidden_layers=2, hidden_size=128, num_attention_heads=4,
                                     intermediate_size=256, id2label={0: "negative", 1: "positive"})
    torch.manual_seed(0)
    ckpt = check(randomize(transformers.BertForSequenceClassification(config)), tmp_path, "logits")
    assert ckpt.labels == ("negative", "positive")  # config.json's id2label, in id order


@pytest.mark.parametrize("arch", ["bert", "mobilebert"])
def test_embedding_head_is_the_sentence_transformers_mean(tmp_path, arch):
    """A base-model checkpoint with head=embedding: masked mean of last_hidden_state, L2-normalised."""
    if arch == "bert":
        model = transformers.BertModel(transformers.BertConfig(
            vocab_size=VOCAB, num_hidden_layers=2, hidden_size=384, num_attention_heads=12, intermediate_size=1536))
    else:
        model = transformers.MobileBertModel(transformers.MobileBertConfig(**MOBILEBERT))
    ckpt = check(randomize(model), tmp_path, "embedding", head="embedding")
    assert ckpt.config.head == "embedding"


def convert_cli(tmp_path, checkpoint, *extra) -> tuple[bytes, str]:
    """``litelens convert --checkpoint ... --flavor float32``: the written model and what it printed."""
    from litelens.cli import main

    out = tmp_path / "out"
    assert main(["convert", "--checkpoint", str(checkpoint), "--flavor", "float32", "--out", str(out), *extra]) == 0
    (path,) = out.iterdir()
    return path.read_bytes(), path.name


@pytest.mark.parametrize("arch", ["mobilebert", "bert"])
def test_convert_command_with_a_transformers_checkpoint(tmp_path, arch):
    """The whole user path: save_pretrained -> litelens convert --checkpoint -> litelens.Interpreter."""
    if arch == "bert":
        model = transformers.BertForSequenceClassification(transformers.BertConfig(
            vocab_size=VOCAB, num_hidden_layers=2, hidden_size=384, num_attention_heads=12, intermediate_size=1536,
            num_labels=3))
    else:
        model = transformers.MobileBertForSequenceClassification(transformers.MobileBertConfig(**MOBILEBERT))
    randomize(model).save_pretrained(tmp_path / "my-model")
    model_bytes, name = convert_cli(tmp_path, tmp_path / "my-model" / "model.safetensors", "--seq", str(SEQ))
    assert name == "my-model-float32.tflite"
    for n, x in enumerate(inputs(SEQ, VOCAB)):
        assert_faithful(litelens_output(model_bytes, x), hf_output(model, x, "logits"), f"{arch} input {n}")
    # the same checkpoint with the encoder's output instead of the classifier
    model_bytes, _ = convert_cli(tmp_path / "hidden", tmp_path / "my-model" / "model.safetensors",
                                 "--seq", str(SEQ), "--head", "hidden")
    base = model.mobilebert if arch == "mobilebert" else model.bert
    for n, x in enumerate(inputs(SEQ, VOCAB)):
        assert_faithful(litelens_output(model_bytes, x), hf_output(base, x, "last_hidden_state"), f"{arch} input {n}")


def test_full_mobilebert_config(tmp_path):
    """google/mobilebert-uncased's config (24 layers, vocab 30522) at seq 128 through litelens convert
    --checkpoint: float32 .tflite in litelens vs HF MobileBertModel (~45 s)."""
    config = transformers.MobileBertConfig(classifier_activation=False)
    torch.manual_seed(0)
    model = randomize(transformers.MobileBertModel(config))
    model.save_pretrained(tmp_path / "mobilebert-uncased")
    model_bytes, _ = convert_cli(tmp_path, tmp_path / "mobilebert-uncased" / "model.safetensors", "--seq", "128")
    for n, x in enumerate(inputs(128, config.vocab_size)):
        assert_faithful(litelens_output(model_bytes, x), hf_output(model, x, "last_hidden_state"), f"input {n}")
