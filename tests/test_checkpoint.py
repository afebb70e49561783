"""Checkpoint loading (``litelens.factory.checkpoint``): the safetensors reader, config.json mapping, key
layouts (base model, task-model prefix, legacy gamma/beta), heads present or absent, and the errors for
unknown/missing names, shape mismatches and unsupported configs. ``litelens convert --checkpoint`` and
``--calibration`` at the end (those need tensorflow).

Checkpoints here are written by a small NumPy safetensors writer from the factory's own random
parameters, so these tests need neither torch nor transformers; ``test_faithfulness.py`` checks real
``transformers`` checkpoints.
"""
from __future__ import annotations

import json
import struct
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from litelens.factory.checkpoint import (CheckpointError, config_from_hf, load_checkpoint, read_safetensors,
                                         to_float32)
from litelens.factory.config import ModelConfig
from litelens.factory.params import check_params, param_specs, random_params

DTYPES = {np.dtype("<f8"): "F64", np.dtype("<f4"): "F32", np.dtype("<f2"): "F16", np.dtype("<i8"): "I64",
          np.dtype("<i4"): "I32", np.dtype("int8"): "I8", np.dtype("uint8"): "U8"}
MOBILEBERT_JSON = {"model_type": "mobilebert", "vocab_size": 64, "hidden_size": 64, "num_hidden_layers": 2,
                   "num_attention_heads": 4, "intermediate_size": 48, "embedding_size": 16,
                   "intra_bottleneck_size": 32, "true_hidden_size": 32, "num_feedforward_networks": 2,
                   "max_position_embeddings": 32, "hidden_act": "relu", "classifier_activation": False,
                   "normalization_type": "no_norm", "trigram_input": True, "use_bottleneck": True,
                   "hidden_dropout_prob": 0.0, "architectures": ["MobileBertModel"], "transformers_version": "5.24.0"}
BERT_JSON = {"model_type": "bert", "vocab_size": 64, "hidden_size": 48, "num_hidden_layers": 2,
             "num_attention_heads": 4, "intermediate_size": 96, "max_position_embeddings": 32,
             "hidden_act": "gelu", "layer_norm_eps": 1e-12, "position_embedding_type": "absolute",
             "is_decoder": False}


def write_safetensors(path: Path, tensors: dict[str, np.ndarray], bf16: tuple[str, ...] = ()) -> Path:
    """The safetensors layout: u64 header size, JSON header, data. Names in ``bf16`` are stored as
    bfloat16 (float32 values whose low 16 bits are zero)."""
    header, chunks, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, value in tensors.items():
        value = np.asarray(value)  # tobytes() is C order; ascontiguousarray would make a 0-d array 1-d
        if name in bf16:
            dtype, data = "BF16", (value.astype("<f4").view("<u4") >> 16).astype("<u2").tobytes()
        else:
            dtype, data = DTYPES[value.dtype], value.tobytes()
        header[name] = {"dtype": dtype, "shape": list(value.shape), "data_offsets": [offset, offset + len(data)]}
        chunks.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    path.write_bytes(struct.pack("<Q", len(text)) + text + b"".join(chunks))
    return path


def hf_config(hf: dict, head: str = "hidden", **changes) -> ModelConfig:
    return replace(config_from_hf(hf, seq=16, head=head), **changes)


def make_checkpoint(folder: Path, hf: dict, params: dict[str, np.ndarray], prefix: str = "",
                    extra: dict | None = None) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(hf))
    tensors = {(name if name.startswith("classifier.") else prefix + name): value for name, value in params.items()}
    return write_safetensors(folder / "model.safetensors", {**tensors, **(extra or {})})


# --- the safetensors reader ----------------------------------------------------------------------

