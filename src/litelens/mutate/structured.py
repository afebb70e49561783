"""Structured mutations: change one meaningful thing in a :class:`litelens.build.Model` and rebuild it.

Each mutator takes a model (which it may change in place: :func:`mutate_model` hands it a copy) and a
NumPy random generator, and returns a one-line description of what it did, or None when it does not
apply to this model. They target what a hostile or broken ``.tflite`` can get wrong while remaining a
well-formed FlatBuffer: shapes, dtypes, quantization, constant data, options, graph edges, opcodes.
"""
from __future__ import annotations

import struct
from dataclasses import replace
from typing import Callable

import numpy as np
import tflite

from litelens.build.model import Model, Operator, Tensor
from litelens.build.schema import options_table_for, table_fields

INT32_MIN, INT32_MAX = -(2**31), 2**31 - 1
# Dimensions and integers that break arithmetic: signs, zero, one, powers of two, int32 limits.
INTERESTING_INTS = (0, 1, -1, 2, 3, -2, 7, 8, 127, 128, -128, 255, 256, 32767, -32768, 65536,
                    2**24, 2**30, INT32_MAX, INT32_MIN, INT32_MAX - 1)
INTERESTING_DIMS = (0, 1, 2, 3, 5, 16, 1000, 2**16, 2**20, 2**30, INT32_MAX, -1, -2, INT32_MIN)
INTERESTING_FLOATS = (0.0, -0.0, -1.0, 1.0, 1e-45, 1e-38, 1e-30, 1e-10, 1e10, 1e30, 3.4e38,
                      float("nan"), float("inf"), -float("inf"), 0.5, 2.0**-31, 2.0**31)
DTYPES = ("float32", "float16", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32", "int64",
          "bool")
ODD_TYPES = ("STRING", "COMPLEX64", "COMPLEX128", "INT4", "RESOURCE", "VARIANT", "UINT64", "FLOAT64")
ALL_TABLES = sorted(k for k in vars(tflite.BuiltinOptions) if not k.startswith("_") and k != "NONE")


def copy_model(model: Model) -> Model:
    """A copy whose tensors and operators can be changed without touching ``model``."""
    return Model([t.copy() for t in model.tensors],
                 [replace(op, inputs=list(op.inputs), outputs=list(op.outputs),
                          options=None if op.options is None else dict(op.options)) for op in model.operators],
                 inputs=list(model.graph_inputs()), outputs=list(model.graph_outputs()),
                 signature=model.signature, description=model.description, subgraph_name=model.subgraph_name)


def _pick(rng, seq):
    return seq[int(rng.integers(len(seq)))]


def _tensor_index(model: Model, rng, want=None) -> int | None:
    candidates = [i for i, t in enumerate(model.tensors) if want is None or want(t)]
    return None if not candidates else _pick(rng, candidates)


def _set_tensor(model: Model, i: int, **changes) -> None:
    model.tensors[i] = model.tensors[i].copy(**changes)


# ---------------------------------------------------------------- shapes

def shape_dim(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: len(t.shape) > 0)
    if i is None:
        return None
    t = model.tensors[i]
    axis = int(rng.integers(len(t.shape)))
    old = t.shape[axis]
    new = int(_pick(rng, INTERESTING_DIMS + (old + 1, max(old - 1, 0), old * 2)))
    new = min(max(new, INT32_MIN), INT32_MAX)
    shape = list(t.shape)
    shape[axis] = new
    model.tensors[i] = replace(t, shape=tuple(shape))
    return f"tensor {i} shape {list(t.shape)} -> {shape}"


def shape_rank(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng)
    t = model.tensors[i]
    shape = list(t.shape)
    choice = int(rng.integers(4))
    if choice == 0 and shape:
        shape.pop(int(rng.integers(len(shape))))
    elif choice == 1:
        shape.insert(int(rng.integers(len(shape) + 1)), int(_pick(rng, (1, 1, 2, 0))))
    elif choice == 2:
        shape = []
    else:
        shape = shape + [1] * int(rng.integers(1, 8))
    model.tensors[i] = replace(t, shape=tuple(shape))
    return f"tensor {i} shape {list(t.shape)} -> {shape}"


