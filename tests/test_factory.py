"""The model factory: HF parameter names, HF semantics (checked against a NumPy transcription of the HF
forward passes), conversion to every flavor, deterministic bytes, and ``litelens convert``."""
from __future__ import annotations

import math
from collections import Counter
from dataclasses import replace

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("tokenizers")

from litelens.factory.build import INPUT_NAMES, build_module, convert_flavors  # noqa: E402
from litelens.factory.config import PRESETS, overrides_of, preset_config  # noqa: E402
from litelens.factory.params import count_params, hf_key, random_params  # noqa: E402
from litelens.tokenizer import encode, vocab_size  # noqa: E402

SEQ = 16
TEXT = "Quickbite is testing drone deliveries in two suburbs."


def small(preset: str, layers: int = 1):
    return preset_config(preset, seq=SEQ, layers=layers, vocab_size=vocab_size())


@pytest.fixture(scope="module")
def conversions():
    """preset -> {flavor: Conversion}, each preset at 1 layer, seq 16, the repo vocabulary."""
    out = {}
    for preset in ("mobilebert", "bert-tiny"):
        config = small(preset)
        out[preset] = {c.flavor: c for c in convert_flavors(build_module(config, seed=0), config)}
    return out


# --- NumPy transcriptions of the HF forward passes (modeling_mobilebert.py / modeling_bert.py) ------

def np_linear(p, name, x):
    return x @ p[f"{name}.weight"].T + p[f"{name}.bias"]


def np_nonorm(p, name, x):
    return x * p[f"{name}.weight"] + p[f"{name}.bias"]


