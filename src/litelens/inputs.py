"""Turning what a user gives on the command line (text, .npy/.npz files) into model inputs."""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from litelens.errors import InputError

TEXT_INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")


def input_names(interp) -> dict[int, str]:
    """Tensor index -> the friendliest name of each model input (signature name when there is one)."""
    names = {d["index"]: d["name"] for d in interp.get_input_details()}
    for signature in interp.model.signatures[:1]:
        for name, index in signature.inputs.items():
            if index in names:
                names[index] = name
    return names


def _match_text_input(name: str) -> str | None:
    lowered = name.lower()
    for key in TEXT_INPUT_NAMES:
        if key in lowered:
            return key
    aliases = {"attention_mask": "input_mask", "token_type_ids": "segment_ids"}
    for alias, key in aliases.items():
        if alias in lowered:
            return key
    return None


def text_inputs(interp, text: str, vocab_path: str | os.PathLike | None = None) -> dict[int, np.ndarray]:
    """Tokenize ``text`` for a BERT-style model whose inputs are input_ids/input_mask/segment_ids.

    ``vocab_path``: the model's WordPiece ``vocab.txt`` (default: litelens's sample vocabulary, which
    fits the factory's models; a real checkpoint needs its own).
    """
    from litelens.tokenizer import VOCAB_PATH, encode

    if vocab_path is not None and not Path(vocab_path).is_file():
        raise InputError(f"vocabulary file not found: {vocab_path}")

    details = {d["index"]: d for d in interp.get_input_details()}
    mapping = {}
    for index, name in input_names(interp).items():
        key = _match_text_input(name)
        if key is None:
            raise InputError(f"--text needs inputs named like {', '.join(TEXT_INPUT_NAMES)}; "
                             f"this model has an input '{name}'. Use --input NAME=FILE.npy instead.")
        mapping[index] = key
    seqs = {int(details[i]["shape"][-1]) for i in mapping}
    if len(seqs) != 1:
        raise InputError(f"the text inputs disagree on sequence length: {sorted(seqs)}")
    encoded = encode(text, seq=seqs.pop(), vocab_path=vocab_path or VOCAB_PATH)
    out = {}
    for index, key in mapping.items():
        dtype = np.dtype(details[index]["dtype"])
        out[index] = encoded[key].astype(dtype).reshape(tuple(details[index]["shape"]))
    return out


def file_inputs(interp, specs: list[str]) -> dict[int, np.ndarray]:
    """``NAME=FILE.npy`` pairs (NAME may be a tensor index), or one ``FILE.npz`` keyed by input names."""
    names = input_names(interp)
    by_name = {name: index for index, name in names.items()}
    by_name.update({d["name"]: d["index"] for d in interp.get_input_details()})
    out = {}
    for spec in specs:
        if "=" in spec:
            name, path = spec.split("=", 1)
            out[_resolve(name, by_name, names)] = _load_array(path)
        elif spec.endswith(".npz"):
            with np.load(spec, allow_pickle=False) as archive:
                for name in archive.files:
                    out[_resolve(name, by_name, names)] = archive[name]
        else:
            raise InputError(f"--input takes NAME=FILE.npy or FILE.npz, got {spec!r}")
    return out


def _resolve(name: str, by_name: dict[str, int], names: dict[int, str]) -> int:
    if name in by_name:
        return by_name[name]
    if name.isdigit() and int(name) in names:
        return int(name)
    raise InputError(f"the model has no input {name!r}; its inputs are {', '.join(names.values())}")


def _load_array(path: str) -> np.ndarray:
    if not Path(path).is_file():
        raise InputError(f"no such file: {path}")
    try:
        return np.load(os.fspath(path), allow_pickle=False)
    except ValueError as err:
        raise InputError(f"{path} is not a .npy array: {err}") from None


def fill_inputs(interp, inputs: dict[int, np.ndarray]) -> None:
    """Set every model input, casting nothing: a missing input or a wrong dtype is an error."""
    names = input_names(interp)
    missing = [names[i] for i in names if i not in inputs]
    if missing:
        raise InputError(f"no value given for input(s) {', '.join(missing)}")
    for index, value in inputs.items():
        interp.set_tensor(index, value)
