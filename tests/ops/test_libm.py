"""kernels/libm.py: litelens's own float32 ``tanhf``, ``expf``, ``expm1f`` and ``erfcf`` give glibc 2.36's
x86-64 bits (the machine the goldens and the official interpreter's results come from) on any machine.

- Known cases, platform-independent (they run under ARM emulation and with NUMBA_DISABLE_JIT too):
  special values (+-0, subnormals, +-max, +-inf, NaN payloads), every branch threshold and its two
  neighbours, x = 0.1091187 (tanhf: 0x3dde97a4 here, 0x3dde97a3 from aarch64 glibc), the two inputs
  where glibc's __expf_fma gives other bits than the same algorithm without FMA, and 20 inputs per
  function where glibc 2.36 is not correctly rounded. Expected bits recorded from glibc 2.36 x86-64.
- Where the machine is x86-64 with glibc 2.36: bit-exact (NaN payloads included) against its libm
  (Numba's math.tanh/exp/expm1/erfc on a float32 call tanhf/expf/expm1f/erfcf) on every 1021st float32
  bit pattern plus every 257th with |x| < 32 (about 12.6 M inputs per function, a few seconds).
  LITELENS_LIBM_EXHAUSTIVE=1 checks all 2**32 patterns per function instead (about 4 minutes).
- NUMBA_DISABLE_JIT=1 (plain Python, exact-rational fma) gives the jitted bits.
"""
import math
import os
import platform
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from litelens.kernels import libm, lut
from litelens.kernels.config import jit

FUNCTIONS = ("tanhf", "expf", "erfcf", "expm1f")

