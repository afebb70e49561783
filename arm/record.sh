#!/usr/bin/env bash
# `make arm-record`: re-record golden/arm64/<board>/ (the official interpreter's ARM64 outputs for the
# committed golden models, under emulation of each board). Run it after `make golden` changed the x86-64
# recordings: tests/arm/ checks the hashes of the x86-64 recordings each ARM64 one is relative to.
set -euo pipefail
source "$(dirname "$0")/common.sh"

bash "$ARM_DIR/setup.sh"
for t in ${*:-$TARGETS}; do
    log "$t: recording the official interpreter (reference, optimized, xnnpack)"
    bash "$ARM_DIR/run.sh" "$t" "$ARM_DIR/record_arm64.py" 2> >(grep -v "UserWarning\|warnings.warn\|XNNPACK delegate" >&2)
done
du -sh "$REPO/golden/arm64"
