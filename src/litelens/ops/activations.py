"""TANH, LOGISTIC and GELU (kernels/activations.cc).

8-bit inputs run through a 256-entry table built in Prepare (``LUTPopulate``: dequantize the code,
apply the float32 function, requantize); int16 GELU through a 513-entry interpolated table; int16
TANH/LOGISTIC through the fixed-point kernels of reference/integer_ops/tanh.h and logistic.h, which
interpolate in the 256-entry sigmoid table (``lut.sigmoid_table_uint16``); float32 inputs run the
reference float kernels.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.kernels import gemmlowp16, lut
from litelens.kernels.float_logistic import logistic_eigen_f32
from litelens.kernels.xnnpack_gelu import APPROX_GELU_CONSTANTS, GELU_CONSTANTS, xnnpack_gelu_f32
from litelens.kernels.xnnpack_elementwise import flush_subnormals_inplace
from litelens.kernels.xnnpack_lut import xnnpack_table_8bit
from litelens.ops.add_sub import checked_log2
from litelens.ops.base import Node, Op, Prepared
from litelens.ops.binary_common import xnnpack_unary_rejects
from litelens.ops.registry import register

_QMIN = {"int8": -128, "uint8": 0}


@dataclass(frozen=True)
class TableParams:
    """8-bit path: output = table[input - qmin]."""

    table: np.ndarray  # [256] of the output dtype, entry i for input code qmin + i
    qmin: int


@dataclass(frozen=True)
class Table16Params:
    """int16 path: output = interpolated lookup in a 513-entry table."""

    table: np.ndarray  # int16 [513]


@dataclass(frozen=True)
class Sigmoid16Params:
    """int16 TANH/LOGISTIC: the input rescaled to 1/(3 * 4096), then interpolated in the sigmoid table."""

    func: int  # lut.TANH or lut.LOGISTIC
    input_multiplier: int  # 0: power-of-two input scale, the kernel multiplies by 3 << input_left_shift
    input_left_shift: int
    table: np.ndarray  # uint16 [256], sigmoid(i / 24) in 0.16 fixed point


@dataclass(frozen=True)
class Gemmlowp16Params:
    """Optimized int16 TANH/LOGISTIC with a power-of-two input scale: gemmlowp's Q3.12 -> Q0.15
    tanh/logistic (kernels/gemmlowp16.py), tabulated for all 65536 inputs."""

    table: np.ndarray  # int16 [65536], entry x + 32768


@dataclass(frozen=True)
class FloatParams:
    func: int  # lut.TANH / lut.LOGISTIC / lut.GELU / lut.GELU_APPROXIMATE
    flush_subnormals: bool = False  # XNNPACK: results flushed to zero (MXCSR FTZ)


EIGEN_LOGISTIC = -1  # FloatParams.func: optimized / XNNPACK float LOGISTIC (kernels/float_logistic.py)
XNNPACK_GELU, XNNPACK_APPROX_GELU = -2, -3  # FloatParams.func: XNNPACK float GELU (kernels/xnnpack_gelu.py)
_SIGMOID16_OUTPUT_LOG2 = -15  # kOutputFractionalBits: the int16 output scale must be 2**-15
_SIGMOID16_POT_SHIFTS = {lut.TANH: (0, 1), lut.LOGISTIC: (0,)}  # input scales 2**-12 (and 2**-11 for TANH)
_SIGMOID_TABLE = lut.sigmoid_table_uint16()


def sigmoid16_input_scaling(input_scale: float, pot_left_shifts: tuple) -> tuple[int, int]:
    """The input half of ``TanhPrepare`` / ``SigmoidPrepare`` for int16: (input_multiplier, input_left_shift).

    Power-of-two path: scale 2**e (``CheckedLog2``) with left shift 12 + e in ``pot_left_shifts``:
    multiplier 0, which the kernel reads as 3 << shift. Otherwise M = scale * 4096 * 3 (in double) is
    doubled while M <= 32767 / 2 and the shift <= 30, then truncated to int32 (x86 ``cvttsd2si``:
    out of range gives INT32_MIN).
    """
    is_pot, log2 = checked_log2(input_scale)
    if is_pot and 12 + log2 in pot_left_shifts:
        return 0, 12 + log2
    multiplier, left_shift = float(np.float32(input_scale)) * 4096.0 * 3.0, 0
    while multiplier <= 32767.0 / 2.0 and left_shift <= 30:
        left_shift += 1
        multiplier *= 2.0
    if not -2147483649.0 < multiplier < 2147483648.0:
        return lut.INT32_MIN, left_shift
    return int(multiplier), left_shift


def _prepare_sigmoid16(node: Node, func: int, qx, qout) -> Prepared:
    """``TanhPrepare`` / ``SigmoidPrepare`` for int16 (activations.cc, reference kernel)."""
    x, out = node.input(0), node.outputs[0]
    for t, q in ((x, qx), (out, qout)):
        if q.single_zero_point != 0:
            raise node.error(f"{t.describe()} has zero point {q.single_zero_point}; int16 {node.opcode} "
                             "needs symmetric quantization (zero point 0)")
    if func == lut.LOGISTIC and qout.single_scale != 1.0 / 32768:
        raise node.error(f"{out.describe()} must have scale 1/32768 for an int16 LOGISTIC, "
                         f"has {qout.single_scale!r}")
    is_pot, log2 = checked_log2(qout.single_scale)
    if not is_pot or log2 != _SIGMOID16_OUTPUT_LOG2:
        raise node.error(f"{out.describe()} must have scale 2**-15 (within CheckedLog2's 1e-3) for an int16 "
                         f"{node.opcode}, has {qout.single_scale!r}")
    multiplier, left_shift = sigmoid16_input_scaling(qx.single_scale, _SIGMOID16_POT_SHIFTS[func])
    if node.flavor != "reference" and multiplier == 0:
        # optimized_ops Tanh/Logistic int16 (power-of-two input scale): gemmlowp fixed point, tabulated
        table = gemmlowp16.tanh_table(left_shift) if func == lut.TANH else gemmlowp16.logistic_table()
        table.flags.writeable = False
        return Prepared(Gemmlowp16Params(table), [x.shape])
    return Prepared(Sigmoid16Params(func, multiplier, left_shift, _SIGMOID_TABLE), [x.shape])


def _prepare_elementwise(node: Node, func: int, check_quantized=None, int16: bool = False) -> Prepared:
    """``int16``: whether the op takes int16 (TANH/LOGISTIC by the sigmoid table, GELU by a 513-entry LUT)."""
    node.expect_counts(1)
    x, out = node.input(0), node.outputs[0]
    node.expect_dtype(x, np.float32, np.int8, np.uint8, *([np.int16] if int16 else []))
    if out.dtype != x.dtype:
        raise node.error(f"input {x.describe()} and output {out.describe()} must have the same dtype")
    if x.dtype == np.float32:
        if func == lut.LOGISTIC and node.flavor != "reference":
            return Prepared(FloatParams(EIGEN_LOGISTIC), [x.shape])
        if func in (lut.GELU, lut.GELU_APPROXIMATE) and node.flavor == "xnnpack":
            return Prepared(FloatParams(XNNPACK_GELU if func == lut.GELU else XNNPACK_APPROX_GELU), [x.shape])
        return Prepared(FloatParams(func, flush_subnormals=node.flavor == "xnnpack"), [x.shape])
    qx, qout = node.expect_quantized(x), node.expect_quantized(out)
    if x.dtype == np.int16 and func in _SIGMOID16_POT_SHIFTS:
        return _prepare_sigmoid16(node, func, qx, qout)
    if x.dtype == np.int16:
        table16 = np.empty(513, np.int16)
        lut.populate_lut_int16_f32(table16, qx.single_scale, qx.single_zero_point, qout.single_scale,
                                   qout.single_zero_point, func)
        table16.flags.writeable = False
        return Prepared(Table16Params(table16), [x.shape])
    if check_quantized is not None:
        check_quantized(node, qout)
    qmin = _QMIN[x.dtype.name]
    if node.flavor == "xnnpack" and func in (lut.TANH, lut.LOGISTIC):
        table = xnnpack_table_8bit("tanh" if func == lut.TANH else "sigmoid", x.dtype, qx.single_scale,
                                   qx.single_zero_point, qout.single_scale, qout.single_zero_point)
        return Prepared(TableParams(table, qmin), [x.shape])
    table = np.empty(256, dtype=out.dtype)
    lut.populate_lut_8bit(table, qmin, qx.single_scale, qx.single_zero_point,
                          qout.single_scale, qout.single_zero_point, func)
    table.flags.writeable = False
    return Prepared(TableParams(table, qmin), [x.shape])


def _eval_elementwise(params, inputs, outputs):
    x, out = inputs[0].reshape(-1), outputs[0].reshape(-1)  # any shape -> [n]
    if isinstance(params, TableParams):
        lut.lookup_8bit(out, x, params.table, params.qmin)
    elif isinstance(params, Table16Params):
        lut.lookup_int16(out, x, params.table)
    elif isinstance(params, Gemmlowp16Params):
        gemmlowp16.lookup_int16_table(out, x, params.table)
    elif isinstance(params, Sigmoid16Params):
        kernel = lut.tanh_int16 if params.func == lut.TANH else lut.logistic_int16
        kernel(out, x, params.table, params.input_multiplier, params.input_left_shift)
    elif params.func == EIGEN_LOGISTIC:
        logistic_eigen_f32(out, x)
    elif params.func in (XNNPACK_GELU, XNNPACK_APPROX_GELU):
        xnnpack_gelu_f32(out, x, GELU_CONSTANTS if params.func == XNNPACK_GELU else APPROX_GELU_CONSTANTS)
    else:
        lut.elementwise_float(out, x, params.func)
        if params.flush_subnormals:
            flush_subnormals_inplace(out)


@register("TANH")
class Tanh(Op):
    """tanh; int8/uint8 by table (any output scale), int16 by the sigmoid table (output scale 2**-15),
    float32 with glibc ``tanhf``."""

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitUnaryNode``: float or per-tensor int8/uint8, rank <= 6, no empty dim."""
        return xnnpack_unary_rejects(node, quantized_8bit=True)

    def prepare(self, node: Node) -> Prepared:
        return _prepare_elementwise(node, lut.TANH, int16=True)

    eval = staticmethod(_eval_elementwise)