# (input bits, glibc 2.36 x86-64 output bits)
KNOWN = {
    "tanhf": [
        (0x00000000, 0x00000000), (0x80000000, 0x80000000), (0x00000001, 0x00000001), (0x80000001, 0x80000001),
        (0x007fffff, 0x007fffff), (0x00800000, 0x00800000), (0x7f7fffff, 0x3f800000), (0xff7fffff, 0xbf800000),
        (0x7f800000, 0x3f800000), (0xff800000, 0xbf800000), (0x7fc00000, 0x7fc00000), (0xffc00000, 0xffc00000),
        (0x7f800001, 0x7fc00001), (0x7fa12345, 0x7fe12345), (0xffd00042, 0xffd00042), (0x3ddf79a0, 0x3dde97a4),
        (0x41afffff, 0x3f800000), (0x41b00000, 0x3f800000), (0x41b00001, 0x3f800000), (0x23ffffff, 0x23ffffff),
        (0x24000000, 0x24000000), (0x24000001, 0x24000001), (0x3f7fffff, 0x3f42f7d5), (0x3f800000, 0x3f42f7d6),
        (0x3f800001, 0x3f42f7d6), (0x3effffff, 0x3eec9a9f), (0x3f000000, 0x3eec9a9f), (0x3f000001, 0x3eec9aa1),
        (0xbbeb20f5, 0xbbeb1fec), (0xbb6071b8, 0xbb60717f), (0xbc70d58f, 0xbc70d11d), (0xbbdf15ea, 0xbbdf1509),
        (0xbc9a37f7, 0xbc9a334e), (0x38237666, 0x38237667), (0x39bf3ccb, 0x39bf3ccb), (0xb6708d66, 0xb6708d65),
        (0xbf3964ae, 0xbf1e9786), (0x3b9b86c8, 0x3b9b867c), (0x39ca249f, 0x39ca249f), (0x368e6715, 0x368e6714),
        (0x3f7c26df, 0x3f415558), (0x3dca55a2, 0x3dc9adc2), (0xbdc22dc8, 0xbdc1995c), (0xbf0aa29e, 0xbefd01fc),
        (0xbde48f31, 0xbde39d7a), (0x3f763ba3, 0x3f3ebedd), (0x3d201005, 0x3d1ffb2c), (0x3a6210dd, 0x3a6210da),
    ],
    "expf": [
        (0x00000000, 0x3f800000), (0x80000000, 0x3f800000), (0x00000001, 0x3f800000), (0x80000001, 0x3f800000),
        (0x007fffff, 0x3f800000), (0x00800000, 0x3f800000), (0x7f7fffff, 0x7f800000), (0xff7fffff, 0x00000000),
        (0x7f800000, 0x7f800000), (0xff800000, 0x00000000), (0x7fc00000, 0x7fc00000), (0xffc00000, 0xffc00000),
        (0x7f800001, 0x7fc00001), (0x7fa12345, 0x7fe12345), (0xffd00042, 0xffd00042), (0x4202422f, 0x56fc9f1c),
        (0xc27c65d9, 0x11fa2993), (0x42afffff, 0x7ef8823b), (0x42b00000, 0x7ef882b7), (0x42b00001, 0x7ef88333),
        (0xc2afffff, 0x0041ede5), (0xc2b00000, 0x0041edc4), (0xc2b00001, 0x0041eda3), (0x42b17216, 0x7f7fff04),
        (0x42b17217, 0x7f7fff84), (0x42b17218, 0x7f800000), (0xc2cff1b3, 0x00000001), (0xc2cff1b4, 0x00000001),
        (0xc2cff1b5, 0x00000000), (0xc2ce8ece, 0x00000001), (0xc2ce8ecf, 0x00000001), (0xc2ce8ed0, 0x00000001),
        (0x3c30f27b, 0x3f8163d0), (0x3c30f27c, 0x3f8163d0), (0x3c30f27d, 0x3f8163d0), (0xbc30f27b, 0x3f7d4005),
        (0xbc30f27c, 0x3f7d4005), (0xbc30f27d, 0x3f7d4005), (0xc0b1f334, 0x3b7bff39), (0xbbe501a2, 0x3f7e3796),
        (0xbb4fc5ba, 0x3f7f308f), (0x4216623a, 0x5a971c1e), (0x403c1bdc, 0x419734b1), (0xbba89b9c, 0x3f7eafa7),
        (0xbbf2c1e2, 0x3f7e1c48), (0x3eabd305, 0x3fb30af1), (0xc0c7aeb9, 0x3aff8d2a), (0xbb701ffb, 0x3f7f1051),
    ],
    "erfcf": [
        (0x00000000, 0x3f800000), (0x80000000, 0x3f800000), (0x00000001, 0x3f800000), (0x80000001, 0x3f800000),
        (0x007fffff, 0x3f800000), (0x00800000, 0x3f800000), (0x7f7fffff, 0x00000000), (0xff7fffff, 0x40000000),
        (0x7f800000, 0x00000000), (0xff800000, 0x40000000), (0x7fc00000, 0x7fc00000), (0xffc00000, 0xffc00000),
        (0x7f800001, 0x7fc00001), (0x7fa12345, 0x7fe12345), (0xffd00042, 0xffd00042), (0x3f57ffff, 0x3e6e5c68),
        (0x3f580000, 0x3e6e5c66), (0x3f580001, 0x3e6e5c63), (0x327fffff, 0x3f800000), (0x32800000, 0x3f800000),
        (0x32800001, 0x3f800000), (0x3e7fffff, 0x3f3942ac), (0x3e800000, 0x3f3942ac), (0x3e800001, 0x3f3942ac),
        (0x3f9fffff, 0x3d9de68d), (0x3fa00000, 0x3d9de68a), (0x3fa00001, 0x3d9de686), (0x41dfffff, 0x00000000),
        (0x41e00000, 0x00000000), (0x41e00001, 0x00000000), (0x4036db6c, 0x385f9bcc), (0x4036db6d, 0x385f9bb8),
        (0x4036db6e, 0x385f9ba3), (0xc0bfffff, 0x40000000), (0xc0c00000, 0x40000000), (0xc0c00001, 0x40000000),
        (0xbf57ffff, 0x3fe23473), (0xbf580000, 0x3fe23474), (0xbf580001, 0x3fe23474), (0xbf9fffff, 0x3ff62197),
        (0xbfa00000, 0x3ff62197), (0xbfa00001, 0x3ff62198), (0xc1dfffff, 0x40000000), (0xc1e00000, 0x40000000),
        (0xc1e00001, 0x40000000), (0xc036db6c, 0x3ffffe41), (0xc036db6d, 0x3ffffe41), (0xc036db6e, 0x3ffffe41),
        (0x411fffff, 0x00000002), (0x41200000, 0x00000002), (0x41200001, 0x00000001), (0x3f09d427, 0x3ee490aa),
        (0x3f5c0316, 0x3e65979a), (0x3da860fb, 0x3f684dd4), (0x40dc9e77, 0x1b5ed83c), (0x40575015, 0x360359c4),
        (0xbe2e1f93, 0x3f985332), (0x3e793b08, 0x3f3b0eac), (0x3fadaf93, 0x3d613a82), (0x3ee127df, 0x3f08b442),
        (0x4091091e, 0x2f2048f8), (0xbe9e93d0, 0x3fab57fc), (0x3fa1459f, 0x3d992580), (0x40edb01c, 0x15cc140a),
        (0x40344037, 0x388eb3a1), (0x401dd1e2, 0x39ffc18d), (0x3f949656, 0x3dce25b4), (0x3f50ace7, 0x3e7efa14),
        (0x3fd9b700, 0x3c84540f), (0x3e75f1c4, 0x3f3bee82), (0x3db8932c, 0x3f660958),
    ],
    "expm1f": [
        (0x00000000, 0x00000000), (0x80000000, 0x80000000), (0x00000001, 0x00000001), (0x80000001, 0x80000001),
        (0x007fffff, 0x007fffff), (0x00800000, 0x00800000), (0x7f7fffff, 0x7f800000), (0xff7fffff, 0xbf800000),
        (0x7f800000, 0x7f800000), (0xff800000, 0xbf800000), (0x7fc00000, 0x7fc00000), (0xffc00000, 0xffc00000),
        (0x7f800001, 0x7fc00001), (0x7fa12345, 0x7fe12345), (0xffd00042, 0xffd00042), (0x4195b843, 0x4cffffd9),
        (0x4195b844, 0x4cfffff9), (0x4195b845, 0x4d00000c), (0xc195b843, 0xbf800000), (0xc195b844, 0xbf800000),
        (0xc195b845, 0xbf800000), (0x42b17217, 0x7f7fff84), (0x42b17218, 0x7f800000), (0x42b17219, 0x7f800000),
        (0x42b1717f, 0x7f7fb390), (0x42b17180, 0x7f7fb40f), (0x42b17181, 0x7f7fb48f), (0x3eb17217, 0x3ed413cc),
        (0x3eb17218, 0x3ed413cd), (0x3eb17219, 0x3ed413ce), (0xbeb17217, 0xbe95f619), (0xbeb17218, 0xbe95f61a),
        (0xbeb17219, 0xbe95f61a), (0x3f851591, 0x3fea09e4), (0x3f851592, 0x3fea09e6), (0x3f851593, 0x3fea09e9),
        (0xbf851591, 0xbf257d86), (0xbf851592, 0xbf257d86), (0xbf851593, 0xbf257d87), (0x32ffffff, 0x32ffffff),
        (0x33000000, 0x33000000), (0x33000001, 0x33000001), (0xb2ffffff, 0xb2ffffff), (0xb3000000, 0xb3000000),
        (0xb3000001, 0xb3000001), (0x42b0ffff, 0x7f4cdc5d), (0x42b10000, 0x7f4cdcc4), (0x42b10001, 0x7f4cdd2a),
        (0x417f1401, 0x4affffe7), (0x417f1402, 0x4afffff7), (0x417f1403, 0x4b000003), (0x421b43d4, 0x5b7fffc2),
        (0x421b43d5, 0x5b800001), (0x421b43d6, 0x5b800021), (0x421e099c, 0x5bffffaa), (0x421e099d, 0x5bffffea),
        (0x421e099e, 0x5c000015), (0xbfb17217, 0xbf400000), (0xbfb17218, 0xbf400000), (0xbfb17219, 0xbf400000),
        (0x3fcbe9e1, 0x407ace74), (0x406e8282, 0x42222b76), (0x3e515638, 0x3e68451c), (0xbf894bae, 0xbf286b76),
        (0x410bc38b, 0x45c249d0), (0xbe48c922, 0xbe36539c), (0xbfced20d, 0xbf4d1fbc), (0x3f871de6, 0x3fefd55c),
        (0x41b45e6e, 0x4fb87594), (0x3d743c23, 0x3d7ba9d4), (0x401d04cd, 0x412a0c62), (0xbedcb721, 0xbeb34ce8),
        (0xbee0cb2a, 0xbeb5f0a0), (0xbe1f3145, 0xbe136f76), (0x3ff6af96, 0x40bbdaf2), (0xbebe6a7f, 0xbe9f047e),
        (0x3f709e21, 0x3fc7a62a), (0xbfa8de5a, 0xbf3b9082), (0x411a2333, 0x466e90d6), (0x4198b12e, 0x4d399876),
    ],
}


