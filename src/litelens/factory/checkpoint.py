"""Real weights in: a Hugging Face ``.safetensors`` checkpoint and its ``config.json`` -> ModelConfig + params.

Accepted layouts (``model_type`` in config.json says which architecture):

- ``MobileBertModel`` / ``BertModel`` keys (``embeddings.*``, ``encoder.layer.N.*``, ``pooler.dense.*``), as
  ``save_pretrained`` of the base model or sentence-transformers (MiniLM) write them;
- the same under the ``mobilebert.`` / ``bert.`` prefix of the task models (``*ForSequenceClassification``,
  ``*ForMaskedLM``, ``*ForPreTraining`` ...), with ``classifier.*`` and ``cls.*`` at the top level;
- legacy ``LayerNorm.gamma`` / ``LayerNorm.beta`` names (read as ``.weight`` / ``.bias``, as HF does).

What the graph outputs (``head``, see :data:`litelens.factory.config.HEADS`):

- ``auto`` (default): ``logits`` when the checkpoint has ``classifier.weight`` (a sequence classifier:
  pooler + classifier, ``num_labels`` from the classifier's shape), else ``hidden``: the encoder's
  ``last_hidden_state`` [1, seq, hidden], which is what ``MobileBertModel`` / ``BertModel`` return.
- ``logits`` asked for explicitly needs ``classifier.*`` and the pooler HF's classifier reads (BERT's always;
  MobileBERT's with ``classifier_activation``); missing ones are an error, never filled with random values.
- ``embedding``: mean over unmasked tokens, L2-normalised (the sentence-transformers recipe of MiniLM).

Parameters the chosen head does not read (``pooler.*`` without the logits head, ``classifier.*`` without
it) and those of heads the factory never builds (``cls.*``: masked-LM / next-sentence heads) or buffers
(``embeddings.position_ids`` / ``token_type_ids``) are skipped and listed in ``Checkpoint.ignored``.
Any other name the architecture does not have, a missing parameter, or a shape that does not fit
config.json is a :class:`CheckpointError` naming every such key.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from litelens.factory.config import ACTIVATIONS, HEADS, NORMALIZATIONS, ModelConfig
from litelens.factory.params import param_specs

ARCHS = ("mobilebert", "bert")
SAFETENSORS_DTYPES = {"F64": "<f8", "F32": "<f4", "F16": "<f2", "BF16": "<u2", "I64": "<i8", "I32": "<i4",
                      "I16": "<i2", "I8": "i1", "U8": "u1", "BOOL": "?"}
FLOAT_DTYPES = ("F64", "F32", "F16", "BF16")
# config.json keys copied into ModelConfig (same names); the rest of config.json is not architecture
# (dropout, initializer_range, token ids, label names, transformers_version ...) and is not read.
COMMON_KEYS = ("vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size",
               "max_position_embeddings", "type_vocab_size", "layer_norm_eps", "hidden_act")
MOBILEBERT_KEYS = ("embedding_size", "trigram_input", "use_bottleneck", "intra_bottleneck_size",
                   "use_bottleneck_attention", "key_query_shared_bottleneck", "num_feedforward_networks",
                   "normalization_type", "classifier_activation")
# HF's defaults for keys a config.json may leave out (MobileBertConfig / BertConfig, transformers 4.x-5.x).
HF_DEFAULTS = {
    "mobilebert": dict(vocab_size=30522, hidden_size=512, num_hidden_layers=24, num_attention_heads=4,
                       intermediate_size=512, max_position_embeddings=512, type_vocab_size=2,
                       layer_norm_eps=1e-12, hidden_act="relu", embedding_size=128, trigram_input=True,
                       use_bottleneck=True, intra_bottleneck_size=128, use_bottleneck_attention=False,
                       key_query_shared_bottleneck=True, num_feedforward_networks=4,
                       normalization_type="no_norm", classifier_activation=True),
    "bert": dict(vocab_size=30522, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                 intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2, layer_norm_eps=1e-12,
                 hidden_act="gelu"),
}
IGNORED_PREFIXES = ("cls.",)  # pre-training / masked-LM heads: never built
IGNORED_BUFFERS = ("embeddings.position_ids", "embeddings.token_type_ids")  # buffers, not weights
LIST_LIMIT = 12  # names shown in an error before "... and N more"


class CheckpointError(ValueError):
    """A checkpoint or its config.json that the factory cannot build, with every offending key named."""


@dataclass(frozen=True)
class Checkpoint:
    config: ModelConfig
    params: dict[str, np.ndarray]  # HF name (no task prefix) -> float32, exactly param_specs(config)
    ignored: tuple[str, ...]  # checkpoint keys not used by the graph (see the module docstring)
    labels: tuple[str, ...] = ()  # id2label of config.json, for the logits head
    vocab: Path | None = None  # vocab.txt beside the checkpoint, if there is one
    converted_dtypes: tuple[str, ...] = ()  # safetensors dtypes other than F32 converted to float32


# --- safetensors ------------------------------------------------------------------------------------

def read_safetensors(path: str | Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Every tensor of a ``.safetensors`` file (8-byte little-endian header size, JSON header of
    ``{name: {dtype, shape, data_offsets}}``, then the data) as NumPy arrays, and each one's dtype name.

    BF16 comes back as its raw uint16 bits (NumPy has no bfloat16): :func:`to_float32` widens it."""
    path = Path(path)
    raw = np.memmap(path, dtype=np.uint8, mode="r") if path.stat().st_size else np.zeros(0, np.uint8)
    if raw.size < 8:
        raise CheckpointError(f"{path}: not a safetensors file ({raw.size} bytes)")
    header_size = int(np.frombuffer(raw[:8].tobytes(), "<u8")[0])
    if header_size > raw.size - 8:
        raise CheckpointError(f"{path}: not a safetensors file (header of {header_size} bytes in a "
                              f"{raw.size}-byte file)")
    try:
        header = json.loads(raw[8:8 + header_size].tobytes())
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not a safetensors file (header is not JSON: {err})") from None
    if not isinstance(header, dict):
        raise CheckpointError(f"{path}: not a safetensors file (header is not a JSON object)")
    data = raw[8 + header_size:]
    tensors, dtypes = {}, {}
    for name, entry in header.items():
        if name == "__metadata__":
            continue
        try:
            dtype, shape, (begin, end) = entry["dtype"], tuple(int(n) for n in entry["shape"]), entry["data_offsets"]
        except (TypeError, KeyError, ValueError):
            raise CheckpointError(f"{path}: malformed header entry for {name!r}: {entry!r}") from None
        if dtype not in SAFETENSORS_DTYPES:
            raise CheckpointError(f"{path}: {name} has dtype {dtype}, which litelens does not read "
                                  f"(readable: {', '.join(SAFETENSORS_DTYPES)})")
        np_dtype = np.dtype(SAFETENSORS_DTYPES[dtype])
        if not 0 <= begin <= end <= data.size or end - begin != int(np.prod(shape)) * np_dtype.itemsize \
                or min(shape, default=0) < 0:
            raise CheckpointError(f"{path}: {name} ({dtype} {list(shape)}) has data offsets {[begin, end]} that "
                                  f"do not fit its shape or the file's {data.size} data bytes")
        tensors[name] = np.frombuffer(data[begin:end].tobytes(), np_dtype).reshape(shape)
        dtypes[name] = dtype
    return tensors, dtypes


