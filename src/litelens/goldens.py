"""Golden recordings of the official interpreter: list them, load them, check the committed models.

``golden/record.py`` runs the official interpreter (``ai_edge_litert``) on the committed models in
``golden/models/`` for a few fixed texts under each resolver (reference, optimized, xnnpack), keeping
every tensor. This module reads what it wrote, without TensorFlow or the official interpreter.

Storage (one ``.npz`` per model, flavor and resolver, described in ``golden/README.md``):

* ``meta``: JSON — tensor details, which tensors are constant or derived from constants, per text the
  tensors the resolver never wrote (e.g. DEQUANTIZE outputs XNNPACK folds away, or every tensor after
  an op whose official kernel failed: ``errors`` holds the message), and the base recording.
* ``t<k>:<index>``: the value of non-constant tensor ``index`` for text ``k``. In the optimized and
  xnnpack recordings only tensors whose bits differ from the reference recording are stored, as the
  bitwise XOR with the reference value (zeros where they agree, which compresses well); the loader
  undoes it. Arrays stored twice with equal bits are kept once (``meta["aliases"]``).
* Constant tensors (weights) are not stored: the model file is committed, and ``meta`` holds their
  sha256. Tensors that are a DEQUANTIZE of a constant (float16 and dynamic-range weights) are the same
  for every text; they are recomputed here from the model and checked against the recorded sha256.
"""
from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

RESOLVERS = ("reference", "optimized", "xnnpack")
INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")


def golden_dir() -> Path:
    """``$LITELENS_GOLDEN_DIR``, else ``golden/`` at the root of the source checkout."""
    env = os.environ.get("LITELENS_GOLDEN_DIR")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "golden"


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_array(value: np.ndarray) -> str:
    """sha256 of an array's C-order bytes (dtype and shape are recorded beside it)."""
    return sha256_bytes(np.ascontiguousarray(value).tobytes())