def bits_of(values: np.ndarray) -> np.ndarray:
    return np.asarray(values, np.float32).view(np.uint32)


def floats_of(bits) -> np.ndarray:
    return np.asarray(bits, np.uint64).astype(np.uint32).view(np.float32)


@jit(error_model="numpy")
def _litelens_eval(x, which, out):
    for i in range(x.size):
        if which == 0:
            out[i] = libm.tanhf(x[i])
        elif which == 1:
            out[i] = libm.expf(x[i])
        elif which == 2:
            out[i] = libm.erfcf(x[i])
        else:
            out[i] = libm.expm1f(x[i])


@jit(error_model="numpy")
def _machine_eval(x, which, out):
    """The machine's libm: Numba lowers these on a float32 to tanhf / expf / erfcf / expm1f."""
    for i in range(x.size):
        v = np.float32(x[i])
        if which == 0:
            out[i] = math.tanh(v)
        elif which == 1:
            out[i] = math.exp(v)
        elif which == 2:
            out[i] = math.erfc(v)
        else:
            out[i] = math.expm1(v)


def litelens_bits(name: str, x: np.ndarray) -> np.ndarray:
    out = np.empty(x.size, np.float32)
    _litelens_eval(x, FUNCTIONS.index(name), out)
    return bits_of(out)


