"""Build the committed golden models and record every tensor of the official interpreter on them.

Run from the repository root: ``python golden/record.py`` (later ``make golden``). Needs the ``golden``
extra (tensorflow-cpu, ai-edge-litert). Rewrites ``golden/models/``, ``golden/recordings/`` and
``golden/manifest.json``; the format is described in ``golden/README.md`` and read by
``litelens.goldens``. Weights are random (seed 0): the models mean nothing, they exercise kernels.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from litelens import goldens  # noqa: E402

ROOT = Path(__file__).resolve().parent
PRESETS = ("mobilebert-tiny", "bert-tiny")
SEQ = 16  # the models alone take ~25 MB; 16 is the shortest length that still pads the two short texts
SEED = 0
# From the sample corpus: two short texts (11 and 13 word pieces with [CLS]/[SEP], padded at any seq
# above that) and one of 46 pieces that fills the sequence (truncated).
TEXTS = (
    "Quickbite is testing drone deliveries in two suburbs.",
    "Pixelforge update bricked my tablet overnight. Thanks for nothing.",
    "Long review of the Pixelforge laptop after six months: the screen is bright, the keyboard is fine, "
    "the battery still gives me about nine hours, but the fan gets loud during video calls and the "
    "charger cable feels thin.",
)
SENTINELS = (0x5A, 0xC3)  # byte patterns written into every non-constant tensor before invoke
# What is recorded per flavor: (how many of TEXTS, which resolvers). The ~30 MB budget of golden/ holds
# the models (~25 MB) and recordings: every text under every resolver for the integer flavors (where
# bits matter and resolvers disagree); one text under the reference for float flavors (compared with a
# tolerance), plus the optimized resolver for the hybrid dynamic flavor. `--full` records everything.
PLAN = {
    "int8": (len(TEXTS), ("reference", "optimized", "xnnpack")),
    "int16x8": (len(TEXTS), ("reference", "optimized", "xnnpack")),
    "dynamic": (1, ("reference", "optimized")),
    "float32": (1, ("reference",)),
    "float16": (1, ("reference",)),
}


def package_versions() -> dict[str, str]:
    from importlib.metadata import version

    names = ("tensorflow-cpu", "ai-edge-litert", "numpy", "tflite", "tokenizers")
    return {name: version(name) for name in names}


def run_once(model_content: bytes, resolver: str, inputs: dict, sentinel: int | None):
    """One official run on a fresh interpreter. Unless ``sentinel`` is None, every non-constant tensor
    except DEQUANTIZE-of-constant outputs (the kernel computes those on the first invoke only) is first
    filled with ``sentinel`` bytes. Returns the interpreter and the invoke error message (or None)."""
    from litelens.official import official_interpreter, set_inputs

    interp = official_interpreter(model_content, resolver)
    if sentinel is not None:
        skip = goldens.constant_indices(model_content) | set(goldens.dequantized_constants(model_content))
        for index in range(goldens.tensor_count(model_content)):
            if index not in skip:
                value = interp.get_tensor(index)
                fill = np.full(value.nbytes, sentinel, np.uint8).view(value.dtype).reshape(value.shape)
                interp.set_tensor(index, fill)
    set_inputs(interp, inputs)
    try:
        interp.invoke()
        return interp, None
    except RuntimeError as err:  # the official kernel refused these inputs: record it, keep what ran
        return interp, str(err)


def bits(value: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(value).reshape(-1).view(np.uint8)


def is_fill(value: np.ndarray, sentinel: int) -> bool:
    raw = bits(value)
    return raw.size > 0 and bool(np.all(raw == sentinel))


def record_resolver(model_content: bytes, resolver: str, inputs: list[dict]):
    """Per text: every non-constant tensor's value, the set of tensors the resolver never wrote, and the
    invoke error (None when it ran through; after an error the tensors of later ops are not written).

    A tensor still holding the sentinel after two runs with different sentinels was never written (e.g.
    DEQUANTIZE outputs that XNNPACK folds into its weights); a DEQUANTIZE-of-constant output counts as
    not written when it differs from its value recomputed from the model. Two runs must agree bit for bit.
    Also returns the interpreter's tensor details and the constant tensors' values."""
    constants = goldens.constant_indices(model_content)
    derived = goldens.dequantized_constants(model_content)
    variable = [i for i in range(goldens.tensor_count(model_content)) if i not in constants]
    values, not_computed, errors = [], [], []
    for text_inputs in inputs:
        runs = [run_once(model_content, resolver, text_inputs, sentinel) for sentinel in SENTINELS]
        if runs[0][1] != runs[1][1]:
            raise RuntimeError(f"{resolver}: two identical runs ended differently: {runs[0][1]!r}, {runs[1][1]!r}")
        first, second = ({i: np.array(interp.get_tensor(i)) for i in variable} for interp, _ in runs)
        skipped = {i for i in variable if i not in derived
                   and is_fill(first[i], SENTINELS[0]) and is_fill(second[i], SENTINELS[1])}
        skipped |= {i for i in derived if not np.array_equal(bits(first[i]), bits(derived[i]))}
        for i in variable:
            if i not in skipped and not np.array_equal(bits(first[i]), bits(second[i])):
                raise RuntimeError(f"{resolver}: tensor {i} differs between two identical runs")
        values.append({i: v for i, v in first.items() if i not in skipped})
        not_computed.append(skipped)
        errors.append(runs[0][1])
    interp = runs[0][0]
    return values, not_computed, errors, interp.get_tensor_details(), {i: np.array(interp.get_tensor(i)) for i in constants}


def tensor_details(model_content: bytes, raw_details, const_values, reference_values) -> list[dict]:
    """JSON tensor details; marks constants and DEQUANTIZE-of-constant tensors with their sha256."""
    count = goldens.tensor_count(model_content)
    derived = goldens.dequantized_constants(model_content)
    out = []
    for d in raw_details:
        index = d["index"]
        if index >= count:
            continue  # an interpreter temporary, not a model tensor
        q = d["quantization_parameters"]
        entry = {"index": index, "name": d["name"], "dtype": np.dtype(d["dtype"]).name,
                 "shape": [int(s) for s in d["shape"]], "scales": [float(s) for s in q["scales"]],
                 "zero_points": [int(z) for z in q["zero_points"]], "axis": int(q["quantized_dimension"]),
                 "kind": "variable"}
        if index in const_values:
            entry.update(kind="constant", sha256=goldens.sha256_array(const_values[index]))
        elif index in derived and all(np.array_equal(bits(v[index]), bits(derived[index])) for v in reference_values):
            entry.update(kind="derived", sha256=goldens.sha256_array(derived[index]))
        out.append(entry)
    return out


def save_recording(path: Path, meta: dict, arrays: dict[str, np.ndarray]) -> None:
    """``np.savez_compressed``; arrays equal in dtype, shape and bits to one already stored (a RESHAPE
    output, an XOR delta repeated across texts) are stored once and listed in ``meta["aliases"]``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    unique, aliases, seen = {}, {}, {}
    for key, value in arrays.items():
        fingerprint = (value.dtype.str, value.shape, goldens.sha256_array(value))
        if fingerprint in seen:
            aliases[key] = seen[fingerprint]
        else:
            seen[fingerprint] = key
            unique[key] = value
    meta = dict(meta, aliases=aliases)
    np.savez_compressed(path, meta=np.array(json.dumps(meta, sort_keys=True)), **unique)


