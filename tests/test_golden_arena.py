"""The committed recordings again, without ``preserve_all_tensors``: intermediates share the activation
arena (``litelens.arena``), which is filled with garbage before every invoke.

Every op's outputs, read as the op finishes, must still match the recording: integers bit for bit,
floats exactly under reference and within the path tolerance under optimized / xnnpack. A kernel that
left part of its output unwritten (and leaned on a zeroed buffer), or an arena plan that let an output
overlap a tensor still to be read, fails here.
"""
import pytest
from golden_check import check_recording

from litelens.diff.compare import FLOAT_PATH_TOLERANCE
from litelens.goldens import list_recordings, load_recording

X86 = list_recordings()  # the x86-64 recordings (ARM64 ones live under golden/arm64)


@pytest.mark.parametrize("key", X86)
def test_recording_matches_with_shared_arena(key):
    resolver = key.rsplit("/", 1)[1]
    check_recording(load_recording(key), flavor=resolver, arena=True,
                    float_tol=0.0 if resolver == "reference" else FLOAT_PATH_TOLERANCE[resolver])