def _logistic_output_scale(node: Node, qout) -> None:
    # SigmoidPrepare: TF_LITE_ENSURE(output->params.scale == 1. / 256) (float compared as double).
    if float(qout.scale[0]) != 1.0 / 256:
        raise node.error(f"{node.outputs[0].describe()} must have scale 1/256 for a quantized LOGISTIC, "
                         f"has {float(qout.scale[0])!r}")


@register("LOGISTIC")
class Logistic(Op):
    """sigmoid; int8/uint8 by table (output scale must be 1/256), int16 by the sigmoid table (output
    scale 1/32768), float32 per reference/logistic.h."""

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitUnaryNode``: float or per-tensor int8/uint8, rank <= 6, no empty dim."""
        return xnnpack_unary_rejects(node, quantized_8bit=True)

    def prepare(self, node: Node) -> Prepared:
        return _prepare_elementwise(node, lut.LOGISTIC, _logistic_output_scale, int16=True)

    eval = staticmethod(_eval_elementwise)


@dataclass(frozen=True)
class GeluOptions:
    approximate: bool = False


@register("GELU")
class Gelu(Op):
    """GELU, exact (erfc) or tanh-approximated per GeluOptions.approximate. The 8/16-bit tables use
    glibc erfcf/tanhf (GeluTransform); the float32 kernel uses Eigen's approximations (lut.gelu_float)."""

    def parse_options(self, raw):
        return GeluOptions(False if raw is None else bool(raw.Approximate()))

    def xnnpack_rejects(self, node: Node) -> str | None:
        """``VisitUnaryNode``: GELU only in float (float32/float16), rank <= 6, no empty dim."""
        return xnnpack_unary_rejects(node, quantized_8bit=False)

    def prepare(self, node: Node) -> Prepared:
        return _prepare_elementwise(node, lut.GELU_APPROXIMATE if node.options.approximate else lut.GELU,
                                    int16=True)

    eval = staticmethod(_eval_elementwise)
