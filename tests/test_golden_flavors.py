"""Every tensor of every committed optimized / xnnpack recording, recomputed by litelens in the matching
flavor; and the ARM64 recordings (golden/arm64/pi4, pi5) in the ``-arm64`` flavors.

Integer tensors must match bit for bit. Float tensors of the optimized and XNNPACK paths (and every float
tensor recorded on ARM64, whose float kernels and libm differ from x86-64) are compared within
``FLOAT_PATH_TOLERANCE`` (1e-5 of the tensor's largest magnitude): litelens reproduces the reference
kernels' float operation order, not the vectorised orders of the optimized kernels. x86-64 reference
float tensors are compared exactly in ``test_golden_reference.py``.
"""
import pytest

from litelens.diff.compare import FLOAT_PATH_TOLERANCE
from litelens.goldens import golden_dir, list_recordings, load_recording
from golden_check import check_recording

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


@pytest.mark.parametrize("key", X86)
def test_x86_recording_matches_flavor(key):
    check_recording(load_recording(key), _flavor_of(key), TOL)


@pytest.mark.parametrize("board,key", ARM64, ids=[f"{b}-{k}" for b, k in ARM64])
def test_arm64_recording_matches_flavor(board, key):
    rec = load_recording(key, golden_dir() / "arm64" / board)
    check_recording(rec, _flavor_of(key), TOL)
