"""Presets of the factory models and the three overrides every preset accepts (seq, layers, vocab size).

The numbers follow the published Hugging Face configs (``google/mobilebert-uncased`` for MobileBERT,
``BertConfig`` defaults scaled down for bert-tiny). Weights are random: see :mod:`litelens.factory.params`;
a checkpoint's own config and weights come in through :mod:`litelens.factory.checkpoint`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

# HF ``hidden_act`` values the factory builds (ACT2FN names): relu; gelu = exact erf GELU; gelu_new,
# gelu_pytorch_tanh and gelu_fast = the tanh approximation (the same function in three spellings);
# silu/swish = x * sigmoid(x).
ACTIVATIONS = ("relu", "gelu", "gelu_new", "gelu_pytorch_tanh", "gelu_fast", "silu", "swish")
NORMALIZATIONS = ("no_norm", "layer_norm")  # MobileBERT normalization_type
# What the graph outputs: "logits" = [pooler] + classifier (HF *ForSequenceClassification) -> [1, num_labels];
# "embedding" = mean over unmasked tokens, L2-normalised (the sentence-transformers recipe) -> [1, hidden];
# "hidden" = the encoder's last_hidden_state, as HF MobileBertModel/BertModel return it -> [1, seq, hidden].
HEADS = ("logits", "embedding", "hidden")
ARCH_DEFAULTS = {"mobilebert": {"hidden_act": "relu", "head": "logits"},
                 "bert": {"hidden_act": "gelu", "head": "embedding"}}


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
    layer_norm_eps: float = 1e-12  # LayerNorm eps (MobileBERT's default NoNorm has none)
    hidden_act: str = ""  # "" = the arch's default: relu (MobileBERT), gelu (BERT); see ACTIVATIONS
    # MobileBERT only (HF MobileBertConfig; the defaults are google/mobilebert-uncased's)
    embedding_size: int = 128
    trigram_input: bool = True  # [next, token, previous] embeddings concatenated, then projected
    use_bottleneck: bool = True
    intra_bottleneck_size: int = 128  # = true_hidden_size when use_bottleneck is on
    use_bottleneck_attention: bool = False  # query, key and value all read the input bottleneck
    key_query_shared_bottleneck: bool = True  # query and key read their own shared bottleneck
    num_feedforward_networks: int = 4
    normalization_type: str = "no_norm"  # or "layer_norm"
    # Heads
    head: str = ""  # "" = the arch's default: logits (MobileBERT), embedding (BERT); see HEADS
    classifier_activation: bool = True  # mobilebert pooler dense + tanh (google/mobilebert-uncased: False)
    num_labels: int = 3  # classifier: negative, neutral, positive (reputation polarity)
    # Graph input length
    seq: int = 128

    def __post_init__(self):
        for key, value in ARCH_DEFAULTS.get(self.arch, {}).items():
            if not getattr(self, key):
                object.__setattr__(self, key, value)

    @property
    def true_hidden_size(self) -> int:
        """Width inside a layer: the bottleneck for MobileBERT with use_bottleneck, else hidden_size."""
        if self.arch == "mobilebert" and self.use_bottleneck:
            return self.intra_bottleneck_size
        return self.hidden_size

    @property
    def head_size(self) -> int:
        return self.true_hidden_size // self.num_attention_heads

    def validate(self) -> None:
        if self.arch not in ("mobilebert", "bert"):
            raise ValueError(f"unknown architecture {self.arch!r}")
        if self.true_hidden_size % self.num_attention_heads:
            raise ValueError(f"{self.num_attention_heads} heads do not divide width {self.true_hidden_size}")
        if self.hidden_act not in ACTIVATIONS:
            raise ValueError(f"hidden_act {self.hidden_act!r} is not supported; choose from {', '.join(ACTIVATIONS)}")
        if self.head not in HEADS:
            raise ValueError(f"unknown head {self.head!r}; choose from {', '.join(HEADS)}")
        if self.head == "logits" and self.num_labels < 1:
            raise ValueError(f"a classifier needs at least one label, got num_labels={self.num_labels}")
        if self.arch == "mobilebert":
            self._validate_mobilebert()
        if not 2 <= self.seq <= self.max_position_embeddings:
            raise ValueError(f"seq must be in [2, {self.max_position_embeddings}], got {self.seq}")
        if self.num_hidden_layers < 1:
            raise ValueError(f"layers must be at least 1, got {self.num_hidden_layers}")
        if self.vocab_size < 5:
            raise ValueError(f"vocab size must hold the 5 special tokens, got {self.vocab_size}")

    def _validate_mobilebert(self) -> None:
        if self.normalization_type not in NORMALIZATIONS:
            raise ValueError(f"normalization_type {self.normalization_type!r} is not supported; choose from "
                             f"{', '.join(NORMALIZATIONS)}")
        if self.num_feedforward_networks < 1:
            raise ValueError(f"num_feedforward_networks must be at least 1, got {self.num_feedforward_networks}")
        # Without a shared query/key bottleneck, query and key read the full hidden state, but HF sizes
        # their Linear layers for true_hidden_size: only consistent when the two widths agree.
        if (self.use_bottleneck and not self.use_bottleneck_attention and not self.key_query_shared_bottleneck
                and self.hidden_size != self.intra_bottleneck_size):
            raise ValueError("use_bottleneck without key_query_shared_bottleneck or use_bottleneck_attention "
                             f"feeds the {self.hidden_size}-wide hidden state to query/key layers of width "
                             f"{self.intra_bottleneck_size}: Hugging Face MobileBERT cannot run this config either")


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
