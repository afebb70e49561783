"""Requantization rules of the official kernels, as documented in the project's fact sheet
(``/work/shared/docs/tflite-int8-arithmetic.md``, entries marked verified on the x86-64 wheel).

Shown next to a divergent op so a reader sees which rule each side follows; they are documentation,
never used to compute anything. Keys: (resolver, opcode); litelens's ``reference`` flavor follows
the ``reference`` entries.
"""
from __future__ import annotations

_MBQM = "MultiplyByQuantizedMultiplier: rounding doubling high mul (ties up), then rounding shift (ties away)"

RULES = {
    ("reference", "FULLY_CONNECTED"): "round_half_away(acc * double(in_s * w_s / out_s)) (a double multiply)",
    ("optimized", "FULLY_CONNECTED"): "ruy fixed point: (acc << ls) * M with ties up, then a rounding "
                                      "right shift with ties up",
    ("xnnpack", "FULLY_CONNECTED"): "float32 scale in_s * w_s / out_s, round half to even",
    ("reference", "BATCH_MATMUL"): _MBQM,
    ("optimized", "BATCH_MATMUL"): _MBQM + " (same kernel as reference)",
    ("xnnpack", "BATCH_MATMUL"): "float32 scale, round half to even",
    ("reference", "MUL"): _MBQM,
    ("optimized", "MUL"): _MBQM + " (same as reference)",
    ("xnnpack", "MUL"): "float32 scale s1 * s2 / s_out, round half to even",
    ("reference", "ADD"): "inputs << 20, " + _MBQM + " per input and for the sum",
    ("optimized", "ADD"): "as reference",
    ("xnnpack", "ADD"): "20-bit multipliers and one shift with ties up",
    ("reference", "SUB"): "as ADD, difference instead of sum",
    ("optimized", "SUB"): "as reference (SUB int8 always runs the reference code)",
    ("xnnpack", "SUB"): "20-bit multipliers and one shift with ties up",
    ("reference", "QUANTIZE"): "round_half_away(x / float(scale)) + zp",
    ("optimized", "QUANTIZE"): "blocks of 8: x * float(1 / scale) rounded half to even; tail: "
                               "round_half_away(x / double(scale))",
    ("xnnpack", "QUANTIZE"): "x * (1 / scale), round half to even",
    ("reference", "DEQUANTIZE"): "float32(double(scale) * (q - zp))",
    ("optimized", "DEQUANTIZE"): "float(q) * scale + float(-zp * scale)",
    ("reference", "SOFTMAX"): "fixed point: gemmlowp exp_on_negative_values, reciprocal by Newton-Raphson",
    ("optimized", "SOFTMAX"): "float32 table of expf, sequential float sum, round_half_away",
}


def rule(resolver: str, opcode: str) -> str | None:
    return RULES.get((resolver, opcode))