def np_layernorm(p, name, x, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * p[f"{name}.weight"] + p[f"{name}.bias"]


def np_attention(q, k, v, mask, heads):
    s = q.shape[0]
    q, k, v = (t.reshape(s, heads, -1).transpose(1, 0, 2) for t in (q, k, v))  # [heads, s, d]
    scores = q @ k.transpose(0, 2, 1) / math.sqrt(q.shape[-1]) + (1.0 - mask) * -10000.0
    probs = np.exp(scores - scores.max(-1, keepdims=True))
    probs /= probs.sum(-1, keepdims=True)
    return (probs @ v).transpose(1, 0, 2).reshape(s, -1)


def np_mobilebert(p, c, ids, mask, segments):
    e = p["embeddings.word_embeddings.weight"][ids]  # [s, 128]
    zero = np.zeros_like(e[:1])
    e = np.concatenate([np.concatenate([e[1:], zero]), e, np.concatenate([zero, e[:-1]])], axis=1)
    x = np_linear(p, "embeddings.embedding_transformation", e)
    x = x + p["embeddings.position_embeddings.weight"][: len(ids)] + p["embeddings.token_type_embeddings.weight"][segments]
    h = np_nonorm(p, "embeddings.LayerNorm", x)
    for n in range(c.num_hidden_layers):
        pre = f"encoder.layer.{n}"
        layer_input = np_nonorm(p, f"{pre}.bottleneck.input.LayerNorm", np_linear(p, f"{pre}.bottleneck.input.dense", h))
        shared = np_nonorm(p, f"{pre}.bottleneck.attention.LayerNorm",
                           np_linear(p, f"{pre}.bottleneck.attention.dense", h))
        ctx = np_attention(np_linear(p, f"{pre}.attention.self.query", shared),
                           np_linear(p, f"{pre}.attention.self.key", shared),
                           np_linear(p, f"{pre}.attention.self.value", h), mask, c.num_attention_heads)
        a = np_nonorm(p, f"{pre}.attention.output.LayerNorm", np_linear(p, f"{pre}.attention.output.dense", ctx) + layer_input)
        for f in range(c.num_feedforward_networks - 1):
            inner = np.maximum(np_linear(p, f"{pre}.ffn.{f}.intermediate.dense", a), 0)
            a = np_nonorm(p, f"{pre}.ffn.{f}.output.LayerNorm", np_linear(p, f"{pre}.ffn.{f}.output.dense", inner) + a)
        inner = np.maximum(np_linear(p, f"{pre}.intermediate.dense", a), 0)
        out = np_nonorm(p, f"{pre}.output.LayerNorm", np_linear(p, f"{pre}.output.dense", inner) + a)
        h = np_nonorm(p, f"{pre}.output.bottleneck.LayerNorm", np_linear(p, f"{pre}.output.bottleneck.dense", out) + h)
    pooled = np.tanh(np_linear(p, "pooler.dense", h[0]))
    return np_linear(p, "classifier", pooled)


def np_bert(p, c, ids, mask, segments):
    x = (p["embeddings.word_embeddings.weight"][ids] + p["embeddings.token_type_embeddings.weight"][segments]
         + p["embeddings.position_embeddings.weight"][: len(ids)])
    h = np_layernorm(p, "embeddings.LayerNorm", x)
    erf = np.vectorize(math.erf)
    for n in range(c.num_hidden_layers):
        pre = f"encoder.layer.{n}"
        ctx = np_attention(*(np_linear(p, f"{pre}.attention.self.{k}", h) for k in ("query", "key", "value")),
                           mask, c.num_attention_heads)
        a = np_layernorm(p, f"{pre}.attention.output.LayerNorm", np_linear(p, f"{pre}.attention.output.dense", ctx) + h)
        inner = np_linear(p, f"{pre}.intermediate.dense", a)
        inner = 0.5 * inner * (1.0 + erf(inner / math.sqrt(2.0)))
        h = np_layernorm(p, f"{pre}.output.LayerNorm", np_linear(p, f"{pre}.output.dense", inner) + a)
    pooled = (h * mask[:, None]).sum(0) / max(mask.sum(), 1e-9)
    return pooled / np.linalg.norm(pooled)


# --- tests -----------------------------------------------------------------------------------------

def test_full_mobilebert_parameter_count():
    """~25 M parameters, counted on the built tf.Module and against the architecture by hand."""
    c = PRESETS["mobilebert"]
    V, E, H, P, T, B, I, L = 30522, 128, 512, 512, 2, 128, 512, 24
    embeddings = V * E + P * H + T * H + (3 * E * H + H) + 2 * H
    ffn = (B * I + I) + (I * B + B) + 2 * B
    layer = (3 * (B * B + B) + (H * B + B)  # query, key, attention.output.dense; value reads 512
             + 2 * B  # attention.output.LayerNorm (NoNorm)
             + 4 * ffn  # 3 FFNLayers + intermediate/output
             + (B * H + H) + 2 * H  # output.bottleneck
             + 2 * ((H * B + B) + 2 * B))  # bottleneck.input, bottleneck.attention
    expected = embeddings + L * layer + (H * H + H) + (3 * H + 3)
    assert count_params(c) == expected
    module = build_module(c, seed=0)
    assert sum(int(np.prod(v.shape)) for v in module.params.values()) == expected
    assert 24_000_000 < expected < 26_000_000
    # HF's MobileBertModel for google/mobilebert-uncased (classifier_activation=False: no pooler dense,
    # and no classifier) has 24,581,888 parameters.
    base = replace(c, classifier_activation=False)
    assert count_params(base) - (3 * H + 3) == 24_581_888
    print(f"mobilebert preset: {expected:,} parameters")


def test_parameter_names_and_shapes_are_hugging_face():
    p = random_params(small("mobilebert", layers=2))
    expect = {
        "embeddings.word_embeddings.weight": (vocab_size(), 128),
        "embeddings.embedding_transformation.weight": (512, 384),
        "embeddings.position_embeddings.weight": (512, 512),
        "encoder.layer.1.attention.self.query.weight": (128, 128),
        "encoder.layer.1.attention.self.value.weight": (128, 512),
        "encoder.layer.1.bottleneck.attention.dense.weight": (128, 512),
        "encoder.layer.0.ffn.2.output.LayerNorm.bias": (128,),
        "encoder.layer.0.output.bottleneck.dense.weight": (512, 128),
        "pooler.dense.weight": (512, 512),
        "classifier.weight": (3, 512),
    }
    for name, shape in expect.items():
        assert p[name].shape == shape, name
    assert not any(name.startswith("encoder.layer.2.") for name in p)
    assert np.all(p["embeddings.word_embeddings.weight"][0] == 0)  # padding_idx row
    gains = p["encoder.layer.0.attention.output.LayerNorm.weight"]
    assert abs(gains.mean() - 1) < 0.05 and gains.std() > 0.05  # near 1, not an identity
    assert hf_key("encoder.layer.0.output.dense.bias", "mobilebert") == "mobilebert.encoder.layer.0.output.dense.bias"
    b = random_params(small("bert-tiny"))
    assert b["encoder.layer.0.intermediate.dense.weight"].shape == (512, 128)
    assert b["embeddings.LayerNorm.weight"].shape == (128,)


@pytest.mark.parametrize("preset,reference", [("mobilebert", np_mobilebert), ("bert-tiny", np_bert)])
def test_tensorflow_forward_follows_hugging_face_semantics(preset, reference):
    """The TF graph vs a NumPy transcription of the HF modules, in float64: same function."""
    config = small(preset, layers=2)
    module = build_module(config, seed=3)
    inputs = encode(TEXT, SEQ)
    inputs["segment_ids"][0, 6:] = 1  # exercise the token-type table
    (out,) = module.serve(**{k: tf.constant(v) for k, v in inputs.items()}).values()
    p64 = {k: v.astype(np.float64) for k, v in random_params(config, seed=3).items()}
    want = reference(p64, config, inputs["input_ids"][0], inputs["input_mask"][0].astype(np.float64),
                     inputs["segment_ids"][0])
    # float32 TF vs float64 NumPy over 2 layers: relative error ~1e-6; 1e-4 leaves room, far below
    # what a wrong residual, shift direction or shared bottleneck would change (order 1e-1).
    np.testing.assert_allclose(out.numpy()[0], want, rtol=1e-4, atol=1e-5 * np.abs(want).max())


def test_padding_tokens_do_not_change_the_output():
    """Masked keys get -10000: a different id under the mask leaves the [CLS] output unchanged."""
    config = small("bert-tiny")
    module = build_module(config, seed=0)
    a = encode(TEXT, SEQ)
    b = {k: v.copy() for k, v in a.items()}
    b["input_ids"][0, -1] = 7  # a padded position
    out_a, out_b = (module.serve(**{k: tf.constant(v) for k, v in x.items()})["embedding"].numpy() for x in (a, b))
    np.testing.assert_allclose(out_a, out_b, rtol=0, atol=1e-6)


def ops_of(model: bytes) -> tuple[Counter, list, list]:
    """Op counts, and (name, dtype, shape) of the inputs and outputs."""
    from litelens.model import load_model

    graph = load_model(model).subgraphs[0]

    def describe(index):
        t = graph.tensors[index]
        return t.name, t.dtype, t.shape

    return Counter(op.opcode for op in graph.operators), [describe(i) for i in graph.inputs], \
        [describe(i) for i in graph.outputs]


INT32, FLOAT32 = np.dtype(np.int32), np.dtype(np.float32)
COMMON = {"mobilebert": {"FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX", "GATHER", "CONCATENATION", "PAD", "TANH",
                         "TRANSPOSE", "ADD", "MUL"},
          "bert-tiny": {"FULLY_CONNECTED", "BATCH_MATMUL", "SOFTMAX", "GATHER", "MEAN", "SQUARED_DIFFERENCE",
                        "RSQRT", "GELU", "L2_NORMALIZATION", "SUM", "TRANSPOSE"}}


@pytest.mark.parametrize("preset", ["mobilebert", "bert-tiny"])
def test_every_flavor_converts_or_reports_why(conversions, preset):
    output = ("logits", FLOAT32, (1, 3)) if preset == "mobilebert" else ("embedding", FLOAT32, (1, 128))
    results = conversions[preset]
    assert set(results) == {"float32", "float16", "dynamic", "int8", "int16x8"}
    for flavor, result in results.items():
        if result.model is None:
            assert flavor == "int16x8", f"{flavor} refused: {result.refused}"
            assert "not yet supported" in result.refused  # the converter's own reason, kept verbatim
            continue
        ops, inputs, outputs = ops_of(result.model)
        assert inputs == [(name, INT32, (1, SEQ)) for name in INPUT_NAMES]
        assert outputs == [output]
        assert COMMON[preset] <= set(ops), f"{flavor}: {sorted(ops)}"
        if flavor == "float32":
            assert "DEQUANTIZE" not in ops and "QUANTIZE" not in ops
        elif flavor == "float16":
            assert ops["DEQUANTIZE"] >= 6  # one per float16 weight
        elif flavor == "int8":
            assert ops["QUANTIZE"] >= 1 and ops["DEQUANTIZE"] == 1  # float mask in, logits out
    sizes = {f: len(r.model) for f, r in results.items() if r.model}
    assert sizes["float16"] < 0.6 * sizes["float32"] and sizes["int8"] < 0.35 * sizes["float32"]


def test_int8_tensors_are_int8(conversions):
    from ai_edge_litert.interpreter import Interpreter

    interp = Interpreter(model_content=conversions["mobilebert"]["int8"].model)
    kinds = Counter(np.dtype(d["dtype"]).name for d in interp.get_tensor_details())
    assert kinds["int8"] > 3 * kinds["float32"]


def test_float32_tflite_matches_tensorflow(conversions):
    pytest.importorskip("ai_edge_litert")
    from litelens.official import run_official

    config = small("mobilebert")
    module = build_module(config, seed=0)
    inputs = encode(TEXT, SEQ)
    want = module.serve(**{k: tf.constant(v) for k, v in inputs.items()})["logits"].numpy()
    model = conversions["mobilebert"]["float32"].model
    got = run_official(model, inputs, "reference")
    (out_index,) = [i for i, v in got.items() if v.shape == (1, 3)]
    # Same float32 math; the converter folds NoNorm into FC weights and sums in another order.
    np.testing.assert_allclose(got[out_index], want, rtol=1e-4, atol=1e-6)


def test_same_seed_same_bytes_other_seed_other_bytes(conversions):
    config = small("mobilebert")
    again = convert_flavors(build_module(config, seed=0), config, ["int8", "float16"])
    assert again[0].model == conversions["mobilebert"]["int8"].model
    assert again[1].model == conversions["mobilebert"]["float16"].model
    other = convert_flavors(build_module(config, seed=1), config, ["float16"])
    assert other[0].model != conversions["mobilebert"]["float16"].model


def test_overrides_and_validation():
    c = preset_config("mobilebert", seq=64, layers=3, vocab_size=1000)
    assert (c.seq, c.num_hidden_layers, c.vocab_size) == (64, 3, 1000)
    assert overrides_of("mobilebert", c) == {"seq": 64, "layers": 3, "vocab_size": 1000}
    assert overrides_of("mobilebert-tiny", PRESETS["mobilebert-tiny"]) == {}
    with pytest.raises(ValueError, match="seq"):
        preset_config("bert-tiny", seq=513)
    with pytest.raises(ValueError, match="unknown preset"):
        preset_config("gpt2")


def test_convert_command(tmp_path, capsys):
    import argparse

    from litelens.cli import convert_cmd

    parser = argparse.ArgumentParser()
    convert_cmd.add_parser(parser.add_subparsers())
    args = parser.parse_args(["convert", "--preset", "bert-tiny", "--flavor", "float32,int8,int16x8",
                              "--out", str(tmp_path), "--seq", "8", "--layers", "1", "--vocab-size", "500"])
    assert args.func(args) == 0
    printed = capsys.readouterr().out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bert-tiny-float32.tflite", "bert-tiny-int8.tflite"]
    assert "vs BERT-large float32" in printed and "335,141,888" in printed
    assert "int16x8 refused by the converter" in printed
    with pytest.raises(SystemExit, match="unknown flavor"):
        convert_cmd.parse_flavors("int4")
    bad = parser.parse_args(["convert", "--preset", "bert-tiny", "--out", str(tmp_path), "--seq", "1"])
    with pytest.raises(SystemExit, match="seq must be"):
        bad.func(bad)
