"""Throughput of litelens's int8 GEMM on the MobileBERT shapes, and its share of this CPU's int8 peak.

    .venv/bin/python benchmarks/int_gemm_rate.py

For every instruction set the CPU runs (``int_gemm.supported_isas()``) and every FULLY_CONNECTED
shape of MobileBERT at seq 128 ([128, K] x [K, N] for K, N in 128 / 512), it times the bare product
(``int8_gemm``: a already shifted and weights packed, as in Eval) and the whole int8
FULLY_CONNECTED kernel (shift + product + requantization), each the median of many runs on one
thread, in GMAC/s (10**9 multiply-accumulates per second).

The peak is derived, not looked up: the clock is measured with a chain of dependent 64-bit
register-register adds (one cycle each on x86-64 cores; register operands, because recent cores
execute add-immediate chains at rename, several per cycle), and multiplied by the int8 MACs per cycle the
instruction can sustain per core: AMX TDPBUSD 1024 (a 16 x 16 x 64 product every 16 cycles),
AVX-512 VPDPBUSD 128 (two 64-MAC zmm instructions per cycle), AVX-VNNI 64 (two ymm), AVX2 VPMADDWD 32
(two 16-pair ymm instructions per cycle; the extra VPADDD shares the same ports, so the real
ceiling of that loop is lower - and on a CPU with AVX-VNNI, LLVM fuses the pair into VPDPWSSD).
Instruction throughputs: Intel's optimization manual and uops.info.
"""
from __future__ import annotations

import ctypes
import statistics
import sys
import time

import numpy as np

from litelens.kernels import int_gemm as g
from litelens.kernels.fully_connected import fully_connected_int8

MACS_PER_CYCLE = {g.AMX: 1024, g.VNNI512: 128, g.VNNI256: 64, g.AVX2: 32}
SHAPES = [(128, 128, 128), (128, 128, 512), (128, 512, 128), (128, 384, 512)]


def clock_ghz(adds: int = 200_000_000) -> float:
    """Cycles per second, from a loop of dependent register adds compiled with llvmlite."""
    import llvmlite.binding as llvm

    llvm.initialize_native_target()
    llvm.initialize_native_asmprinter()
    llvm.initialize_native_asmparser()
    ir = """
define i64 @chain(i64 %n) {
entry:
  br label %loop
loop:
  %i = phi i64 [0, %entry], [%i.next, %loop]
  %x = phi i64 [0, %entry], [%x8, %loop]
  %x8 = call i64 asm sideeffect "add $2, $0\\0Aadd $2, $0\\0Aadd $2, $0\\0Aadd $2, $0\\0Aadd $2, $0\\0Aadd $2, $0\\0Aadd $2, $0\\0Aadd $2, $0", "=r,0,r"(i64 %x, i64 %n)
  %i.next = add i64 %i, 1
  %done = icmp eq i64 %i.next, %n
  br i1 %done, label %exit, label %loop
exit:
  ret i64 %x8
}
"""
    module = llvm.parse_assembly(ir)
    target = llvm.Target.from_default_triple().create_target_machine(opt=2)
    engine = llvm.create_mcjit_compiler(module, target)
    engine.finalize_object()
    chain = ctypes.CFUNCTYPE(ctypes.c_int64, ctypes.c_int64)(engine.get_function_address("chain"))
    chain(1_000_000)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        chain(adds // 8)
        best = min(best, time.perf_counter() - start)
    return adds / best / 1e9


def median_seconds(fn, repeats: int = 200) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> int:
    ghz = clock_ghz()
    print(f"clock (dependent adds): {ghz:.2f} GHz; default instruction set: {g.ISA_NAMES.get(g.ISA, 'none')}")
    print(f"{'isa':11} {'M x K x N':>15} {'product GMAC/s':>15} {'% of peak':>10} {'FC kernel GMAC/s':>17} "
          f"{'peak GMAC/s':>12}")
    rng = np.random.default_rng(0)
    for isa in g.supported_isas():
        peak = MACS_PER_CYCLE[isa] * ghz
        for m, k, n in SHAPES:
            x = rng.integers(-128, 128, (m, k)).astype(np.int8)
            w = rng.integers(-127, 128, (n, k)).astype(np.int8)
            packed, sums = g.pack_columns(w, isa), g.column_sums(w)
            a = np.zeros(g.a_spec(m, k, isa)[1], g.A_DTYPE[isa])
            acc = np.zeros(g.acc_spec(m, n, isa)[1], np.int32)
            row_sums = np.zeros(a.shape[0], np.int64)
            g.offset_rows(x, a, row_sums, False)
            bare = median_seconds(lambda: g.int8_gemm(isa, a, packed, acc))
            scale = np.zeros(acc.shape[1])
            scale[:n] = 0.002
            terms = np.zeros(acc.shape[1], np.int32), np.zeros(acc.shape[0], np.int32)
            out = np.zeros((m, n), np.int8)
            bias = np.zeros(n, np.int32)
            full = median_seconds(lambda: fully_connected_int8(isa, x, a, row_sums, packed, sums, acc, bias, 3, 0,
                                                               scale, -1, -128, 127, True, *terms, out))
            macs = m * k * n
            print(f"{g.ISA_NAMES[isa]:11} {f'{m} x {k} x {n}':>15} {macs / bare / 1e9:>15.0f} "
                  f"{100 * macs / bare / 1e9 / peak:>9.0f}% {macs / full / 1e9:>17.0f} {peak:>12.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