def machine_bits(name: str, x: np.ndarray) -> np.ndarray:
    out = np.empty(x.size, np.float32)
    _machine_eval(x, FUNCTIONS.index(name), out)
    return bits_of(out)


def assert_same_bits(name, x, got, expected):
    differ = np.nonzero(got != expected)[0]
    examples = [f"x={x[i]!r} ({bits_of(x)[i]:#010x}): litelens {got[i]:#010x}, expected {expected[i]:#010x}"
                for i in differ[:5]]
    assert differ.size == 0, f"{name}: {differ.size} of {x.size} inputs differ: {examples}"


IS_GLIBC_236_X86_64 = platform.machine() == "x86_64" and platform.libc_ver() == ("glibc", "2.36")
needs_reference_libm = pytest.mark.skipif(
    not IS_GLIBC_236_X86_64, reason="compares with the machine's libm: needs x86-64 glibc 2.36")


@pytest.mark.parametrize("name", FUNCTIONS)
def test_known_cases(name):
    inputs, expected = np.array(KNOWN[name], np.uint64).T
    x = floats_of(inputs)
    assert_same_bits(name, x, litelens_bits(name, x), expected.astype(np.uint32))


def test_tanhf_pooler_case():
    """The mobilebert-tiny float32 pooler TANH element that aarch64's glibc rounds down."""
    assert bits_of(np.float32(lut.tanhf(np.float32(0.1091187))))[()] == 0x3DDE97A4


