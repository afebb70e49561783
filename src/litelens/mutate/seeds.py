"""Valid models the mutators start from.

* Single ops and short chains cut out of the golden models (``golden/models/*.tflite``): every op
  MobileBERT and BERT use, in every flavor, with the converter's real quantization and options.
* Hand-made single-op models (``litelens.build``) for the supported ops and dtypes the goldens lack
  (SLICE, SQUEEZE, EXPAND_DIMS, PADV2, LOGISTIC, MINIMUM, int16 ops, ...).
* The golden files themselves, for byte-level mutation of a whole real model.

Seeds are named (``"golden:bert-tiny-int8:op12"``, ``"hand:slice-int8"``) so a case can be rebuilt from
its name alone in another process.
"""
from __future__ import annotations

import functools
from pathlib import Path

import numpy as np

from litelens import build
from litelens.build.model import Model, Tensor

GOLDEN_MODELS = ("bert-tiny-int8", "mobilebert-tiny-int8", "bert-tiny-float32", "mobilebert-tiny-float32",
                 "bert-tiny-dynamic", "mobilebert-tiny-dynamic", "bert-tiny-float16", "mobilebert-tiny-float16")
CHAIN_LENGTH = 3  # ops per chain seed: enough for cycles, double producers and dangling edges


def golden_dir() -> Path:
    from litelens.goldens import golden_dir as _golden_dir

    return _golden_dir()


@functools.lru_cache(maxsize=None)
def golden_bytes(name: str) -> bytes:
    return (golden_dir() / "models" / f"{name}.tflite").read_bytes()


@functools.lru_cache(maxsize=None)
def _golden_description(name: str) -> Model:
    return build.from_bytes(golden_bytes(name))


def sub_model(model: Model, op_indices: list[int]) -> Model:
    """The ops ``op_indices`` of ``model`` as a model of their own (constants kept, tensors renumbered).

    Its inputs are the tensors the ops read but neither produce nor hold as constants; its outputs are
    every tensor the ops produce.
    """
    ops = [model.operators[i] for i in op_indices]
    used: list[int] = []
    for op in ops:
        for t in list(op.inputs) + list(op.outputs):
            if t >= 0 and t not in used:
                used.append(t)
    renumber = {t: i for i, t in enumerate(used)}
    tensors = [model.tensors[t].copy() for t in used]
    produced = [renumber[t] for op in ops for t in op.outputs]
    new_ops = [build.Operator(op.opcode, [renumber.get(t, -1) for t in op.inputs],
                              [renumber[t] for t in op.outputs], op.options, op.options_table, op.version,
                              op.custom_code) for op in ops]
    inputs = [i for i, t in enumerate(tensors) if t.data is None and i not in produced]
    return Model(tensors, new_ops, inputs=inputs, outputs=produced, signature=None)


def _op_key(model: Model, index: int) -> tuple:
    op = model.operators[index]
    ins = tuple((model.tensors[t].dtype.name, model.tensors[t].data is not None,
                 model.tensors[t].quantized and model.tensors[t].scales().size > 1) if t >= 0 else None
                for t in op.inputs)
    outs = tuple(model.tensors[t].dtype.name for t in op.outputs)
    return op.opcode, ins, outs


