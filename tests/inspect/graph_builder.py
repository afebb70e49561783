"""Hand-built small ``.tflite`` graphs for the inspection tests (no converter needed).

``Graph`` collects tensors (dtype, shape, optional (scale, zero point), optional constant data) and
builtin ops (with an optional options table), then ``to_bytes()`` writes the FlatBuffer. Used where a
test needs exact control of scales and zero points, e.g. an ADD whose real result is exactly
representable in its output codes.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import flatbuffers
import numpy as np
import tflite

TENSOR_TYPES = {np.dtype(np.float32): tflite.TensorType.FLOAT32, np.dtype(np.int8): tflite.TensorType.INT8,
                np.dtype(np.int16): tflite.TensorType.INT16, np.dtype(np.int32): tflite.TensorType.INT32,
                np.dtype(np.uint8): tflite.TensorType.UINT8, np.dtype(np.int64): tflite.TensorType.INT64}


@dataclass
class _Tensor:
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    quant: tuple | None  # (scale, zero_point) or (scales, zero_points, axis)
    data: np.ndarray | None


@dataclass
class _Op:
    opcode: str
    inputs: list[int]
    outputs: list[int]
    options: tuple | None  # (options class name, {field: value})


@dataclass
class Graph:
    tensors: list[_Tensor] = field(default_factory=list)
    ops: list[_Op] = field(default_factory=list)
    inputs: list[int] = field(default_factory=list)
    outputs: list[int] = field(default_factory=list)

    def tensor(self, name, dtype, shape, quant=None, data=None) -> int:
        dtype = np.dtype(dtype)
        if data is not None:
            data = np.asarray(data, dtype=dtype).reshape(shape)
        self.tensors.append(_Tensor(name, dtype, tuple(shape), quant, data))
        return len(self.tensors) - 1

    def input(self, name, dtype, shape, quant=None) -> int:
        index = self.tensor(name, dtype, shape, quant)
        self.inputs.append(index)
        return index

    def op(self, opcode, inputs, outputs, options=None) -> None:
        self.ops.append(_Op(opcode, list(inputs), list(outputs), options))

    def to_bytes(self) -> bytes:
        b = flatbuffers.Builder(4096)

        def vector(start, items):
            start(b, len(items))
            for item in reversed(items):
                b.PrependUOffsetTRelative(item)
            return b.EndVector()

        buffers = [None]  # buffer 0: empty
        tensor_offsets = []
        for t in self.tensors:
            buffer_index = 0
            if t.data is not None:
                buffers.append(t.data.tobytes())
                buffer_index = len(buffers) - 1
            q = None
            if t.quant is not None:
                scales, zero_points = np.atleast_1d(t.quant[0]), np.atleast_1d(t.quant[1])
                scale = b.CreateNumpyVector(scales.astype(np.float32))
                zero_point = b.CreateNumpyVector(zero_points.astype(np.int64))
                tflite.QuantizationParametersStart(b)
                tflite.QuantizationParametersAddScale(b, scale)
                tflite.QuantizationParametersAddZeroPoint(b, zero_point)
                if len(t.quant) > 2:
                    tflite.QuantizationParametersAddQuantizedDimension(b, t.quant[2])
                q = tflite.QuantizationParametersEnd(b)
            shape, name = b.CreateNumpyVector(np.array(t.shape, np.int32)), b.CreateString(t.name)
            tflite.TensorStart(b)
            tflite.TensorAddShape(b, shape)
            tflite.TensorAddType(b, TENSOR_TYPES[t.dtype])
            tflite.TensorAddName(b, name)
            tflite.TensorAddBuffer(b, buffer_index)
            if q is not None:
                tflite.TensorAddQuantization(b, q)
            tensor_offsets.append(tflite.TensorEnd(b))

        codes = sorted({op.opcode for op in self.ops})
        op_offsets = []
        for op in self.ops:
            options = None
            if op.options is not None:
                kind, fields = op.options
                fields = {key: b.CreateNumpyVector(np.array(value, np.int32)) if isinstance(value, (list, tuple))
                          else value for key, value in fields.items()}  # vectors are written before the table
                getattr(tflite, kind + "Start")(b)
                for key, value in fields.items():
                    getattr(tflite, f"{kind}Add{key}")(b, value)
                options = (getattr(tflite.BuiltinOptions, kind), getattr(tflite, kind + "End")(b))
            ins = b.CreateNumpyVector(np.array(op.inputs, np.int32))
            outs = b.CreateNumpyVector(np.array(op.outputs, np.int32))
            tflite.OperatorStart(b)
            tflite.OperatorAddOpcodeIndex(b, codes.index(op.opcode))
            tflite.OperatorAddInputs(b, ins)
            tflite.OperatorAddOutputs(b, outs)
            if options is not None:
                tflite.OperatorAddBuiltinOptionsType(b, options[0])
                tflite.OperatorAddBuiltinOptions(b, options[1])
            op_offsets.append(tflite.OperatorEnd(b))

        operators = vector(tflite.SubGraphStartOperatorsVector, op_offsets)
        tensors = vector(tflite.SubGraphStartTensorsVector, tensor_offsets)
        graph_inputs = b.CreateNumpyVector(np.array(self.inputs, np.int32))
        graph_outputs = b.CreateNumpyVector(np.array(self.outputs, np.int32))
        tflite.SubGraphStart(b)
        tflite.SubGraphAddTensors(b, tensors)
        tflite.SubGraphAddInputs(b, graph_inputs)
        tflite.SubGraphAddOutputs(b, graph_outputs)
        tflite.SubGraphAddOperators(b, operators)
        subgraphs = vector(tflite.ModelStartSubgraphsVector, [tflite.SubGraphEnd(b)])

        code_offsets = []
        for name in codes:
            code = getattr(tflite.BuiltinOperator, name)
            tflite.OperatorCodeStart(b)
            tflite.OperatorCodeAddBuiltinCode(b, code)
            tflite.OperatorCodeAddDeprecatedBuiltinCode(b, min(code, 127))
            tflite.OperatorCodeAddVersion(b, 1)
            code_offsets.append(tflite.OperatorCodeEnd(b))
        opcodes = vector(tflite.ModelStartOperatorCodesVector, code_offsets)

        buffer_offsets = []
        for data in buffers:
            vec = None if data is None else b.CreateNumpyVector(np.frombuffer(data, np.uint8))
            tflite.BufferStart(b)
            if vec is not None:
                tflite.BufferAddData(b, vec)
            buffer_offsets.append(tflite.BufferEnd(b))
        buffer_vector = vector(tflite.ModelStartBuffersVector, buffer_offsets)

        tflite.ModelStart(b)
        tflite.ModelAddVersion(b, 3)
        tflite.ModelAddSubgraphs(b, subgraphs)
        tflite.ModelAddOperatorCodes(b, opcodes)
        tflite.ModelAddBuffers(b, buffer_vector)
        b.Finish(tflite.ModelEnd(b), b"TFL3")
        return bytes(b.Output())


def add_options(activation: int = 0) -> tuple:
    return ("AddOptions", {"FusedActivationFunction": activation})
