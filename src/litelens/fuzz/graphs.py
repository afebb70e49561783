"""Random transformer-like blocks built in TensorFlow, converted by the official converter (full int8
with calibration, and dynamic range), and compared whole with the official interpreter.

A block: x [1, seq, hidden] (and an additive attention mask from a 0/1 mask input) -> self-attention
with h heads (dense Q/K/V, split heads, Q.K^T / sqrt(d) + mask, softmax, .V, merge, dense) ->
residual -> LayerNorm (mean / squared difference / rsqrt) or NoNorm (x * g + b) -> FFN (dense,
ReLU or tanh-GELU, dense) -> residual -> norm. Dimensions, head count, norm and activation are random.
The exact-erf GELU is left out: its float32 kernel has a known 1-ULP issue (see ``known.py``), which
would show up in every dynamic-range graph.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from litelens.fuzz.check import classify


@dataclass
class GraphCase:
    """Enough of a :class:`~litelens.fuzz.case.Case` for :func:`check`."""

    op: str
    content: bytes
    inputs: dict[int, np.ndarray]
    label: str
    params: dict


@dataclass
class GraphOutcome:
    name: str
    flavor: str
    resolver: str
    ops: int
    tensors: int
    bit_exact_share: float
    kind: str
    detail: str = ""
    path: str | None = None
    seconds: float = 0.0

    def to_json(self) -> dict:
        return dict(self.__dict__)


def sample_block(rng) -> dict:
    heads = int(rng.choice([1, 2, 4]))
    return dict(seq=int(rng.integers(1, 9)), hidden=heads * int(rng.choice([2, 4, 8])), heads=heads,
                ffn=int(rng.choice([8, 16, 32, 48])), norm=str(rng.choice(["layer", "none"])),
                activation=str(rng.choice(["relu", "gelu_tanh"])), mask=bool(rng.random() < 0.7),
                seed=int(rng.integers(2**31)))


def _block_function(p: dict):
    import tensorflow as tf

    rng = np.random.default_rng(p["seed"])
    h, heads, ffn = p["hidden"], p["heads"], p["ffn"]
    d = h // heads

    def weight(*shape, std=None):
        std = std if std is not None else 1.0 / math.sqrt(shape[0])
        return tf.constant((rng.standard_normal(shape) * std).astype(np.float32))

    wq, wk, wv, wo = (weight(h, h) for _ in range(4))
    bq, bk, bv, bo = (weight(h, std=0.1) for _ in range(4))
    w1, b1, w2, b2 = weight(h, ffn), weight(ffn, std=0.1), weight(ffn, h), weight(h, std=0.1)
    g1, n1, g2, n2 = (tf.constant((1 + 0.1 * rng.standard_normal(h)).astype(np.float32)) if k % 2 == 0 else
                      weight(h, std=0.1) for k in range(4))

    def norm(x, g, b):
        if p["norm"] == "layer":
            mean = tf.reduce_mean(x, axis=-1, keepdims=True)
            var = tf.reduce_mean(tf.math.squared_difference(x, mean), axis=-1, keepdims=True)
            return (x - mean) * tf.math.rsqrt(var + 1e-6) * g + b
        return x * g + b

    def heads_first(x):  # [1, s, h] -> [1, heads, s, d]
        return tf.transpose(tf.reshape(x, [1, p["seq"], heads, d]), [0, 2, 1, 3])

    def block(x, mask):
        q, k, v = (heads_first(tf.matmul(x, w) + b) for w, b in ((wq, bq), (wk, bk), (wv, bv)))
        scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(d)  # [1, heads, s, s]
        if mask is not None:
            scores = scores + (1.0 - mask[:, tf.newaxis, tf.newaxis, :]) * -10000.0
        context = tf.matmul(tf.nn.softmax(scores, axis=-1), v)
        context = tf.reshape(tf.transpose(context, [0, 2, 1, 3]), [1, p["seq"], h])
        x = norm(x + tf.matmul(context, wo) + bo, g1, n1)
        hidden = tf.matmul(x, w1) + b1
        hidden = tf.nn.relu(hidden) if p["activation"] == "relu" else tf.nn.gelu(hidden, approximate=True)
        return norm(x + tf.matmul(hidden, w2) + b2, g2, n2)

    x_spec = tf.TensorSpec([1, p["seq"], h], tf.float32, name="x")
    if p["mask"]:
        m_spec = tf.TensorSpec([1, p["seq"]], tf.float32, name="mask")
        return tf.function(lambda x, mask: block(x, mask), input_signature=[x_spec, m_spec])
    return tf.function(lambda x: block(x, None), input_signature=[x_spec])


def _inputs(p: dict, rng) -> list[np.ndarray]:
    x = (rng.standard_normal((1, p["seq"], p["hidden"])) * 1.5).astype(np.float32)
    if not p["mask"]:
        return [x]
    mask = np.ones((1, p["seq"]), np.float32)
    mask[0, int(rng.integers(1, p["seq"] + 1)):] = 0.0
    return [x, mask]


def convert_block(p: dict, flavor: str) -> bytes:
    from litelens.factory.flavors import convert

    function = _block_function(p)

    def representative():
        rng = np.random.default_rng(p["seed"] + 1)
        for _ in range(8):
            yield _inputs(p, rng)

    return convert(function.get_concrete_function(), flavor, representative if flavor == "int8" else None,
                   trackable=function)


def run_graphs(count: int, seed: int = 0, against=("reference",), flavors=("int8", "dynamic"), worker=None,
               progress=None, out: str | Path | None = None, litelens_flavor=None) -> list[GraphOutcome]:
    """``count`` random blocks, each converted to every flavor and checked against every resolver."""
    import litelens
    from litelens.diff.compare import compare_runs, float_tolerance
    from litelens.diff.ours import run_litelens
    from litelens.diff.worker import OfficialWorker

    own_worker = worker is None
    worker = worker or OfficialWorker()
    task = progress.add_task("graphs", total=count * len(flavors)) if progress is not None else None
    results = []
    try:
        for g in range(count):
            rng = np.random.default_rng([seed, 7919, g])
            p = sample_block(rng)
            name = (f"block{g}: seq {p['seq']} hidden {p['hidden']} heads {p['heads']} ffn {p['ffn']} "
                    f"{p['norm']}-norm {p['activation']}{' mask' if p['mask'] else ''}")
            for flavor in flavors:
                start = time.perf_counter()
                content = convert_block(p, flavor)
                interp = litelens.Interpreter(model_content=content)
                values = _inputs(p, np.random.default_rng([seed, 104729, g]))
                inputs = {d["index"]: v.astype(np.dtype(d["dtype"])) for d, v in
                          zip(sorted(interp.get_input_details(), key=lambda d: d["name"] != "x"), values)}
                case = GraphCase("GRAPH", content, inputs, name, p)
                for resolver in against:
                    ours = run_litelens(content, inputs, flavor=resolver if litelens_flavor is None else litelens_flavor)
                    theirs = worker.run(content, inputs, resolver)
                    share, tensors, comparison = 0.0, 0, None
                    if ours.ran and theirs.ran:
                        comparison = compare_runs(ours.interpreter.graph, ours.values, theirs.values,
                                                  official_unwritten=theirs.unwritten,
                                                  rtol_of_max=float_tolerance(resolver))
                        share, tensors = comparison.equal / max(comparison.compared, 1), comparison.compared
                    outcome = classify(ours, theirs, resolver, comparison)
                    result = GraphOutcome(name, flavor, resolver, len(interp.graph.operators), tensors, share,
                                          outcome.kind, outcome.detail, seconds=time.perf_counter() - start)
                    if outcome.kind != "ok" and out is not None:
                        result.path = _save(Path(out), g, flavor, case, outcome)
                    results.append(result)
                if progress is not None:
                    progress.advance(task)
    finally:
        if own_worker:
            worker.close()
    return results


def _save(root: Path, g: int, flavor: str, case: GraphCase, outcome) -> str:
    import json

    directory = root / outcome.resolver / "GRAPHS" / f"block{g}-{flavor}-{outcome.kind}"
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "model.tflite").write_bytes(case.content)
    np.savez(directory / "inputs.npz", **{str(k): v for k, v in case.inputs.items()})
    (directory / "case.json").write_text(json.dumps({"label": case.label, "params": case.params,
                                                     "outcome": outcome.to_json()}, indent=1) + "\n")
    return str(directory)
