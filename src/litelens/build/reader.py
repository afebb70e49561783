"""A ``.tflite`` back into a :class:`Model` description (to change one thing and rebuild it)."""
from __future__ import annotations

import numpy as np

from litelens.build.model import Model, Operator, Tensor
from litelens.build.schema import read_options


def from_bytes(content: bytes) -> Model:
    """The first subgraph of a valid model as a description; constants are copied out of the file.

    The options come back as dicts of every field of their table; the signature key is kept (its
    names are the tensor names when rebuilt). Raises ``litelens.ModelError`` for an unreadable model.
    """
    from litelens.model import load_model

    info = load_model(content)
    graph = info.subgraphs[0]
    tensors = []
    for t in graph.tensors:
        q = t.quantization
        dtype = t.dtype if t.dtype is not None else np.dtype(np.uint8)
        tensors.append(Tensor(
            shape=t.shape, dtype=dtype, name=t.name,
            data=None if t.data is None else np.array(t.data),
            scale=None if q is None else q.scale.tolist(),
            zero_point=None if q is None else q.zero_point.tolist(),
            axis=0 if q is None else q.axis,
            shape_signature=t.shape_signature or None,
            is_variable=t.is_variable,
            type=None if t.dtype is not None else t.type_name,
        ))
    operators = []
    for op in graph.operators:
        opcode, custom = op.opcode, None
        if opcode.startswith("CUSTOM:"):
            opcode, custom = "CUSTOM", opcode[len("CUSTOM:"):]
        options = None if op.options is None else read_options(op.options)
        table = None if op.options is None else op.options_name
        operators.append(Operator(opcode, op.inputs, op.outputs, options, table, op.version, custom))
    signature = info.signatures[0].key if info.signatures else None
    return Model(tensors, operators, inputs=list(graph.inputs), outputs=list(graph.outputs),
                 signature=signature, description=info.description, subgraph_name=graph.name)
