#!/usr/bin/env bash
# `make arm-test`: litelens under aarch64 emulation of a Raspberry Pi 4 and a Raspberry Pi 5.
#
#   arm/test.sh [pi4] [pi5]        (default: both)
#
# For each board: every tensor of every committed BUILTIN_REF golden recording recomputed by litelens
# (tests/test_golden_reference.py, bit for bit, floats with tolerance 0, as on x86-64), then the board's
# Numba cache checked to be compiled for that board's CPU (Pi 4: no instruction past Armv8.0 + CRC).
# Then the control experiment: Pi 5 code under an emulated Cortex-A72 must die with SIGILL.
# ARM_PYTEST_ARGS adds pytest arguments (e.g. "-k int8"). Exit status 1 if any step failed.
set -uo pipefail
source "$(dirname "$0")/common.sh"

targets="${*:-$TARGETS}"
failed=()
step() {  # step NAME COMMAND...: run, time, remember failures
    local name="$1" start=$SECONDS status
    shift
    log "$name"
    "$@"
    status=$?
    log "$name: $([ $status -eq 0 ] && echo ok || echo "FAILED (exit $status)") in $((SECONDS - start)) s"
    [ $status -eq 0 ] || failed+=("$name")
}

# expect_exit CODE COMMAND...: succeed only when COMMAND exits with CODE (132 = SIGILL)
expect_exit() {
    local want="$1" status
    shift
    "$@"
    status=$?
    [ "$status" -eq "$want" ] || { echo "expected exit $want, got $status" >&2; return 1; }
}

total=$SECONDS
step "setup" bash "$ARM_DIR/setup.sh" || true
[ ${#failed[@]} -eq 0 ] || exit 1
for t in $targets; do
    cpu=$(qemu_cpu_of "$t") || exit 2
    # shellcheck disable=SC2086
    step "$t ($cpu): golden tests" bash "$ARM_DIR/run.sh" "$t" -m pytest -q -p no:cacheprovider \
        tests/test_golden_reference.py ${ARM_PYTEST_ARGS:-}
    step "$t ($cpu): litelens run (CLI, tokenizer)" bash "$ARM_DIR/run.sh" "$t" -m litelens.cli run \
        golden/models/mobilebert-tiny-int8.tflite --text "Loving the new battery life on my Acme phone" \
        --labels negative,neutral,positive
    forbid=()
    [ "$t" = pi4 ] && forbid=(--forbid)
    step "$t ($cpu): instruction set of the Numba cache" "$HOST_PYTHON" "$ARM_DIR/isa_report.py" \
        "$CACHE/numba/$t" --expect-cpu "$cpu" "${forbid[@]}"
done
if [[ " $targets " == *" pi5 "* ]]; then
    step "control: Pi 5 code runs on an emulated Cortex-A76" bash "$ARM_DIR/run.sh" pi5 "$ARM_DIR/sigill_probe.py"
    step "control: Pi 5 code on an emulated Cortex-A72 dies with SIGILL" \
        expect_exit 132 env ARM_QEMU_CPU=cortex-a72 bash "$ARM_DIR/run.sh" pi5 "$ARM_DIR/sigill_probe.py"
fi
log "arm-test: $((SECONDS - total)) s; ${#failed[@]} step(s) failed${failed[*]:+: ${failed[*]}}"
[ ${#failed[@]} -eq 0 ]
