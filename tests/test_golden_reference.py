"""Every tensor of every committed BUILTIN_REF recording, recomputed by litelens.

Integer tensors must match bit for bit. Float tensors must match exactly too (tolerance 0): the float
kernels reproduce the reference kernels' operation order (sequential float32 sums, no FMA, the same
libm/Eigen functions), so any difference is a bug, not rounding noise.
"""
import pytest
from golden_check import check_recording

from litelens.goldens import list_recordings, load_recording

REFERENCE = [key for key in list_recordings() if key.endswith("/reference")]


@pytest.mark.parametrize("key", REFERENCE)
def test_recording_matches(key):
    check_recording(load_recording(key))
