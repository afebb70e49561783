"""The ARM64 recordings of the official interpreter (golden/arm64/<board>/: Raspberry Pi 4 and 5 under
emulation, made by arm/record_arm64.py) against the x86-64 ones. Runs on x86-64, no emulation, no
TensorFlow: the recordings are read with ``litelens.goldens``.

What is asserted (each could fail when the goldens, the loader or the official wheel change):
* every ARM64 recording loads with its hashes, the x86-64 recordings it refers to included (re-record
  with ``make arm-record`` after ``make golden``), and holds every non-constant tensor it wrote;
* the differing-tensor lists recomputed here equal those the recorder wrote into the manifest;
* int8 under BUILTIN_REF is bit-identical on ARM64 and x86-64, every tensor of every text: litelens,
  which reproduces the x86-64 reference, therefore matches the official interpreter on a Pi too;
* litelens (run here, on x86-64) against each board's official BUILTIN_REF: it differs exactly on the
  tensors where the ARM64 reference differs from the x86-64 one, never elsewhere.

``python tests/arm/arm64_goldens.py`` prints where the bits differ (per recording: how many tensors, by
op, and the first divergent ops); ``pytest -s`` shows the same report.
"""
import numpy as np
import pytest

import litelens
from litelens import goldens

from arm.arm64_goldens import arm64_keys, arm64_roots, compare, report, same_bits, x86_key

ROOTS = arm64_roots()
pytestmark = pytest.mark.skipif(not ROOTS, reason="no ARM64 recordings in golden/arm64/")
CASES = [(board, key) for board, root in ROOTS.items() for key in arm64_keys(root)]
IDS = [f"{board}:{key}" for board, key in CASES]


@pytest.mark.parametrize("board", sorted(ROOTS))
def test_made_from_todays_x86_goldens(board):
    """The ARM64 recordings are XOR deltas on the x86-64 ones: after `make golden` re-recorded those,
    the ARM64 ones must be re-recorded too (`make arm-record`)."""
    x86 = goldens.load_manifest()
    copied = goldens.load_manifest(ROOTS[board])
    stale = [key for key, entry in copied["recordings"].items() if "/arm64-" not in key
             and x86["recordings"].get(key, {}).get("sha256") != entry["sha256"]]
    stale += [f"model {m}-{f}" for m, e in copied["models"].items() for f, fe in e["flavors"].items()
              if x86["models"].get(m, {}).get("flavors", {}).get(f, {}).get("sha256") != fe["sha256"]]
    assert not stale, f"x86-64 goldens changed since golden/arm64/{board} was recorded (run `make arm-record`): {stale}"


@pytest.mark.parametrize("board,key", CASES, ids=IDS)
def test_recording_loads_complete(board, key):
    root = ROOTS[board]
    rec = goldens.load_recording(key, root)  # verifies model, recording and base recording hashes
    x86 = goldens.load_recording(x86_key(key, "reference"), root)
    assert rec.details.keys() == {d.index for d in x86.details.values() if d.kind != "constant"}
    for k in range(len(rec.tensors)):
        for index, detail in rec.details.items():
            if index in rec.not_computed[k] or rec.errors[k]:
                continue
            value = rec.tensors[k].get(index)
            assert value is not None, f"text {k}: tensor {index} missing"
            assert value.dtype == np.dtype(detail.dtype) and value.shape == detail.shape, f"tensor {index}"


@pytest.mark.parametrize("board,key", CASES, ids=IDS)
def test_differences_as_recorded(board, key):
    root = ROOTS[board]
    entry = goldens.load_manifest(root)["recordings"][key]
    rec = goldens.load_recording(key, root)
    got = compare(rec, goldens.load_recording(x86_key(key, "reference"), root))
    assert sorted(got.differing + got.missing) == entry["differs_from_x86_reference"]
    if entry["differs_from_x86_same_resolver"] is not None:
        got = compare(rec, goldens.load_recording(x86_key(key), root))
        assert sorted(got.differing + got.missing) == entry["differs_from_x86_same_resolver"]


@pytest.mark.parametrize("board", sorted(ROOTS))
def test_int8_reference_identical_on_arm64(board):
    root = ROOTS[board]
    keys = [key for key in arm64_keys(root) if key.endswith("-int8/arm64-reference")]
    assert keys, "no int8 reference recording"
    for key in keys:
        result = compare(goldens.load_recording(key, root), goldens.load_recording(x86_key(key), root))
        assert result.tensors > 0 and not result.differing and not result.missing, result.line()


@pytest.mark.parametrize("board,key", [(b, k) for b, k in CASES if k.endswith("/arm64-reference")],
                         ids=[i for i, (b, k) in zip(IDS, CASES) if k.endswith("/arm64-reference")])
def test_litelens_against_arm64_reference(board, key):
    root = ROOTS[board]
    arm = goldens.load_recording(key, root)
    ref_x86 = goldens.load_recording(x86_key(key), root)
    interp = litelens.Interpreter(model_path=arm.model_path, preserve_all_tensors=True)
    interp.allocate_tensors()
    index_of = {d["name"]: d["index"] for d in interp.get_input_details()}
    unexpected, differ_arm = [], set()
    for k, inputs in enumerate(arm.inputs):
        for name, value in inputs.items():
            interp.set_tensor(index_of[name], value)
        interp.invoke()
        for index, expected in arm.tensors[k].items():
            got = interp.get_tensor(index)
            if same_bits(got, expected):
                continue
            differ_arm.add(index)
            if not same_bits(ref_x86.tensors[k].get(index), expected):
                continue  # the ARM64 reference itself differs from x86-64 here
            unexpected.append(f"text {k} tensor {index} {arm.details[index].name}")
    print(f"\n{board} {key}: litelens differs from the ARM64 official reference on {len(differ_arm)} of "
          f"{len(arm.details)} tensors, all where ARM64 differs from x86-64")
    assert not unexpected, "litelens differs where ARM64 and x86-64 agree:\n" + "\n".join(unexpected[:20])


def test_report(capsys):
    text = report()
    with capsys.disabled():
        print("\n" + text)
    assert "arm64-reference" in text
