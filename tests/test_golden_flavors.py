"""Every tensor of every committed optimized / xnnpack recording, recomputed by litelens in the matching
flavor; and the ARM64 recordings (golden/arm64/pi4, pi5) in the ``-arm64`` flavors.

Integer tensors must match bit for bit. Float tensors of the optimized and XNNPACK paths (and every float
tensor recorded on ARM64, whose float kernels and libm differ from x86-64) are compared within
``FLOAT_PATH_TOLERANCE`` (1e-5 of the tensor's largest magnitude): litelens reproduces the reference
kernels' float operation order, not the vectorised orders of the optimized kernels. x86-64 reference
float tensors are compared exactly in ``test_golden_reference.py``.
"""
import numpy as np
import pytest

import litelens
from litelens.diff.compare import FLOAT_PATH_TOLERANCE
from litelens.goldens import golden_dir, list_recordings, load_recording

TOL = FLOAT_PATH_TOLERANCE["optimized"]
X86 = [key for key in list_recordings() if key.rsplit("/", 1)[1] in ("optimized", "xnnpack")]
BOARDS = [b for b in ("pi4", "pi5") if (golden_dir() / "arm64" / b / "manifest.json").exists()]
ARM64 = [(board, key) for board in BOARDS for key in list_recordings(golden_dir() / "arm64" / board)
         if "/arm64-" in key]


def _flavor_of(key: str) -> str:
    resolver = key.rsplit("/", 1)[1]
    if resolver.startswith("arm64-"):
        path = resolver[len("arm64-"):]
        return "reference" if path == "reference" else f"{path}-arm64"
    return resolver


def _check(rec, flavor: str, float_tol: float) -> None:
    interp = litelens.Interpreter(model_path=rec.model_path, flavor=flavor, preserve_all_tensors=True)
    interp.allocate_tensors()
    index_of = {d["name"]: d["index"] for d in interp.get_input_details()}
    compared, bad = 0, []
    for k, inputs in enumerate(rec.inputs):
        for name, value in inputs.items():
            interp.set_tensor(index_of[name], value)
        if rec.errors[k]:
            with pytest.raises(litelens.ModelError):
                interp.invoke()
            continue
        interp.invoke()
        for index, expected in rec.tensors[k].items():
            got = interp.get_tensor(index)
            compared += 1
            name = rec.details[index].name
            if got.dtype != expected.dtype or got.shape != expected.shape:
                bad.append(f"text {k} tensor {index} {name}: {got.dtype}{got.shape} vs {expected.dtype}{expected.shape}")
            elif expected.dtype.kind == "f":
                limit = float_tol * float(np.nanmax(np.abs(expected))) if expected.size else 0.0
                delta = np.abs(got.astype(np.float64) - expected.astype(np.float64))
                if not np.all((delta <= limit) | (np.isnan(got) & np.isnan(expected))):
                    bad.append(f"text {k} tensor {index} {name}: max |diff| {np.nanmax(delta):.3g} > {limit:.3g}")
            elif not np.array_equal(got, expected):
                n = int((got != expected).sum())
                diff = int(np.abs(got.astype(np.int64) - expected.astype(np.int64)).max())
                bad.append(f"text {k} tensor {index} {name} (op {_producer(interp, index)}): "
                           f"{n}/{got.size} differ, max {diff} LSB")
    assert compared > 0
    assert not bad, f"{len(bad)} of {compared} tensors differ:\n" + "\n".join(bad[:20])


def _producer(interp, index: int) -> str:
    for op in interp.graph.operators:
        if index in op.outputs:
            return f"{op.index} {op.opcode}"
    return "input"


@pytest.mark.parametrize("key", X86)
def test_x86_recording_matches_flavor(key):
    _check(load_recording(key), _flavor_of(key), TOL)


@pytest.mark.parametrize("board,key", ARM64, ids=[f"{b}-{k}" for b, k in ARM64])
def test_arm64_recording_matches_flavor(board, key):
    rec = load_recording(key, golden_dir() / "arm64" / board)
    _check(rec, _flavor_of(key), TOL)
