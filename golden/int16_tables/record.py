"""Measure the official int16 TANH/LOGISTIC sigmoid table (``sigmoid_table_uint16``, 256 entries).

The table lives in the official source; litelens does not copy it. This script recovers it from the
official interpreter's outputs (ai-edge-litert, BUILTIN_REF) and writes ``sigmoid_table_uint16.json``:

* int16 TANH with input scale 2/(3 * 4096) runs the general path with multiplier 16384 and shift 13,
  so the code x becomes v = 2x; at x = 128 i (v = 256 i, no interpolation) the output is t[i] - 32768:
  entries 0..254 are read directly (cross-checked with scale 1/(3 * 4096), v = x, for i <= 127).
* Entry 255 is only ever the right end of segment 254. It is the one value in [t[254], 65535] for which
  the interpolation rule reproduces every observed output of that segment (TANH at input scale 2**-12,
  v = 3x, and LOGISTIC at 2**-12).

It also stores, for a few (op, input scale) pairs, a SHA-256 of the official outputs on all 65,536 int16
codes, so ``tests/ops/test_int16.py`` can check the kernels without the official interpreter.

    .venv/bin/python golden/int16_tables/record.py
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from litelens import build
from litelens.official import run_official

HERE = Path(__file__).parent
OUT = HERE / "sigmoid_table_uint16.json"
ALL_CODES = np.arange(-32768, 32768, dtype=np.int16)
# (op, input scale) whose full outputs are fingerprinted: both power-of-two paths and general scales.
FINGERPRINTS = [("TANH", 2.0**-12), ("TANH", 2.0**-11), ("TANH", 1 / (3 * 4096)), ("TANH", 3.1e-4),
                ("TANH", 0.01), ("LOGISTIC", 2.0**-12), ("LOGISTIC", 2.0**-11), ("LOGISTIC", 2 / (3 * 4096)),
                ("LOGISTIC", 7.77e-5), ("LOGISTIC", 0.003)]


def one_op_model(op: str, input_scale: float) -> bytes:
    x = build.Tensor([ALL_CODES.size], np.int16, "x", scale=input_scale, zero_point=0)
    y = build.Tensor([ALL_CODES.size], np.int16, "y", scale=1 / 32768, zero_point=0)
    return build.single_op(op, [x], [y]).to_bytes()


def official_outputs(op: str, input_scale: float) -> np.ndarray:
    """The official output for every int16 code, in code order (-32768 first)."""
    tensors = run_official(one_op_model(op, input_scale), {0: ALL_CODES}, "reference")
    return tensors[1]


def knots() -> list[int]:
    """Entries 0..254 from TANH knots (v = 256 i gives t[i] - 32768 exactly)."""
    twice = official_outputs("TANH", 2 / (3 * 4096)).astype(np.int64)[32768:]  # codes 0..32767, v = 2x
    once = official_outputs("TANH", 1 / (3 * 4096)).astype(np.int64)[32768:]  # v = x
    table = [int(twice[128 * i]) + 32768 for i in range(255)]
    for i in range(128):
        assert int(once[256 * i]) + 32768 == table[i], f"entry {i}: the two input scales disagree"
    return table


def segment_254(ua: int, ub: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Codes x > 0 whose v = 3x falls in segment 254, and what each op's interpolation rule gives there
    (reference/integer_ops/tanh.h and logistic.h, positive side)."""
    x = np.arange(1, 32768, dtype=np.int64)
    v = 3 * x
    tanh_x = x[(v >> 8) == 254]
    r = (ua << 8) + ((3 * tanh_x) & 0xFF) * (ub - ua)
    logistic_x = x[(v >> 9) == 254]
    r2 = (ua << 9) + ((3 * logistic_x) & 0x1FF) * (ub - ua)
    return {"TANH": (tanh_x, (r - (1 << 23) + (1 << 7)) >> 8), "LOGISTIC": (logistic_x, (r2 + (1 << 9)) >> 10)}


def last_entry(table: list[int]) -> int:
    observed = {op: official_outputs(op, 2.0**-12).astype(np.int64)[32768:] for op in ("TANH", "LOGISTIC")}
    fits = [candidate for candidate in range(table[254], 65536)
            if all(np.array_equal(predicted, observed[op][codes])
                   for op, (codes, predicted) in segment_254(table[254], candidate).items())]
    assert len(fits) == 1, f"entry 255: {len(fits)} values fit the observations: {fits[:5]}"
    return fits[0]


def main() -> None:
    import ai_edge_litert

    table = knots()
    table.append(last_entry(table))
    fingerprints = [{"op": op, "input_scale": scale, "output_scale": 1 / 32768,
                     "sha256": hashlib.sha256(official_outputs(op, scale).astype("<i2").tobytes()).hexdigest()}
                    for op, scale in FINGERPRINTS]
    record = {
        "what": "sigmoid_table_uint16 of the official int16 TANH/LOGISTIC kernels, measured (see record.py)",
        "official": f"ai-edge-litert {getattr(ai_edge_litert, '__version__', '?')}, BUILTIN_REF",
        "table": "TABLE",
        "outputs_sha256": {"about": "int16 little-endian outputs for the codes -32768..32767, in order",
                           "runs": fingerprints},
    }
    rows = ",\n  ".join(", ".join(str(v) for v in table[i:i + 16]) for i in range(0, len(table), 16))
    OUT.write_text(json.dumps(record, indent=1).replace('"TABLE"', f"[\n  {rows}\n ]") + "\n")
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")


if __name__ == "__main__":
    main()
