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
    ("xnnpack", "FULLY_CONNECTED", "hybrid"): "XNNPACK qd8-f32-qc8w: each row quantized asymmetrically (scale "
                                              "255 / (max - min), nearest-even), exact int32 dot, "
                                              "fma(float(acc) / scale, w_s, bias)",
    ("xnnpack", "BATCH_MATMUL", "hybrid"): "XNNPACK qd8-f32-qc8w per lhs row (as FULLY_CONNECTED, no bias); a "
                                           "run-time rhs is read as zeros (the delegate packs it before inputs)",
    ("reference", "FULLY_CONNECTED", "hybrid"): "each row quantized symmetrically (max|x| / 127), int8 dot products, "
                                                "scaled by sf * w_s in float32",
    # BATCH_MATMUL
    ("reference", "BATCH_MATMUL", "int8"): _MBQM,
    ("optimized", "BATCH_MATMUL", "int8"): _MBQM + " (the same kernel as reference)",
    ("xnnpack", "BATCH_MATMUL", "int8"): "float32 scale float(l_s * r_s) / out_s, round half to even",
    # ADD / SUB / MUL
    ("reference", "ADD", "int8"): "inputs << 20, " + _MBQM + " per input and for the sum",
    ("optimized", "ADD", "int8"): "NEON blocks (NEON_2_SSE on x86): SRDHM(x << (20 + s), M) per lane (broadcast "
                                  "blocks: a truncating shift), sum requantized, zero point added wrapping in int16; "
                                  "tails as reference",
    ("xnnpack", "ADD", "int8"): "XNNPACK qs8 vadd: bias + m1 * x1 + m2 * x2 with 20-bit multipliers, one shift "
                                "with ties up",
    ("reference", "SUB", "int8"): "as ADD, difference instead of sum",
    ("optimized", "SUB", "int8"): "as reference (SUB int8 always runs the reference code)",
    ("xnnpack", "SUB", "int8"): "XNNPACK qs8 vadd with the second input negated: 20-bit multipliers, one shift "
                                "with ties up",
    ("reference", "MUL", "int8"): _MBQM,
    ("optimized", "MUL", "int8"): "16-lane NEON blocks: MBQM saturated to int16, output zero point added wrapping "
                                  "in int16 (a saturated product can wrap), then saturated; tails MBQM",
    ("xnnpack-arm64", "MUL", "int8"): "XNNPACK NEON rndnu: saturating pre-shift, vqdmulh, rounding post-shift (ties up)",
    ("xnnpack", "TANH", "int8"): "XNNPACK table: tanhf((code - zp) * s), nearbyint(y / s_out + zp) (ties to even)",
    ("xnnpack", "LOGISTIC", "int8"): "XNNPACK table: e / (1 + e) with a double exp, nearbyint(y / s_out + zp)",
    ("xnnpack", "ADD", "float"): "IEEE float32 with subnormals flushed to zero (MXCSR FTZ/DAZ)",
    ("xnnpack", "MUL", "int8"): "XNNPACK qs8 vmul: float32 scale s1 * s2 / s_out, round half to even",
    # QUANTIZE / DEQUANTIZE
    ("reference", "QUANTIZE"): "round_half_away(x / float(scale)) + zp",
    ("optimized", "QUANTIZE"): "float input: blocks of 8 nearest-even(x * float(1 / double(s))) + zp (NaN / out of "
                               "range -> qmin), tail round_half_away(x / double(s)) + zp; 8-bit requantize: blocks "
                               "of 16 with a ties-up final shift, tail MBQM",
    ("optimized-arm64", "QUANTIZE"): "as x86, but the block conversions saturate (NaN -> 0)",
    ("xnnpack", "QUANTIZE"): "float input: nearest-even(x * float(1 / s)) + zp, saturated; 8-bit requantize: "
                             "M = lrintf(256 * ratio), (((x - zp_in) * M + 128) >> 8) + zp_out",
    ("reference", "DEQUANTIZE"): "float32(double(scale) * (q - zp))",
    ("optimized", "DEQUANTIZE"): "blocks of 8: float(q) * float(s) + float(-zp * s) (ARM64: one fused multiply-add); "
                                 "tail as reference",
    ("xnnpack", "DEQUANTIZE"): "float(q - zp) * float(s)",
    # SOFTMAX
    ("reference", "SOFTMAX", "int8"): "fixed point: gemmlowp exp_on_negative_values, reciprocal by Newton-Raphson",
    ("optimized", "SOFTMAX", "int8"): "float32 table T = expf(-s_in * beta * v), sequential float sum, "
                                      "round_half_away(T / (sum * s_out)) + zp",
    ("optimized-arm64", "SOFTMAX", "int8"): "16-bit table of expf, integer row sum, per-row multiplier, MBQM",
    ("optimized", "SOFTMAX", "float"): "Eigen SSE: packet exp over the flat tensor, packet row sum, times 1/sum",
    # MEAN / SUM
    ("reference", "MEAN", "int8"): "sum, then MBQM with the multiplier divided by n (QuantizedMeanOrSum)",
    ("optimized", "MEAN", "int8"): "4-D keep_dims over H,W: blocks of 16 channels with a ties-up shift; "
                                   "else as reference",
    ("xnnpack", "MEAN", "int8"): "int32 sum, nearbyint(float(sum) * inv + zp') in float32",
    ("reference", "SUM", "int8"): "QuantizedMeanOrSum (the x86 wheel reads int8 codes as uint8)",
    ("optimized", "SUM", "int8"): "int32 sum, round_half_away(float(s) * float(s_in / s_out) + float(-zp_in * "
                                  "scale) * n) + zp_out in float32",
    ("xnnpack", "SUM", "int8"): "int32 sum, nearbyint(float(sum) * float(s_in / s_out) + zp') in float32",
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
