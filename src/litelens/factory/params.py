"""Parameter names, shapes and random initial values of the factory models — the one place naming lives.

Names are exactly Hugging Face's ``MobileBertModel`` / ``BertModel`` state-dict keys (plus
``classifier.*`` from ``MobileBertForSequenceClassification``, which HF stores without the
``mobilebert.`` prefix used for the encoder there; :func:`hf_key` adds it), and every Dense weight is
stored as HF stores it, ``[out, in]``. So a real checkpoint can later be loaded name by name.

**The weights are random** (seeded, deterministic): no claim of accuracy on any task. They follow HF's
initialisation (normal, std 0.02, for Dense weights and embeddings, padding row of the word embeddings
zero) except that Dense biases are normal with std 0.02 too and norm gains/biases are drawn near 1 and 0
(std 0.1), so that no bias-add or norm is an identity in the converted graph.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.factory.config import ModelConfig

INITIALIZER_RANGE = 0.02  # HF initializer_range
NORM_SPREAD = 0.1  # std of norm gains around 1 and norm biases around 0
PAD_TOKEN_ID = 0


@dataclass(frozen=True)
class ParamSpec:
    name: str  # Hugging Face state-dict key
    shape: tuple[int, ...]
    kind: str  # "weight" (dense/embedding), "bias", "norm_weight", "norm_bias"


def _dense(name: str, out: int, inp: int) -> list[ParamSpec]:
    return [ParamSpec(f"{name}.weight", (out, inp), "weight"), ParamSpec(f"{name}.bias", (out,), "bias")]


def _norm(name: str, size: int) -> list[ParamSpec]:
    return [ParamSpec(f"{name}.weight", (size,), "norm_weight"), ParamSpec(f"{name}.bias", (size,), "norm_bias")]


def _embeddings(c: ModelConfig, word_width: int) -> list[ParamSpec]:
    return [
        ParamSpec("embeddings.word_embeddings.weight", (c.vocab_size, word_width), "weight"),
        ParamSpec("embeddings.position_embeddings.weight", (c.max_position_embeddings, c.hidden_size), "weight"),
        ParamSpec("embeddings.token_type_embeddings.weight", (c.type_vocab_size, c.hidden_size), "weight"),
    ]


def mobilebert_specs(c: ModelConfig) -> list[ParamSpec]:
    """``MobileBertModel`` (google/mobilebert-uncased: use_bottleneck, key_query_shared_bottleneck, NoNorm,
    trigram input; the other MobileBertConfig switches as HF builds them) + the head's parameters."""
    h, t, b, i = c.hidden_size, c.true_hidden_size, c.intra_bottleneck_size, c.intermediate_size
    specs = _embeddings(c, c.embedding_size)
    # HF always creates embedding_transformation, even when it is not applied (no trigram, e == h).
    specs += _dense("embeddings.embedding_transformation", h, (3 if c.trigram_input else 1) * c.embedding_size)
    specs += _norm("embeddings.LayerNorm", h)
    value_width = t if c.use_bottleneck_attention else h
    for n in range(c.num_hidden_layers):
        p = f"encoder.layer.{n}"
        specs += _dense(f"{p}.attention.self.query", t, t)
        specs += _dense(f"{p}.attention.self.key", t, t)
        specs += _dense(f"{p}.attention.self.value", t, value_width)  # default: the full-width hidden state
        specs += _dense(f"{p}.attention.output.dense", t, t) + _norm(f"{p}.attention.output.LayerNorm", t)
        specs += _dense(f"{p}.intermediate.dense", i, t)
        specs += _dense(f"{p}.output.dense", t, i) + _norm(f"{p}.output.LayerNorm", t)
        if c.use_bottleneck:
            specs += _dense(f"{p}.output.bottleneck.dense", h, t) + _norm(f"{p}.output.bottleneck.LayerNorm", h)
            specs += _dense(f"{p}.bottleneck.input.dense", b, h) + _norm(f"{p}.bottleneck.input.LayerNorm", b)
            if c.key_query_shared_bottleneck:
                specs += (_dense(f"{p}.bottleneck.attention.dense", b, h)
                          + _norm(f"{p}.bottleneck.attention.LayerNorm", b))
        for f in range(c.num_feedforward_networks - 1):
            specs += _dense(f"{p}.ffn.{f}.intermediate.dense", i, t)
            specs += _dense(f"{p}.ffn.{f}.output.dense", t, i) + _norm(f"{p}.ffn.{f}.output.LayerNorm", t)
    return specs + head_specs(c)


