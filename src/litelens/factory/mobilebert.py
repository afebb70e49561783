"""MobileBERT (HF ``modeling_mobilebert.py`` semantics) with, by default, a 3-class classifier head, in
TensorFlow.

Default config as ``google/mobilebert-uncased``: trigram embeddings 128 -> 384 -> 512, NoNorm, bottlenecks
of 128 with the query/key bottleneck shared and the value read from the 512-wide hidden state, 4 stacked
FFNs with ReLU, pooler (dense + tanh on [CLS]) and ``classifier`` -> ``logits`` [1, 3] (negative,
neutral, positive). The other ``MobileBertConfig`` switches (trigram_input, use_bottleneck,
use_bottleneck_attention, key_query_shared_bottleneck, normalization_type, hidden_act) follow HF's
modules, down to which LayerNorms get ``layer_norm_eps`` and which keep torch's default 1e-5.
Random weights unless a checkpoint's are given: no accuracy on any task.
"""
from __future__ import annotations

import tensorflow as tf

from litelens.factory.config import ModelConfig
from litelens.factory.layers import activation, additive_mask, attention, dense, head, layer_norm, no_norm

TORCH_LAYER_NORM_EPS = 1e-5  # nn.LayerNorm's default: HF builds two of MobileBERT's norms without an eps


def norm(p, c: ModelConfig, name: str, x, eps: float):
    """``NORM2FN[normalization_type]``: NoNorm (x * weight + bias) or LayerNorm with ``eps``."""
    if c.normalization_type == "no_norm":
        return no_norm(p, name, x)
    return layer_norm(p, name, x, eps)


def embeddings(p, c: ModelConfig, input_ids, segment_ids):
    """``MobileBertEmbeddings``.  # [b, s] ids -> [b, s, hidden]"""
    with tf.name_scope("embeddings.word_embeddings"):
        x = tf.gather(p["embeddings.word_embeddings.weight"], input_ids)  # [b, s, e]
    if c.trigram_input:
        with tf.name_scope("embeddings.trigram"):
            nxt = tf.pad(x[:, 1:], [[0, 0], [0, 1], [0, 0]])  # token t+1 (zero after the last)
            prev = tf.pad(x[:, :-1], [[0, 0], [1, 0], [0, 0]])  # token t-1 (zero before the first)
            x = tf.concat([nxt, x, prev], axis=2)  # [b, s, 3e]
    if c.trigram_input or c.embedding_size != c.hidden_size:
        x = dense(p, "embeddings.embedding_transformation", x)  # [b, s, 3e or e] -> [b, s, hidden]
    with tf.name_scope("embeddings.token_type_embeddings"):
        token_type = tf.gather(p["embeddings.token_type_embeddings.weight"], segment_ids)  # [b, s, hidden]
    with tf.name_scope("embeddings.position_embeddings"):
        x = x + p["embeddings.position_embeddings.weight"][: c.seq] + token_type  # + [s, hidden] + [b, s, hidden]
    return norm(p, c, "embeddings.LayerNorm", x, TORCH_LAYER_NORM_EPS)


def ffn(p, c: ModelConfig, name: str, x, residual, eps: float):
    """``FFNLayer`` / intermediate+output: act(x W1) W2, norm(. + residual).  # [b, s, t] -> [b, s, t]"""
    inner = dense(p, f"{name}.intermediate.dense", x)  # [b, s, t] -> [b, s, inner]
    with tf.name_scope(f"{name}.intermediate.intermediate_act_fn"):
        inner = activation(c.hidden_act, inner)
    return norm(p, c, f"{name}.output.LayerNorm", dense(p, f"{name}.output.dense", inner) + residual, eps)


def bottleneck(p, c: ModelConfig, pre: str, hidden):
    """``Bottleneck`` -> (query/key input, value input, residual of the attention output).
    # [b, s, h] -> [b, s, t] (q/k), [b, s, h or t] (v), [b, s, t]"""
    if not c.use_bottleneck:
        return hidden, hidden, hidden
    layer_input = norm(p, c, f"{pre}.bottleneck.input.LayerNorm",
                       dense(p, f"{pre}.bottleneck.input.dense", hidden), c.layer_norm_eps)  # [b, s, h] -> [b, s, t]
    if c.use_bottleneck_attention:
        return layer_input, layer_input, layer_input
    if not c.key_query_shared_bottleneck:
        return hidden, hidden, layer_input
    shared = norm(p, c, f"{pre}.bottleneck.attention.LayerNorm",
                  dense(p, f"{pre}.bottleneck.attention.dense", hidden), c.layer_norm_eps)  # [b, s, h] -> [b, s, t]
    return shared, hidden, layer_input


def layer(p, c: ModelConfig, n: int, hidden, mask):
    """``MobileBertLayer``.  # [b, s, h] -> [b, s, h]"""
    pre = f"encoder.layer.{n}"
    qk_input, v_input, layer_input = bottleneck(p, c, pre, hidden)
    q = dense(p, f"{pre}.attention.self.query", qk_input)
    k = dense(p, f"{pre}.attention.self.key", qk_input)
    v = dense(p, f"{pre}.attention.self.value", v_input)  # [b, s, h or t] -> [b, s, t]
    context = attention(f"{pre}.attention.self", q, k, v, mask, c.num_attention_heads)  # [b, s, t]
    x = norm(p, c, f"{pre}.attention.output.LayerNorm",
             dense(p, f"{pre}.attention.output.dense", context) + layer_input, c.layer_norm_eps)
    for f in range(c.num_feedforward_networks - 1):
        x = ffn(p, c, f"{pre}.ffn.{f}", x, x, c.layer_norm_eps)
    x = ffn(p, c, pre, x, x, TORCH_LAYER_NORM_EPS)  # MobileBertIntermediate + MobileBertOutput (dense, norm) ...
    if not c.use_bottleneck:
        return x
    out = dense(p, f"{pre}.output.bottleneck.dense", x)  # ... + OutputBottleneck  # [b, s, t] -> [b, s, h]
    return norm(p, c, f"{pre}.output.bottleneck.LayerNorm", out + hidden, c.layer_norm_eps)


def forward(p, c: ModelConfig, input_ids, input_mask, segment_ids) -> dict:
    """ids/mask/segments int32 [b, s] -> {"logits": float32 [b, num_labels]} (or the ``c.head`` output)"""
    mask = additive_mask(input_mask)  # [b, 1, 1, s]
    hidden = embeddings(p, c, input_ids, segment_ids)
    for n in range(c.num_hidden_layers):
        hidden = layer(p, c, n, hidden, mask)
    return head(p, c, hidden, input_mask)
