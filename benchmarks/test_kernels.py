"""Microbenchmarks: each MobileBERT op on its MobileBERT shape, litelens next to the official interpreter.

    .venv/bin/python -m pytest -q benchmarks/test_kernels.py            # all
    .venv/bin/python -m pytest -q benchmarks/test_kernels.py -k fc_     # one group

Every case converts one single-op int8 model (TensorFlow's converter, cached in .cache/bench/ops),
then times ``invoke`` of that same model in litelens (reference kernels) and in the official
interpreter with the xnnpack (AUTO), optimized (BUILTIN_WITHOUT_DEFAULT_DELEGATES) and reference
(BUILTIN_REF) resolvers, all on one thread. pytest-benchmark groups them by case, so each table
compares the engines on exactly the same model and input. Before timing, litelens's output is
checked bit for bit against the reference resolver's.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")
pytest.importorskip("ai_edge_litert")
pytest.importorskip("pytest_benchmark")

from single_op import convert_fn  # noqa: E402

import litelens  # noqa: E402
from litelens.official import official_interpreter  # noqa: E402

CACHE = Path(__file__).resolve().parent.parent / ".cache" / "bench" / "ops"
SEQ, HIDDEN, BOTTLENECK, HEADS = 128, 512, 128, 4
F32 = tf.float32


def _dense(k, n, seed):
    w = (np.random.default_rng(seed).standard_normal((k, n)) / np.sqrt(k)).astype(np.float32)
    b = np.random.default_rng(seed + 1).standard_normal(n).astype(np.float32)
    return lambda x: tf.matmul(x, w) + b


def _scaled(values, seed):
    return np.random.default_rng(seed).standard_normal(values).astype(np.float32)


# name -> (function, input shapes): the shapes MobileBERT int8 runs at seq 128.
CASES = {
    "fc_128x128_to_128": (_dense(BOTTLENECK, BOTTLENECK, 1), [(SEQ, BOTTLENECK)]),
    "fc_128x128_to_512": (_dense(BOTTLENECK, HIDDEN, 2), [(SEQ, BOTTLENECK)]),
    "fc_128x512_to_128": (_dense(HIDDEN, BOTTLENECK, 3), [(SEQ, HIDDEN)]),
    "bmm_scores_qkT": (lambda q, k: tf.matmul(q, k, transpose_b=True), [(1, HEADS, SEQ, 32)] * 2),
    "bmm_context_pv": (lambda p, v: tf.matmul(p, v), [(1, HEADS, SEQ, SEQ), (1, HEADS, SEQ, 32)]),
    "add_residual_128x512": (lambda x, y: x + y, [(1, SEQ, HIDDEN)] * 2),
    "add_residual_128x128": (lambda x, y: x + y, [(1, SEQ, BOTTLENECK)] * 2),
    "nonorm_mul_add_128x512": (lambda x: x * _scaled(HIDDEN, 4) + _scaled(HIDDEN, 5), [(1, SEQ, HIDDEN)]),
    "add_attention_mask": (lambda s, m: s + m, [(1, HEADS, SEQ, SEQ), (1, 1, 1, SEQ)]),
    "softmax_4x128x128": (lambda x: tf.nn.softmax(x), [(1, HEADS, SEQ, SEQ)]),
    "transpose_heads": (lambda x: tf.transpose(x, [0, 2, 1, 3]), [(1, SEQ, HEADS, 32)]),
}
ENGINES = ["litelens", "xnnpack", "optimized", "reference"]


def _model(name: str) -> bytes:
    fn, shapes = CASES[name]
    key = hashlib.sha256(f"{name}{shapes}{tf.__version__}".encode()).hexdigest()[:12]
    path = CACHE / f"{name}-{key}.tflite"
    if path.exists():
        return path.read_bytes()
    content = convert_fn(fn, [tf.TensorSpec(s, F32) for s in shapes], flavor="int8", seed=7,
                         calibration_scale=3.0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content)
    return content


def _inputs(interp, seed=0):
    rng = np.random.default_rng(seed)
    out = {}
    for d in interp.get_input_details():
        info = np.iinfo(d["dtype"])
        out[d["index"]] = rng.integers(info.min, info.max + 1, tuple(d["shape"])).astype(d["dtype"])
    return out


def _engine(name: str, content: bytes):
    if name == "litelens":
        interp = litelens.Interpreter(model_content=content, num_threads=1)
        interp.allocate_tensors()
    else:
        interp = official_interpreter(content, name, num_threads=1, preserve_all_tensors=False)
    for index, value in _inputs(interp).items():
        interp.set_tensor(index, value)
    return interp


def _output(interp):
    return interp.get_tensor(interp.get_output_details()[0]["index"])


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", list(CASES))
def test_op(benchmark, case, engine):
    content = _model(case)
    interp = _engine(engine, content)
    interp.invoke()
    if engine == "litelens":
        reference = _engine("reference", content)
        reference.invoke()
        np.testing.assert_array_equal(_output(interp), _output(reference))
    benchmark.group = case
    benchmark.extra_info["engine"] = engine
    benchmark.pedantic(interp.invoke, rounds=30, iterations=5, warmup_rounds=2)
