"""TANH, LOGISTIC and GELU (kernels/activations.cc).

8-bit inputs run through a 256-entry table built in Prepare (``LUTPopulate``: dequantize the code,
apply the float32 function, requantize); int16 GELU through a 513-entry interpolated table; float32
inputs run the reference float kernels. (int16 TANH/LOGISTIC use a fixed-point kernel with the
official constant sigmoid table, not implemented here.)
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from litelens.kernels import lut
from litelens.ops.base import Node, Op, Prepared
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
class FloatParams:
    func: int  # lut.TANH / lut.LOGISTIC / lut.GELU / lut.GELU_APPROXIMATE


def _prepare_elementwise(node: Node, func: int, check_quantized=None, int16: bool = False) -> Prepared:
    node.expect_counts(1)
    if node.flavor != "reference":
        raise node.error(f"flavor {node.flavor!r} is not implemented; only 'reference'")
    x, out = node.input(0), node.outputs[0]
    if x.dtype == np.int16 and not int16:
        raise node.error(f"int16 {node.opcode} is not implemented (the official kernel is fixed-point "
                         "with a constant sigmoid table); int8, uint8 and float32 are")
    node.expect_dtype(x, np.float32, np.int8, np.uint8, *([np.int16] if int16 else []))
    if out.dtype != x.dtype:
        raise node.error(f"input {x.describe()} and output {out.describe()} must have the same dtype")
    if x.dtype == np.float32:
        return Prepared(FloatParams(func), [x.shape])
    qx, qout = node.expect_quantized(x), node.expect_quantized(out)
    if x.dtype == np.int16:
        table16 = np.empty(513, np.int16)
        lut.populate_lut_int16_f32(table16, qx.single_scale, qx.single_zero_point, qout.single_scale,
                                   qout.single_zero_point, func)
        table16.flags.writeable = False
        return Prepared(Table16Params(table16), [x.shape])
    if check_quantized is not None:
        check_quantized(node, qout)
    qmin = _QMIN[x.dtype.name]
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
    else:
        lut.elementwise_float(out, x, params.func)


@register("TANH")
class Tanh(Op):
    """tanh; int8/uint8 by table (any output scale), float32 with glibc ``tanhf``."""

    def prepare(self, node: Node) -> Prepared:
        return _prepare_elementwise(node, lut.TANH)

    eval = staticmethod(_eval_elementwise)


def _logistic_output_scale(node: Node, qout) -> None:
    # SigmoidPrepare: TF_LITE_ENSURE(output->params.scale == 1. / 256) (float compared as double).
    if float(qout.scale[0]) != 1.0 / 256:
        raise node.error(f"{node.outputs[0].describe()} must have scale 1/256 for a quantized LOGISTIC, "
                         f"has {float(qout.scale[0])!r}")


@register("LOGISTIC")
class Logistic(Op):
    """sigmoid; int8/uint8 by table (output scale must be 1/256), float32 per reference/logistic.h."""

    def prepare(self, node: Node) -> Prepared:
        return _prepare_elementwise(node, lut.LOGISTIC, _logistic_output_scale)

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

    def prepare(self, node: Node) -> Prepared:
        return _prepare_elementwise(node, lut.GELU_APPROXIMATE if node.options.approximate else lut.GELU,
                                    int16=True)

    eval = staticmethod(_eval_elementwise)
