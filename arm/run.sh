#!/usr/bin/env bash
# Run the emulated board's python3 with litelens installed (after arm/setup.sh):
#
#   arm/run.sh pi4 -m pytest -q tests/test_golden_reference.py
#   arm/run.sh pi5 -c 'import litelens; print(litelens.__file__)'
#
# qemu emulates the board's CPU (pi4: cortex-a72, pi5: cortex-a76; ARM_QEMU_CPU overrides it) and the
# board's /proc/cpuinfo is the one everything in the guest reads, so LLVM/Numba compile for that core.
# Each board keeps its own Numba cache. Runs from the repository root; goldens are read from golden/.
set -euo pipefail
source "$(dirname "$0")/common.sh"

target="${1:?usage: arm/run.sh pi4|pi5 PYTHON-ARGS...}"
shift
cpu="${ARM_QEMU_CPU:-$(qemu_cpu_of "$target")}"
prefix="$CACHE/targets/$target"
[ -f "$prefix/proc/cpuinfo" ] && [ -f "$SITE/.complete" ] || { echo "run arm/setup.sh first" >&2; exit 1; }

cd "$REPO"
ulimit -c 0  # a SIGILL/SIGSEGV in the guest leaves no qemu core file behind
exec env -u LD_LIBRARY_PATH -u LD_PRELOAD -u PYTHONHOME -u VIRTUAL_ENV -u NUMBA_CACHE_DIR \
    QEMU_CPU="$cpu" \
    XDG_CACHE_HOME="$CACHE/numba/$target" \
    PYTHONPATH="$CACHE/litelens:$SITE${ARM_PYTHONPATH:+:$ARM_PYTHONPATH}" \
    PYTHONNOUSERSITE=1 \
    LITELENS_GOLDEN_DIR="${LITELENS_GOLDEN_DIR:-$REPO/golden}" \
    LITELENS_ARM_TARGET="$target" \
    qemu-aarch64-static -L "$prefix" "$prefix/usr/bin/python3" "$@"
