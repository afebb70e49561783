"""Presets of the factory models and the three overrides every preset accepts (seq, layers, vocab size).

The numbers follow the published Hugging Face configs (``google/mobilebert-uncased`` for MobileBERT,
``BertConfig`` defaults scaled down for bert-tiny). Weights are random: see :mod:`litelens.factory.params`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters (names as in Hugging Face's ``MobileBertConfig``/``BertConfig``)."""

    arch: str  # "mobilebert" or "bert"
    vocab_size: int = 30522
    hidden_size: int = 512
    num_hidden_layers: int = 24
    num_attention_heads: int = 4
    intermediate_size: int = 512
    max_position_embeddings: int = 512
    type_vocab_size: int = 2
    layer_norm_eps: float = 1e-12  # bert only: MobileBERT uses NoNorm (x * weight + bias)
    # MobileBERT only
    embedding_size: int = 128
    intra_bottleneck_size: int = 128  # = true_hidden_size, since use_bottleneck is on
    num_feedforward_networks: int = 4
    # Heads
    classifier_activation: bool = True  # mobilebert pooler dense + tanh (google/mobilebert-uncased: False)
    num_labels: int = 3  # mobilebert classifier: negative, neutral, positive (reputation polarity)
    # Graph input length
    seq: int = 128

    @property
    def true_hidden_size(self) -> int:
        return self.intra_bottleneck_size if self.arch == "mobilebert" else self.hidden_size

    @property
    def head_size(self) -> int:
        return self.true_hidden_size // self.num_attention_heads

    def validate(self) -> None:
        if self.arch not in ("mobilebert", "bert"):
            raise ValueError(f"unknown architecture {self.arch!r}")
        if self.true_hidden_size % self.num_attention_heads:
            raise ValueError(f"{self.num_attention_heads} heads do not divide width {self.true_hidden_size}")
        if not 2 <= self.seq <= self.max_position_embeddings:
            raise ValueError(f"seq must be in [2, {self.max_position_embeddings}], got {self.seq}")
        if self.num_hidden_layers < 1:
            raise ValueError(f"layers must be at least 1, got {self.num_hidden_layers}")
        if self.vocab_size < 5:
            raise ValueError(f"vocab size must hold the 5 special tokens, got {self.vocab_size}")


LABELS = ("negative", "neutral", "positive")

PRESETS: dict[str, ModelConfig] = {
    # google/mobilebert-uncased: 24 layers, bottleneck 128, 4 FFNs, trigram embeddings, NoNorm, ReLU.
    "mobilebert": ModelConfig(arch="mobilebert"),
    "mobilebert-tiny": ModelConfig(arch="mobilebert", num_hidden_layers=2),
    # Post-LayerNorm BERT encoder, GELU (erf), hidden 128, 2 layers, 4 heads, intermediate 512.
    "bert-tiny": ModelConfig(arch="bert", hidden_size=128, num_hidden_layers=2, num_attention_heads=4,
                             intermediate_size=512),
}


def preset_config(preset: str, seq: int | None = None, layers: int | None = None,
                  vocab_size: int | None = None) -> ModelConfig:
    """The preset's config with the given overrides applied (None keeps the preset value)."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose from {', '.join(PRESETS)}")
    overrides = {key: value for key, value in
                 (("seq", seq), ("num_hidden_layers", layers), ("vocab_size", vocab_size)) if value is not None}
    config = replace(PRESETS[preset], **overrides)
    config.validate()
    return config


def overrides_of(preset: str, config: ModelConfig) -> dict[str, int]:
    """The overrides (seq, layers, vocab_size) by which ``config`` differs from its preset."""
    base = PRESETS[preset]
    fields = {"seq": "seq", "layers": "num_hidden_layers", "vocab_size": "vocab_size"}
    return {key: getattr(config, attr) for key, attr in fields.items() if getattr(config, attr) != getattr(base, attr)}
