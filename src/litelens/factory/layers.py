"""TensorFlow building blocks shared by the factory models, each following its Hugging Face module.

``p`` is the model's parameter dict (HF name -> ``tf.Variable``); Dense weights are ``[out, in]``.
Imported only by the factory (needs tensorflow).
"""
from __future__ import annotations

import math

import tensorflow as tf

MASK_VALUE = -10000.0  # additive attention mask on padded keys (HF get_extended_attention_mask, v4.x)


def dense(p, name: str, x):
    """``nn.Linear``: x @ W.T + b.  # [..., in] -> [..., out]"""
    with tf.name_scope(name):
        return tf.matmul(x, p[f"{name}.weight"], transpose_b=True) + p[f"{name}.bias"]


def no_norm(p, name: str, x):
    """MobileBERT ``NoNorm``: x * weight + bias (elementwise over the last axis)."""
    with tf.name_scope(name):
        return x * p[f"{name}.weight"] + p[f"{name}.bias"]


def layer_norm(p, name: str, x, eps: float):
    """``nn.LayerNorm`` over the last axis, written as mean / squared difference / rsqrt so the converter
    lowers it to MEAN, SQUARED_DIFFERENCE, RSQRT, SUB, MUL, ADD (no fused op)."""
    with tf.name_scope(name):
        mean = tf.reduce_mean(x, axis=-1, keepdims=True)  # [b, s, h] -> [b, s, 1]
        var = tf.reduce_mean(tf.math.squared_difference(x, mean), axis=-1, keepdims=True)
        return (x - mean) * tf.math.rsqrt(var + eps) * p[f"{name}.weight"] + p[f"{name}.bias"]


def activation(name: str, x):
    """HF ``ACT2FN[hidden_act]`` (names in :data:`litelens.factory.config.ACTIVATIONS`)."""
    if name == "relu":
        return tf.nn.relu(x)
    if name == "gelu":  # exact: 0.5 x (1 + erf(x / sqrt 2))
        return tf.nn.gelu(x, approximate=False)
    if name in ("gelu_new", "gelu_pytorch_tanh", "gelu_fast"):  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        return tf.nn.gelu(x, approximate=True)
    if name in ("silu", "swish"):
        return tf.nn.silu(x)
    raise ValueError(f"hidden_act {name!r} is not supported")


def additive_mask(input_mask):
    """``(1 - mask) * -10000`` broadcast over heads and queries.  # [b, s] -> [b, 1, 1, s]"""
    with tf.name_scope("extended_attention_mask"):
        mask = tf.cast(input_mask, tf.float32)[:, tf.newaxis, tf.newaxis, :]
        return (1.0 - mask) * MASK_VALUE


def split_heads(x, heads: int):
    """# [b, s, heads*d] -> [b, heads, s, d]"""
    b, s, width = x.shape
    return tf.transpose(tf.reshape(x, [b, s, heads, width // heads]), [0, 2, 1, 3])


def merge_heads(x):
    """# [b, heads, s, d] -> [b, s, heads*d]"""
    b, heads, s, d = x.shape
    return tf.reshape(tf.transpose(x, [0, 2, 1, 3]), [b, s, heads * d])


def attention(name: str, q, k, v, mask, heads: int):
    """Scaled dot-product self-attention (HF ``*SelfAttention.forward``, no dropout/head mask).

    q, k: [b, s, heads*d], v: [b, s, heads*dv], mask: [b, 1, 1, s] additive -> [b, s, heads*dv]."""
    with tf.name_scope(name):
        q, k, v = split_heads(q, heads), split_heads(k, heads), split_heads(v, heads)  # -> [b, heads, s, d]
        scores = tf.matmul(q, k, transpose_b=True)  # [b, heads, s, s]
        scores = scores / math.sqrt(q.shape[-1]) + mask
        probs = tf.nn.softmax(scores, axis=-1)
        return merge_heads(tf.matmul(probs, v))  # [b, heads, s, dv] -> [b, s, heads*dv]


def mean_pool_l2(hidden, input_mask):
    """Mean over unmasked tokens, then x / ||x||.  # [b, s, h], [b, s] -> [b, h]"""
    with tf.name_scope("pooling"):
        mask = tf.cast(input_mask, tf.float32)[:, :, tf.newaxis]  # [b, s, 1]
        summed = tf.reduce_sum(hidden * mask, axis=1)  # [b, s, h] -> [b, h]
        count = tf.maximum(tf.reduce_sum(mask, axis=1), 1e-9)  # [b, 1]
        mean = summed / count
    with tf.name_scope("normalize"):
        return tf.math.l2_normalize(mean, axis=-1, epsilon=1e-12)


def head(p, c, hidden, input_mask) -> dict:
    """The graph's output for ``c.head`` (see :data:`litelens.factory.config.HEADS`).

    logits: HF ``*ForSequenceClassification``: the pooler on [CLS] (dense + tanh; MobileBERT without
    classifier_activation passes [CLS] through), then ``classifier``.  # [b, s, h] -> [b, num_labels]
    embedding: :func:`mean_pool_l2`.  # [b, s, h] -> [b, h]
    hidden: ``last_hidden_state`` itself.  # [b, s, h]"""
    if c.head == "hidden":
        return {"last_hidden_state": hidden}
    if c.head == "embedding":
        return {"embedding": mean_pool_l2(hidden, input_mask)}
    pooled = hidden[:, 0]  # the [CLS] token  # [b, s, h] -> [b, h]
    if c.arch == "bert" or c.classifier_activation:
        pooled = dense(p, "pooler.dense", pooled)
        with tf.name_scope("pooler.activation"):
            pooled = tf.tanh(pooled)
    return {"logits": dense(p, "classifier", pooled)}  # [b, h] -> [b, num_labels]
