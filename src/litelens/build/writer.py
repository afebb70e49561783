"""Serialize a :class:`litelens.build.model.Model` to ``.tflite`` bytes with the ``flatbuffers`` builder.

Layout follows the official converter's: buffer 0 is the empty sentinel, each constant tensor has its
own buffer (16-byte aligned data), one operator code per distinct (op, version, custom code), one
subgraph, and an optional SignatureDef mapping tensor names to indices.
"""
from __future__ import annotations

import flatbuffers
import numpy as np
import tflite

from litelens.build.model import Model, Operator, Tensor
from litelens.build.schema import options_table_for, options_type_code, write_options

FILE_IDENTIFIER = b"TFL3"

TENSOR_TYPES = {
    np.dtype(np.float32): "FLOAT32", np.dtype(np.float16): "FLOAT16", np.dtype(np.float64): "FLOAT64",
    np.dtype(np.int8): "INT8", np.dtype(np.uint8): "UINT8", np.dtype(np.int16): "INT16",
    np.dtype(np.uint16): "UINT16", np.dtype(np.int32): "INT32", np.dtype(np.uint32): "UINT32",
    np.dtype(np.int64): "INT64", np.dtype(np.uint64): "UINT64", np.dtype(np.bool_): "BOOL",
}


def tensor_type_code(t: Tensor) -> int:
    name = t.type or TENSOR_TYPES.get(t.dtype)
    if name is None or not hasattr(tflite.TensorType, name):
        raise ValueError(f"tensor '{t.name}': no TFLite type for dtype {t.dtype.name} (type={t.type!r})")
    return int(getattr(tflite.TensorType, name))


def _vector(b: flatbuffers.Builder, values, prepend: str, elem_size: int) -> int:
    values = list(values)
    b.StartVector(elem_size, len(values), elem_size)
    for v in reversed(values):
        getattr(b, f"Prepend{prepend}")(v)
    return b.EndVector()


def _offsets(b: flatbuffers.Builder, offsets) -> int:
    offsets = list(offsets)
    b.StartVector(4, len(offsets), 4)
    for off in reversed(offsets):
        b.PrependUOffsetTRelative(off)
    return b.EndVector()


def _bytes_vector(b: flatbuffers.Builder, raw: bytes) -> int:
    b.StartVector(1, len(raw), 16)  # 16-byte alignment, as the converter writes constant data
    b.head -= len(raw)
    b.Bytes[b.head:b.head + len(raw)] = raw
    return b.EndVector()


def _quantization(b: flatbuffers.Builder, t: Tensor) -> int:
    scale = _vector(b, (float(s) for s in t.scales()), "Float32", 4)
    zero_point = _vector(b, (int(z) for z in t.zero_points()), "Int64", 8)
    tflite.QuantizationParametersStart(b)
    tflite.QuantizationParametersAddScale(b, scale)
    tflite.QuantizationParametersAddZeroPoint(b, zero_point)
    tflite.QuantizationParametersAddQuantizedDimension(b, int(t.axis))
    return tflite.QuantizationParametersEnd(b)


def _tensor(b: flatbuffers.Builder, t: Tensor, buffer_index: int) -> int:
    quant = _quantization(b, t) if t.quantized else None
    name = b.CreateString(t.name)
    shape = _vector(b, t.shape, "Int32", 4)
    signature = _vector(b, t.shape_signature, "Int32", 4) if t.shape_signature is not None else None
    tflite.TensorStart(b)
    tflite.TensorAddShape(b, shape)
    if signature is not None:
        tflite.TensorAddShapeSignature(b, signature)
    tflite.TensorAddType(b, tensor_type_code(t))
    tflite.TensorAddBuffer(b, buffer_index)
    tflite.TensorAddName(b, name)
    if quant is not None:
        tflite.TensorAddQuantization(b, quant)
    if t.is_variable:
        tflite.TensorAddIsVariable(b, True)
    return tflite.TensorEnd(b)


def _operator(b: flatbuffers.Builder, op: Operator, opcode_index: int) -> int:
    options = table_code = None
    if op.options is not None:
        table = op.options_table or options_table_for(op.opcode)
        if table is None:
            raise ValueError(f"{op.opcode} has no option table in the schema; give options=None "
                             "or name one with options_table=")
        options = write_options(b, table, op.options)
        table_code = options_type_code(table)
    inputs = _vector(b, op.inputs, "Int32", 4)
    outputs = _vector(b, op.outputs, "Int32", 4)
    tflite.OperatorStart(b)
    tflite.OperatorAddOpcodeIndex(b, opcode_index)
    tflite.OperatorAddInputs(b, inputs)
    tflite.OperatorAddOutputs(b, outputs)
    if options is not None:
        tflite.OperatorAddBuiltinOptionsType(b, table_code)
        tflite.OperatorAddBuiltinOptions(b, options)
    return tflite.OperatorEnd(b)