def xor_bits(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bitwise XOR of two arrays of one dtype, viewed as unsigned integers; returns a's dtype."""
    if a.dtype != b.dtype or a.shape != b.shape:
        raise ValueError(f"xor of {a.dtype}{a.shape} with {b.dtype}{b.shape}")
    unsigned = np.dtype(f"u{a.dtype.itemsize}")
    a, b = np.ascontiguousarray(a), np.ascontiguousarray(b)
    return (a.view(unsigned) ^ b.view(unsigned)).view(a.dtype)


# --- the model file (read with litelens.model) -----------------------------------------------------

def _main_graph(model_content: bytes):
    from litelens.model import load_model

    return load_model(model_content).subgraphs[0]


def constant_indices(model_content: bytes) -> set[int]:
    """Indices of the main subgraph's tensors that hold constant data in the file."""
    return {t.index for t in _main_graph(model_content).tensors if t.data is not None}


def tensor_count(model_content: bytes) -> int:
    return len(_main_graph(model_content).tensors)


def op_counts(model_content: bytes) -> dict[str, int]:
    """How many operators of each builtin kind the main subgraph has, by name."""
    return dict(sorted(Counter(op.opcode for op in _main_graph(model_content).operators).items()))


def dequantized_constants(model_content: bytes) -> dict[int, np.ndarray]:
    """Outputs of DEQUANTIZE ops whose input is constant, computed as the reference kernel does:
    float16 -> float32 exactly; int8/int16 -> float32(double(scale) * (q - zero_point)) per tensor
    (``tensorflow/lite/kernels/internal/reference/dequantize.h``). Checked against recorded hashes."""
    graph = _main_graph(model_content)
    out = {}
    for op in graph.operators:
        source = graph.tensors[op.inputs[0]] if op.opcode == "DEQUANTIZE" else None
        if source is None or source.data is None:
            continue
        if source.data.dtype == np.float16:
            value = source.data.astype(np.float32)
        elif source.quantization is not None and not source.quantization.per_channel:
            q = source.quantization
            value = (np.float64(q.single_scale) * (source.data.astype(np.int64) - q.single_zero_point)).astype(np.float32)
        else:
            continue  # per-channel constants: not produced by the factory's models
        out[op.outputs[0]] = value
    return out


# --- recordings ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TensorDetail:
    index: int
    name: str
    dtype: str
    shape: tuple[int, ...]
    scales: tuple[float, ...]  # empty when not quantized
    zero_points: tuple[int, ...]
    axis: int  # quantized dimension
    kind: str  # "variable", "constant" or "derived" (DEQUANTIZE of a constant)
    sha256: str | None  # of the value, for constant and derived tensors

    @classmethod
    def from_json(cls, d: dict) -> "TensorDetail":
        return cls(index=d["index"], name=d["name"], dtype=d["dtype"], shape=tuple(d["shape"]),
                   scales=tuple(d["scales"]), zero_points=tuple(d["zero_points"]), axis=d["axis"],
                   kind=d["kind"], sha256=d.get("sha256"))


@dataclass
class Recording:
    """One official run: a model flavor under one resolver, for every recorded text."""

    key: str  # "<model>-<flavor>/<resolver>"
    model: str
    flavor: str
    resolver: str
    model_path: Path
    texts: list[str]  # the recorded texts: the first len(texts) of the manifest's inputs
    inputs: list[dict[str, np.ndarray]]  # per text: {input name: int32 [1, seq]}
    tensors: list[dict[int, np.ndarray]]  # per text: {tensor index: value}, every non-constant tensor
    # that the resolver wrote (constants are in the model file)
    details: dict[int, TensorDetail]
    not_computed: list[set[int]] = field(default_factory=list)  # per text: tensors the resolver never wrote
    errors: list[str | None] = field(default_factory=list)  # per text: the official invoke error, if any

    def output_indices(self) -> list[int]:
        return [d.index for d in self.details.values() if d.name in ("logits", "embedding")]


def load_manifest(root: Path | None = None) -> dict:
    root = root or golden_dir()
    path = root / "manifest.json"
    if not path.is_file():
        raise FileNotFoundError(f"no golden manifest at {path}; run `python golden/record.py`")
    return json.loads(path.read_text())


def list_recordings(root: Path | None = None) -> list[str]:
    """Keys ``"<model>-<flavor>/<resolver>"`` of every recording in the manifest."""
    return sorted(load_manifest(root)["recordings"])


def verify_file(path: Path, sha256: str, size: int | None = None) -> bytes:
    """The file's bytes, after checking its sha256 (and size) against the manifest."""
    data = Path(path).read_bytes()
    if size is not None and len(data) != size:
        raise ValueError(f"{path}: {len(data)} bytes, manifest says {size}")
    if sha256_bytes(data) != sha256:
        raise ValueError(f"{path}: sha256 differs from the manifest (file changed or regenerated)")
    return data


def _read_npz(path: Path) -> tuple[dict, dict[str, np.ndarray]]:
    with np.load(path, allow_pickle=False) as npz:
        arrays = {key: npz[key] for key in npz.files}
    meta = json.loads(str(arrays.pop("meta")))
    for key, original in meta.get("aliases", {}).items():  # stored once, used under several keys
        arrays[key] = arrays[original]
    return meta, arrays


def load_recording(key: str, root: Path | None = None, verify: bool = True) -> Recording:
    """Load ``"<model>-<flavor>/<resolver>"`` (see :func:`list_recordings`), every tensor filled in."""
    root = root or golden_dir()
    manifest = load_manifest(root)
    if key not in manifest["recordings"]:
        raise KeyError(f"no recording {key!r}; have {', '.join(sorted(manifest['recordings']))}")
    entry = manifest["recordings"][key]
    model_entry = manifest["models"][entry["model"]]["flavors"][entry["flavor"]]
    model_path = root / model_entry["path"]
    rec_path = root / entry["path"]
    if verify:
        model_content = verify_file(model_path, model_entry["sha256"], model_entry["size"])
        verify_file(rec_path, entry["sha256"], entry["size"])
    else:
        model_content = model_path.read_bytes()
    meta, arrays = _read_npz(rec_path)
    details = {d["index"]: TensorDetail.from_json(d) for d in meta["details"]}
    base = load_recording(meta["base"], root, verify) if meta.get("base") else None
    derived = _derived_values(model_content, details)

    not_computed = [set(items) for items in meta["not_computed"]]
    tensors = []
    for k in range(meta["num_texts"]):
        values = {}
        for detail in details.values():
            if detail.kind == "constant":
                continue
            if detail.kind == "derived" and detail.index not in not_computed[k]:
                values[detail.index] = derived[detail.index]
                continue
            if detail.index in not_computed[k]:
                continue
            stored = arrays.get(f"t{k}:{detail.index}")
            ref = base.tensors[k].get(detail.index) if base is not None else None
            if stored is None and ref is None:
                raise ValueError(f"{rec_path}: tensor {detail.index} missing for text {k}")
            if stored is None:
                values[detail.index] = ref
            elif ref is None:  # a plain value (reference recording, or the reference did not reach it)
                values[detail.index] = stored
            else:
                values[detail.index] = xor_bits(ref, stored)
        tensors.append(values)
    by_name = {d.name: d.index for d in details.values()}
    inputs = [{name: tensors[k][by_name[name]] for name in INPUT_NAMES} for k in range(meta["num_texts"])]
    texts = [manifest["inputs"][k]["text"] for k in range(meta["num_texts"])]
    return Recording(key=key, model=entry["model"], flavor=entry["flavor"], resolver=entry["resolver"],
                     model_path=model_path, texts=texts, inputs=inputs,
                     tensors=tensors, details=details, not_computed=not_computed, errors=meta["errors"])


def _derived_values(model_content: bytes, details: dict[int, TensorDetail]) -> dict[int, np.ndarray]:
    wanted = [d for d in details.values() if d.kind == "derived"]
    if not wanted:
        return {}
    values = dequantized_constants(model_content)
    for detail in wanted:
        value = values.get(detail.index)
        if value is None or sha256_array(value) != detail.sha256:
            raise ValueError(f"derived tensor {detail.index} ({detail.name}): recomputed value does not "
                             "match the recorded sha256")
    return {d.index: values[d.index] for d in wanted}
