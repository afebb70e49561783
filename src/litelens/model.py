"""Reading a ``.tflite`` FlatBuffer with the generated ``tflite`` schema bindings.

The result is a plain, validated description of the model: tensors (with quantization and constant
data as zero-copy read-only NumPy views into the file, including buffers stored after the FlatBuffer
by offset and size), operators (builtin name, inputs, outputs, raw options table), subgraphs and
signature defs. Anything malformed raises :class:`litelens.ModelError`; no exception of the FlatBuffers
library or of NumPy leaks out.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

import numpy as np
import tflite

from litelens.errors import ModelError
from litelens.ops.base import Quantization

FILE_IDENTIFIER = b"TFL3"

# tflite.TensorType -> NumPy dtype, for the types litelens computes with.
_DTYPES = {
    tflite.TensorType.FLOAT32: np.dtype(np.float32),
    tflite.TensorType.FLOAT16: np.dtype(np.float16),
    tflite.TensorType.FLOAT64: np.dtype(np.float64),
    tflite.TensorType.INT32: np.dtype(np.int32),
    tflite.TensorType.INT64: np.dtype(np.int64),
    tflite.TensorType.INT16: np.dtype(np.int16),
    tflite.TensorType.INT8: np.dtype(np.int8),
    tflite.TensorType.UINT8: np.dtype(np.uint8),
    tflite.TensorType.UINT16: np.dtype(np.uint16),
    tflite.TensorType.UINT32: np.dtype(np.uint32),
    tflite.TensorType.UINT64: np.dtype(np.uint64),
    tflite.TensorType.BOOL: np.dtype(np.bool_),
}
_TYPE_NAMES = {v: k for k, v in vars(tflite.TensorType).items() if not k.startswith("_")}
_OP_NAMES = {v: k for k, v in vars(tflite.BuiltinOperator).items() if not k.startswith("_")}
_OPTION_NAMES = {v: k for k, v in vars(tflite.BuiltinOptions).items() if not k.startswith("_")}


@dataclass(slots=True)
class TensorInfo:
    index: int
    name: str
    type_name: str  # the schema's TensorType name, e.g. "INT8"
    dtype: np.dtype | None  # None for a type litelens cannot compute with
    shape: tuple[int, ...]
    shape_signature: tuple[int, ...]
    quantization: Quantization | None
    data: np.ndarray | None  # constant value, read-only, shaped; None for activations
    is_variable: bool = False


@dataclass(slots=True)
class OperatorInfo:
    index: int
    opcode: str  # builtin name ("FULLY_CONNECTED") or "CUSTOM:<code>"
    version: int
    inputs: tuple[int, ...]  # -1 marks an omitted optional input
    outputs: tuple[int, ...]
    options: object | None  # a tflite.*Options instance, or None when absent
    options_name: str  # e.g. "FullyConnectedOptions", "NONE"


@dataclass
class SubgraphInfo:
    name: str
    tensors: list[TensorInfo]
    operators: list[OperatorInfo]
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]


@dataclass
class SignatureInfo:
    key: str
    subgraph_index: int
    inputs: dict[str, int]  # signature name -> tensor index
    outputs: dict[str, int]


@dataclass
class ModelInfo:
    version: int
    description: str
    subgraphs: list[SubgraphInfo]
    signatures: list[SignatureInfo] = field(default_factory=list)
    size_bytes: int = 0


class _Reader:
    """Bounds-aware access to one FlatBuffer.

    Every vector must lie inside the file, and the parse has a work budget: the bytes of every table
    and vector read add up, and may not exceed twice the file size (plus 1 MiB). In a well-formed file
    tables and vectors do not overlap, so the total stays below the file size; a crafted file that
    points thousands of tensors at one table (to make the parse take hours) is refused instead.
    """

    def __init__(self, buf: bytes):
        self.buf = buf
        self.view = memoryview(buf)
        self.size = len(buf)
        self.budget = 2 * self.size + (1 << 20)
        self.interned: dict = {}  # equal small tuples / quantization vectors share one object
        self.address = np.frombuffer(buf, np.uint8).ctypes.data if self.size else 0

    def intern(self, key, value):
        """One shared object per distinct ``key`` (a model has thousands of tensors of a few shapes)."""
        return self.interned.setdefault(key, value)

    def charge(self, nbytes: int, what: str) -> None:
        self.budget -= nbytes
        if self.budget < 0:
            raise ModelError(
                f"malformed model: reading {what} takes the parse past twice the {self.size}-byte file; "
                "its tables or vectors overlap (a crafted file)"
            )

    def table(self, obj, what: str):
        """A sub-table (or None): its position must be inside the file."""
        if obj is None:
            return None
        pos = obj._tab.Pos
        if not 0 <= pos <= self.size - 4:
            raise ModelError(f"malformed model: {what} is at byte {pos}, outside the {self.size}-byte file")
        self.charge(8, what)
        return obj

    def length(self, n: int, elem_size: int, what: str) -> int:
        if n < 0 or n * elem_size > self.size:
            raise ModelError(f"malformed model: {what} claims {n} entries, more than the file can hold")
        self.charge(n * elem_size, what)
        return n

    def numbers(self, obj, field: str, elem_size: int, what: str) -> np.ndarray:
        """The numeric vector ``field`` of a table (e.g. ``Shape``), checked to lie inside the file."""
        n = self.length(getattr(obj, f"{field}Length")(), elem_size, what)
        if n == 0:
            return np.zeros(0, np.int64)
        try:
            values = getattr(obj, f"{field}AsNumpy")()
        except ValueError:
            values = None
        if not isinstance(values, np.ndarray) or values.size != n:
            raise ModelError(f"malformed model: {what} ({n} entries) runs past the end of the file")
        return values

    def text(self, raw: bytes | None) -> str:
        if raw is None:
            return ""
        self.charge(len(raw), "a string")
        return raw.decode("utf-8", errors="replace")


def load_model(content: bytes) -> ModelInfo:
    """Parse and validate a ``.tflite`` model held in memory."""
    if not isinstance(content, (bytes, bytearray, memoryview)):
        raise ModelError(f"model content must be bytes, got {type(content).__name__}")
    content = bytes(content)
    if len(content) < 8:
        raise ModelError(f"not a TFLite model: only {len(content)} bytes")
    if content[4:8] != FILE_IDENTIFIER:
        raise ModelError(
            f"not a TFLite model: file identifier is {content[4:8]!r}, expected {FILE_IDENTIFIER!r}"
        )
    try:
        return _parse(_Reader(content))
    except ModelError:
        raise
    except (struct.error, IndexError, ValueError, TypeError, OverflowError, AttributeError, KeyError,
            UnicodeDecodeError, MemoryError, RecursionError) as err:
        raise ModelError(f"malformed model: the FlatBuffer cannot be read ({type(err).__name__}: {err})") from None


def _parse(r: _Reader) -> ModelInfo:
    root = r.table(tflite.Model.GetRootAsModel(r.buf, 0), "the model table")
    n_buffers = r.length(root.BuffersLength(), 4, "buffers")
    buffers = [_buffer_bytes(r, r.table(root.Buffers(i), f"buffer {i}"), i) for i in range(n_buffers)]
    n_codes = r.length(root.OperatorCodesLength(), 4, "operator codes")
    opcodes = [_opcode(r, r.table(root.OperatorCodes(i), f"operator code {i}"), i) for i in range(n_codes)]
    n_subgraphs = r.length(root.SubgraphsLength(), 4, "subgraphs")
    if n_subgraphs == 0:
        raise ModelError("malformed model: it has no subgraph")
    subgraphs = [_subgraph(r, r.table(root.Subgraphs(i), f"subgraph {i}"), i, buffers, opcodes)
                 for i in range(n_subgraphs)]
    signatures = []
    for i in range(r.length(root.SignatureDefsLength(), 4, "signature defs")):
        signatures.append(_signature(r, r.table(root.SignatureDefs(i), f"signature def {i}"), subgraphs))
    return ModelInfo(
        version=root.Version(),
        description=r.text(root.Description()),
        subgraphs=subgraphs,
        signatures=signatures,
        size_bytes=r.size,
    )


def _buffer_bytes(r: _Reader, buffer, i: int) -> memoryview | None:
    """The bytes of buffer i: inline data, or (large-model layout) offset/size past the FlatBuffer."""
    if buffer is None:
        return None
    offset, size = buffer.Offset(), buffer.Size()
    if offset > 1:
        if size < 0 or offset + size > r.size:
            raise ModelError(
                f"malformed model: buffer {i} points at bytes {offset}..{offset + size}, "
                f"outside the {r.size}-byte file"
            )
        r.charge(size, f"buffer {i}")
        return r.view[offset:offset + size]
    n = r.length(buffer.DataLength(), 1, f"buffer {i}")
    if n == 0:
        return None
    start = buffer._tab.Vector(buffer._tab.Offset(4))
    if not 0 <= start <= r.size - n:
        raise ModelError(f"malformed model: buffer {i} ({n} bytes at byte {start}) ends past the end of the file")
    return r.view[start:start + n]


def _opcode(r: _Reader, code, i: int) -> tuple[str, int]:
    if code is None:
        raise ModelError(f"malformed model: operator code {i} is missing")
    builtin = max(int(code.BuiltinCode()), int(code.DeprecatedBuiltinCode()))
    if builtin == tflite.BuiltinOperator.CUSTOM:
        return f"CUSTOM:{r.text(code.CustomCode())}", code.Version()
    name = _OP_NAMES.get(builtin)
    if name is None:
        name = f"UNKNOWN_BUILTIN_{builtin}"
    return name, code.Version()


def _int_vector(r: _Reader, obj, field: str, what: str) -> tuple[int, ...]:
    values = tuple(int(v) for v in r.numbers(obj, field, 4, what).tolist())
    return r.intern(values, values) if len(values) <= 8 else values


def _file_vector(r: _Reader, values: np.ndarray, dtype) -> np.ndarray:
    """A quantization vector as ``dtype``, read-only: the file's own bytes when they already are that
    type and aligned (a view straight onto the file, no copy and no intermediate array - a model has
    thousands of these), else a copy."""
    dtype = np.dtype(dtype)
    start = values.ctypes.data - r.address
    if values.size == 0 or values.dtype != dtype or start % dtype.itemsize \
            or not 0 <= start <= r.size - values.nbytes:
        values = values.astype(dtype)
    else:
        values = np.frombuffer(r.buf, dtype, count=values.size, offset=start)
    values.flags.writeable = False
    return values


def _integer_range(dtype: np.dtype | None) -> tuple[int, int] | None:
    if dtype is None or dtype.kind not in "iu" or dtype == np.bool_:
        return None
    info = np.iinfo(dtype)
    return int(info.min), int(info.max)


def _quantization(r: _Reader, q, where: str, dtype: np.dtype | None, type_name: str) -> Quantization | None:
    if q is None:
        return None
    scale = _file_vector(r, r.numbers(q, "Scale", 4, f"{where} scales"), np.float32)
    zero_point = _file_vector(r, r.numbers(q, "ZeroPoint", 8, f"{where} zero points"), np.int64)
    if zero_point.size == 1:  # per tensor: a model has thousands, with a few distinct values
        zero_point = r.intern(("zero point", int(zero_point[0])), zero_point)
    if scale.size == 0 and zero_point.size == 0:
        return None
    if scale.size != zero_point.size:
        raise ModelError(f"malformed model: {where} has {scale.size} scales but {zero_point.size} zero points")
    bad = ~np.isfinite(scale) | (scale < 0)
    if bad.any():
        raise ModelError(f"malformed model: {where} has quantization scale {float(scale[bad][0])}; "
                         "scales must be finite and not negative")
    bounds = _integer_range(dtype)
    if bounds is not None:
        outside = (zero_point < bounds[0]) | (zero_point > bounds[1])
        if outside.any():
            raise ModelError(f"malformed model: {where} ({type_name}) has zero point {int(zero_point[outside][0])}, "
                             f"outside the type's range {bounds[0]}..{bounds[1]}")
    return Quantization(scale=scale, zero_point=zero_point, axis=int(q.QuantizedDimension()))


def _element_count(shape: tuple[int, ...]) -> int:
    count = 1
    for d in shape:
        count *= d
    return count


def _tensor(r: _Reader, t, index: int, buffers) -> TensorInfo:
    if t is None:
        raise ModelError(f"malformed model: tensor {index} is missing")
    name = r.text(t.Name())
    where = f"tensor {index} '{name}'"
    shape = _int_vector(r, t, "Shape", f"{where} shape")
    signature = _int_vector(r, t, "ShapeSignature", f"{where} shape signature")
    if any(d < 0 for d in shape):
        raise ModelError(f"malformed model: {where} has a negative dimension in shape {list(shape)}")
    if t.Sparsity() is not None:
        raise ModelError(f"{where} is stored sparse; litelens does not support sparse tensors")
    type_code = int(t.Type())
    dtype = _DTYPES.get(type_code)
    type_name = _TYPE_NAMES.get(type_code, f"TYPE_{type_code}")
    quant = _quantization(r, r.table(t.Quantization(), f"{where} quantization"), where, dtype, type_name)
    if quant is not None and quant.per_channel:
        if not shape or not 0 <= quant.axis < len(shape) or shape[quant.axis] != quant.scale.size:
            raise ModelError(
                f"malformed model: {where} has {quant.scale.size} per-channel scales on axis {quant.axis}, "
                f"which does not fit its shape {list(shape)}"
            )
    data = None
    b = int(t.Buffer())
    if not 0 <= b < len(buffers):
        raise ModelError(f"malformed model: {where} uses buffer {b}, but the model has {len(buffers)} buffers")
    raw = buffers[b]
    if raw is None and b != 0 and dtype is not None and shape and 0 in shape:
        raw = memoryview(b"")  # a zero-element constant (e.g. an empty axis list) has no bytes
    if raw is not None:
        if dtype is None:
            raise ModelError(f"{where} is a constant of type {type_name}, which litelens does not support")
        count = _element_count(shape)
        if count * dtype.itemsize != len(raw):
            raise ModelError(
                f"malformed model: {where} has shape {list(shape)} ({count * dtype.itemsize} bytes of "
                f"{dtype.name}) but its buffer {b} holds {len(raw)} bytes"
            )
        if len(raw):  # one array straight onto the model bytes (no intermediate view kept as its base)
            start = np.frombuffer(raw, np.uint8).ctypes.data - r.address
            data = np.ndarray(shape, dtype, buffer=r.buf, offset=start)
        else:
            data = np.zeros(shape, dtype)
        if data.ctypes.data % dtype.itemsize:  # misaligned in the file: kernels get an aligned copy
            data = data.copy()
        data.flags.writeable = False
    return TensorInfo(index, name, type_name, dtype, shape, signature, quant, data, bool(t.IsVariable()))


def _options(r: _Reader, op, index: int, opcode: str):
    """The op's option table as a ``tflite.*Options`` object (None when absent), checked to be readable.

    The table must be the one the schema pairs with the op (an ADD with a ReshapeOptions table is a
    broken model). Ops the schema gives no table ignore one, as the official runtime does. Every field is
    read once here, so a vector that leaves the file is found at load, not inside an op.
    """
    from litelens.build.schema import options_table_for, read_options

    options_type = int(op.BuiltinOptionsType())
    options_name = _OPTION_NAMES.get(options_type, f"OPTIONS_{options_type}")
    table = op.BuiltinOptions()
    if table is None or options_type == 0:
        return None, "NONE"
    expected = options_table_for(opcode) if not opcode.startswith(("CUSTOM:", "UNKNOWN_BUILTIN_")) else None
    if expected is None:
        return None, options_name  # an op without options ignores a table, like the official runtime
    if options_name != expected:
        raise ModelError(f"malformed model: op {index} {opcode} has the option table {options_name}; "
                         f"{opcode} takes {expected}")
    if not 0 <= table.Pos <= r.size - 4:
        raise ModelError(f"malformed model: op {index} {opcode}: its {options_name} table is outside the file")
    options = getattr(tflite, options_name)()
    options.Init(table.Bytes, table.Pos)
    try:
        fields = read_options(options)
    except ModelError:
        raise
    except Exception as err:
        raise ModelError(f"malformed model: op {index} {opcode}: its {options_name} table cannot be read "
                         f"({type(err).__name__}: {err})") from None
    r.charge(8 + sum(8 * len(v) if isinstance(v, list) else len(v) if isinstance(v, str) else 0
                     for v in fields.values()), f"op {index} options")
    return options, options_name


def _operator(r: _Reader, op, index: int, opcodes, n_tensors: int) -> OperatorInfo:
    if op is None:
        raise ModelError(f"malformed model: op {index} is missing")
    code_index = int(op.OpcodeIndex())
    if not 0 <= code_index < len(opcodes):
        raise ModelError(f"malformed model: op {index} uses opcode {code_index}, but there are {len(opcodes)}")
    opcode, version = opcodes[code_index]
    inputs = _int_vector(r, op, "Inputs", f"op {index} inputs")
    outputs = _int_vector(r, op, "Outputs", f"op {index} outputs")
    for kind, indices in (("input", inputs), ("output", outputs)):
        for t in indices:
            if t < -1 or t >= n_tensors or (t == -1 and kind == "output"):
                raise ModelError(
                    f"malformed model: op {index} {opcode} has {kind} tensor {t}, outside 0..{n_tensors - 1}"
                )
    options, options_name = _options(r, op, index, opcode)
    return OperatorInfo(index, opcode, version, inputs, outputs, options, options_name)


def _subgraph(r: _Reader, g, gi: int, buffers, opcodes) -> SubgraphInfo:
    if g is None:
        raise ModelError(f"malformed model: subgraph {gi} is missing")
    n_tensors = r.length(g.TensorsLength(), 4, f"subgraph {gi} tensors")
    tensors = [_tensor(r, r.table(g.Tensors(i), f"tensor {i}"), i, buffers) for i in range(n_tensors)]
    n_ops = r.length(g.OperatorsLength(), 4, f"subgraph {gi} operators")
    operators = [_operator(r, r.table(g.Operators(i), f"op {i}"), i, opcodes, n_tensors) for i in range(n_ops)]
    inputs = _int_vector(r, g, "Inputs", f"subgraph {gi} inputs")
    outputs = _int_vector(r, g, "Outputs", f"subgraph {gi} outputs")
    for t in inputs + outputs:
        if not 0 <= t < n_tensors:
            raise ModelError(f"malformed model: subgraph {gi} names tensor {t} as input or output; it has {n_tensors}")
    return SubgraphInfo(r.text(g.Name()), tensors, operators, inputs, outputs)


def _signature(r: _Reader, s, subgraphs) -> SignatureInfo:
    if s is None:
        raise ModelError("malformed model: a signature def is missing")
    key = r.text(s.SignatureKey())
    gi = int(s.SubgraphIndex())
    if not 0 <= gi < len(subgraphs):
        raise ModelError(f"malformed model: signature '{key}' names subgraph {gi}")
    n_tensors = len(subgraphs[gi].tensors)

    def tensor_map(length, getter):
        out = {}
        for j in range(r.length(length, 4, f"signature '{key}'")):
            m = r.table(getter(j), f"signature '{key}' entry {j}")
            if m is None:
                raise ModelError(f"malformed model: signature '{key}' entry {j} is missing")
            t = int(m.TensorIndex())
            if not 0 <= t < n_tensors:
                raise ModelError(f"malformed model: signature '{key}' maps to tensor {t}; there are {n_tensors}")
            out[r.text(m.Name())] = t
        return out

    return SignatureInfo(key, gi, tensor_map(s.InputsLength(), s.Inputs), tensor_map(s.OutputsLength(), s.Outputs))
