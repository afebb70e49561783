"""Writing a failing case to disk: the minimal model and inputs, the original ones, and a report."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from litelens.fuzz.case import Case
from litelens.fuzz.check import Outcome


def _write_case(directory: Path, case: Case) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.tflite").write_bytes(case.content)
    names = case.input_names()
    np.savez(directory / "inputs.npz", **{names[i]: v for i, v in case.inputs.items()})


def save_case(root: Path, number: int, minimal: Case, original: Case, outcome: Outcome,
              tried: int, known: str | None = None) -> Path:
    """``root/<resolver>/<op>/<number>-<kind>/``: model.tflite + inputs.npz (minimal), original/, case.json."""
    directory = Path(root) / outcome.resolver / minimal.op / f"{number:04d}-{outcome.kind}"
    _write_case(directory, minimal)
    _write_case(directory / "original", original)
    report = {
        "op": minimal.op,
        "label": minimal.label,
        "outcome": outcome.to_json(),
        "known_issue": known,
        "params": minimal.params,
        "original_params": original.params,
        "original_label": original.label,
        "shrink_candidates_tried": tried,
        "model": minimal.model.describe(),
        "reproduce": f"litelens diff {directory / 'model.tflite'} --inputs {directory / 'inputs.npz'} "
                     f"--against {outcome.resolver}",
    }
    (directory / "case.json").write_text(json.dumps(report, indent=1, default=str) + "\n")
    return directory