def test_reader_reads_every_dtype_like_the_safetensors_package(tmp_path):
    rng = np.random.default_rng(0)
    tensors = {"f64": rng.normal(size=(3, 2)), "f32": rng.normal(size=(4,)).astype(np.float32),
               "f16": rng.normal(size=(2, 2, 2)).astype(np.float16), "i64": np.arange(5, dtype=np.int64),
               "i8": np.array([-128, 0, 127], np.int8), "scalar": np.array(1.5, np.float32),
               "empty": np.zeros((0, 3), np.float32)}
    path = write_safetensors(tmp_path / "x.safetensors", tensors)
    got, dtypes = read_safetensors(path)
    assert dtypes == {"f64": "F64", "f32": "F32", "f16": "F16", "i64": "I64", "i8": "I8", "scalar": "F32",
                      "empty": "F32"}
    for name, value in tensors.items():
        assert got[name].dtype == value.dtype and got[name].shape == value.shape
        np.testing.assert_array_equal(got[name], value)
    safetensors_numpy = pytest.importorskip("safetensors.numpy")
    for name, value in safetensors_numpy.load_file(str(path)).items():
        np.testing.assert_array_equal(got[name], value)


def test_bfloat16_widens_exactly(tmp_path):
    values = np.array([1.0, -2.5, 3.140625, 2.0 ** -100, -65280.0, np.inf], np.float32)  # all exact in bfloat16
    path = write_safetensors(tmp_path / "x.safetensors", {"w": values}, bf16=("w",))
    got, dtypes = read_safetensors(path)
    assert dtypes["w"] == "BF16"
    np.testing.assert_array_equal(to_float32(got["w"], "BF16"), values)


@pytest.mark.parametrize("damage,message", [
    (lambda b: b[:5], "not a safetensors file"),
    (lambda b: struct.pack("<Q", 10 ** 9) + b[8:], "header of 1000000000 bytes"),
    (lambda b: b[:8] + b"\xff" + b[9:], "header is not JSON"),
    (lambda b: b[:-4], "data offsets"),
])
def test_reader_rejects_damaged_files(tmp_path, damage, message):
    path = write_safetensors(tmp_path / "x.safetensors", {"w": np.ones((2, 3), np.float32)})
    path.write_bytes(damage(path.read_bytes()))
    with pytest.raises(CheckpointError, match=message):
        read_safetensors(path)


def test_reader_rejects_an_unknown_dtype(tmp_path):
    header = json.dumps({"w": {"dtype": "F8_E4M3", "shape": [2], "data_offsets": [0, 2]}}).encode()
    path = tmp_path / "x.safetensors"
    path.write_bytes(struct.pack("<Q", len(header)) + header + b"\0\0")
    with pytest.raises(CheckpointError, match="F8_E4M3"):
        read_safetensors(path)


# --- config.json ----------------------------------------------------------------------------------

def test_config_json_maps_to_model_config():
    c = config_from_hf(MOBILEBERT_JSON, seq=16)
    assert (c.arch, c.hidden_size, c.true_hidden_size, c.embedding_size, c.num_feedforward_networks) == \
        ("mobilebert", 64, 32, 16, 2)
    assert (c.classifier_activation, c.hidden_act, c.head, c.seq) == (False, "relu", "hidden", 16)
    b = config_from_hf({"model_type": "bert"}, seq=128)  # every key left out: BertConfig's defaults
    assert (b.hidden_size, b.num_hidden_layers, b.num_attention_heads, b.intermediate_size, b.hidden_act) == \
        (768, 12, 12, 3072, "gelu")
    minilm = config_from_hf({**BERT_JSON, "hidden_size": 384, "num_attention_heads": 12,
                             "intermediate_size": 1536, "num_hidden_layers": 6, "max_position_embeddings": 512})
    assert (minilm.arch, minilm.head_size) == ("bert", 32)


@pytest.mark.parametrize("change,message", [
    ({"model_type": "roberta"}, "model_type 'roberta' is not supported"),
    ({"hidden_act": "gelu_10"}, "hidden_act 'gelu_10' is not supported"),
    ({"normalization_type": "rms_norm"}, "normalization_type 'rms_norm'"),
    ({"true_hidden_size": 64}, "true_hidden_size 64 disagrees"),
    ({"num_attention_heads": 5}, "5 heads do not divide width 32"),
    ({"hidden_size": "64"}, "hidden_size should be int"),
    ({"use_bottleneck": 1}, "use_bottleneck should be bool"),
    ({"key_query_shared_bottleneck": False}, "cannot run this config either"),
])
def test_unsupported_mobilebert_configs_are_clear_errors(change, message):
    with pytest.raises(CheckpointError, match=message):
        config_from_hf({**MOBILEBERT_JSON, **change})


