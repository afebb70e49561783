"""``litelens.Interpreter``: a drop-in for the official Python ``Interpreter``.

Tensor indices are the FlatBuffer's, so a tensor has the same number here and in the official
interpreter. Model inputs and outputs get their own buffers. Intermediates share one arena
(``litelens.arena``) unless ``preserve_all_tensors=True``, which gives every tensor its own buffer so
that every intermediate is readable after ``invoke``; ``get_tensor`` on a shared intermediate is an
error, not a stale value.

Life cycle: load (parse + validate the FlatBuffer, resolve every op, parse options) ->
``allocate_tensors`` (check the graph, run each op's Prepare in order, allocate outputs) ->
``set_tensor`` / ``invoke`` / ``get_tensor``.
"""
from __future__ import annotations

import dataclasses
import operator
import os
from dataclasses import dataclass
from typing import Any

import numpy as np

from litelens.arena import Lifetime, aligned_bytes, arena_views, consecutive_offsets, plan_offsets
from litelens.errors import InputError, ModelError
from litelens.flavors import FLAVORS, parse_flavor, resolve_path
from litelens.model import ModelInfo, SubgraphInfo, load_model
from litelens.ops import lookup
from litelens.ops.base import Node, Op, TensorArg
from litelens.ops.common import read_only
from litelens.ops.xnnpack_tensors import check_xnnpack_tensors
from litelens.parallel import use_threads
from litelens.threads import blas_threads

DEFAULT_MAX_TENSOR_BYTES = 4 << 30  # refuse models whose tensors need more than this much memory


@dataclass(slots=True)
class _Step:
    """One op, ready to run: its implementation, Prepare's params, and its bound arrays."""

    node: Node
    op: Op
    params: Any
    inputs: tuple[np.ndarray | None, ...]
    outputs: tuple[np.ndarray, ...]
    aliased: bool = False  # the output is a view of the input (Op.copies_input): nothing to run


def _is_buffer_spec(value) -> bool:
    return (isinstance(value, tuple) and len(value) == 3 and isinstance(value[0], str)
            and isinstance(value[1], tuple) and isinstance(value[2], np.dtype))


def _array_bytes(value, depth: int = 0, seen: set | None = None) -> int:
    """Bytes of the NumPy arrays inside Prepare's params (dataclasses, tuples, lists, dicts), each once,
    and of the work buffers an op declares there to get at Eval: ``(tag, shape, dtype)`` specs
    (``int_gemm.scratch``)."""
    seen = set() if seen is None else seen
    if isinstance(value, np.ndarray):
        root = value
        while isinstance(root.base, np.ndarray):
            root = root.base
        if id(root) in seen or not root.flags.owndata:
            return 0  # counted already, or a view of the model file (constant data)
        seen.add(id(root))
        return root.nbytes
    if _is_buffer_spec(value):
        count = 1
        for d in value[1]:
            count *= int(d)
        return count * value[2].itemsize
    if depth > 4:
        return 0
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        items = [getattr(value, f.name) for f in dataclasses.fields(value)]
    elif isinstance(value, (tuple, list)):
        items = value
    elif isinstance(value, dict):
        items = list(value.values())
    else:
        return 0
    return sum(_array_bytes(item, depth + 1, seen) for item in items)


def _eval(step: _Step) -> None:
    try:
        step.op.eval(step.params, step.inputs, step.outputs)
    except ModelError:
        raise
    except MemoryError as err:
        raise ModelError(f"op {step.node.index} {step.node.opcode}: out of memory at invoke ({err})") from None
    except Exception as err:  # a kernel bug must still name the op (the cause is kept for debugging)
        raise ModelError(f"op {step.node.index} {step.node.opcode}: eval failed: {type(err).__name__}: {err}") from err


def _as_index(value) -> int:
    try:
        return operator.index(value)
    except TypeError:
        raise InputError(f"a tensor index must be an integer, got {value!r}") from None


