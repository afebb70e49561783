"""Does this machine's libm give the same float32 bits as x86-64's? (The float kernels call it.)

litelens's float32 TANH, the float LOGISTIC/GELU/TANH tables of the 8-bit ops and the hybrid path
call glibc's ``tanhf``, ``expf`` and ``erfcf`` through Numba (kernels/lut.py), as the official x86-64
wheel does. glibc's aarch64 build may fuse multiply-adds (FMA) that the x86-64 build does not, so the
same function can round differently there. This script evaluates each function on a grid of float32
inputs (every ``--stride``-th bit pattern, both signs, finite values only):

    .venv/bin/python arm/libm_compare.py --save /tmp/libm-x86.npz          # on x86-64
    arm/run.sh pi4 arm/libm_compare.py --against /tmp/libm-x86.npz          # under emulation

and reports, per function, how many inputs give other bits, by how many ulps, and a few examples.
"""
from __future__ import annotations

import argparse
import math
import platform

import numba
import numpy as np

FUNCTIONS = ("tanhf", "expf", "erfcf")


@numba.njit(cache=False)
def _evaluate(x, which, out):
    for i in range(x.size):
        v = np.float32(x[i])
        if which == 0:
            out[i] = math.tanh(v)
        elif which == 1:
            out[i] = math.exp(v)
        else:
            out[i] = math.erfc(v)


def grid(stride: int) -> np.ndarray:
    """Every stride-th positive finite float32 bit pattern, and its negative."""
    positive = np.arange(0, 0x7F800000, stride, dtype=np.uint32)
    return np.concatenate([positive, positive | np.uint32(0x80000000)]).view(np.float32)


def evaluate(x: np.ndarray) -> dict[str, np.ndarray]:
    out = {}
    for which, name in enumerate(FUNCTIONS):
        y = np.empty_like(x)
        _evaluate(x, which, y)
        out[name] = y
    return out


def ulps(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Distance in float32 steps (monotonic integer order of the bit patterns)."""
    def order(v):
        i = v.view(np.int32).astype(np.int64)
        return np.where(i < 0, -(i & 0x7FFFFFFF), i)
    return np.abs(order(a) - order(b))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stride", type=int, default=257)
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--save", help="write this machine's results (npz)")
    group.add_argument("--against", help="compare this machine's results with a saved npz")
    args = parser.parse_args()
    x = grid(args.stride)
    mine = evaluate(x)
    if args.save:
        np.savez(args.save, machine=platform.machine(), stride=args.stride, **mine)
        print(f"{platform.machine()}: {x.size} inputs per function saved to {args.save}")
        return
    with np.load(args.against) as saved:
        if int(saved["stride"]) != args.stride:
            raise SystemExit(f"saved with --stride {int(saved['stride'])}")
        other = str(saved["machine"])
        theirs = {name: saved[name] for name in FUNCTIONS}
    print(f"{platform.machine()} vs {other}: {x.size} float32 inputs (every {args.stride}th bit pattern, both signs)")
    for name in FUNCTIONS:
        a, b = mine[name], theirs[name]
        differ = np.nonzero(a.view(np.uint32) != b.view(np.uint32))[0]
        both_nan = np.isnan(a[differ]) & np.isnan(b[differ])
        differ = differ[~both_nan]
        dist = ulps(a[differ], b[differ])
        print(f"  {name}: {differ.size} inputs differ"
              + (f", by {dist.min()}..{dist.max()} ulp; |x| in [{np.abs(x[differ]).min():.3g}, "
                 f"{np.abs(x[differ]).max():.3g}]" if differ.size else ""))
        for i in differ[:3]:
            exact = {"tanhf": math.tanh, "expf": math.exp, "erfcf": math.erfc}[name](float(x[i]))
            print(f"    x = {x[i]!r} ({x[i].view(np.uint32):#010x}): here {a[i]!r}, {other} {b[i]!r}, exact {exact!r}")


if __name__ == "__main__":
    main()