@pytest.mark.parametrize("change,message", [
    ({"position_embedding_type": "relative_key"}, "position_embedding_type 'relative_key'"),
    ({"is_decoder": True}, "is_decoder is set"),
    ({"add_cross_attention": True}, "add_cross_attention is set"),
    ({"max_position_embeddings": 8}, r"seq must be in \[2, 8\], got 16"),
])
def test_unsupported_bert_configs_are_clear_errors(change, message):
    with pytest.raises(CheckpointError, match=message):
        config_from_hf({**BERT_JSON, **change}, seq=16)


# --- weights: layouts, heads, errors ------------------------------------------------------------------

def test_base_model_keys_load_exactly_and_pooler_is_ignored(tmp_path):
    config = hf_config(MOBILEBERT_JSON, classifier_activation=True)
    params = random_params(config, seed=5)
    pooler = {"pooler.dense.weight": np.ones((64, 64), np.float32), "pooler.dense.bias": np.ones(64, np.float32)}
    path = make_checkpoint(tmp_path, {**MOBILEBERT_JSON, "classifier_activation": True}, params,
                           extra={**pooler, "embeddings.position_ids": np.arange(32, dtype=np.int64)[None]})
    ckpt = load_checkpoint(path, seq=16)
    assert ckpt.config == config  # head "hidden": a base model has no classifier
    assert ckpt.ignored == ("embeddings.position_ids", "pooler.dense.bias", "pooler.dense.weight")
    assert set(ckpt.params) == set(params)
    for name, value in params.items():
        assert ckpt.params[name].dtype == np.float32
        np.testing.assert_array_equal(ckpt.params[name], value, err_msg=name)
    assert ckpt.vocab is None and ckpt.labels == ()


@pytest.mark.parametrize("arch,hf", [("mobilebert", MOBILEBERT_JSON), ("bert", BERT_JSON)])
def test_task_model_prefix_and_classifier_make_the_logits_head(tmp_path, arch, hf):
    hf = {**hf, "id2label": {"0": "negative", "1": "neutral", "2": "positive", "3": "mixed"}}
    config = hf_config(hf, head="logits", num_labels=4)
    params = random_params(config, seed=2)
    extra = {"cls.predictions.bias": np.zeros(64, np.float32)}  # a masked-LM head next to it: skipped
    ckpt = load_checkpoint(make_checkpoint(tmp_path, hf, params, prefix=f"{arch}.", extra=extra), seq=16)
    assert (ckpt.config.head, ckpt.config.num_labels) == ("logits", 4)
    assert ckpt.labels == ("negative", "neutral", "positive", "mixed")
    assert ckpt.ignored == ("cls.predictions.bias",)
    np.testing.assert_array_equal(ckpt.params["classifier.weight"], params["classifier.weight"])
    assert ("pooler.dense.weight" in ckpt.params) == (arch == "bert")  # mobilebert: classifier_activation false
    # the same checkpoint, asked for the encoder output: classifier (and pooler) unused, listed
    hidden = load_checkpoint(tmp_path / "model.safetensors", seq=16, head="hidden")
    assert "classifier.weight" not in hidden.params and f"{arch}.embeddings.word_embeddings.weight" not in hidden.ignored
    assert {"classifier.weight", "classifier.bias"} <= set(hidden.ignored)