def test_lut_uses_litelens_libm():
    assert (lut.tanhf, lut.expf, lut.erfcf) == (libm.tanhf, libm.expf, libm.erfcf)


def test_exp2_table_is_correctly_rounded():
    """Entry i is 2**(i/32) rounded to the nearest double: (t -+ half an ulp)**32 brackets 2**i (exact)."""
    for i, t in enumerate(libm._EXP2_TABLE):
        t = Fraction(float(t))
        half_ulp = Fraction(1, 2**53)  # entries lie in [1, 2)
        assert (t - half_ulp) ** 32 < 2**i < (t + half_ulp) ** 32, i


def sample_bits() -> np.ndarray:
    """Every 1021st float32 bit pattern, and every 257th with |x| < 32 (both signs)."""
    sparse = np.arange(0, 2**32, 1021, dtype=np.uint64)
    dense = np.arange(0, 0x42000000, 257, dtype=np.uint64)
    return np.concatenate([sparse, dense, dense | 0x80000000]).astype(np.uint32)


@needs_reference_libm
@pytest.mark.parametrize("name", FUNCTIONS)
def test_matches_machine_libm_sampled(name):
    x = sample_bits().view(np.float32)
    assert_same_bits(name, x, litelens_bits(name, x), machine_bits(name, x))


@needs_reference_libm
@pytest.mark.slow
@pytest.mark.skipif(not os.environ.get("LITELENS_LIBM_EXHAUSTIVE"), reason="set LITELENS_LIBM_EXHAUSTIVE=1")
@pytest.mark.parametrize("name", FUNCTIONS)
def test_matches_machine_libm_exhaustive(name):
    """Every one of the 2**32 float32 bit patterns, in chunks of 2**24."""
    chunk = 1 << 24
    for start in range(0, 2**32, chunk):
        x = np.arange(start, start + chunk, dtype=np.uint64).astype(np.uint32).view(np.float32)
        assert_same_bits(name, x, litelens_bits(name, x), machine_bits(name, x))


_PLAIN_PYTHON = """
import sys
import numpy as np
from litelens.kernels import libm
name, bits = sys.argv[1], [int(b, 16) for b in sys.stdin.read().split()]
x = np.array(bits, np.uint32).view(np.float32)
with np.errstate(all="ignore"):
    print(" ".join(f"{np.float32(getattr(libm, name)(v)).view(np.uint32):08x}" for v in x))
"""


@pytest.mark.parametrize("name", FUNCTIONS)
def test_disable_jit_gives_the_same_bits(name):
    """The same functions as plain Python (NUMBA_DISABLE_JIT=1): known cases and 400 random inputs."""
    rng = np.random.default_rng(FUNCTIONS.index(name))
    random_bits = rng.integers(0, 2**32, 200, dtype=np.uint64)
    small_bits = bits_of(rng.uniform(-30.0, 30.0, 200).astype(np.float32)).astype(np.uint64)
    inputs = np.concatenate([np.array(KNOWN[name], np.uint64)[:, 0], random_bits, small_bits]).astype(np.uint32)
    env = {**os.environ, "NUMBA_DISABLE_JIT": "1"}
    try:
        run = subprocess.run([sys.executable, "-c", _PLAIN_PYTHON, name], input=" ".join(f"{b:x}" for b in inputs),
                             capture_output=True, text=True, env=env, timeout=120)
    except OSError as error:  # e.g. under qemu user-mode emulation, which cannot exec its own python
        pytest.skip(f"cannot start a second interpreter: {error}")
    assert run.returncode == 0, run.stderr
    plain = np.array([int(b, 16) for b in run.stdout.split()], np.uint32)
    x = inputs.view(np.float32)
    assert_same_bits(name, x, plain, litelens_bits(name, x))
