"""Record the official interpreter (ai-edge-litert, aarch64 wheel) on the committed golden models, under
emulation of one Raspberry Pi, as goldens beside the x86-64 ones.

Run through the emulator (``make arm-record`` does both boards):

    arm/run.sh pi5 arm/record_arm64.py            # writes golden/arm64/pi5/

It reuses ``golden/record.py`` (imported, not copied): the same two sentinel runs per text, the same
"never written" detection and the same npz format. What differs:

* ``golden/arm64/<board>/`` is a golden root of its own that ``litelens.goldens`` reads unchanged
  (``load_recording(key, root=...)``): its manifest lists the committed models and x86-64 recordings by
  relative path (``../../models``, ``../../recordings``) under their usual keys, and the ARM64 ones under
  ``<model>-<flavor>/arm64-<resolver>``.
* An ARM64 recording stores only the tensors whose bits differ from an x86-64 recording (of the same
  resolver or the reference, whichever differs in fewer tensors: ``meta["base"]``), as XOR deltas on
  it; equal bits cost nothing. Its ``details`` list only the non-constant tensors.

The manifest also keeps, per ARM64 recording, the list of tensors that differ from x86-64 (the same
resolver, and the reference), which ``tests/arm/test_arm64_goldens.py`` recomputes and reports.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import sys
import time
from importlib.metadata import version
from pathlib import Path

import numpy as np

from litelens import goldens

REPO = Path(__file__).resolve().parents[1]
GOLDEN = REPO / "golden"
# What is recorded on ARM64, per flavor: (texts, resolvers), like the x86-64 plan plus the reference for
# every flavor: integer flavors every text under every resolver; the hybrid flavor one text under the
# reference and optimized resolvers; the float flavors one text under the reference. The reference
# matters most: where the ARM64 reference kernels differ from x86-64 decides whether litelens (which
# reproduces the x86-64 reference) also matches the official interpreter on a Pi. `--full` adds XNNPACK
# for the hybrid flavor and optimized/XNNPACK for the float flavors: their tensors differ from x86-64
# almost everywhere, ~2 MB more per board as XOR deltas, over the budget of golden/.
PLAN = {
    "int8": (3, ("reference", "optimized", "xnnpack")),
    "int16x8": (3, ("reference", "optimized", "xnnpack")),
    "dynamic": (1, ("reference", "optimized")),
    "float32": (1, ("reference",)),
    "float16": (1, ("reference",)),
}
FULL = ("reference", "optimized", "xnnpack")


def load_record_module():
    """``golden/record.py`` as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("golden_record", GOLDEN / "record.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def cpu_model() -> dict:
    """What the emulated board looks like from inside: /proc/cpuinfo's model line and CPU part."""
    info = Path("/proc/cpuinfo").read_text()
    fields = dict(line.split(":", 1) for line in info.splitlines() if ":" in line)
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    return {"model": fields.get("Model"), "cpu_part": fields.get("CPU part"), "features": fields.get("Features"),
            "qemu_cpu": os.environ.get("QEMU_CPU")}


def differing(values: list[dict], base: list[dict], bits) -> list[int]:
    """Tensor indices whose bits differ from ``base`` in any text (a tensor only one side wrote counts)."""
    out = set()
    for mine, theirs in zip(values, base):
        for index in set(mine) | set(theirs):
            a, b = mine.get(index), theirs.get(index)
            if a is None or b is None or not np.array_equal(bits(a), bits(b)):
                out.add(index)
    return sorted(int(i) for i in out)


def record_flavor(rec, out: Path, manifest: dict, x86: dict, model: str, flavor: str, full: bool) -> None:
    texts, resolvers = PLAN[flavor]
    resolvers = FULL if full else resolvers
    reference_key = f"{model}-{flavor}/reference"
    x86_reference = goldens.load_recording(reference_key, GOLDEN)
    texts = min(texts, len(x86["inputs"]))
    inputs = [{name: np.asarray(value, np.int32)[None, :] for name, value in x86["inputs"][k].items()
               if name != "text"} for k in range(texts)]
    model_content = x86_reference.model_path.read_bytes()
    kinds = {d.index: d.kind for d in x86_reference.details.values()}
    for resolver in resolvers:
        start = time.perf_counter()
        values, not_computed, errors, raw_details, _ = rec.record_resolver(model_content, resolver, inputs)
        names = {d["index"]: d["name"] for d in raw_details}
        if any(names.get(i) != d.name for i, d in x86_reference.details.items()):
            raise RuntimeError(f"{model}-{flavor}: tensor details differ from the x86-64 recording")
        same_key = f"{model}-{flavor}/{resolver}"
        variable = [{i: v for i, v in text_values.items() if kinds[i] == "variable"} for text_values in values]
        candidates = {key: goldens.load_recording(key, GOLDEN) for key in dict.fromkeys([same_key, reference_key])
                      if key in x86["recordings"]}
        diffs = {key: differing(variable, [{i: v for i, v in t.items() if kinds[i] == "variable"}
                                           for t in base.tensors[:texts]], rec.bits)
                 for key, base in candidates.items()}
        base_key = min(diffs, key=lambda key: len(diffs[key]))  # store the smaller XOR delta
        base = candidates[base_key]
        if len(base.tensors) < texts:
            raise RuntimeError(f"{base_key} has {len(base.tensors)} texts, need {texts}")
        arrays = {}
        for k, text_values in enumerate(variable):
            for index, value in text_values.items():
                ref = base.tensors[k].get(index)
                if ref is None:
                    arrays[f"t{k}:{index}"] = value
                elif not np.array_equal(rec.bits(value), rec.bits(ref)):
                    arrays[f"t{k}:{index}"] = goldens.xor_bits(ref, value)
        meta = {"model": model, "flavor": flavor, "resolver": resolver, "num_texts": texts, "base": base_key,
                # non-constant tensors only (constants are checked by the x86-64 recordings' details)
                "details": [json.loads(json.dumps(d.__dict__)) for d in x86_reference.details.values()
                            if d.kind != "constant"],
                "not_computed": [sorted(int(i) for i in s) for s in not_computed], "errors": errors}
        rel = Path("recordings") / f"{model}-{flavor}.{resolver}.npz"
        rec.save_recording(out / rel, meta, arrays)
        data = (out / rel).read_bytes()
        vs_same, vs_reference = diffs.get(same_key), diffs[reference_key]
        manifest["recordings"][f"{model}-{flavor}/arm64-{resolver}"] = {
            "path": str(rel), "sha256": goldens.sha256_bytes(data), "size": len(data), "model": model,
            "flavor": flavor, "resolver": resolver, "texts": list(range(texts)), "base": base_key,
            "differs_from_x86_same_resolver": vs_same, "differs_from_x86_reference": vs_reference,
            "not_computed": sorted({int(i) for s in not_computed for i in s}),
            "errors": [e for e in errors if e], "seconds": round(time.perf_counter() - start, 1),
        }
        print(f"  {model}-{flavor} {resolver:9s}: {len(data) / 1e3:7.1f} kB, {texts} text(s), "
              f"differ from x86-64 {resolver if vs_same is not None else '(none recorded)'}: "
              f"{'-' if vs_same is None else len(vs_same)}, from x86-64 reference: {len(vs_reference)}, "
              f"{time.perf_counter() - start:.0f} s", flush=True)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", default=os.environ.get("LITELENS_ARM_TARGET"),
                        help="board name (pi4, pi5); arm/run.sh sets it")
    parser.add_argument("--out", type=Path, help="default golden/arm64/<target>")
    parser.add_argument("--flavors", default="int8,dynamic,float32,float16")
    parser.add_argument("--models", default="mobilebert-tiny,bert-tiny")
    parser.add_argument("--full", action="store_true", help="every resolver for every flavor (over the size budget)")
    args = parser.parse_args(argv)
    if platform.machine() != "aarch64" or not args.target:
        raise SystemExit("run under emulation: arm/run.sh pi4|pi5 arm/record_arm64.py")
    out = args.out or GOLDEN / "arm64" / args.target
    rec = load_record_module()
    x86 = goldens.load_manifest(GOLDEN)
    up = os.path.relpath(GOLDEN, out)
    manifest = {
        "machine": platform.machine(), "target": args.target, "cpu": cpu_model(),
        "versions": {name: version(name) for name in ("ai-edge-litert", "numpy")},
        "x86_64_versions": x86["versions"], "seq": x86["seq"], "inputs": x86["inputs"],
        # the committed models and x86-64 recordings, by path relative to this root
        "models": {m: dict(e, flavors={f: dict(fe, path=f"{up}/{fe['path']}") for f, fe in e["flavors"].items()})
                   for m, e in x86["models"].items()},
        "recordings": {k: dict(e, path=f"{up}/{e['path']}") for k, e in x86["recordings"].items()},
    }
    for old in (out / "recordings").glob("*.npz"):
        old.unlink()
    for model in args.models.split(","):
        for flavor in args.flavors.split(","):
            if flavor in x86["models"][model]["flavors"]:
                record_flavor(rec, out, manifest, x86, model, flavor, args.full)
    (out / "manifest.json").write_text(rec.manifest_json(manifest))
    total = sum(p.stat().st_size for p in out.rglob("*") if p.is_file())
    print(f"{out}: {total / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
