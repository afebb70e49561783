"""Every tensor of every committed BUILTIN_REF recording, recomputed by litelens.

Integer tensors must match bit for bit. Float tensors must match exactly too (tolerance 0): the float
kernels reproduce the reference kernels' operation order (sequential float32 sums, no FMA, the same
libm/Eigen functions), so any difference is a bug, not rounding noise.
"""
import numpy as np
import pytest

import litelens
from litelens.goldens import list_recordings, load_recording

REFERENCE = [key for key in list_recordings() if key.endswith("/reference")]


@pytest.mark.parametrize("key", REFERENCE)
def test_recording_matches(key):
    rec = load_recording(key)
    interp = litelens.Interpreter(model_path=rec.model_path, preserve_all_tensors=True)
    interp.allocate_tensors()
    index_of = {d["name"]: d["index"] for d in interp.get_input_details()}
    compared, bad = 0, []
    for k, inputs in enumerate(rec.inputs):
        for name, value in inputs.items():
            interp.set_tensor(index_of[name], value)
        if rec.errors[k]:  # the official interpreter refused this input: litelens must refuse it too
            with pytest.raises(litelens.ModelError):
                interp.invoke()
            continue
        interp.invoke()
        for index, expected in rec.tensors[k].items():
            got = interp.get_tensor(index)
            compared += 1
            if got.dtype != expected.dtype or got.shape != expected.shape:
                bad.append(f"text {k} tensor {index} {rec.details[index].name}: {got.dtype}{got.shape} "
                           f"vs {expected.dtype}{expected.shape}")
            elif not np.array_equal(got, expected, equal_nan=expected.dtype.kind == "f"):
                n = int((got != expected).sum())
                bad.append(f"text {k} tensor {index} {rec.details[index].name}: {n}/{got.size} differ")
    assert compared > 0
    assert not bad, f"{len(bad)} of {compared} tensors differ:\n" + "\n".join(bad[:20])
