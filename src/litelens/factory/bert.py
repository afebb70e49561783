"""BERT encoder (HF ``BertModel`` semantics, post-LayerNorm, ``hidden_act`` GELU by default) with, by
default, a sentence-embedding head: mean pooling over unmasked tokens, then L2 normalisation ->
``embedding`` [1, hidden] (other heads: :func:`litelens.factory.layers.head`).

LayerNorm is spelled out (mean, squared difference, rsqrt) so TFLite sees its parts. Random weights: the
embedding means nothing.
"""
from __future__ import annotations

import tensorflow as tf

from litelens.factory.config import ModelConfig
from litelens.factory.layers import activation, additive_mask, attention, dense, head, layer_norm


def embeddings(p, c: ModelConfig, input_ids, segment_ids):
    """``BertEmbeddings``: word + position + token type, LayerNorm.  # [b, s] -> [b, s, h]"""
    with tf.name_scope("embeddings.word_embeddings"):
        x = tf.gather(p["embeddings.word_embeddings.weight"], input_ids)  # [b, s, h]
    with tf.name_scope("embeddings.token_type_embeddings"):
        x = x + tf.gather(p["embeddings.token_type_embeddings.weight"], segment_ids)  # [b, s, h]
    with tf.name_scope("embeddings.position_embeddings"):
        x = x + p["embeddings.position_embeddings.weight"][: c.seq]  # + [s, h]
    return layer_norm(p, "embeddings.LayerNorm", x, c.layer_norm_eps)


def layer(p, c: ModelConfig, n: int, hidden, mask):
    """``BertLayer``: attention, add & norm, FFN (hidden_act), add & norm.  # [b, s, h] -> [b, s, h]"""
    pre = f"encoder.layer.{n}"
    q, k, v = (dense(p, f"{pre}.attention.self.{proj}", hidden) for proj in ("query", "key", "value"))
    context = attention(f"{pre}.attention.self", q, k, v, mask, c.num_attention_heads)
    x = layer_norm(p, f"{pre}.attention.output.LayerNorm",
                   dense(p, f"{pre}.attention.output.dense", context) + hidden, c.layer_norm_eps)
    inner = dense(p, f"{pre}.intermediate.dense", x)  # [b, s, h] -> [b, s, inner]
    with tf.name_scope(f"{pre}.intermediate.intermediate_act_fn"):
        inner = activation(c.hidden_act, inner)
    return layer_norm(p, f"{pre}.output.LayerNorm", dense(p, f"{pre}.output.dense", inner) + x, c.layer_norm_eps)


def forward(p, c: ModelConfig, input_ids, input_mask, segment_ids) -> dict:
    """ids/mask/segments int32 [b, s] -> {"embedding": float32 [b, hidden]} (or the ``c.head`` output)"""
    mask = additive_mask(input_mask)
    hidden = embeddings(p, c, input_ids, segment_ids)
    for n in range(c.num_hidden_layers):
        hidden = layer(p, c, n, hidden, mask)
    return head(p, c, hidden, input_mask)