def shape_signature(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng)
    t = model.tensors[i]
    sig = [int(_pick(rng, (-1, d, 0, INT32_MAX, -5))) for d in t.shape]
    if rng.integers(3) == 0:
        sig.append(-1)
    _set_tensor(model, i, shape_signature=sig)
    return f"tensor {i} shape_signature -> {sig}"


# ---------------------------------------------------------------- types

def dtype(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng)
    t = model.tensors[i]
    if rng.integers(5) == 0:
        odd = _pick(rng, ODD_TYPES)
        _set_tensor(model, i, type=odd)
        return f"tensor {i} type -> {odd}"
    new = np.dtype(_pick(rng, DTYPES))
    data = t.data
    if data is not None:
        raw = np.ascontiguousarray(data).tobytes()
        if rng.integers(2) == 0 or len(raw) % new.itemsize:
            data = data.astype(new)  # same element count, new bytes
        else:
            data = np.frombuffer(raw, new).copy()  # same bytes, another element count
    model.tensors[i] = Tensor(t.shape, new, t.name, None, t.scale, t.zero_point, t.axis, t.shape_signature,
                              t.is_variable, None, t.buffer)
    model.tensors[i].data = data
    return f"tensor {i} dtype {t.dtype.name} -> {new.name}"


def variable(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng)
    _set_tensor(model, i, is_variable=True)
    return f"tensor {i} is_variable"


# ---------------------------------------------------------------- quantization

def quant_drop(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: t.quantized)
    if i is None:
        return None
    _set_tensor(model, i, scale=None, zero_point=None)
    return f"tensor {i} quantization removed"


def quant_add(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: not t.quantized)
    if i is None:
        return None
    scale = float(_pick(rng, (0.05, 1.0, 1e-3) + INTERESTING_FLOATS))
    zp = int(_pick(rng, (0, 0, 1, -128, 127, 300, -2**40)))
    _set_tensor(model, i, scale=scale, zero_point=zp)
    return f"tensor {i} quantization added: scale {scale} zero point {zp}"


def quant_scale(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: t.quantized)
    if i is None:
        return None
    t = model.tensors[i]
    scales = t.scales().astype(np.float64)
    if rng.integers(3) == 0:  # a scale vector of another length (per-channel count wrong)
        n = int(_pick(rng, (0, 1, 2, scales.size + 1, max(scales.size - 1, 0), 1000)))
        new = [float(_pick(rng, (0.01, 0.5) + INTERESTING_FLOATS)) for _ in range(n)]
        zp = [0] * n if rng.integers(2) == 0 else t.zero_point
    else:
        new = scales.tolist() or [1.0]
        new[int(rng.integers(len(new)))] = float(_pick(rng, INTERESTING_FLOATS))
        zp = t.zero_point
    _set_tensor(model, i, scale=new, zero_point=zp)
    return f"tensor {i} scales -> {new[:6]}{'...' if len(new) > 6 else ''} ({len(new)})"


def quant_zero_point(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: t.quantized)
    if i is None:
        return None
    t = model.tensors[i]
    zps = t.zero_points().tolist()
    if rng.integers(3) == 0:
        zps = zps + [0] if rng.integers(2) == 0 else zps[:-1]
    elif zps:
        zps[int(rng.integers(len(zps)))] = int(_pick(rng, INTERESTING_INTS + (2**40, -2**63, 2**63 - 1)))
    _set_tensor(model, i, zero_point=zps)
    return f"tensor {i} zero points -> {zps[:6]} ({len(zps)})"