def to_float32(value: np.ndarray, dtype: str) -> np.ndarray:
    """A float tensor of any safetensors float dtype as float32 (BF16 bits shifted into the top half)."""
    if dtype == "BF16":
        return (value.astype(np.uint32) << 16).view(np.float32)
    return value.astype(np.float32)


# --- config.json ------------------------------------------------------------------------------------

def read_config_json(path: str | Path) -> dict:
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"config file not found: {path} (the checkpoint's config.json gives the "
                              "architecture; pass its path with --config)")
    try:
        hf = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CheckpointError(f"{path}: not JSON: {err}") from None
    if not isinstance(hf, dict):
        raise CheckpointError(f"{path}: not a JSON object")
    return hf


def config_from_hf(hf: dict, seq: int = 128, head: str = "hidden", num_labels: int = 3,
                   source: str = "config.json") -> ModelConfig:
    """The ModelConfig of a HF ``config.json`` (MobileBertConfig or BertConfig), with the graph's input
    length and head. Values the factory does not build are a CheckpointError naming the key."""
    arch = hf.get("model_type")
    if arch not in ARCHS:
        raise CheckpointError(f"{source}: model_type {arch!r} is not supported; litelens builds "
                              f"{' and '.join(ARCHS)} (MobileBertModel, BertModel and BERT-family encoders "
                              "such as MiniLM)")
    values = dict(HF_DEFAULTS[arch])
    keys = COMMON_KEYS + (MOBILEBERT_KEYS if arch == "mobilebert" else ())
    values.update({key: hf[key] for key in keys if key in hf and hf[key] is not None})
    _check_supported(hf, values, arch, source)
    if "true_hidden_size" in hf:  # derived in HF; a stored value must agree
        want = values["intra_bottleneck_size"] if values.get("use_bottleneck", False) else values["hidden_size"]
        if hf["true_hidden_size"] != want:
            raise CheckpointError(f"{source}: true_hidden_size {hf['true_hidden_size']} disagrees with "
                                  f"use_bottleneck/intra_bottleneck_size/hidden_size (which give {want})")
    types = {f.name: f.type for f in fields(ModelConfig)}
    for key, value in values.items():
        want = {"int": int, "float": float, "bool": bool, "str": str}[types[key]]
        ok = isinstance(value, want) and not (want is int and isinstance(value, bool)) \
            or (want is float and isinstance(value, int) and not isinstance(value, bool))
        if not ok:
            raise CheckpointError(f"{source}: {key} should be {types[key]}, got {value!r}")
    config = ModelConfig(arch=arch, seq=seq, head=head, num_labels=num_labels,
                         **{key: (float(v) if types[key] == "float" else v) for key, v in values.items()})
    try:
        config.validate()
    except ValueError as err:
        raise CheckpointError(f"{source}: {err}") from None
    return config


