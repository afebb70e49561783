"""MobileBERT (HF ``modeling_mobilebert.py`` semantics) with a 3-class classifier head, in TensorFlow.

Config as ``google/mobilebert-uncased``: trigram embeddings 128 -> 384 -> 512, NoNorm, bottlenecks of
128 with the query/key bottleneck shared and the value read from the 512-wide hidden state, 4 stacked
FFNs with ReLU, pooler (dense + tanh on [CLS]) and ``classifier`` -> ``logits`` [1, 3] (negative,
neutral, positive). Random weights: no accuracy on any task.
"""
from __future__ import annotations

import tensorflow as tf

from litelens.factory.config import ModelConfig
from litelens.factory.layers import additive_mask, attention, dense, no_norm


def embeddings(p, c: ModelConfig, input_ids, segment_ids):
    """``MobileBertEmbeddings``.  # [b, s] ids -> [b, s, hidden]"""
    with tf.name_scope("embeddings.word_embeddings"):
        x = tf.gather(p["embeddings.word_embeddings.weight"], input_ids)  # [b, s, e]
    with tf.name_scope("embeddings.trigram"):
        nxt = tf.pad(x[:, 1:], [[0, 0], [0, 1], [0, 0]])  # token t+1 (zero after the last)
        prev = tf.pad(x[:, :-1], [[0, 0], [1, 0], [0, 0]])  # token t-1 (zero before the first)
        x = tf.concat([nxt, x, prev], axis=2)  # [b, s, 3e]
    x = dense(p, "embeddings.embedding_transformation", x)  # [b, s, 3e] -> [b, s, hidden]
    with tf.name_scope("embeddings.token_type_embeddings"):
        token_type = tf.gather(p["embeddings.token_type_embeddings.weight"], segment_ids)  # [b, s, hidden]
    with tf.name_scope("embeddings.position_embeddings"):
        x = x + p["embeddings.position_embeddings.weight"][: c.seq] + token_type  # + [s, hidden] + [b, s, hidden]
    return no_norm(p, "embeddings.LayerNorm", x)


def ffn(p, name: str, x, residual):
    """``FFNLayer`` / intermediate+output: relu(x W1) W2, NoNorm(. + residual).  # [b, s, t] -> [b, s, t]"""
    inner = dense(p, f"{name}.intermediate.dense", x)  # [b, s, t] -> [b, s, inner]
    with tf.name_scope(f"{name}.intermediate.intermediate_act_fn"):
        inner = tf.nn.relu(inner)
    return no_norm(p, f"{name}.output.LayerNorm", dense(p, f"{name}.output.dense", inner) + residual)


def layer(p, c: ModelConfig, n: int, hidden, mask):
    """``MobileBertLayer`` with use_bottleneck and key_query_shared_bottleneck.  # [b, s, h] -> [b, s, h]"""
    pre = f"encoder.layer.{n}"
    layer_input = no_norm(p, f"{pre}.bottleneck.input.LayerNorm",
                          dense(p, f"{pre}.bottleneck.input.dense", hidden))  # [b, s, h] -> [b, s, t]
    shared = no_norm(p, f"{pre}.bottleneck.attention.LayerNorm",
                     dense(p, f"{pre}.bottleneck.attention.dense", hidden))  # [b, s, h] -> [b, s, t]
    q = dense(p, f"{pre}.attention.self.query", shared)
    k = dense(p, f"{pre}.attention.self.key", shared)
    v = dense(p, f"{pre}.attention.self.value", hidden)  # [b, s, h] -> [b, s, t]
    context = attention(f"{pre}.attention.self", q, k, v, mask, c.num_attention_heads)  # [b, s, t]
    x = no_norm(p, f"{pre}.attention.output.LayerNorm",
                dense(p, f"{pre}.attention.output.dense", context) + layer_input)
    for f in range(c.num_feedforward_networks - 1):
        x = ffn(p, f"{pre}.ffn.{f}", x, x)
    x = ffn(p, pre, x, x)  # MobileBertIntermediate + MobileBertOutput (dense, NoNorm) ...
    out = dense(p, f"{pre}.output.bottleneck.dense", x)  # ... + OutputBottleneck  # [b, s, t] -> [b, s, h]
    return no_norm(p, f"{pre}.output.bottleneck.LayerNorm", out + hidden)


def forward(p, c: ModelConfig, input_ids, input_mask, segment_ids) -> dict:
    """ids/mask/segments int32 [b, s] -> {"logits": float32 [b, num_labels]}"""
    mask = additive_mask(input_mask)  # [b, 1, 1, s]
    hidden = embeddings(p, c, input_ids, segment_ids)
    for n in range(c.num_hidden_layers):
        hidden = layer(p, c, n, hidden, mask)
    pooled = hidden[:, 0]  # MobileBertPooler: the [CLS] token  # [b, s, h] -> [b, h]
    if c.classifier_activation:
        pooled = dense(p, "pooler.dense", pooled)
        with tf.name_scope("pooler.activation"):
            pooled = tf.tanh(pooled)
    return {"logits": dense(p, "classifier", pooled)}  # [b, h] -> [b, num_labels]