def quant_axis(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: t.quantized)
    if i is None:
        return None
    t = model.tensors[i]
    axis = int(_pick(rng, (-1, len(t.shape), len(t.shape) + 1, 100, INT32_MAX, 0, 1)))
    scale = t.scale
    if t.scales().size == 1 and rng.integers(2) == 0 and t.shape:  # make it per-channel on a wrong axis
        scale = [float(t.scales()[0])] * int(_pick(rng, (2, 3, max(t.shape))))
        _set_tensor(model, i, scale=scale, zero_point=0, axis=axis)
    else:
        _set_tensor(model, i, axis=axis)
    return f"tensor {i} quantized_dimension -> {axis} ({np.size(scale)} scales)"


# ---------------------------------------------------------------- constants

def const_values(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: t.data is not None and t.data.size > 0)
    if i is None:
        return None
    t = model.tensors[i]
    data = np.array(t.data).reshape(-1)
    k = int(rng.integers(data.size))
    if t.dtype.kind in "iu":
        info = np.iinfo(t.dtype)
        value = int(np.clip(_pick(rng, INTERESTING_INTS + (info.min, info.max, data.size, -data.size - 1)),
                            info.min, info.max))
    elif t.dtype.kind == "f":
        value = _pick(rng, INTERESTING_FLOATS)
    else:
        value = not bool(data[k])
    data[k] = value
    _set_tensor(model, i, data=data.reshape(t.data.shape))
    return f"constant {i} element {k} -> {value}"


def const_length(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: t.data is not None)
    if i is None:
        return None
    t = model.tensors[i]
    data = np.array(t.data).reshape(-1)
    n = int(_pick(rng, (0, 1, data.size + 1, max(data.size - 1, 0), data.size * 2 + 3)))
    new = np.resize(data, n) if data.size else np.zeros(n, t.dtype)
    t2 = replace(t)
    t2.data = new  # shape kept: the buffer no longer matches it
    model.tensors[i] = t2
    return f"constant {i} buffer holds {n} elements for shape {list(t.shape)}"


def const_to_activation(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: t.data is not None)
    if i is None:
        return None
    _set_tensor(model, i, data=None)
    if rng.integers(2) == 0:
        model.inputs = list(model.graph_inputs()) + [i]
    return f"constant {i} loses its data"


def activation_to_const(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng, lambda t: t.data is None)
    if i is None:
        return None
    t = model.tensors[i]
    n = int(np.prod([max(d, 0) for d in t.shape])) if len(t.shape) else 1
    if n > 1 << 16:
        return None
    data = np.ones(n, t.dtype).reshape([max(d, 0) for d in t.shape])
    _set_tensor(model, i, data=data)
    return f"tensor {i} becomes a constant"


def buffer_index(model: Model, rng) -> str | None:
    i = _tensor_index(model, rng)
    b = int(_pick(rng, (0, 1, 2, len(model.tensors), 10**6, INT32_MAX)))
    _set_tensor(model, i, buffer=b)
    return f"tensor {i} buffer -> {b}"


# ---------------------------------------------------------------- options

def _field_value(field, rng):
    if field.kind == "vector":
        n = int(_pick(rng, (0, 1, 2, 3, 9)))
        return [int(_pick(rng, INTERESTING_INTS)) for _ in range(n)]
    if field.kind == "string":
        return _pick(rng, ("", "x", "\u00e9" * 3))
    if field.number_type == "Bool":
        return bool(rng.integers(2))
    if field.number_type.startswith("Float"):
        return float(_pick(rng, INTERESTING_FLOATS))
    bits = {"Int8": 8, "Uint8": 8, "Int16": 16, "Uint16": 16, "Int32": 32, "Uint32": 32}.get(field.number_type, 32)
    unsigned = field.number_type.startswith("U")
    lo, hi = (0, 2**bits - 1) if unsigned else (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1)
    return int(np.clip(_pick(rng, INTERESTING_INTS + (4, 5, 6, 9, 17)), lo, hi))