def _check_supported(hf: dict, values: dict, arch: str, source: str) -> None:
    act = values["hidden_act"]
    if act not in ACTIVATIONS:
        raise CheckpointError(f"{source}: hidden_act {act!r} is not supported; litelens builds "
                              f"{', '.join(ACTIVATIONS)}")
    if arch == "mobilebert" and values["normalization_type"] not in NORMALIZATIONS:
        raise CheckpointError(f"{source}: normalization_type {values['normalization_type']!r} is not "
                              f"supported; choose from {', '.join(NORMALIZATIONS)}")
    position = hf.get("position_embedding_type", "absolute")
    if position not in (None, "absolute"):
        raise CheckpointError(f"{source}: position_embedding_type {position!r} is not supported (only "
                              "absolute position embeddings)")
    for flag in ("is_decoder", "add_cross_attention"):
        if hf.get(flag):
            raise CheckpointError(f"{source}: {flag} is set; litelens builds bidirectional encoders only")


# --- weights ------------------------------------------------------------------------------------------

def strip_prefix(keys: list[str], arch: str, source: str) -> dict[str, str]:
    """HF name (task prefix removed, gamma/beta read as weight/bias) -> checkpoint key."""
    prefix = f"{arch}."
    top_level = ("classifier.",) + IGNORED_PREFIXES
    prefixed = [k for k in keys if k.startswith(prefix)]
    bare = [k for k in keys if not k.startswith(prefix) and not k.startswith(top_level)]
    if prefixed and bare:
        raise CheckpointError(f"{source}: mixes keys with the {prefix!r} prefix ({prefixed[0]}) and without it "
                              f"({bare[0]}); a checkpoint holds one model")
    names = {}
    for key in keys:
        name = key[len(prefix):] if key.startswith(prefix) else key
        name = re.sub(r"(LayerNorm)\.gamma$", r"\1.weight", name)
        name = re.sub(r"(LayerNorm)\.beta$", r"\1.bias", name)
        if name in names:
            raise CheckpointError(f"{source}: {names[name]} and {key} are the same parameter {name}")
        names[name] = key
    return names


def _listing(items: list[str]) -> str:
    shown = ", ".join(items[:LIST_LIMIT])
    return shown + (f" ... and {len(items) - LIST_LIMIT} more" if len(items) > LIST_LIMIT else "")


def _resolve_head(head: str, names: dict[str, str], tensors: dict[str, np.ndarray], source: str) -> tuple[str, int]:
    if head not in HEADS + ("auto",):
        raise CheckpointError(f"unknown head {head!r}; choose from auto, {', '.join(HEADS)}")
    has_classifier = "classifier.weight" in names
    if head == "auto":
        head = "logits" if has_classifier else "hidden"
    num_labels = 3
    if head == "logits" and has_classifier:
        shape = tensors[names["classifier.weight"]].shape
        if len(shape) != 2:
            raise CheckpointError(f"{source}: classifier.weight has shape {list(shape)}, expected [num_labels, hidden]")
        num_labels = int(shape[0])
    return head, num_labels


