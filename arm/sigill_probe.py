"""Control experiment: the emulator really enforces the board's instruction set.

Compiles an int8 dot product with Numba for the CPU the guest's /proc/cpuinfo names (or NUMBA_CPU_NAME;
no cache), prints
whether LLVM used the dot-product instructions, and runs it. arm/test.sh runs it three ways:

* pi4 cpuinfo, qemu cortex-a72: no sdot, runs (exit 0);
* pi5 cpuinfo, qemu cortex-a76: sdot, runs (exit 0);
* pi5 cpuinfo, qemu cortex-a72 (Pi 5 code on a Pi 4): SIGILL (exit 132), the way a Pi 4 would stop.
"""
import re

import numba
import numpy as np
from llvmlite import binding as llvm


@numba.njit(cache=False)
def dot_int8(a, b):
    acc = np.int32(0)
    for i in range(a.size):
        acc += np.int32(a[i]) * np.int32(b[i])
    return acc


a = (np.arange(256) % 251 - 125).astype(np.int8)
expected = int(np.dot(a.astype(np.int64), a.astype(np.int64)))
dot_int8.compile("(int8[::1], int8[::1])")
asm = next(iter(dot_int8.inspect_asm().values()))
sdot = len(re.findall(r"^\s+[su]dot\b", asm, re.M))
cpu = numba.config.CPU_NAME or llvm.get_host_cpu_name()  # NUMBA_CPU_NAME, else what /proc/cpuinfo says
print(f"compiled for {cpu}: {sdot} sdot/udot instructions; running...", flush=True)
got = int(dot_int8(a, a))
assert got == expected, (got, expected)
print(f"ran: {got} == {expected}")