def record_model(root: Path, name: str, flavor: str, model_content: bytes, inputs: list[dict],
                 resolvers: tuple[str, ...], manifest: dict) -> None:
    """Record ``inputs`` under each resolver; optimized/xnnpack store only what differs from reference."""
    reference_values = reference_details = None
    for resolver in resolvers:
        start = time.perf_counter()
        values, not_computed, errors, raw_details, const_values = record_resolver(model_content, resolver, inputs)
        if resolver == "reference":
            if any(skipped and not error for skipped, error in zip(not_computed, errors)):
                raise RuntimeError(f"{name}-{flavor}: the reference resolver left tensors unwritten")
            reference_values = values
            reference_details = tensor_details(model_content, raw_details, const_values, values)
        kinds = {d["index"]: d["kind"] for d in reference_details}
        arrays, differing = {}, set()
        for k, text_values in enumerate(values):
            for index, value in text_values.items():
                if kinds[index] != "variable":
                    continue
                ref = reference_values[k].get(index) if resolver != "reference" else None
                if ref is None:  # the reference recording itself, or the reference stopped before this op
                    arrays[f"t{k}:{index}"] = value
                    differing.add(index)
                elif not np.array_equal(bits(value), bits(ref)):
                    arrays[f"t{k}:{index}"] = goldens.xor_bits(ref, value)
                    differing.add(index)
        base = None if resolver == "reference" else f"{name}-{flavor}/reference"
        meta = {"model": name, "flavor": flavor, "resolver": resolver, "num_texts": len(inputs),
                "base": base, "details": reference_details,
                "not_computed": [sorted(int(i) for i in s) for s in not_computed], "errors": errors}
        rel = Path("recordings") / f"{name}-{flavor}.{resolver}.npz"
        save_recording(root / rel, meta, arrays)
        data = (root / rel).read_bytes()
        variable = sum(kind == "variable" for kind in kinds.values())
        manifest["recordings"][f"{name}-{flavor}/{resolver}"] = {
            "path": str(rel), "sha256": goldens.sha256_bytes(data), "size": len(data), "model": name,
            "flavor": flavor, "resolver": resolver, "texts": list(range(len(inputs))),
            "variable_tensors": variable, "tensors_differing_from_reference": len(differing) if base else None,
            "not_computed": sorted({int(i) for s in not_computed for i in s}),
            "errors": [e for e in errors if e],
        }
        print(f"  {name}-{flavor} {resolver:9s}: {len(data) / 1e6:6.2f} MB, {len(inputs)} text(s), "
              f"{len(differing)}/{variable} tensors stored, "
              f"{len(set().union(*not_computed))} not computed, {time.perf_counter() - start:.1f} s"
              + "".join(f"\n    text {k} failed: {e}" for k, e in enumerate(errors) if e), flush=True)


