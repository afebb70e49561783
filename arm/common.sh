# Shared settings of the arm/ scripts (sourced, not run). Everything they build is cached under
# $LITELENS_ARM_CACHE (default ~/.cache/litelens-arm):
#   rootfs-<suite>/        Debian arm64 minbase with python3 (debootstrap first stage, .debs unpacked)
#   wheels/                aarch64 wheels downloaded from PyPI
#   site-<hash>/           those wheels installed (hash of arm/requirements-arm64.txt)
#   litelens/              litelens itself, reinstalled from the source tree on every setup
#   targets/<pi4|pi5>/     the qemu -L prefix of each board: symlinks into the rootfs + proc/cpuinfo
#   numba/<pi4|pi5>/       each board's Numba cache (XDG_CACHE_HOME: litelens/numba/<kernel hash>)
ARM_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$ARM_DIR/.." && pwd)"
CACHE="${LITELENS_ARM_CACHE:-$HOME/.cache/litelens-arm}"
SUITE="${ARM_SUITE:-bookworm}"  # Raspberry Pi OS (64-bit) is Debian bookworm: Python 3.11, glibc 2.36
ROOTFS="$CACHE/rootfs-$SUITE"
REQUIREMENTS="$ARM_DIR/requirements-arm64.txt"
SITE="$CACHE/site-$(cat "$REQUIREMENTS" | sha256sum | cut -c1-12)"
HOST_PYTHON="${ARM_HOST_PYTHON:-$REPO/.venv/bin/python}"
[ -x "$HOST_PYTHON" ] || HOST_PYTHON=python3
TARGETS="pi4 pi5"

# The CPU qemu emulates for each board: instructions the board lacks raise SIGILL.
qemu_cpu_of() {
    case "$1" in
        pi4) echo cortex-a72 ;;  # Raspberry Pi 4: BCM2711, Cortex-A72 (Armv8.0-A, no dot product)
        pi5) echo cortex-a76 ;;  # Raspberry Pi 5: BCM2712, Cortex-A76 (Armv8.2-A, sdot/udot)
        *) echo "unknown target '$1' (choose pi4 or pi5)" >&2; return 1 ;;
    esac
}

# Wheel platform tags a Debian bookworm aarch64 (glibc 2.36) accepts; ai-edge-litert ships only
# manylinux_2_27_aarch64.
PIP_PLATFORM=(--only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 --abi abi3 --abi none
              --platform manylinux2014_aarch64 --platform manylinux_2_17_aarch64
              --platform manylinux_2_24_aarch64 --platform manylinux_2_26_aarch64
              --platform manylinux_2_27_aarch64 --platform manylinux_2_28_aarch64)

log() { printf '[arm %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