def bert_specs(c: ModelConfig) -> list[ParamSpec]:
    """``BertModel`` embeddings and encoder (post-LayerNorm) + the head's parameters (mean pooling and
    last_hidden_state have none)."""
    h, i = c.hidden_size, c.intermediate_size
    specs = _embeddings(c, h) + _norm("embeddings.LayerNorm", h)
    for n in range(c.num_hidden_layers):
        p = f"encoder.layer.{n}"
        for proj in ("query", "key", "value"):
            specs += _dense(f"{p}.attention.self.{proj}", h, h)
        specs += _dense(f"{p}.attention.output.dense", h, h) + _norm(f"{p}.attention.output.LayerNorm", h)
        specs += _dense(f"{p}.intermediate.dense", i, h)
        specs += _dense(f"{p}.output.dense", h, i) + _norm(f"{p}.output.LayerNorm", h)
    return specs + head_specs(c)


def pooler_specs(c: ModelConfig) -> list[ParamSpec]:
    """HF's pooler: dense + tanh on [CLS]; MobileBERT has it only with classifier_activation."""
    if c.arch == "mobilebert" and not c.classifier_activation:
        return []
    return _dense("pooler.dense", c.hidden_size, c.hidden_size)


def head_specs(c: ModelConfig) -> list[ParamSpec]:
    """Parameters of the graph's head: pooler + ``classifier`` (HF ``*ForSequenceClassification``) for
    the logits head, none for the embedding (mean pooling) and hidden (last_hidden_state) heads."""
    if c.head != "logits":
        return []
    return pooler_specs(c) + _dense("classifier", c.num_labels, c.hidden_size)


def param_specs(c: ModelConfig) -> list[ParamSpec]:
    return mobilebert_specs(c) if c.arch == "mobilebert" else bert_specs(c)


def count_params(c: ModelConfig) -> int:
    return sum(int(np.prod(spec.shape)) for spec in param_specs(c))


def check_params(c: ModelConfig, params: dict[str, np.ndarray]) -> None:
    """Raise ValueError unless ``params`` holds exactly the names and shapes of ``param_specs(c)``."""
    specs = {spec.name: spec.shape for spec in param_specs(c)}
    missing = [name for name in specs if name not in params]
    unknown = sorted(name for name in params if name not in specs)
    wrong = [f"{name}: {tuple(np.shape(params[name]))}, expected {shape}"
             for name, shape in specs.items() if name in params and tuple(np.shape(params[name])) != shape]
    problems = ([f"missing: {', '.join(missing)}"] if missing else []) + \
        ([f"unknown: {', '.join(unknown)}"] if unknown else []) + [f"shape of {w}" for w in wrong]
    if problems:
        raise ValueError(f"parameters do not fit the {c.arch} config: " + "; ".join(problems))


def hf_key(name: str, arch: str) -> str:
    """The key of ``name`` in a HF ``*ForSequenceClassification`` checkpoint (encoder under a prefix)."""
    return name if name.startswith("classifier.") else f"{arch}.{name}"


def random_params(c: ModelConfig, seed: int = 0) -> dict[str, np.ndarray]:
    """Seeded random float32 values for every parameter, drawn in spec order (deterministic)."""
    rng = np.random.default_rng(seed)
    values = {}
    for spec in param_specs(c):
        if spec.kind in ("weight", "bias"):
            value = rng.normal(0.0, INITIALIZER_RANGE, spec.shape)
        elif spec.kind == "norm_weight":
            value = rng.normal(1.0, NORM_SPREAD, spec.shape)
        else:
            value = rng.normal(0.0, NORM_SPREAD, spec.shape)
        values[spec.name] = value.astype(np.float32)
    values["embeddings.word_embeddings.weight"][PAD_TOKEN_ID] = 0.0  # nn.Embedding(padding_idx=0)
    return values