def _golden_seeds(name: str) -> dict[str, callable]:
    model = _golden_description(name)
    seeds, seen = {}, set()
    for i in range(len(model.operators)):
        key = _op_key(model, i)
        if key in seen:
            continue
        seen.add(key)
        seeds[f"golden:{name}:op{i}"] = functools.partial(sub_model, model, [i])
    step = max(1, len(model.operators) // 6)
    for start in range(0, len(model.operators) - CHAIN_LENGTH + 1, step):
        ops = list(range(start, start + CHAIN_LENGTH))
        seeds[f"golden:{name}:ops{start}-{start + CHAIN_LENGTH - 1}"] = functools.partial(sub_model, model, ops)
    return seeds


# ---------------------------------------------------------------- hand-made single ops

def _q(shape, dtype="int8", name="", scale=0.05, zero_point=0, **kw) -> Tensor:
    return Tensor(shape, dtype, name, scale=scale, zero_point=zero_point, **kw)


def _f(shape, name="", dtype="float32") -> Tensor:
    return Tensor(shape, dtype, name)


def _c(value, dtype="int32", name="") -> Tensor:
    return build.constant(np.asarray(value), dtype, name)


def _hand_made() -> dict[str, callable]:
    rng = np.random.default_rng(7)
    s = build.single_op
    w8 = rng.integers(-127, 128, (4, 6)).astype(np.int8)
    return {
        "hand:slice-int8": lambda: s("SLICE", [_q([2, 5, 3]), _c([0, 1, 1]), _c([2, 3, -1])], [_q([2, 3, 2])]),
        "hand:slice-float": lambda: s("SLICE", [_f([4, 6]), _c([1, 2], "int64"), _c([2, 3], "int64")], [_f([2, 3])]),
        "hand:strided-slice-float": lambda: s(
            "STRIDED_SLICE", [_f([3, 8, 4]), _c([0, 1, 0]), _c([3, 7, 4]), _c([1, 2, 1])], [_f([3, 3, 4])],
            {"begin_mask": 1, "end_mask": 4, "shrink_axis_mask": 0}),
        "hand:squeeze-int8": lambda: s("SQUEEZE", [_q([1, 4, 1, 3])], [_q([4, 3])], {"squeeze_dims": [0, 2]}),
        "hand:expand-dims-float": lambda: s("EXPAND_DIMS", [_f([4, 3]), _c([1])], [_f([4, 1, 3])]),
        "hand:reshape-int8": lambda: s("RESHAPE", [_q([2, 6]), _c([3, -1])], [_q([3, 4])], {"new_shape": [3, 4]}),
        "hand:transpose-int16": lambda: s("TRANSPOSE", [_q([2, 3, 4], "int16"), _c([2, 0, 1])],
                                          [_q([4, 2, 3], "int16")]),
        "hand:pad-int8": lambda: s("PAD", [_q([2, 3], zero_point=-3), _c([[1, 0], [2, 1]])],
                                   [_q([3, 6], zero_point=-3)]),
        "hand:padv2-float": lambda: s("PADV2", [_f([2, 3]), _c([[0, 1], [1, 1]]), _c([1.5], "float32")],
                                      [_f([3, 5])]),
        "hand:concat-int8": lambda: s("CONCATENATION", [_q([2, 3]), _q([2, 2]), _q([2, 1])], [_q([2, 6])],
                                      {"axis": -1}),
        "hand:concat-float": lambda: s("CONCATENATION", [_f([1, 3]), _f([2, 3])], [_f([3, 3])], {"axis": 0}),
        "hand:gather-int8": lambda: s("GATHER", [_q([5, 3]), Tensor([2, 2], "int32")], [_q([2, 2, 3])],
                                      {"axis": 0}),
        "hand:gather-batch-float": lambda: s("GATHER", [_f([2, 5, 3]), Tensor([2, 4], "int64")],
                                             [_f([2, 4, 3])], {"axis": 1, "batch_dims": 1}),
        "hand:cast-int8-float": lambda: s("CAST", [Tensor([3, 4], "int8")], [_f([3, 4])]),
        "hand:logistic-int8": lambda: s("LOGISTIC", [_q([2, 7], scale=0.1, zero_point=3)],
                                        [_q([2, 7], scale=1 / 256, zero_point=-128)]),
        "hand:tanh-uint8": lambda: s("TANH", [_q([9], "uint8", scale=0.05, zero_point=128)],
                                     [_q([9], "uint8", scale=1 / 128, zero_point=128)]),
        "hand:gelu-int16": lambda: s("GELU", [_q([3, 5], "int16", scale=1e-3)], [_q([3, 5], "int16", scale=1e-3)]),
        "hand:softmax-int16": lambda: s("SOFTMAX", [_q([2, 6], "int16", scale=1e-3)],
                                        [_q([2, 6], "int16", scale=1 / 32768)], {"beta": 1.0}),
        "hand:softmax-int8": lambda: s("SOFTMAX", [_q([3, 10], scale=0.1)],
                                       [_q([3, 10], scale=1 / 256, zero_point=-128)], {"beta": 0.5}),
        "hand:minimum-int8": lambda: s("MINIMUM", [_q([2, 3]), _q([1, 3])], [_q([2, 3])]),
        "hand:maximum-float": lambda: s("MAXIMUM", [_f([2, 1, 3]), _f([4, 1])], [_f([2, 4, 3])]),
        "hand:add-int16": lambda: s("ADD", [_q([2, 3], "int16", scale=1e-3), _q([3], "int16", scale=2e-3)],
                                    [_q([2, 3], "int16", scale=3e-3)], {"fused_activation_function": "RELU"}),
        "hand:mul-int8-broadcast": lambda: s("MUL", [_q([2, 1, 4], zero_point=5), _q([3, 1], scale=0.2)],
                                             [_q([2, 3, 4], scale=0.3, zero_point=-2)]),
        "hand:sub-int32": lambda: s("SUB", [Tensor([4], "int32"), Tensor([4], "int32")], [Tensor([4], "int32")]),
        "hand:div-float": lambda: s("DIV", [_f([3, 2]), _f([2])], [_f([3, 2])]),
        "hand:squared-difference-int8": lambda: s("SQUARED_DIFFERENCE", [_q([4, 2]), _q([4, 2], scale=0.07)],
                                                  [_q([4, 2], scale=0.01, zero_point=-128)]),
        "hand:rsqrt-int8": lambda: s("RSQRT", [_q([6], scale=0.05, zero_point=-128)],
                                     [_q([6], scale=0.1, zero_point=-100)]),
        "hand:mean-int8": lambda: s("MEAN", [_q([2, 3, 4]), _c([1, -1])], [_q([2, 1, 1], scale=0.04)],
                                    {"keep_dims": True}),
        "hand:sum-float": lambda: s("SUM", [_f([2, 3, 4]), _c([0])], [_f([3, 4])], {"keep_dims": False}),
        "hand:l2norm-int8": lambda: s("L2_NORMALIZATION", [_q([2, 8])], [_q([2, 8], scale=1 / 128)]),
        "hand:quantize-requant": lambda: s("QUANTIZE", [_q([3, 4], zero_point=2)],
                                           [_q([3, 4], scale=0.02, zero_point=-9)]),
        "hand:quantize-float-int16": lambda: s("QUANTIZE", [_f([3, 4])], [_q([3, 4], "int16", scale=1e-3)]),
        "hand:dequantize-int8": lambda: s("DEQUANTIZE", [_q([5], zero_point=-4)], [_f([5])]),
        "hand:fc-int8-per-channel": lambda: s(
            "FULLY_CONNECTED",
            [_q([3, 6], scale=0.05, zero_point=-7),
             Tensor([4, 6], "int8", data=w8, scale=[0.01, 0.02, 0.03, 0.04]),
             Tensor([4], "int32", data=rng.integers(-300, 300, 4), scale=[5e-4, 1e-3, 1.5e-3, 2e-3])],
            [_q([3, 4], scale=0.08, zero_point=3)], {"fused_activation_function": "RELU6"}),
        "hand:fc-int16-no-bias": lambda: s(
            "FULLY_CONNECTED",
            [_q([2, 6], "int16", scale=1e-3), Tensor([4, 6], "int8", data=w8, scale=0.02), None],
            [_q([2, 4], "int16", scale=2e-3)], {"keep_num_dims": True}),
        "hand:bmm-int8": lambda: s("BATCH_MATMUL", [_q([2, 3, 4]), _q([2, 4, 5], scale=0.07, zero_point=2)],
                                   [_q([2, 3, 5], scale=0.3)], {"adj_x": False, "adj_y": False}),
        "hand:bmm-float-adj": lambda: s("BATCH_MATMUL", [_f([1, 4, 3]), _f([2, 5, 4])], [_f([2, 3, 5])],
                                        {"adj_x": True, "adj_y": True}),
    }


@functools.lru_cache(maxsize=None)
def structured_seeds() -> dict[str, callable]:
    """Seed name -> a function returning a fresh :class:`litelens.build.Model`."""
    seeds = _hand_made()
    for name in GOLDEN_MODELS:
        seeds.update(_golden_seeds(name))
    seeds["whole:bert-tiny-int8"] = functools.partial(_golden_description, "bert-tiny-int8")
    return seeds


def structured_seed(name: str) -> Model:
    """The seed model ``name``. It may be shared (cached): mutators work on a copy (``copy_model``)."""
    return structured_seeds()[name]()


@functools.lru_cache(maxsize=None)
def byte_seeds() -> tuple[str, ...]:
    """Names of the models byte mutations start from: every golden file and a few small seeds."""
    small = [n for n in structured_seeds() if n.startswith("hand:")][::3]
    return tuple([f"file:{name}" for name in GOLDEN_MODELS] + small)


@functools.lru_cache(maxsize=64)
def seed_bytes(name: str) -> bytes:
    if name.startswith("file:"):
        return golden_bytes(name[len("file:"):])
    return structured_seed(name).to_bytes()
