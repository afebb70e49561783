"""The float64 real-arithmetic twin of every op litelens runs.

``run_shadow(node, params, inputs)`` computes what an op means in exact real arithmetic (float64)
from real-valued inputs: no rounding to codes, no clamp to a type's range, only the op's own
semantics (a fused RELU / RELU6 / RELU_N1_TO_1 included). It serves twice:

* local error: applied to the op's own dequantized inputs, it gives the exact answer the quantized
  op approximates, so the difference is what this op alone injects;
* propagated error: chained over the graph from the model inputs (the whole network in float64),
  it gives what has accumulated by each tensor.

Ops that only move data (RESHAPE, TRANSPOSE, GATHER, SLICE, PAD, CONCATENATION, ...) are exact.
An output that is an unquantized integer (an index, a mask cast to int) keeps integer semantics
(the real result truncated toward zero, as a C cast). QUANTIZE and DEQUANTIZE are the identity on
real values. An op without a shadow raises :class:`NoShadow` and is reported as such, never guessed.

Everything comes from the node (options, constant inputs, shapes), except the window of a
STRIDED_SLICE, whose mask semantics the op's Prepare has already resolved into ``params``.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np

from litelens.inspect.values import is_quantized
from litelens.ops.base import Node

NONE, RELU, RELU_N1_TO_1, RELU6 = 0, 1, 2, 3  # schema ActivationFunctionType
# Ops that only move data: exact in the shadow, and nothing to explain but a copy.
DATA_MOVEMENT = frozenset({"RESHAPE", "SQUEEZE", "EXPAND_DIMS", "TRANSPOSE", "GATHER", "SLICE", "STRIDED_SLICE",
                           "PAD", "PADV2", "CONCATENATION"})


class NoShadow(Exception):
    """The op has no real-valued twin (unknown op, or a variant with no real-valued meaning)."""


SHADOWS: dict[str, Callable] = {}


def shadow(*opcodes: str):
    def wrap(fn):
        for opcode in opcodes:
            SHADOWS[opcode] = fn
        return fn

    return wrap


def has_shadow(opcode: str) -> bool:
    return opcode in SHADOWS


def run_shadow(node: Node, params, inputs: list[np.ndarray | None]) -> list[np.ndarray]:
    """The op's outputs in real arithmetic (float64), shaped like its outputs."""
    fn = SHADOWS.get(node.opcode)
    if fn is None:
        raise NoShadow(f"{node.opcode} has no real-valued shadow in litelens.inspect")
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        outputs = fn(node, params, inputs)
    results = []
    for value, t in zip(outputs, node.outputs):
        value = np.asarray(value, dtype=np.float64).reshape(t.shape)
        if t.dtype.kind in "iu" and not is_quantized(t.dtype, t.quantization):
            value = np.trunc(value)  # an unquantized integer output keeps integer semantics
        elif t.dtype.kind == "b":
            value = (value != 0).astype(np.float64)
        results.append(value)
    return results


# ---------------------------------------------------------------------- helpers
def activation_of(node: Node) -> int:
    """The fused activation of a node, from whichever parsed options record its op keeps."""
    options = node.options
    if options is None:
        return NONE
    if isinstance(options, (int, np.integer)):
        return int(options)
    if hasattr(options, "activation"):
        return int(options.activation)
    raise NoShadow(f"cannot tell the fused activation of {node.opcode} from its options {options!r}")


def apply_activation(x: np.ndarray, activation: int) -> np.ndarray:
    """RELU, RELU6 and RELU_N1_TO_1 clamp. Like the official kernels, a fused TANH or SIGN_BIT on these
    ops clamps nothing (float and quantized kernels alike)."""
    if activation == RELU:
        return np.maximum(x, 0.0)
    if activation == RELU6:
        return np.clip(x, 0.0, 6.0)
    if activation == RELU_N1_TO_1:
        return np.clip(x, -1.0, 1.0)
    return x


def _out_shape(node: Node, i: int = 0) -> tuple[int, ...]:
    return tuple(node.outputs[i].shape)


def _integer_output(node: Node) -> bool:
    t = node.outputs[0]
    return t.dtype.kind in "iu" and not is_quantized(t.dtype, t.quantization)


def _constant(node: Node, i: int, what: str) -> np.ndarray:
    t = node.input(i)
    if t.data is None:
        raise NoShadow(f"{node.opcode}: {what} is not a constant")
    return np.asarray(t.data)


# ---------------------------------------------------------------------- elementwise binary
@shadow("ADD")
def _add(node, params, inputs):
    return [apply_activation(inputs[0] + inputs[1], activation_of(node))]


@shadow("SUB")
def _sub(node, params, inputs):
    return [apply_activation(inputs[0] - inputs[1], activation_of(node))]


@shadow("MUL")
def _mul(node, params, inputs):
    return [apply_activation(inputs[0] * inputs[1], activation_of(node))]


