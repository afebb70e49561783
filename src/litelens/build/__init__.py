"""``litelens.build``: one-op (or few-op) ``.tflite`` models from a description, no TensorFlow needed.

    from litelens import build
    x = build.Tensor([2, 8], "int8", "x", scale=0.05, zero_point=3)
    w = build.Tensor([4, 8], "int8", "w", data=weights, scale=[0.01, 0.02, 0.03, 0.04], axis=0)
    b = build.Tensor([4], "int32", "b", data=bias, scale=[...])
    y = build.Tensor([2, 4], "int8", "y", scale=0.1, zero_point=-5)
    content = build.single_op("FULLY_CONNECTED", [x, w, b], [y],
                              {"fused_activation_function": "RELU"}).to_bytes()

A description is plain data (:class:`Tensor`, :class:`Operator`, :class:`Model`) and is not validated
beyond what serialization needs, so wrong models can be made on purpose. :func:`from_bytes` reads a
model back into a description to change and rebuild. Options are dicts of the schema's option-table
fields (snake_case); enum fields take the enum's name or number.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import tflite

from litelens.build.model import Model, Operator, Tensor
from litelens.build.reader import from_bytes
from litelens.build.schema import options_table_for, read_options, table_fields, write_options

# Enum-valued option fields that may be given by name ("RELU") instead of number.
_ENUM_FIELDS = {
    "fused_activation_function": tflite.ActivationFunctionType,
    "weights_format": tflite.FullyConnectedOptionsWeightsFormat,
    "quantized_bias_type": tflite.TensorType,
    "in_data_type": tflite.TensorType,
    "out_data_type": tflite.TensorType,
    "mode": tflite.MirrorPadMode,
    "padding": tflite.Padding,
}


def _enum_values(options: dict | None) -> dict | None:
    if options is None:
        return None
    out = {}
    for key, value in options.items():
        enum = _ENUM_FIELDS.get(key)
        if isinstance(value, str) and enum is not None:
            if not hasattr(enum, value):
                raise ValueError(f"option {key}: unknown value {value!r}")
            value = int(getattr(enum, value))
        out[key] = value
    return out


def single_op(opcode: str, inputs: Sequence[Tensor | None], outputs: Sequence[Tensor],
              options: dict | None = None, *, version: int = 1, options_table: str | None = None,
              signature: str | None = "serving_default") -> Model:
    """A model of one operator: ``inputs`` (None = an omitted optional input) and ``outputs``.

    Tensors are numbered inputs first, then outputs; the model's inputs are the op's non-constant
    inputs, its outputs the op's outputs. Unnamed tensors get ``input_<i>`` / ``output_<i>``.
    """
    tensors: list[Tensor] = []
    op_inputs = []
    for i, t in enumerate(inputs):
        if t is None:
            op_inputs.append(-1)
            continue
        if not t.name:
            t = t.copy(name=f"input_{i}" if t.data is None else f"const_{i}")
        op_inputs.append(len(tensors))
        tensors.append(t)
    op_outputs = []
    for i, t in enumerate(outputs):
        if not t.name:
            t = t.copy(name=f"output_{i}")
        op_outputs.append(len(tensors))
        tensors.append(t)
    op = Operator(opcode, op_inputs, op_outputs, _enum_values(options), options_table, version)
    model_inputs = [i for i in op_inputs if i >= 0 and tensors[i].data is None]
    return Model(tensors, [op], inputs=model_inputs, outputs=op_outputs, signature=signature)


def graph(tensors: Sequence[Tensor], operators: Sequence[Operator], **kwargs) -> Model:
    """A multi-op model; operators run in the order given (options may use enum names)."""
    ops = [Operator(op.opcode, op.inputs, op.outputs, _enum_values(op.options), op.options_table,
                    op.version, op.custom_code) for op in operators]
    return Model(list(tensors), ops, **kwargs)


def constant(value, dtype=None, name: str = "", **quantization) -> Tensor:
    """A constant tensor holding ``value`` (shape from the value)."""
    array = np.asarray(value, dtype=dtype)
    return Tensor(array.shape, array.dtype, name, data=array, **quantization)


__all__ = ["Tensor", "Operator", "Model", "single_op", "graph", "constant", "from_bytes",
           "options_table_for", "table_fields", "read_options", "write_options"]
