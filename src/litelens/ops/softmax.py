"""SOFTMAX over the last axis (kernels/activations.cc SoftmaxPrepare / SoftmaxEval, reference kernels).

int8/uint8 input: the fixed-point reference kernel; Prepare turns beta * input_scale into a Q5.26
multiplier (``PreprocessSoftmaxScaling``) and the cut-off below which exp() is taken as zero
(``CalculateInputRadius``). int16: two 513-entry tables (exp on [-10, 0], 1/(1+x) on [0, 1]) built
here, and a multiplier mapping input differences onto the exp table. float32: expf((x - max) * beta) / sum.

Kernel paths (``node.flavor``): the optimized kernels replace the 8-bit fixed-point kernel by a float
table (x86-64: every 8-bit input; arm64: 8-bit -> int16) or, on arm64, a 16-bit split table for int8 ->
int8 and uint8 -> uint8 (kernels/softmax_table.py). int16 runs the reference kernel on every path.
float32: optimized runs Eigen's expressions (kernels/softmax_eigen.py, bit-exact); xnnpack runs the
reference arithmetic, which agrees with XNNPACK's own exp within the float tolerance. XNNPACK takes
only float SOFTMAX with beta == 1.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from litelens.kernels import lut
from litelens.kernels import softmax as kernels
from litelens.kernels import softmax_table
from litelens.kernels.softmax_eigen import softmax_float_eigen
from litelens.kernels.fixedpoint import quantize_multiplier
from litelens.errors import InputError
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.registry import register

_TYPE_RANGE = {"int8": (-128, 127), "uint8": (0, 255), "int16": (-32768, 32767)}


@dataclass(frozen=True)
class SoftmaxOptions:
    beta: float = 0.0  # schema default; the converter writes 1.0


@dataclass(frozen=True)
class QuantizedSoftmaxParams:
    input_multiplier: int  # Q5.26 rescale of (x - max): beta * input_scale * 2**26 = M * 2**(left_shift - 31)
    input_left_shift: int
    diff_min: int  # x - max below this contributes exp() == 0 and outputs out_min
    out_bits: int  # 8 or 16: the output is in units of 2**-out_bits
    out_min: int
    out_max: int
    where: str  # "op N SOFTMAX", for run-time errors
    exp_table: np.ndarray  # int64 [256]: exp(-k) in Q0.31 for k = max - x (0 below diff_min)
    acc_table: np.ndarray  # int64 [256]: the same rescaled to the Q12.19 accumulator
    row_table: np.ndarray  # int64 [256] scratch: one row's output for each k


@dataclass(frozen=True)
class Int16SoftmaxParams:
    input_multiplier: int  # input_scale * beta / (10 / 65535) = M * 2**(shift - 31)
    input_shift: int
    exp_table: np.ndarray  # int16 [513]: exp(x) for x in [-10, 0], Q0.15
    reciprocal_table: np.ndarray  # int16 [513]: 1 / (1 + x) for x in [0, 1], Q0.15


@dataclass(frozen=True)
class TableSoftmaxParams:
    """optimized 8-bit input: ``PopulateSoftmaxLookupTable`` (float) or ``PopulateSoftmaxUInt8LookupTable`` (arm64)."""

    table: np.ndarray  # float32 [256]: expf(-scale*beta*(255 - i)); or int64 [256] 16-bit values (split_lut)
    split_lut: bool  # arm64 SoftmaxInt8LUT
    offset: int  # split_lut: 0x80 for int8 input (codes read as bytes xor 0x80)
    output_scale: float
    zero_point: int
    out_min: int
    out_max: int
    truncate: bool  # x86 uint8 output: int(p + 0.5f), zero point ignored


@dataclass(frozen=True)
class FloatSoftmaxParams:
    beta: float
    eigen: bool = False  # optimized: optimized_ops::SoftmaxImpl


def preprocess_softmax_scaling(beta: float, input_scale: float, input_integer_bits: int) -> tuple[int, int]:
    """``PreprocessSoftmaxScaling`` (quantization_util.cc): real = min(beta*scale*2**(31-bits), 2**31-1)."""
    real = min(beta * input_scale * float(1 << (31 - input_integer_bits)), float(2**31 - 1))
    return real, quantize_multiplier(real)


def calculate_input_radius(input_integer_bits: int, input_left_shift: int, total_signed_bits: int = 31) -> int:
    """``CalculateInputRadius``: floor((2**bits - 1) * 2**(total - bits) / 2**left_shift)."""
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1) * (1 << (total_signed_bits - input_integer_bits))
                          / (1 << input_left_shift))
    return int(math.floor(max_input_rescaled))


@register("SOFTMAX")
class Softmax(Op):
    def parse_options(self, raw):
        return SoftmaxOptions(0.0 if raw is None else float(raw.Beta()))

    def xnnpack_rejects(self, node: Node) -> str | None:
        """xnnpack_delegate.cc ``VisitSoftmaxNode``: beta == 1 (float32 compare), float input and output."""
        x, out = node.input(0), node.outputs[0]
        if np.float32(node.options.beta) != np.float32(1.0):
            return f"beta {node.options.beta!r} is not 1"
        for t in (x, out):
            if t.dtype not in (np.float32, np.float16):
                return f"{t.describe()} is not float (the delegate takes float SOFTMAX only)"
        return None

    def prepare(self, node: Node) -> Prepared:
        node.expect_counts(1)
        x, out = node.input(0), node.outputs[0]
        if node.flavor == "xnnpack" and len(x.shape) > 6:
            raise node.error("the official XNNPACK delegate takes this op but fails to define its rank > 6 "
                             "tensors (XNN_MAX_TENSOR_DIMS), so the official interpreter refuses the model")
        if len(x.shape) < 1:
            raise node.error(f"{x.describe()} must have rank >= 1 (softmax runs over the last axis)")
        node.expect_dtype(x, np.float32, np.int8, np.uint8, np.int16)
        beta = node.options.beta
        if x.dtype == np.float32:
            node.expect_dtype(out, np.float32)
            # arm64 Eigen uses fused multiply-adds in pexp: the reference arithmetic (within tolerance) there.
            eigen = node.flavor == "optimized" and node.arch == "x86_64"
            return Prepared(FloatSoftmaxParams(beta, eigen=eigen), [x.shape])
        if not math.isfinite(beta):  # the quantized kernels turn beta into an integer multiplier
            raise node.error(f"beta {beta!r} is not a finite number")
        if x.dtype == np.int16:
            return Prepared(self._prepare_int16(node, beta), [x.shape])
        if node.flavor != "reference":
            return Prepared(self._prepare_table(node, beta), [x.shape])
        return Prepared(self._prepare_quantized(node, beta), [x.shape])

    @staticmethod
    def _check_8bit_output(node: Node):
        x, out = node.input(0), node.outputs[0]
        if x.dtype == np.int8:
            node.expect_dtype(out, np.int8, np.int16)
        else:
            node.expect_dtype(out, np.uint8, np.int16)
        qx, qout = node.expect_quantized(x), node.expect_quantized(out)
        if x.dtype == np.int8 and out.dtype == np.int8:
            if qout.single_zero_point != -128 or abs(qout.single_scale - 1 / 256) > 0.001 / 256:
                raise node.error(f"{out.describe()} must have scale 1/256 and zero point -128, has "
                                 f"{qout.single_scale!r} and {qout.single_zero_point}")
        return qx, qout

    @classmethod
    def _prepare_table(cls, node: Node, beta: float) -> TableSoftmaxParams:
        """The optimized kernels' Prepare (activations.cc SoftmaxPrepare, kernel_type != kReference)."""
        x, out = node.input(0), node.outputs[0]
        qx, qout = cls._check_8bit_output(node)
        out_min, out_max = _TYPE_RANGE[out.dtype.name]
        split_lut = node.arch == "arm64" and out.dtype.itemsize == 1
        if split_lut:
            table = np.zeros(256, np.int64)
            softmax_table.uint16_table(table, np.float32(qx.scale[0]) * np.float32(beta))
        else:
            table = np.zeros(256, np.float32)
            softmax_table.float_table(table, -np.float32(qx.scale[0]) * np.float32(beta))
        table.flags.writeable = False
        return TableSoftmaxParams(table, split_lut, 0x80 if x.dtype == np.int8 else 0, float(np.float32(qout.scale[0])),
                                  qout.single_zero_point, out_min, out_max,
                                  truncate=out.dtype == np.uint8 and node.arch != "arm64")

    @staticmethod
    def _prepare_int16(node: Node, beta: float) -> Int16SoftmaxParams:
        x, out = node.input(0), node.outputs[0]
        node.expect_dtype(out, np.int16)
        qx, qout = node.expect_quantized(x), node.expect_quantized(out)
        if qx.single_zero_point != 0 or qout.single_zero_point != 0:
            raise node.error("int16 SOFTMAX needs zero point 0 on input and output")
        if abs(qout.single_scale - 1 / 32768) > 0.001 / 32768:
            raise node.error(f"{out.describe()} must have scale 1/32768, has {qout.single_scale!r}")
        span = 65535  # int16 max - min
        exp_table = np.empty(513, np.int16)
        lut.populate_lut_int16_f64(exp_table, 10.0 / span, 32767, 2.0 / span, 0, lut.EXP)
        reciprocal_table = np.empty(513, np.int16)
        lut.populate_lut_int16_f64(reciprocal_table, 1.0 / span, -32768, 2.0 / span, 0, lut.ONE_OVER_ONE_PLUS_X)
        # input->params.scale * params->beta is a float product, then divided in double.
        real = float(np.float32(qx.scale[0]) * np.float32(beta)) / (10.0 / 65535.0)
        multiplier, shift = quantize_multiplier(real)
        exp_table.flags.writeable = reciprocal_table.flags.writeable = False
        return Int16SoftmaxParams(multiplier, shift, exp_table, reciprocal_table)

    @classmethod
    def _prepare_quantized(cls, node: Node, beta: float) -> QuantizedSoftmaxParams:
        out = node.outputs[0]
        qx, _ = cls._check_8bit_output(node)
        real, (multiplier, left_shift) = preprocess_softmax_scaling(
            float(beta), float(qx.single_scale), kernels.SCALED_DIFF_INTEGER_BITS)
        if not real > 1.0:  # QuantizeMultiplierGreaterThanOne: TFLITE_CHECK_GT(real, 1) aborts
            raise node.error(f"beta * input scale ({beta!r} * {qx.single_scale!r}) is too small for the "
                             "quantized kernel (beta * scale * 2**26 must exceed 1)")
        out_min, out_max = _TYPE_RANGE[out.dtype.name]
        diff_min = -calculate_input_radius(kernels.SCALED_DIFF_INTEGER_BITS, left_shift)
        exp_table, acc_table = np.zeros(256, np.int64), np.zeros(256, np.int64)  # 8-bit input: k in [0, 255]
        kernels.exp_tables(exp_table, acc_table, multiplier, left_shift, diff_min)
        exp_table.flags.writeable = acc_table.flags.writeable = False
        return QuantizedSoftmaxParams(
            exp_table=exp_table,
            acc_table=acc_table,
            row_table=np.zeros(256, np.int64),
            input_multiplier=multiplier,
            input_left_shift=left_shift,
            diff_min=diff_min,
            out_bits=8 * out.dtype.itemsize,
            out_min=out_min,
            out_max=out_max,
            where=f"op {node.index} {node.opcode}",
        )

    def eval(self, params, inputs, outputs):
        x, out = inputs[0], outputs[0]
        if x.size == 0:
            return
        depth = x.shape[-1]
        x2, out2 = x.reshape(-1, depth), out.reshape(-1, depth)  # [..., depth] -> [rows, depth]
        if isinstance(params, TableSoftmaxParams):
            if params.split_lut:
                softmax_table.uint16_lut_rows(out2, x2, params.table, params.offset, params.output_scale,
                                              params.zero_point, params.out_min, params.out_max)
            else:
                softmax_table.float_table_rows(out2, x2, params.table, params.output_scale, params.zero_point,
                                               params.out_min, params.out_max, params.truncate)
        elif isinstance(params, FloatSoftmaxParams) and params.eigen:
            softmax_float_eigen(out2, x2, params.beta)
        elif isinstance(params, FloatSoftmaxParams):
            kernels.softmax_float(out2, x2, params.beta)
        elif isinstance(params, Int16SoftmaxParams):
            kernels.softmax_int16(out2, x2, params.input_multiplier, params.input_shift, params.exp_table,
                                  params.reciprocal_table)
        else:
            bad_row = kernels.softmax_quantized_rows(out2, x2, params.exp_table, params.acc_table, -params.diff_min,
                                                     params.out_bits, params.out_min, params.out_max, params.row_table)
            if bad_row >= 0:
                raise InputError(
                    f"{params.where}: row {bad_row}: the sum of exponentials is too large for the quantized kernel "
                    f"(too many entries near the row maximum for {params.out_bits}-bit output); the official "
                    "reference kernel aborts on this input")
