"""What each official kernel path computes, per op, in one line — shown next to a divergent op.

Keys are ``(path, opcode)`` or, where the rule depends on the types, ``(path, opcode, kind)`` with
``kind`` one of ``int8`` (int8/uint8 quantized), ``int16``, ``float`` (float32), ``hybrid`` (float
activations, int8 weights). ARM64 rules that differ from x86-64 are keyed ``optimized-arm64``. Every
rule here is what litelens implements for that path and was checked against the official interpreter
(ai-edge-litert 2.3.0; x86-64 unless keyed arm64; see ``tests/flavors/``). Documentation only: never used
to compute anything.
"""
from __future__ import annotations

_MBQM = "MultiplyByQuantizedMultiplier: rounding doubling high mul (ties up), then rounding shift (ties away)"
_FLOAT_ORDER = "float32, the reference's operation order"

RULES = {
    # FULLY_CONNECTED
    ("reference", "FULLY_CONNECTED", "int8"): "round_half_away(acc * double(in_s * w_s / out_s)) (a double multiply)",
    ("optimized", "FULLY_CONNECTED", "int8"): "ruy fixed point: h = ((acc << ls) * M + 2^30) >> 31, then a rounding "
                                              "right shift, both ties up (rounds twice)",
    ("optimized-arm64", "FULLY_CONNECTED", "int8"): "ruy on ARM64 rounds once: (x * M + 2^(30+rs)) >> (31+rs); at batch 1 "
                                                    "with K >= 8, N >= 4 CustomGemv rounds twice as on x86",
    ("xnnpack", "FULLY_CONNECTED", "int8"): "float32 scale float(in_s * w_s[c]) / out_s; acc * scale clamped, "
                                            "rounded half to even, + zp",
    ("xnnpack", "FULLY_CONNECTED", "hybrid"): "XNNPACK dynamic range: each input row quantized asymmetrically to int8 "
                                              "(qd8), integer GEMM, float epilogue",
    ("reference", "FULLY_CONNECTED", "hybrid"): "each row quantized symmetrically (max|x| / 127), int8 dot products, "
                                                "scaled by sf * w_s in float32",
    # BATCH_MATMUL
    ("reference", "BATCH_MATMUL", "int8"): _MBQM,
    ("optimized", "BATCH_MATMUL", "int8"): _MBQM + " (the same kernel as reference)",
    ("xnnpack", "BATCH_MATMUL", "int8"): "float32 scale float(l_s * r_s) / out_s, round half to even",
    # ADD / SUB / MUL
    ("reference", "ADD", "int8"): "inputs << 20, " + _MBQM + " per input and for the sum",
    ("optimized", "ADD", "int8"): "as reference per element, in NEON blocks (NEON_2_SSE on x86) with the "
                                  "broadcast's lane modes",
    ("xnnpack", "ADD", "int8"): "XNNPACK qs8 vadd: bias + m1 * x1 + m2 * x2 with 20-bit multipliers, one shift "
                                "with ties up",
    ("reference", "SUB", "int8"): "as ADD, difference instead of sum",
    ("optimized", "SUB", "int8"): "as reference (SUB int8 always runs the reference code)",
    ("xnnpack", "SUB", "int8"): "XNNPACK qs8 vadd with the second input negated: 20-bit multipliers, one shift "
                                "with ties up",
    ("reference", "MUL", "int8"): _MBQM,
    ("optimized", "MUL", "int8"): _MBQM + " (same as reference)",
    ("xnnpack", "MUL", "int8"): "XNNPACK qs8 vmul: float32 scale s1 * s2 / s_out, round half to even",
    # QUANTIZE / DEQUANTIZE
    ("reference", "QUANTIZE"): "round_half_away(x / float(scale)) + zp",
    ("optimized", "QUANTIZE"): "blocks of 8: x * float(1 / scale) rounded half to even; tail: "
                               "round_half_away(x / double(scale))",
    ("xnnpack", "QUANTIZE"): "x * (1 / scale), round half to even",
    ("reference", "DEQUANTIZE"): "float32(double(scale) * (q - zp))",
    ("optimized", "DEQUANTIZE"): "NEON blocks: float(q) * scale + float(-zp * scale); tail as reference",
    # SOFTMAX
    ("reference", "SOFTMAX", "int8"): "fixed point: gemmlowp exp_on_negative_values, reciprocal by Newton-Raphson",
    ("optimized", "SOFTMAX", "int8"): "float32 table of expf, sequential float sum, round_half_away",
    ("optimized-arm64", "SOFTMAX", "int8"): "16-bit split lookup tables (NEON), float sum",
    # float ops
    ("reference", "*", "float"): _FLOAT_ORDER,
    ("optimized", "*", "float"): "vectorised float32 (other summation order, FMA); within 1e-5 of the tensor's max",
    ("xnnpack", "*", "float"): "XNNPACK float32 microkernels (FMA, own exp/tanh); within 1e-5 of the tensor's max",
}


def rule(path: str, opcode: str, kind: str | None = None, arch: str = "x86_64") -> str | None:
    """The documented rule of ``path`` (reference / optimized / xnnpack) for ``opcode``, or None."""
    paths = ([f"{path}-arm64"] if arch == "arm64" else []) + [path]
    for p in paths:
        for key in ((p, opcode, kind), (p, opcode), (p, "*", kind)):
            if key in RULES:
                return RULES[key]
    return None


def op_kind(node) -> str | None:
    """``int8``, ``int16``, ``float`` or ``hybrid`` for the rule table, from a node's tensor types."""
    dtypes = [t.dtype for t in list(node.inputs) + list(node.outputs) if t is not None]
    names = {d.name for d in dtypes}
    if "float32" in names and "int8" in names and node.opcode in ("FULLY_CONNECTED", "BATCH_MATMUL"):
        out = node.outputs[0].dtype.name if node.outputs else ""
        return "hybrid" if out == "float32" else "int8"
    if "int16" in names:
        return "int16"
    if names & {"int8", "uint8"}:
        return "int8"
    if names <= {"float32", "int32", "int64", "bool"} and "float32" in names:
        return "float"
    return None
