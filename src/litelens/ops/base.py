"""The contract every op follows: options parser -> Prepare -> Eval.

An op is a subclass of :class:`Op` registered under its builtin name (``@register("ADD")``):

* ``parse_options(raw)`` turns the FlatBuffer options table (a ``tflite.*Options`` object, or None
  when the model stores none) into a small frozen record. Called once at load.
* ``prepare(node)`` validates the node (input count, dtypes, shapes, quantization) and computes
  everything that does not depend on input values: output shapes, multipliers and shifts, zero
  points, clamp ranges, lookup tables, transposed constant weights. It returns
  ``Prepared(params, output_shapes)``. Errors are raised with ``node.error("...")``.
* ``xnnpack_rejects(node)`` (ops the XNNPACK delegate can take): None when the official delegate
  would take this node, else the reason it would not. Prepare then sees ``node.flavor`` (the
  kernel path: ``reference``, ``optimized`` or ``xnnpack``) and ``node.arch``.
* ``eval(params, inputs, outputs)`` runs the kernel(s): ``inputs`` are arrays (None for an omitted
  optional input), ``outputs`` are preallocated arrays of the prepared shapes, written in place.

Eval must not allocate per-call work that Prepare could have done, and must never hand a kernel
arrays whose shapes Prepare has not checked.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Sequence

import numpy as np

from litelens.errors import InputError, ModelError


@dataclass(frozen=True, slots=True)
class Quantization:
    """Affine quantization of a tensor: real = scale * (q - zero_point), per tensor or per channel."""

    scale: np.ndarray  # float32 [n]
    zero_point: np.ndarray  # int64 [n]
    axis: int = 0  # quantized_dimension, meaningful when n > 1

    @property
    def per_channel(self) -> bool:
        return self.scale.size > 1

    @property
    def single_scale(self) -> float:
        return float(self.scale[0])

    @property
    def single_zero_point(self) -> int:
        return int(self.zero_point[0])


@dataclass(slots=True)
class TensorArg:
    """What an op sees of one tensor at Prepare (its current shape, not the stored one)."""

    index: int
    name: str
    dtype: np.dtype
    shape: tuple[int, ...]
    quantization: Quantization | None
    data: np.ndarray | None = None  # constant value (read-only), else None

    @property
    def is_constant(self) -> bool:
        return self.data is not None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape, dtype=np.int64))

    def describe(self) -> str:
        return f"tensor {self.index} '{self.name}' ({self.dtype.name}{list(self.shape)})"


@dataclass(slots=True)
class Node:
    """One operator of the graph, as Prepare sees it."""

    index: int
    opcode: str
    options: Any
    inputs: Sequence[TensorArg | None]  # a tuple from the interpreter (-1 inputs are None)
    outputs: Sequence[TensorArg]
    flavor: str = "reference"  # the kernel path: reference, optimized or xnnpack (litelens.flavors)
    version: int = 1
    arch: str = "x86_64"  # whose platform rules apply where the official kernels differ by platform
    xnnpack_note: str | None = None  # under the xnnpack flavor: why the delegate left this op alone
    threads: int = 1  # the interpreter's num_threads: big ops may split rows (litelens.parallel)

    def error(self, message: str) -> ModelError:
        return ModelError(f"op {self.index} {self.opcode}: {message}")

    def input(self, i: int) -> TensorArg:
        """Input i, which must be present."""
        if i >= len(self.inputs) or self.inputs[i] is None:
            raise self.error(f"input {i} is required but missing")
        return self.inputs[i]

    def optional_input(self, i: int) -> TensorArg | None:
        return self.inputs[i] if i < len(self.inputs) else None

    def expect_counts(self, n_inputs: int | Sequence[int], n_outputs: int = 1) -> None:
        allowed = (n_inputs,) if isinstance(n_inputs, int) else tuple(n_inputs)
        if len(self.inputs) not in allowed:
            raise self.error(f"expects {' or '.join(map(str, allowed))} inputs, has {len(self.inputs)}")
        if len(self.outputs) != n_outputs:
            raise self.error(f"expects {n_outputs} outputs, has {len(self.outputs)}")

    def expect_dtype(self, tensor: TensorArg, *dtypes) -> None:
        names = [np.dtype(d).name for d in dtypes]
        if tensor.dtype.name not in names:
            raise self.error(f"{tensor.describe()} has dtype {tensor.dtype.name}; supported: {', '.join(names)}")

    def expect_quantized(self, tensor: TensorArg, per_tensor: bool = True) -> Quantization:
        q = tensor.quantization
        if q is None or q.scale.size == 0:
            raise self.error(f"{tensor.describe()} must be quantized but has no scale")
        if per_tensor and q.per_channel:
            raise self.error(f"{tensor.describe()} must be quantized per tensor, has {q.scale.size} scales")
        if per_tensor and not q.single_scale > 0:  # kernels divide by it
            raise self.error(f"{tensor.describe()} has quantization scale {q.single_scale}; it must be positive")
        return q


@dataclass(frozen=True)
class Prepared:
    params: Any
    output_shapes: list[tuple[int, ...]] = field(default_factory=list)


class Op:
    """Base class: subclasses set ``opcode`` and implement the three steps."""

    opcode: ClassVar[str] = ""
    # True when output 0 is always a byte-for-byte copy of input 0 (RESHAPE, SQUEEZE, EXPAND_DIMS): the
    # interpreter may then give the output the input's memory and skip the copy.
    copies_input: ClassVar[bool] = False

    def parse_options(self, raw) -> Any:
        return None

    def xnnpack_rejects(self, node: Node) -> str | None:
        """Why the official XNNPACK delegate would not take ``node`` (None: it takes it).

        Ops XNNPACK can run override this with the delegate's checks for them
        (``tflite/delegates/xnnpack/xnnpack_delegate.cc``); a rejected op runs its optimized kernel.
        """
        return f"the XNNPACK delegate does not take {node.opcode}"

    def prepare(self, node: Node) -> Prepared:
        raise NotImplementedError

    def eval(self, params, inputs: list[np.ndarray | None], outputs: list[np.ndarray]) -> None:
        raise NotImplementedError


__all__ = ["Op", "Node", "Prepared", "TensorArg", "Quantization", "ModelError", "InputError"]