def select_params(config: ModelConfig, names: dict[str, str], tensors: dict[str, np.ndarray],
                  dtypes: dict[str, str], source: str) -> tuple[dict[str, np.ndarray], list[str]]:
    """The float32 parameters of ``param_specs(config)`` out of the checkpoint, and the keys ignored.
    Every missing name, unknown name and wrong shape goes into one CheckpointError."""
    specs = {spec.name: spec.shape for spec in param_specs(config)}
    ignorable = ("pooler.", "classifier.") + IGNORED_PREFIXES  # heads not (or not all) built
    ignored = sorted(names[n] for n in names
                     if n not in specs and (n.startswith(ignorable) or n in IGNORED_BUFFERS))
    unknown = sorted(names[n] for n in names if n not in specs and names[n] not in ignored)
    missing = [name for name in specs if name not in names]
    wrong = [f"{names[name]} is {list(tensors[names[name]].shape)}, config.json implies {list(shape)}"
             for name, shape in specs.items() if name in names and tensors[names[name]].shape != shape]
    not_float = [f"{names[name]} ({dtypes[names[name]]})" for name in specs
                 if name in names and dtypes[names[name]] not in FLOAT_DTYPES]
    problems = []
    if unknown:
        problems.append(f"{len(unknown)} unknown name(s), not parameters of {config.arch} with this config.json"
                        f"{_hint_layers(config, unknown)}: {_listing(unknown)}")
    if missing:
        hint = ""
        if any(n.startswith(("classifier.", "pooler.")) for n in missing):
            hint = " (the logits head needs the pooler and classifier of a *ForSequenceClassification checkpoint)"
        problems.append(f"{len(missing)} missing parameter(s){hint}: {_listing(missing)}")
    if wrong:
        problems.append(f"{len(wrong)} shape mismatch(es): {_listing(wrong)}")
    if not_float:
        problems.append(f"{len(not_float)} parameter(s) not stored as floats: {_listing(not_float)}")
    if problems:
        raise CheckpointError(f"{source} does not fit its config ({config.arch}, {config.num_hidden_layers} "
                              f"layers, hidden {config.hidden_size}):\n  " + "\n  ".join(problems))
    params = {name: to_float32(tensors[names[name]], dtypes[names[name]]) for name in specs}
    return params, ignored


def _hint_layers(config: ModelConfig, unknown: list[str]) -> str:
    layers = {int(m.group(1)) for k in unknown if (m := re.search(r"encoder\.layer\.(\d+)\.", k))}
    if layers and max(layers) >= config.num_hidden_layers:
        return (f" (the checkpoint has encoder layers 0..{max(layers)}, config.json says "
                f"num_hidden_layers={config.num_hidden_layers})")
    return ""


def load_checkpoint(path: str | Path, config_path: str | Path | None = None, seq: int = 128,
                    head: str = "auto") -> Checkpoint:
    """Read ``path`` (``.safetensors``) and ``config_path`` (default: ``config.json`` beside it) into a
    ModelConfig and the parameters ``build_module(config, params=...)`` takes."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"checkpoint not found: {path}")
    if path.suffix != ".safetensors":
        raise CheckpointError(f"{path}: litelens reads .safetensors checkpoints (save_pretrained writes "
                              "model.safetensors; a .bin or .h5 file can be re-saved with it)")
    config_path = Path(config_path) if config_path else path.with_name("config.json")
    hf = read_config_json(config_path)
    arch = hf.get("model_type")
    if arch not in ARCHS:
        config_from_hf(hf, source=str(config_path))  # raises: names the model_type
    tensors, dtypes = read_safetensors(path)
    names = strip_prefix(list(tensors), arch, path.name)
    head, num_labels = _resolve_head(head, names, tensors, path.name)
    config = config_from_hf(hf, seq=seq, head=head, num_labels=num_labels, source=str(config_path))
    labels = _labels(hf, config, str(config_path))
    params, ignored = select_params(config, names, tensors, dtypes, path.name)
    converted = sorted({dtypes[names[n]] for n in params} - {"F32"})
    vocab = path.with_name("vocab.txt")
    return Checkpoint(config, params, tuple(ignored), labels, vocab if vocab.is_file() else None,
                      tuple(converted))


def _labels(hf: dict, config: ModelConfig, source: str) -> tuple[str, ...]:
    """id2label's names in id order, for the logits head; an id2label of another size is an error."""
    id2label = hf.get("id2label")
    if config.head != "logits" or not isinstance(id2label, dict):
        return ()
    if len(id2label) != config.num_labels:
        raise CheckpointError(f"{source}: id2label has {len(id2label)} labels, the classifier has "
                              f"{config.num_labels} outputs")
    try:
        return tuple(str(id2label[k]) for k in sorted(id2label, key=int))
    except ValueError:
        raise CheckpointError(f"{source}: id2label keys are not label ids: {list(id2label)}") from None