@shadow("DIV")
def _div(node, params, inputs):
    quotient = inputs[0] / inputs[1]
    if _integer_output(node):  # int32 DIV: C++ integer division truncates toward zero
        quotient = np.trunc(quotient)
    return [apply_activation(quotient, activation_of(node))]


@shadow("SQUARED_DIFFERENCE")
def _squared_difference(node, params, inputs):
    return [np.square(inputs[0] - inputs[1])]


@shadow("MAXIMUM")
def _maximum(node, params, inputs):
    return [np.maximum(inputs[0], inputs[1])]


@shadow("MINIMUM")
def _minimum(node, params, inputs):
    return [np.minimum(inputs[0], inputs[1])]


# ---------------------------------------------------------------------- matrix products
@shadow("FULLY_CONNECTED")
def _fully_connected(node, params, inputs):
    x, w = inputs[0], inputs[1]
    bias = inputs[2] if len(inputs) > 2 else None
    n, k = w.shape
    batch = int(np.prod(_out_shape(node), dtype=np.int64)) // n if n else 0
    y = x.reshape(batch, k) @ w.T  # [batch, K] x [K, N] -> [batch, N]
    if bias is not None:
        y = y + bias.reshape(n)
    return [apply_activation(y, activation_of(node)).reshape(_out_shape(node))]


@shadow("BATCH_MATMUL")
def _batch_matmul(node, params, inputs):
    lhs_t, out_t = node.input(0), node.outputs[0]
    if out_t.dtype == np.int32 and is_quantized(lhs_t.dtype, lhs_t.quantization) and out_t.quantization is None:
        raise NoShadow("int8 x int8 -> int32 BATCH_MATMUL sums raw codes (zero points ignored): its output has "
                       "no real-valued meaning")
    lhs, rhs = inputs
    if node.options.adj_x:
        lhs = np.swapaxes(lhs, -1, -2)
    if node.options.adj_y:
        rhs = np.swapaxes(rhs, -1, -2)
    return [np.matmul(lhs, rhs)]  # [..., M, K] x [..., K, N] -> [..., M, N], batch dims broadcast


# ---------------------------------------------------------------------- activations
@shadow("SOFTMAX")
def _softmax(node, params, inputs):
    x = inputs[0] * float(node.options.beta)
    x = x - x.max(axis=-1, keepdims=True)
    e = np.exp(x)
    return [e / e.sum(axis=-1, keepdims=True)]


@shadow("LOG_SOFTMAX")
def _log_softmax(node, params, inputs):
    x = inputs[0] - inputs[0].max(axis=-1, keepdims=True)
    return [x - np.log(np.exp(x).sum(axis=-1, keepdims=True))]


@shadow("TANH")
def _tanh(node, params, inputs):
    return [np.tanh(inputs[0])]


@shadow("LOGISTIC")
def _logistic(node, params, inputs):
    return [0.5 * (1.0 + np.tanh(0.5 * inputs[0]))]  # = 1 / (1 + exp(-x)), without overflow


_erf = np.frompyfunc(math.erf, 1, 1)


@shadow("GELU")
def _gelu(node, params, inputs):
    x = inputs[0]
    if getattr(node.options, "approximate", False):
        return [0.5 * x * (1.0 + np.tanh(math.sqrt(2.0 / math.pi) * (x + 0.044715 * x ** 3)))]
    return [0.5 * x * (1.0 + _erf(x / math.sqrt(2.0)).astype(np.float64))]


@shadow("RSQRT")
def _rsqrt(node, params, inputs):
    return [1.0 / np.sqrt(inputs[0])]


@shadow("SQRT")
def _sqrt(node, params, inputs):
    return [np.sqrt(inputs[0])]


@shadow("EXP")
def _exp(node, params, inputs):
    return [np.exp(inputs[0])]


@shadow("LOG")
def _log(node, params, inputs):
    return [np.log(inputs[0])]


@shadow("SQUARE")
def _square(node, params, inputs):
    return [np.square(inputs[0])]


@shadow("ABS")
def _abs(node, params, inputs):
    return [np.abs(inputs[0])]


@shadow("NEG")
def _neg(node, params, inputs):
    return [-inputs[0]]


@shadow("RELU")
def _relu(node, params, inputs):
    return [np.maximum(inputs[0], 0.0)]


@shadow("RELU6")
def _relu6(node, params, inputs):
    return [np.clip(inputs[0], 0.0, 6.0)]


@shadow("RELU_N1_TO_1")
def _relu_n1_to_1(node, params, inputs):
    return [np.clip(inputs[0], -1.0, 1.0)]


@shadow("HARD_SWISH")
def _hard_swish(node, params, inputs):
    x = inputs[0]
    return [x * np.clip(x + 3.0, 0.0, 6.0) / 6.0]


L2_EPSILON = 1e-6  # reference_ops::L2Normalization: max(sqrt(sum of squares), 1e-6)