def manifest_json(manifest: dict) -> str:
    """Indented JSON with lists of numbers (token ids, tensor indices) kept on one line."""
    text = json.dumps(manifest, indent=1, sort_keys=True)
    return re.sub(r"\[\s*(-?\d+(?:,\s*-?\d+)*)\s*\]",
                  lambda m: "[" + ", ".join(m.group(1).replace(",", " ").split()) + "]", text) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seq", type=int, default=SEQ)
    parser.add_argument("--out", type=Path, default=ROOT, help="golden directory to write (default: here)")
    parser.add_argument("--full", action="store_true",
                        help="every text under every resolver for every flavor (far over the size budget)")
    args = parser.parse_args(argv)
    root = args.out

    from litelens.factory.build import build_module, convert_flavors
    from litelens.factory.config import overrides_of, preset_config
    from litelens.factory.params import count_params
    from litelens.tokenizer import corpus_texts, encode, vocab_size

    corpus = set(corpus_texts())
    missing = [t for t in TEXTS if t not in corpus]
    if missing:
        raise SystemExit(f"golden texts not in the corpus: {missing}")
    vocab = vocab_size()
    inputs = [encode(text, args.seq) for text in TEXTS]
    manifest = {
        "versions": package_versions(), "seed": SEED, "seq": args.seq, "vocab_size": vocab,
        "weights": "random (seeded); no accuracy on any task", "full": args.full,
        "inputs": [{"text": t, **{k: v[0].tolist() for k, v in x.items()}} for t, x in zip(TEXTS, inputs)],
        "models": {}, "recordings": {},
    }
    for old in list((root / "models").glob("*.tflite")) + list((root / "recordings").glob("*.npz")):
        old.unlink()
    (root / "models").mkdir(parents=True, exist_ok=True)
    for preset in PRESETS:
        config = preset_config(preset, seq=args.seq, vocab_size=vocab)
        print(f"{preset}: converting ({count_params(config):,} parameters)", flush=True)
        conversions = convert_flavors(build_module(config, SEED), config)
        entry = {"preset": preset, "overrides": overrides_of(preset, config), "parameters": count_params(config),
                 "flavors": {}, "refused": {}}
        manifest["models"][preset] = entry
        for conv in conversions:
            if conv.model is None:
                entry["refused"][conv.flavor] = conv.refused
                print(f"  {conv.flavor}: refused: {conv.refused}", flush=True)
                continue
            rel = Path("models") / f"{preset}-{conv.flavor}.tflite"
            (root / rel).write_bytes(conv.model)
            entry["flavors"][conv.flavor] = {
                "path": str(rel), "sha256": goldens.sha256_bytes(conv.model), "size": len(conv.model),
                "conversion_seconds": round(conv.seconds, 2), "ops": goldens.op_counts(conv.model),
            }
            count, resolvers = (len(TEXTS), goldens.RESOLVERS) if args.full else PLAN[conv.flavor]
            record_model(root, preset, conv.flavor, conv.model, inputs[:count], resolvers, manifest)
    (root / "manifest.json").write_text(manifest_json(manifest))
    total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file())
    print(f"golden/: {total / 1e6:.1f} MB in total")
    return 0


if __name__ == "__main__":
    sys.exit(main())