def test_legacy_gamma_beta_names_and_bf16_weights(tmp_path):
    config = hf_config(BERT_JSON)
    params = random_params(config, seed=1)
    params = {name: (to_float32((v.view("<u4") >> 16).astype("<u2"), "BF16")) for name, v in params.items()}
    renamed = {name.replace("LayerNorm.weight", "LayerNorm.gamma").replace("LayerNorm.bias", "LayerNorm.beta"): v
               for name, v in params.items()}
    (tmp_path / "config.json").write_text(json.dumps(BERT_JSON))
    write_safetensors(tmp_path / "model.safetensors", renamed, bf16=tuple(renamed))
    (tmp_path / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\n")
    ckpt = load_checkpoint(tmp_path / "model.safetensors", seq=16)
    assert ckpt.converted_dtypes == ("BF16",) and ckpt.vocab == tmp_path / "vocab.txt"
    for name, value in params.items():
        np.testing.assert_array_equal(ckpt.params[name], value, err_msg=name)


def test_unknown_missing_and_misshapen_names_are_all_listed(tmp_path):
    config = hf_config(BERT_JSON)
    params = random_params(config)
    params["encoder.layer.0.attention.self.query.weight"] = np.zeros((48, 47), np.float32)
    del params["encoder.layer.1.output.dense.bias"]
    params["encoder.layer.0.attention.self.rotary.weight"] = np.zeros(3, np.float32)
    with pytest.raises(CheckpointError) as err:
        load_checkpoint(make_checkpoint(tmp_path, BERT_JSON, params), seq=16)
    text = str(err.value)
    assert "1 unknown name(s)" in text and "encoder.layer.0.attention.self.rotary.weight" in text
    assert "1 missing parameter(s): encoder.layer.1.output.dense.bias" in text
    assert "encoder.layer.0.attention.self.query.weight is [48, 47], config.json implies [48, 48]" in text


def test_more_layers_than_config_json_says(tmp_path):
    params = random_params(hf_config({**BERT_JSON, "num_hidden_layers": 3}))
    with pytest.raises(CheckpointError, match=r"encoder layers 0\.\.2, config.json says num_hidden_layers=2"):
        load_checkpoint(make_checkpoint(tmp_path, BERT_JSON, params), seq=16)


def test_vocab_size_mismatch_names_the_table(tmp_path):
    params = random_params(hf_config({**MOBILEBERT_JSON, "vocab_size": 100}))
    with pytest.raises(CheckpointError, match=r"embeddings.word_embeddings.weight is \[100, 16\], config.json "
                                              r"implies \[64, 16\]"):
        load_checkpoint(make_checkpoint(tmp_path, MOBILEBERT_JSON, params), seq=16)


def test_logits_head_without_a_classifier_is_an_error(tmp_path):
    path = make_checkpoint(tmp_path, BERT_JSON, random_params(hf_config(BERT_JSON)))
    with pytest.raises(CheckpointError, match=r"missing parameter\(s\) \(the logits head needs the pooler and "
                                              r"classifier.*pooler.dense.weight, pooler.dense.bias, classifier"):
        load_checkpoint(path, seq=16, head="logits")
    with pytest.raises(CheckpointError, match="unknown head 'pooled'"):
        load_checkpoint(path, seq=16, head="pooled")


def test_mixed_prefixes_and_integer_weights_are_errors(tmp_path):
    params = random_params(hf_config(BERT_JSON))
    mixed = {("bert." + k if "layer.1" in k else k): v for k, v in params.items()}
    (tmp_path / "config.json").write_text(json.dumps(BERT_JSON))
    write_safetensors(tmp_path / "model.safetensors", mixed)
    with pytest.raises(CheckpointError, match="mixes keys with the 'bert.' prefix"):
        load_checkpoint(tmp_path / "model.safetensors")
    ints = dict(params, **{"embeddings.LayerNorm.bias": np.zeros(48, np.int32)})
    write_safetensors(tmp_path / "model.safetensors", ints)
    with pytest.raises(CheckpointError, match=r"not stored as floats: embeddings.LayerNorm.bias \(I32\)"):
        load_checkpoint(tmp_path / "model.safetensors", seq=16)


def test_id2label_must_match_the_classifier(tmp_path):
    hf = {**BERT_JSON, "id2label": {"0": "a", "1": "b"}}
    params = random_params(hf_config(hf, head="logits", num_labels=3))
    with pytest.raises(CheckpointError, match="id2label has 2 labels, the classifier has 3 outputs"):
        load_checkpoint(make_checkpoint(tmp_path, hf, params), seq=16)


def test_missing_files_and_other_formats(tmp_path):
    with pytest.raises(CheckpointError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "nothing.safetensors")
    (tmp_path / "pytorch_model.bin").write_bytes(b"x")
    with pytest.raises(CheckpointError, match="reads .safetensors checkpoints"):
        load_checkpoint(tmp_path / "pytorch_model.bin")
    write_safetensors(tmp_path / "model.safetensors", {"w": np.ones(2, np.float32)})
    with pytest.raises(CheckpointError, match="config file not found.*--config"):
        load_checkpoint(tmp_path / "model.safetensors")
    (tmp_path / "other.json").write_text(json.dumps(BERT_JSON))  # --config elsewhere: read, then names checked
    with pytest.raises(CheckpointError, match="unknown name.*: w"):
        load_checkpoint(tmp_path / "model.safetensors", tmp_path / "other.json", seq=16)


def test_check_params_guards_build_module():
    config = hf_config(BERT_JSON)
    params = random_params(config)
    check_params(config, params)
    with pytest.raises(ValueError, match="missing: embeddings.LayerNorm.bias"):
        check_params(config, {k: v for k, v in params.items() if k != "embeddings.LayerNorm.bias"})
    with pytest.raises(ValueError, match=r"shape of pooler.dense.bias: \(4,\), expected \(48,\)"):
        logits = replace(config, head="logits", num_labels=2)
        check_params(logits, {**random_params(logits), "pooler.dense.bias": np.zeros(4, np.float32)})


def test_head_parameters_follow_the_head():
    mb = hf_config(MOBILEBERT_JSON)
    names = lambda c: {s.name for s in param_specs(c)}  # noqa: E731
    assert not any(n.startswith(("pooler.", "classifier.")) for n in names(mb))
    assert names(replace(mb, head="logits")) - names(mb) == {"classifier.weight", "classifier.bias"}
    assert names(replace(mb, head="logits", classifier_activation=True)) - names(mb) == \
        {"classifier.weight", "classifier.bias", "pooler.dense.weight", "pooler.dense.bias"}
    # switches change HF's parameter set: no bottleneck modules, value from the bottleneck, no trigram
    plain = replace(mb, use_bottleneck=False, hidden_size=32)
    assert not any(".bottleneck." in n for n in names(plain))
    shapes = {s.name: s.shape for s in param_specs(replace(mb, use_bottleneck_attention=True, trigram_input=False))}
    assert shapes["encoder.layer.0.attention.self.value.weight"] == (32, 32)
    assert shapes["embeddings.embedding_transformation.weight"] == (64, 16)
    assert "encoder.layer.0.bottleneck.attention.dense.weight" in shapes  # HF still builds it (unused)


# --- building and converting ---------------------------------------------------------------------

def test_build_module_uses_the_given_weights(tmp_path):
    tf = pytest.importorskip("tensorflow")
    from litelens.factory.build import build_module

    config = hf_config(BERT_JSON)
    params = random_params(config, seed=9)
    module = build_module(config, params=params)
    for name, value in params.items():
        np.testing.assert_array_equal(module.params[name].numpy(), value)
    x = {k: tf.zeros((1, 16), tf.int32) for k in ("input_ids", "input_mask", "segment_ids")}
    assert module.serve(**x)["last_hidden_state"].shape == (1, 16, 48)
    with pytest.raises(ValueError, match="unknown: extra"):
        build_module(config, params={**params, "extra": np.zeros(1, np.float32)})


def convert_parser():
    import argparse

    from litelens.cli import convert_cmd

    parser = argparse.ArgumentParser()
    convert_cmd.add_parser(parser.add_subparsers())
    return parser


def test_convert_checkpoint_command(tmp_path, capsys):
    pytest.importorskip("tensorflow")
    pytest.importorskip("rich")
    hf = {**MOBILEBERT_JSON, "id2label": {"0": "no", "1": "yes"}}
    config = hf_config(hf, head="logits", num_labels=2)
    path = make_checkpoint(tmp_path / "tiny-mb", hf, random_params(config), prefix="mobilebert.")
    parser = convert_parser()
    args = parser.parse_args(["convert", "--checkpoint", str(path), "--flavor", "float32,dynamic",
                              "--out", str(tmp_path / "out"), "--seq", "16"])
    assert args.func(args) == 0
    printed = " ".join(capsys.readouterr().out.split())  # rich wraps long lines
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["tiny-mb-dynamic.tflite", "tiny-mb-float32.tflite"]
    assert "mobilebert, 2 layers, hidden 64, bottleneck 32" in printed and "checkpoint weights" in printed
    assert "head: logits -> output 'logits' (no, yes)" in printed

    from litelens.model import load_model

    graph = load_model((tmp_path / "out" / "tiny-mb-float32.tflite").read_bytes()).subgraphs[0]
    outputs = [(graph.tensors[i].name, graph.tensors[i].shape) for i in graph.outputs]
    assert outputs == [("logits", (1, 2))]

    for bad, message in [(["--layers", "3"], "--layers goes with --preset"),
                         (["--seed", "1"], "--seed goes with --preset"),
                         (["--head", "logits", "--seq", "40"], r"seq must be in \[2, 32\], got 40")]:
        args = parser.parse_args(["convert", "--checkpoint", str(path), "--out", str(tmp_path), *bad])
        with pytest.raises(SystemExit, match=message):
            args.func(args)
    args = parser.parse_args(["convert", "--preset", "bert-tiny", "--head", "hidden", "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="--head goes with --checkpoint"):
        args.func(args)
    with pytest.raises(SystemExit):  # argparse: --preset and --checkpoint exclude each other
        parser.parse_args(["convert", "--preset", "bert-tiny", "--checkpoint", str(path), "--out", str(tmp_path)])
    args = parser.parse_args(["convert", "--checkpoint", str(tmp_path / "none.safetensors"), "--out", str(tmp_path)])
    with pytest.raises(SystemExit, match="litelens convert: checkpoint not found"):
        args.func(args)


def test_calibration_file_and_checkpoint_vocab_drive_int8_calibration(tmp_path):
    """--calibration FILE (default: the sample corpus) and the checkpoint's vocab.txt both change the
    int8 model (its activation ranges); a missing calibration file is a clean error."""
    pytest.importorskip("tensorflow")
    from litelens.factory.build import build_module, convert_flavors

    config = hf_config(BERT_JSON)
    module = build_module(config, params=random_params(config, seed=4))
    texts = tmp_path / "texts.txt"
    texts.write_text("a completely different sentence about the weather\n\nand another one here\n")
    vocab = tmp_path / "vocab.txt"
    vocab.write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + list("abcdefghijklmnopqrstuvwxyz")))

    def int8(**kwargs) -> bytes:
        (conversion,) = convert_flavors(module, config, ["int8"], **kwargs)
        return conversion.model

    default, again = int8(), int8()
    assert default == again
    from_file = int8(calibration=texts)
    with_vocab = int8(calibration=texts, vocab=vocab)
    assert len({default, from_file, with_vocab}) == 3

    parser = convert_parser()
    args = parser.parse_args(["convert", "--preset", "bert-tiny", "--flavor", "int8", "--out", str(tmp_path),
                              "--calibration", str(tmp_path / "missing.txt")])
    with pytest.raises(FileNotFoundError, match="calibration file not found"):
        args.func(args)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n \n")
    args = parser.parse_args(["convert", "--preset", "bert-tiny", "--flavor", "int8", "--layers", "1", "--seq", "8",
                              "--out", str(tmp_path), "--calibration", str(empty)])
    with pytest.raises(SystemExit, match="calibration file .*empty.txt has no text"):
        args.func(args)