@shadow("L2_NORMALIZATION")
def _l2_normalization(node, params, inputs):
    x = inputs[0]
    norm = np.sqrt(np.square(x).sum(axis=-1, keepdims=True))
    return [apply_activation(x / np.maximum(norm, L2_EPSILON), activation_of(node))]


# ---------------------------------------------------------------------- conversions
@shadow("QUANTIZE", "DEQUANTIZE")
def _identity(node, params, inputs):
    return [inputs[0]]


@shadow("CAST")
def _cast(node, params, inputs):
    return [inputs[0]]  # run_shadow truncates for integer outputs and maps to 0/1 for bool


# ---------------------------------------------------------------------- reductions
def _reduce_axes(node: Node, rank: int) -> tuple[int, ...]:
    axes = _constant(node, 1, "the axis tensor").reshape(-1).tolist()
    return tuple(sorted({a + rank if a < 0 else a for a in axes})) if rank else ()


@shadow("MEAN")
def _mean(node, params, inputs):
    x = inputs[0]
    axes = _reduce_axes(node, x.ndim)
    if x.size == 0:
        return [np.full(_out_shape(node), np.nan)]
    return [x.mean(axis=axes, keepdims=True) if axes else x]


@shadow("SUM")
def _sum(node, params, inputs):
    x = inputs[0]
    axes = _reduce_axes(node, x.ndim)
    return [x.sum(axis=axes, keepdims=True) if axes else x]


# ---------------------------------------------------------------------- data movement (exact)
@shadow("RESHAPE", "SQUEEZE", "EXPAND_DIMS")
def _reshape(node, params, inputs):
    return [inputs[0].reshape(_out_shape(node))]


@shadow("TRANSPOSE")
def _transpose(node, params, inputs):
    perm = [int(p) for p in _constant(node, 1, "the permutation").reshape(-1)]
    return [np.transpose(inputs[0], perm)]


@shadow("SLICE")
def _slice(node, params, inputs):
    begin = _constant(node, 1, "begin").reshape(-1).tolist()
    size = _constant(node, 2, "size").reshape(-1).tolist()
    window = tuple(slice(b, None if s == -1 else b + s) for b, s in zip(begin, size))
    return [inputs[0][window]]


@shadow("STRIDED_SLICE")
def _strided_slice(node, params, inputs):
    """The masks' semantics are resolved by the op's Prepare into ``params``, a tuple of slices, indices
    and newaxis; any other form of params is run through the op's own Eval on float64 arrays (it only
    indexes, whatever the dtype)."""
    if isinstance(params, tuple):
        return [inputs[0][params].reshape(_out_shape(node))]
    return [_own_eval(node, params, inputs)]


def _own_eval(node, params, inputs) -> np.ndarray:
    from litelens.ops import lookup

    out = np.zeros(_out_shape(node), dtype=np.float64)
    lookup(node.opcode)().eval(params, inputs, [out])
    return out


@shadow("PAD", "PADV2")
def _pad(node, params, inputs):
    fill = 0.0  # PAD fills with the zero point: real 0
    if node.opcode == "PADV2" and len(inputs) > 2 and inputs[2] is not None:
        fill = float(np.asarray(inputs[2]).reshape(-1)[0])
    paddings = _constant(node, 1, "paddings").reshape(-1, 2)
    window = tuple(slice(int(before), int(before) + d) for (before, _), d in zip(paddings, inputs[0].shape))
    out = np.full(_out_shape(node), fill)
    out[window] = inputs[0]
    return [out]


@shadow("CONCATENATION")
def _concatenation(node, params, inputs):
    rank = inputs[0].ndim
    axis = node.options.axis + rank if node.options.axis < 0 else node.options.axis
    return [apply_activation(np.concatenate(inputs, axis=axis), activation_of(node))]


def _prod(dims) -> int:
    return int(np.prod(dims, dtype=np.int64))


@shadow("GATHER")
def _gather(node, params, inputs):
    values, indices = inputs[0], np.rint(inputs[1]).astype(np.int64)
    rank = values.ndim
    axis = node.options.axis + rank if node.options.axis < 0 else node.options.axis
    batch_dims = node.options.batch_dims
    if batch_dims < 0:
        batch_dims += indices.ndim
    if indices.size and (indices.min() < 0 or indices.max() >= values.shape[axis]):
        raise NoShadow(f"GATHER: an index is out of range [0, {values.shape[axis]}) in the shadow run")
    batch, outer = _prod(values.shape[:batch_dims]), _prod(values.shape[batch_dims:axis])
    inner = _prod(values.shape[axis + 1:])
    v = values.reshape(batch, outer, values.shape[axis], inner)
    flat = indices.reshape(batch, -1)  # [batch, n]
    picked = v[np.arange(batch)[:, None], :, flat, :]  # [batch, n, outer, inner]
    return [picked.transpose(0, 2, 1, 3).reshape(_out_shape(node))]