class Interpreter:
    """Runs subgraph 0 of a ``.tflite`` model with litelens's kernels.

    ``flavor`` picks whose arithmetic to reproduce: ``"reference"`` (the official BUILTIN_REF kernels),
    ``"optimized"`` (BUILTIN_WITHOUT_DEFAULT_DELEGATES), ``"xnnpack"`` (AUTO: the XNNPACK delegate for
    the ops it takes, the optimized kernels for the rest), their ARM64 variants, or a dict such as
    ``{"default": "reference", "SOFTMAX": "optimized", 21: "xnnpack"}`` to choose per op type or per
    op index (see ``litelens.flavors``).
    ``preserve_all_tensors=True`` keeps every intermediate tensor readable after ``invoke`` (each gets
    its own buffer); by default intermediates share an arena, as in the official interpreter.
    ``num_threads`` > 1 lets big ops (matrix products, softmax) split their rows across threads, with
    the same bits as one thread (``litelens.parallel``).
    ``max_tensor_bytes`` caps the memory the model's tensors may claim (a hostile model cannot make
    litelens allocate more).
    """

    def __init__(self, model_path: str | os.PathLike | None = None, model_content: bytes | None = None,
                 flavor="reference", preserve_all_tensors: bool = False, num_threads: int | None = None,
                 max_tensor_bytes: int = DEFAULT_MAX_TENSOR_BYTES):
        if (model_path is None) == (model_content is None):
            raise ValueError("give exactly one of model_path or model_content")
        if model_path is not None:
            with open(model_path, "rb") as f:
                model_content = f.read()
        self.flavor = parse_flavor(flavor)
        self.preserve_all_tensors = preserve_all_tensors
        if num_threads is not None and (isinstance(num_threads, bool) or not isinstance(num_threads, int)
                                        or num_threads < -1):
            raise ValueError(f"num_threads must be an integer >= -1 (or None), got {num_threads!r}")
        self.num_threads = num_threads  # None and -1 (the official "let the runtime decide") mean 1
        self.max_tensor_bytes = int(max_tensor_bytes)
        self.model: ModelInfo = load_model(model_content)
        self.graph: SubgraphInfo = self.model.subgraphs[0]
        self._ops = [self._resolve(op) for op in self.graph.operators]
        self._check_flavor_overrides()
        self._shapes: dict[int, tuple[int, ...]] = {t.index: t.shape for t in self.graph.tensors}
        self._arrays: dict[int, np.ndarray] = {}
        self._shared: set[int] = set()  # intermediates living in the arena (not readable after invoke)
        self.arena_bytes = 0
        self._steps: list[_Step] = []
        self._run: list[_Step] = []  # the steps invoke evaluates (not the aliased copies)
        self._allocated = False

    # ---------------------------------------------------------------- loading
    def _check_flavor_overrides(self) -> None:
        from litelens.flavors import FlavorError
        from litelens.ops import supported_ops

        n_ops = len(self.graph.operators)
        for index in self.flavor.by_index:
            if index >= n_ops:
                raise FlavorError(f"flavor override for op {index}: the model has {n_ops} ops (0..{n_ops - 1})")
        known = set(supported_ops())
        for opcode in self.flavor.by_opcode:
            if opcode not in known:
                raise FlavorError(f"flavor override for {opcode!r}: not an op litelens runs; "
                                  f"supported: {', '.join(sorted(known))}")

    def _resolve(self, info):
        where = f"op {info.index}"
        cls = lookup(info.opcode, where)
        op = cls()
        try:
            options = op.parse_options(info.options)
        except ModelError:
            raise
        except Exception as err:  # a wrong or truncated option table
            raise ModelError(f"op {info.index} {info.opcode}: its options cannot be read ({err})") from None
        return op, options

    # ---------------------------------------------------------------- allocation
    def _tensor_arg(self, index: int) -> TensorArg:
        """What ops see of tensor ``index`` at its current shape: one object per tensor and shape, shared
        by every op that reads or writes it (a model has thousands)."""
        shape = self._shapes[index]
        key = (index, shape)
        arg = self._args.get(key)
        if arg is None:
            t = self.graph.tensors[index]
            arg = self._args[key] = TensorArg(index, t.name, t.dtype, shape, t.quantization, t.data)
        return arg

    def _check_graph(self) -> None:
        """Every op input exists before the op runs; no tensor is written twice or written if constant;
        every tensor an op touches has a type litelens computes with."""
        tensors = self.graph.tensors
        graph_inputs = set(self.graph.inputs)
        for t in self.graph.inputs:
            if tensors[t].dtype is None:
                raise ModelError(f"model input tensor {t} '{tensors[t].name}' has unsupported type {tensors[t].type_name}")
        available = {t.index for t in tensors if t.data is not None} | graph_inputs
        produced_by: dict[int, int] = {}
        for info in self.graph.operators:
            for t in info.inputs:
                if t == -1:
                    continue
                if t not in available:
                    later = any(t in o.outputs for o in self.graph.operators[info.index:])
                    why = "is produced only by a later op (a cycle or a wrong order)" if later else \
                        "is neither a model input, a constant, nor the output of an earlier op"
                    raise ModelError(
                        f"op {info.index} {info.opcode}: input tensor {t} '{tensors[t].name}' {why}"
                    )
            for t in info.outputs:
                if t in produced_by:
                    raise ModelError(
                        f"op {info.index} {info.opcode}: output tensor {t} '{tensors[t].name}' is already "
                        f"the output of op {produced_by[t]}"
                    )
                if tensors[t].data is not None or t in graph_inputs:
                    raise ModelError(
                        f"op {info.index} {info.opcode}: output tensor {t} '{tensors[t].name}' is a constant "
                        "or a model input"
                    )
                produced_by[t] = info.index
                available.add(t)
            for kind, indices in (("input", info.inputs), ("output", info.outputs)):
                for t in indices:
                    if t != -1 and tensors[t].dtype is None:
                        raise ModelError(f"op {info.index} {info.opcode}: {kind} tensor {t} '{tensors[t].name}' "
                                         f"has type {tensors[t].type_name}, which litelens does not support")
        for t in self.graph.outputs:
            if t not in available:
                raise ModelError(f"model output tensor {t} '{tensors[t].name}' is never computed")

    def _check_extent(self, index: int, shape: tuple[int, ...]) -> int:
        """The tensor's size in bytes, refused over ``max_tensor_bytes``.

        A zero dimension does not make a shape harmless: kernels still loop over the other
        dimensions, so they are measured with every 0 counted as 1 (``[0, 2**31 - 1, 2**31 - 1]`` is
        refused, not accepted as empty).
        """
        t = self.graph.tensors[index]
        count, extent = 1, 1
        for d in shape:
            if d < 0:
                raise ModelError(f"tensor {index} '{t.name}' has a negative dimension: {list(shape)}")
            count *= int(d)
            extent *= max(int(d), 1)
        if extent * t.dtype.itemsize > self.max_tensor_bytes:
            raise ModelError(
                f"tensor {index} '{t.name}' of shape {list(shape)} ({t.dtype.name}) would need "
                f"{extent * t.dtype.itemsize} bytes, over the cap of {self.max_tensor_bytes} (max_tensor_bytes)"
            )
        return count * t.dtype.itemsize

    def _claim(self, index: int, shape: tuple[int, ...], budget: list[int]) -> None:
        """Count a tensor's bytes against ``max_tensor_bytes`` (all tensors summed, shared or not)."""
        t = self.graph.tensors[index]
        if t.dtype is None:
            raise ModelError(f"tensor {index} '{t.name}' has type {t.type_name}, which litelens does not support")
        nbytes = self._check_extent(index, shape)
        budget[0] += nbytes
        if budget[0] > self.max_tensor_bytes:
            raise ModelError(
                f"tensor {index} '{t.name}' of shape {list(shape)} would bring the model's tensors to "
                f"{budget[0]} bytes, over the cap of {self.max_tensor_bytes} (max_tensor_bytes)"
            )

    def _own_array(self, index: int, shape: tuple[int, ...]) -> np.ndarray:
        t = self.graph.tensors[index]
        try:
            return np.zeros(shape, dtype=t.dtype)
        except MemoryError:
            raise ModelError(f"tensor {index} '{t.name}' of shape {list(shape)}: out of memory allocating "
                             f"{self._check_extent(index, shape)} bytes") from None

    def _aliases(self, prepared: list[tuple[Node, Op, Any]], own: set[int]) -> dict[int, int]:
        """Outputs that can be views of their input: an intermediate written by an op that only copies
        its non-constant input's bytes (``Op.copies_input``), same dtype and size. Maps such an output
        to the tensor that owns the memory (following chains)."""
        if self.preserve_all_tensors:
            return {}
        root: dict[int, int] = {}
        tensors = self.graph.tensors
        for node, op, _ in prepared:
            if not op.copies_input or len(node.outputs) != 1 or not node.inputs or node.inputs[0] is None:
                continue
            src, dst = node.inputs[0].index, node.outputs[0].index
            if dst in own or tensors[src].data is not None or tensors[src].dtype != tensors[dst].dtype:
                continue
            if self._check_extent(src, self._shapes[src]) != self._check_extent(dst, self._shapes[dst]):
                continue
            root[dst] = root.get(src, src)
        return root

    @staticmethod
    def _block(nbytes: int, what: str) -> np.ndarray:
        try:
            return aligned_bytes(nbytes)
        except MemoryError:
            raise ModelError(f"out of memory allocating the {nbytes}-byte {what}") from None

    def _layouts(self, tensors) -> dict[int, tuple[tuple[int, ...], np.dtype]]:
        return {t: (self._shapes[t], self.graph.tensors[t].dtype) for t in tensors}

    def _buffers(self, prepared: list[tuple[Node, Op, Any]]
                 ) -> tuple[dict[int, np.ndarray], set[int], int, dict[int, int]]:
        """An array per non-constant tensor: model inputs and outputs get their own; intermediates
        share one arena, and the output of a pure copy (RESHAPE...) is a view of its input - or, with
        ``preserve_all_tensors``, each intermediate has its own place in one block. Returns the arrays,
        the tensors in the arena, its size in bytes and the aliases (view -> owner)."""
        own = set(self.graph.inputs) | set(self.graph.outputs)
        aliases = self._aliases(prepared, own)
        written = {t: i for i, (node, _, _) in enumerate(prepared) for t in (a.index for a in node.outputs)}
        last_read = dict.fromkeys(written, -1)
        for i, (node, _, _) in enumerate(prepared):
            for arg in node.inputs:
                if arg is not None:
                    t = aliases.get(arg.index, arg.index)  # reading a view keeps its owner alive
                    if t in last_read:
                        last_read[t] = i
        arrays = {t: self._own_array(t, self._shapes[t]) for t in self.graph.inputs}
        shared, kept = [], []
        for t, first in written.items():
            if t in aliases:
                continue
            if t in own:
                arrays[t] = self._own_array(t, self._shapes[t])
            elif self.preserve_all_tensors:  # every intermediate kept: end to end in one block
                kept.append((t, self._check_extent(t, self._shapes[t])))
            else:
                nbytes = self._check_extent(t, self._shapes[t])
                shared.append(Lifetime(t, nbytes, first, max(first, last_read[t])))
        total = 0
        if shared:
            offsets, total = plan_offsets(shared)
            arrays.update(arena_views(self._block(total, "activation arena"), offsets,
                                      self._layouts(life.tensor for life in shared)))
        if kept:
            offsets, size = consecutive_offsets(kept)
            arrays.update(arena_views(self._block(size, "block of preserved tensors"), offsets,
                                      self._layouts(t for t, _ in kept)))
        for view, owner in aliases.items():
            arrays[view] = arrays[owner].reshape(self._shapes[view])
        return arrays, {life.tensor for life in shared} | set(aliases), total, aliases

    def allocate_tensors(self) -> None:
        """Check the graph, run every op's Prepare in order and allocate every tensor.

        On an error nothing changes: the interpreter keeps its previous allocation (if any).
        """
        self._check_graph()
        graph_shapes = self._shapes
        shapes = dict(graph_shapes)  # op outputs get Prepare's shapes; committed only on success
        for info in self.graph.operators:
            for t in info.inputs:
                if t != -1 and self.graph.tensors[t].data is not None:
                    self._check_extent(t, shapes[t])
        budget = [0]
        for index in dict.fromkeys(self.graph.inputs):
            self._claim(index, shapes[index], budget)
        self._shapes = shapes  # _tensor_arg reads the shapes being computed
        self._args = {}
        try:
            prepared = [self._prepare_node(info, op, options, budget)
                        for info, (op, options) in zip(self.graph.operators, self._ops)]
            arrays, shared, arena_bytes, aliases = self._buffers(prepared)
        except BaseException:
            self._shapes = graph_shapes
            raise
        finally:
            self._args = {}  # the nodes keep what they use
        self._arrays, self._shared, self.arena_bytes = arrays, shared, arena_bytes
        views: dict[int, np.ndarray] = {}  # one read-only view per tensor, shared by the ops reading it

        def read(index: int) -> np.ndarray:
            view = views.get(index)
            if view is None:
                view = views[index] = read_only(self._value(index, arrays))
            return view

        self._steps = [
            _Step(node=node, op=op, params=params,
                  inputs=tuple(None if arg is None else read(arg.index) for arg in node.inputs),
                  outputs=tuple(arrays[arg.index] for arg in node.outputs),
                  aliased=bool(node.outputs) and node.outputs[0].index in aliases)
            for node, op, params in prepared
        ]
        self._run = [step for step in self._steps if not step.aliased]
        self._allocated = True

    def _prepare_node(self, info, op: Op, options, budget) -> tuple[Node, Op, Any]:
        """The op's Node (its kernel path chosen) and Prepare's params; records its output shapes."""
        node = Node(
            index=info.index,
            opcode=info.opcode,
            options=options,
            inputs=tuple(None if t == -1 else self._tensor_arg(t) for t in info.inputs),
            outputs=tuple(self._tensor_arg(t) for t in info.outputs),
            version=info.version,
        )
        asked = self.flavor.for_op(info.index, info.opcode)
        node.arch = asked.arch
        node.threads = max(1, self.num_threads or 1)
        try:
            node.flavor, node.xnnpack_note = resolve_path(asked, op, node)
            if node.flavor == "xnnpack":
                check_xnnpack_tensors(node)
        except ModelError:
            raise
        except Exception as err:  # a bug in a delegate rule must still name the op
            raise ModelError(f"op {info.index} {info.opcode}: xnnpack delegate check failed: "
                             f"{type(err).__name__}: {err}") from err
        try:
            prepared = op.prepare(node)
            output_shapes = [tuple(int(d) for d in shape) for shape in prepared.output_shapes]
        except ModelError:
            raise
        except MemoryError as err:
            raise ModelError(f"op {info.index} {info.opcode}: out of memory in Prepare ({err})") from None
        except Exception as err:  # a bug or an unforeseen model: still a clear error naming the op
            raise ModelError(f"op {info.index} {info.opcode}: prepare failed: {type(err).__name__}: {err}") from err
        scratch = _array_bytes(prepared.params)
        budget[0] += scratch
        if budget[0] > self.max_tensor_bytes:
            raise ModelError(
                f"op {info.index} {info.opcode}: its work buffers and tables ({scratch} bytes) bring the model "
                f"to {budget[0]} bytes, over the cap of {self.max_tensor_bytes} (max_tensor_bytes)"
            )
        if len(output_shapes) != len(info.outputs):
            raise ModelError(f"op {info.index} {info.opcode}: prepare gave {len(output_shapes)} "
                             f"output shapes for {len(info.outputs)} outputs")
        for t, shape in zip(info.outputs, output_shapes):
            self._shapes[t] = shape
            self._claim(t, shape, budget)
        node.outputs = tuple(self._tensor_arg(t) for t in info.outputs)
        return node, op, prepared.params

    def _value(self, index: int, arrays) -> np.ndarray:
        t = self.graph.tensors[index]
        return t.data if t.data is not None else arrays[index]

    # ---------------------------------------------------------------- running
    def _require_allocated(self):
        if not self._allocated:
            raise ValueError("call allocate_tensors() first")

    def set_tensor(self, tensor_index: int, value) -> None:
        """Copy ``value`` into an input tensor; its dtype and shape must match exactly."""
        self._require_allocated()
        index = _as_index(tensor_index)
        if index not in self.graph.inputs:
            raise InputError(f"tensor {index} is not an input of the model; inputs are {list(self.graph.inputs)}")
        t = self.graph.tensors[index]
        if t.data is not None:
            raise InputError(f"input {index} '{t.name}' is a constant of the model; it cannot be set")
        try:
            value = np.asarray(value)
        except (ValueError, TypeError) as err:
            raise InputError(f"input {index} '{t.name}': the value is not an array ({err})") from None
        if value.dtype != t.dtype:
            raise InputError(
                f"input {index} '{t.name}' expects dtype {t.dtype.name}, got {value.dtype.name}"
            )
        if value.shape != self._shapes[index]:
            raise InputError(
                f"input {index} '{t.name}' expects shape {list(self._shapes[index])}, got {list(value.shape)}"
            )
        np.copyto(self._arrays[index], value)

    def resize_tensor_input(self, input_index: int, tensor_size, strict: bool = False) -> None:
        """Give an input a new shape; call ``allocate_tensors`` again before ``invoke``."""
        index = _as_index(input_index)
        if index not in self.graph.inputs:
            raise InputError(f"tensor {index} is not an input of the model")
        try:
            shape = tuple(operator.index(d) for d in np.asarray(tensor_size).reshape(-1).tolist())
        except (TypeError, ValueError):
            raise InputError(f"input {index}: a shape is a list of integers, got {tensor_size!r}") from None
        if any(d < 0 for d in shape):
            raise InputError(f"input {index}: negative dimension in {list(shape)}")
        if strict:
            sig = self.graph.tensors[index].shape_signature or self.graph.tensors[index].shape
            if len(sig) != len(shape) or any(s != -1 and s != d for s, d in zip(sig, shape)):
                raise InputError(f"input {index}: shape {list(shape)} does not fit signature {list(sig)}")
        self._shapes[index] = shape
        self._allocated = False

    def invoke(self, observer=None) -> None:
        """Run every op in order.

        ``observer(node, params, inputs, outputs)``, when given, is called after each op with the arrays it
        read and wrote (views of the interpreter's buffers: copy what you keep). Verbose runs, tracing and
        inspection use it; a plain invoke pays nothing for it.
        """
        self._require_allocated()
        if self.num_threads is not None and self.num_threads > 1:
            use_threads(self.num_threads)
        with blas_threads(self.num_threads):
            if observer is None:
                for step in self._run:
                    _eval(step)
                return
            for step in self._steps:
                if not step.aliased:
                    _eval(step)
                observer(step.node, step.params, step.inputs, step.outputs)

    @property
    def nodes(self) -> list[Node]:
        """The ops in execution order as Prepare saw them (after ``allocate_tensors``)."""
        self._require_allocated()
        return [step.node for step in self._steps]

    def kernel_paths(self) -> list[tuple[str, str | None]]:
        """Per op: the official kernel path it reproduces (``reference``, ``optimized`` or ``xnnpack``)
        and, under the xnnpack flavor, why the delegate would leave it to the optimized kernels."""
        self._require_allocated()
        return [(step.node.flavor, step.node.xnnpack_note) for step in self._steps]

    def run_op(self, op_index: int, values: dict[int, np.ndarray]) -> list[np.ndarray]:
        """Run op ``op_index`` alone on the given values of its non-constant inputs (tensor index ->
        array, each of the dtype and shape Prepare saw) and return copies of its outputs. The
        interpreter's buffers for that op are overwritten; other tensors are untouched."""
        self._require_allocated()
        index = _as_index(op_index)
        if not 0 <= index < len(self._steps):
            raise InputError(f"op index {index} out of range 0..{len(self._steps) - 1}")
        step = self._steps[index]
        for t, bound in zip(self.graph.operators[index].inputs, step.inputs):
            if t == -1 or self.graph.tensors[t].data is not None:
                continue
            if t not in values:
                raise InputError(f"op {index} {step.node.opcode}: no value given for its input tensor {t}")
            value = np.asarray(values[t])
            if value.dtype != bound.dtype or value.shape != bound.shape:
                raise InputError(f"op {index} {step.node.opcode}: input tensor {t} must be "
                                 f"{bound.dtype.name}{list(bound.shape)}, got {value.dtype.name}{list(value.shape)}")
            np.copyto(self._arrays[t], value)
        with blas_threads(self.num_threads):
            _eval(step)
        return [np.array(out) for out in step.outputs]

    def op_params(self, op_index: int):
        """What Prepare computed for op ``op_index`` (multipliers, shifts, tables, ...)."""
        self._require_allocated()
        return self._steps[op_index].params

    def get_tensor(self, tensor_index: int) -> np.ndarray:
        """A copy of a tensor's current value (constants included)."""
        self._require_allocated()
        index = _as_index(tensor_index)
        if not 0 <= index < len(self.graph.tensors):
            raise InputError(f"tensor index {index} out of range 0..{len(self.graph.tensors) - 1}")
        t = self.graph.tensors[index]
        if t.data is not None:
            return np.array(t.data)
        if index not in self._arrays:  # (a model's signature may name such a tensor as an output)
            raise ModelError(f"tensor {index} '{t.name}' has no value (no op computes it)")
        if index in self._shared:
            raise InputError(
                f"tensor {index} '{t.name}' is an intermediate tensor: without preserve_all_tensors its "
                "memory is reused by later ops, so its value does not survive invoke. Create the Interpreter "
                "with preserve_all_tensors=True to read every tensor (or pass invoke an observer)")
        try:
            return self._arrays[index].copy()
        except MemoryError:
            raise ModelError(f"tensor {index} '{t.name}': out of memory copying it") from None

    def tensor(self, tensor_index: int):
        """Like the official API: a function returning a view of the tensor's buffer."""
        self._require_allocated()
        index = _as_index(tensor_index)
        if index not in self._arrays:
            raise ValueError(f"tensor {index} has no buffer of its own (a constant or an unused tensor)")
        return lambda: self._arrays[index]

    # ---------------------------------------------------------------- details
    def _details(self, index: int) -> dict:
        t = self.graph.tensors[index]
        q = t.quantization
        if q is None:
            scales, zero_points, axis, legacy = np.zeros(0, np.float32), np.zeros(0, np.int32), 0, (0.0, 0)
        else:
            scales, zero_points, axis = q.scale.copy(), q.zero_point.astype(np.int32), q.axis
            legacy = (float(q.scale[0]), int(q.zero_point[0])) if q.scale.size == 1 else (0.0, 0)
        dtype = t.dtype.type if t.dtype is not None else None
        return {
            "name": t.name,
            "index": index,
            "shape": np.array(self._shapes[index], dtype=np.int32),
            "shape_signature": np.array(t.shape_signature or self._shapes[index], dtype=np.int32),
            "dtype": dtype,
            "quantization": legacy,
            "quantization_parameters": {
                "scales": scales,
                "zero_points": zero_points,
                "quantized_dimension": axis,
            },
            "sparsity_parameters": {},
        }

    def get_input_details(self) -> list[dict]:
        return [self._details(i) for i in self.graph.inputs]

    def get_output_details(self) -> list[dict]:
        return [self._details(i) for i in self.graph.outputs]

    def get_tensor_details(self) -> list[dict]:
        return [self._details(t.index) for t in self.graph.tensors]

    def _get_ops_details(self) -> list[dict]:
        return [
            {"index": op.index, "op_name": op.opcode, "inputs": np.array(op.inputs, np.int32),
             "outputs": np.array(op.outputs, np.int32),
             **({"kernel_path": self._steps[op.index].node.flavor} if self._allocated else {})}
            for op in self.graph.operators
        ]

    # ---------------------------------------------------------------- signatures
    def get_signature_list(self) -> dict:
        return {s.key: {"inputs": list(s.inputs), "outputs": list(s.outputs)} for s in self.model.signatures}

    def get_signature_runner(self, signature_key: str | None = None):
        from litelens.signature import SignatureRunner

        return SignatureRunner(self, signature_key)