def _operator_code(b: flatbuffers.Builder, opcode: str, version: int, custom_code: str | None) -> int:
    if not hasattr(tflite.BuiltinOperator, opcode):
        raise ValueError(f"unknown builtin op {opcode!r}")
    code = int(getattr(tflite.BuiltinOperator, opcode))
    custom = b.CreateString(custom_code) if custom_code is not None else None
    tflite.OperatorCodeStart(b)
    # Codes above 127 keep the deprecated int8 field at PLACEHOLDER_FOR_GREATER_OP_CODES (127).
    tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
    tflite.OperatorCodeAddBuiltinCode(b, code)
    tflite.OperatorCodeAddVersion(b, int(version))
    if custom is not None:
        tflite.OperatorCodeAddCustomCode(b, custom)
    return tflite.OperatorCodeEnd(b)


def _signature(b: flatbuffers.Builder, model: Model) -> int:
    def tensor_maps(indices):
        maps = []
        for index in indices:
            name = b.CreateString(model.tensors[index].name or f"tensor_{index}")
            tflite.TensorMapStart(b)
            tflite.TensorMapAddName(b, name)
            tflite.TensorMapAddTensorIndex(b, index)
            maps.append(tflite.TensorMapEnd(b))
        return _offsets(b, maps)

    inputs = tensor_maps(model.graph_inputs())
    outputs = tensor_maps(model.graph_outputs())
    key = b.CreateString(model.signature)
    tflite.SignatureDefStart(b)
    tflite.SignatureDefAddInputs(b, inputs)
    tflite.SignatureDefAddOutputs(b, outputs)
    tflite.SignatureDefAddSignatureKey(b, key)
    tflite.SignatureDefAddSubgraphIndex(b, 0)
    return tflite.SignatureDefEnd(b)


def write_model(model: Model) -> bytes:
    """The ``.tflite`` bytes of ``model``."""
    size_hint = 1024 + sum(t.data.nbytes for t in model.tensors if t.data is not None)
    b = flatbuffers.Builder(size_hint)

    buffers, buffer_of = [], {}
    for i, t in enumerate(model.tensors):
        if t.data is not None:
            data = _bytes_vector(b, np.ascontiguousarray(t.data).tobytes())
            tflite.BufferStart(b)
            tflite.BufferAddData(b, data)
            buffers.append(tflite.BufferEnd(b))
            buffer_of[i] = len(buffers)  # buffer 0 is the empty sentinel
    tensors = [_tensor(b, t, t.buffer if t.buffer is not None else buffer_of.get(i, 0))
               for i, t in enumerate(model.tensors)]

    codes: dict[tuple, int] = {}
    for op in model.operators:
        codes.setdefault((op.opcode, op.version, op.custom_code), len(codes))
    operators = [_operator(b, op, codes[(op.opcode, op.version, op.custom_code)]) for op in model.operators]

    tensors_vec = _offsets(b, tensors)
    operators_vec = _offsets(b, operators)
    inputs_vec = _vector(b, model.graph_inputs(), "Int32", 4)
    outputs_vec = _vector(b, model.graph_outputs(), "Int32", 4)
    name = b.CreateString(model.subgraph_name)
    tflite.SubGraphStart(b)
    tflite.SubGraphAddTensors(b, tensors_vec)
    tflite.SubGraphAddInputs(b, inputs_vec)
    tflite.SubGraphAddOutputs(b, outputs_vec)
    tflite.SubGraphAddOperators(b, operators_vec)
    tflite.SubGraphAddName(b, name)
    subgraph = tflite.SubGraphEnd(b)

    code_offsets = [_operator_code(b, *key) for key in codes]
    signature = _signature(b, model) if model.signature is not None else None
    tflite.BufferStart(b)
    empty = tflite.BufferEnd(b)
    buffers_vec = _offsets(b, [empty] + buffers)
    subgraphs_vec = _offsets(b, [subgraph])
    codes_vec = _offsets(b, code_offsets)
    signatures_vec = _offsets(b, [signature]) if signature is not None else None
    description = b.CreateString(model.description)

    tflite.ModelStart(b)
    tflite.ModelAddVersion(b, model.version)
    tflite.ModelAddOperatorCodes(b, codes_vec)
    tflite.ModelAddSubgraphs(b, subgraphs_vec)
    tflite.ModelAddDescription(b, description)
    tflite.ModelAddBuffers(b, buffers_vec)
    if signatures_vec is not None:
        tflite.ModelAddSignatureDefs(b, signatures_vec)
    b.Finish(tflite.ModelEnd(b), file_identifier=FILE_IDENTIFIER)
    return bytes(b.Output())