def options_field(model: Model, rng) -> str | None:
    ops = [k for k, op in enumerate(model.operators) if options_table_for(op.opcode)]
    if not ops:
        return None
    k = _pick(rng, ops)
    op = model.operators[k]
    table = op.options_table or options_table_for(op.opcode)
    fields = [f for f in table_fields(table).values() if f.kind in ("scalar", "vector")]
    if not fields:
        return None
    field = _pick(rng, fields)
    value = _field_value(field, rng)
    options = dict(op.options or {})
    options[field.name] = value
    model.operators[k] = replace(op, options=options, options_table=table)
    return f"op {k} {op.opcode} option {field.name} -> {value}"


def options_table(model: Model, rng) -> str | None:
    k = int(rng.integers(len(model.operators)))
    op = model.operators[k]
    choice = int(rng.integers(3))
    if choice == 0:
        table = _pick(rng, ALL_TABLES)
        model.operators[k] = replace(op, options={}, options_table=table)
        return f"op {k} {op.opcode} option table -> {table}"
    if choice == 1:
        model.operators[k] = replace(op, options=None, options_table=None)
        return f"op {k} {op.opcode} option table removed"
    table = options_table_for(op.opcode)
    if table is None:
        return None
    model.operators[k] = replace(op, options={}, options_table=table)
    return f"op {k} {op.opcode} options -> schema defaults"


# ---------------------------------------------------------------- graph

def edge_input(model: Model, rng) -> str | None:
    k = int(rng.integers(len(model.operators)))
    op = model.operators[k]
    if not op.inputs:
        return None
    j = int(rng.integers(len(op.inputs)))
    n = len(model.tensors)
    new = int(_pick(rng, (-1, -2, n, n + 5, INT32_MAX) + tuple(range(n)) * 3))
    op.inputs[j] = new
    return f"op {k} {op.opcode} input {j} -> tensor {new}"


def edge_output(model: Model, rng) -> str | None:
    k = int(rng.integers(len(model.operators)))
    op = model.operators[k]
    if not op.outputs:
        return None
    j = int(rng.integers(len(op.outputs)))
    n = len(model.tensors)
    candidates = [t for t in op.inputs if t >= 0] + [t for o in model.operators for t in o.outputs] + [-1, n]
    new = int(_pick(rng, candidates))
    op.outputs[j] = new
    return f"op {k} {op.opcode} output {j} -> tensor {new}"


def edge_count(model: Model, rng) -> str | None:
    k = int(rng.integers(len(model.operators)))
    op = model.operators[k]
    choice = int(rng.integers(5))
    n = len(model.tensors)
    if choice == 0 and op.inputs:
        op.inputs.pop(int(rng.integers(len(op.inputs))))
        return f"op {k} {op.opcode} loses an input"
    if choice == 1:
        op.inputs.append(int(_pick(rng, (-1,) + tuple(range(n)))))
        return f"op {k} {op.opcode} gains input {op.inputs[-1]}"
    if choice == 2 and op.outputs:
        op.outputs.pop(int(rng.integers(len(op.outputs))))
        return f"op {k} {op.opcode} loses an output"
    if choice == 3:
        like = op.outputs[0] if op.outputs and 0 <= op.outputs[0] < n else None
        model.tensors.append(model.tensors[like].copy(name="extra") if like is not None else Tensor([1]))
        op.outputs.append(n)
        return f"op {k} {op.opcode} gains output {n}"
    op.inputs.clear() if rng.integers(2) else op.outputs.clear()
    return f"op {k} {op.opcode} loses all its inputs or outputs"


def graph_io(model: Model, rng) -> str | None:
    inputs, outputs = list(model.graph_inputs()), list(model.graph_outputs())
    target = inputs if rng.integers(2) == 0 else outputs
    n = len(model.tensors)
    choice = int(rng.integers(4))
    if choice == 0 and target:
        target.pop(int(rng.integers(len(target))))
    elif choice == 1:
        target.append(int(_pick(rng, tuple(range(n)) + (n, -1))))
    elif choice == 2 and target:
        target.append(target[0])
    else:
        target.clear()
    model.inputs, model.outputs = inputs, outputs
    return f"graph inputs {inputs} outputs {outputs}"


