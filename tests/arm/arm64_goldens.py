"""Compare the ARM64 recordings of the official interpreter (golden/arm64/<board>/, made under emulation by
arm/record_arm64.py) with the x86-64 ones, tensor by tensor, and say where the bits differ.

``python tests/arm/arm64_goldens.py`` prints the whole report; tests/arm/test_arm64_goldens.py checks it.
"""
from __future__ import annotations

import collections
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from litelens import goldens
from litelens.model import load_model


def arm64_roots() -> dict[str, Path]:
    """Board name -> golden root of its ARM64 recordings."""
    base = goldens.golden_dir() / "arm64"
    return {p.parent.name: p.parent for p in sorted(base.glob("*/manifest.json"))}


def arm64_keys(root: Path) -> list[str]:
    """Keys of the ARM64 recordings (``<model>-<flavor>/arm64-<resolver>``) in a board's root."""
    return [key for key in goldens.list_recordings(root) if "/arm64-" in key]


def x86_key(key: str, resolver: str | None = None) -> str:
    """The x86-64 recording of the same model and flavor (same resolver unless ``resolver`` is given)."""
    model_flavor, arm_resolver = key.split("/")
    return f"{model_flavor}/{resolver or arm_resolver.removeprefix('arm64-')}"


def bits(value: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(value).reshape(-1).view(np.uint8)


def same_bits(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    return a is not None and b is not None and a.dtype == b.dtype and a.shape == b.shape \
        and np.array_equal(bits(a), bits(b))


@dataclass
class Comparison:
    """Where one ARM64 recording's bits differ from one x86-64 recording."""

    arm: str
    x86: str
    texts: int
    tensors: int  # tensors compared (per text, summed)
    differing: list[int]  # tensor indices that differ in any text
    missing: list[int]  # tensor indices only one side wrote
    by_op: dict[str, int] = field(default_factory=dict)  # producing op -> differing tensors
    first_divergent: list[str] = field(default_factory=list)  # "OP #i -> tensor name": inputs equal, output not
    worst: dict[int, float] = field(default_factory=dict)  # tensor -> max |difference| (in codes or units)

    def line(self) -> str:
        unwritten = f"; {len(self.missing)} written by one side only" if self.missing else ""
        if not self.differing:
            return f"{self.arm} vs {self.x86}: all {self.tensors} tensors bit-identical{unwritten}"
        ops = ", ".join(f"{op} {n}" for op, n in sorted(self.by_op.items(), key=lambda kv: -kv[1]))
        first = "; ".join(self.first_divergent[:4]) + (" ..." if len(self.first_divergent) > 4 else "")
        return (f"{self.arm} vs {self.x86}: {len(self.differing)} tensors differ ({ops}); "
                f"first divergent: {first}{unwritten}")


def compare(arm: goldens.Recording, x86: goldens.Recording) -> Comparison:
    """Compare every non-constant tensor both recordings hold, for the texts both recorded."""
    graph = load_model(arm.model_path.read_bytes()).subgraphs[0]
    producer = {out: op for op in graph.operators for out in op.outputs}
    variable = {d.index for d in arm.details.values() if d.kind != "constant"}
    texts = min(len(arm.tensors), len(x86.tensors))
    differing, missing, compared, worst = set(), set(), 0, {}
    for k in range(texts):
        for index in sorted(variable):
            a, b = arm.tensors[k].get(index), x86.tensors[k].get(index)
            if a is None or b is None:  # one side never wrote it (e.g. XNNPACK folds a DEQUANTIZE away)
                missing.update([index] if (a is None) != (b is None) else [])
                continue
            compared += 1
            if not same_bits(a, b):
                differing.add(index)
                if a.shape == b.shape and a.size and a.dtype.kind in "iuf":
                    diff = np.abs(a.astype(np.float64) - b.astype(np.float64))
                    worst[index] = max(worst.get(index, 0.0), float(np.nanmax(diff)) if np.isfinite(diff).any() else np.nan)
    by_op = collections.Counter(producer[i].opcode if i in producer else "(input)" for i in differing)
    first = []
    for op in graph.operators:
        outs = [i for i in op.outputs if i in differing]
        ins = [i for i in op.inputs if i >= 0 and i in variable]
        if outs and not any(i in differing for i in ins):
            first.append(f"{op.opcode} #{op.index} ({graph.tensors[outs[0]].name.split(';')[-1][:48]})")
    return Comparison(arm=arm.key, x86=x86.key, texts=texts, tensors=compared, differing=sorted(differing),
                      missing=sorted(missing), by_op=dict(by_op), first_divergent=first, worst=worst)


def report() -> str:
    lines = []
    for board, root in arm64_roots().items():
        manifest = goldens.load_manifest(root)
        cpu = manifest["cpu"]
        lines.append(f"== {board}: {cpu['model']} (CPU part {cpu['cpu_part']}, qemu {cpu['qemu_cpu']}), "
                     f"ai-edge-litert {manifest['versions']['ai-edge-litert']}")
        for key in arm64_keys(root):
            arm = goldens.load_recording(key, root)
            same = x86_key(key)
            if same in manifest["recordings"] and not same.endswith("/reference"):
                lines.append("  " + compare(arm, goldens.load_recording(same, root)).line())
            lines.append("  " + compare(arm, goldens.load_recording(x86_key(key, "reference"), root)).line())
    boards = list(arm64_roots().items())
    for (a, root_a), (b, root_b) in zip(boards, boards[1:]):
        lines.append(f"== {a} vs {b}")
        for key in sorted(set(arm64_keys(root_a)) & set(arm64_keys(root_b))):
            result = compare(goldens.load_recording(key, root_a), goldens.load_recording(key, root_b))
            lines.append("  " + result.line().replace(f"{key} vs {key}", f"{key} {a} vs {b}"))
    return "\n".join(lines)


if __name__ == "__main__":
    print(report())