def op_order(model: Model, rng) -> str | None:
    if len(model.operators) < 2:
        return None
    if rng.integers(2) == 0:
        model.operators.reverse()
        return "operators reversed (each reads what a later op writes)"
    a, b = 0, len(model.operators) - 1  # a cycle: the first op reads the last op's output
    if model.operators[a].inputs and model.operators[b].outputs:
        model.operators[a].inputs[0] = model.operators[b].outputs[0]
        return f"op {a} reads op {b}'s output (a cycle)"
    return None


def duplicate_op(model: Model, rng) -> str | None:
    k = int(rng.integers(len(model.operators)))
    op = model.operators[k]
    model.operators.insert(k + 1, replace(op, inputs=list(op.inputs), outputs=list(op.outputs)))
    return f"op {k} {op.opcode} duplicated (two producers of its outputs)"


def opcode(model: Model, rng) -> str | None:
    import litelens

    k = int(rng.integers(len(model.operators)))
    op = model.operators[k]
    new = _pick(rng, litelens.supported_ops() + ["CUMSUM", "CUSTOM", "WHILE", "CONV_2D"])
    table = options_table_for(new)
    options = None if table is None or rng.integers(2) == 0 else {}
    model.operators[k] = replace(op, opcode=new, options=options, options_table=table if options is not None
                                 else None, custom_code="x" if new == "CUSTOM" else None)
    return f"op {k} {op.opcode} -> {new}"


def version(model: Model, rng) -> str | None:
    k = int(rng.integers(len(model.operators)))
    v = int(_pick(rng, (0, 2, 7, 99, INT32_MAX, -1)))
    model.operators[k] = replace(model.operators[k], version=v)
    return f"op {k} version -> {v}"


MUTATORS: dict[str, Callable] = {
    "shape_dim": shape_dim, "shape_rank": shape_rank, "shape_signature": shape_signature,
    "dtype": dtype, "variable": variable,
    "quant_drop": quant_drop, "quant_add": quant_add, "quant_scale": quant_scale,
    "quant_zero_point": quant_zero_point, "quant_axis": quant_axis,
    "const_values": const_values, "const_length": const_length, "const_to_activation": const_to_activation,
    "activation_to_const": activation_to_const, "buffer_index": buffer_index,
    "options_field": options_field, "options_table": options_table,
    "edge_input": edge_input, "edge_output": edge_output, "edge_count": edge_count, "graph_io": graph_io,
    "op_order": op_order, "duplicate_op": duplicate_op, "opcode": opcode, "version": version,
}
# How often each is drawn: the ones that reach kernels with odd shapes and values weigh more.
WEIGHTS = {"shape_dim": 4, "shape_rank": 2, "const_values": 4, "options_field": 4, "quant_scale": 2,
           "quant_zero_point": 2, "quant_axis": 2, "dtype": 2, "edge_input": 2}


def mutate_model(model: Model, rng, count: int | None = None, attempts: int = 50) -> tuple[list[str], bytes]:
    """Apply 1-3 random mutations to a copy of ``model``; returns (what was done, the new bytes).

    A draw the writer cannot serialize (a value out of its field's range) is dropped and drawn again.
    """
    names = list(MUTATORS)
    weights = np.array([WEIGHTS.get(n, 1) for n in names], np.float64)
    weights /= weights.sum()
    if count is None:
        count = int(rng.choice([1, 1, 1, 2, 2, 3]))
    for _ in range(attempts):
        work = copy_model(model)
        done = []
        for _ in range(count):
            try:  # a mutator that does not fit this model (an earlier one emptied a list) is skipped
                what = MUTATORS[names[int(rng.choice(len(names), p=weights))]](work, rng)
            except (IndexError, ValueError, KeyError):
                what = None
            if what is not None:
                done.append(what)
        if not done:
            continue
        try:
            return done, work.to_bytes()
        except (ValueError, TypeError, OverflowError, IndexError, KeyError, AttributeError, struct.error):
            continue
    raise RuntimeError("no serializable mutation found")
