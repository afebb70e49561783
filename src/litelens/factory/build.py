"""Build a preset as a ``tf.Module``, trace its serving function, and convert it to every flavor.

Weights are random (seeded) unless given (a checkpoint's, see :mod:`litelens.factory.checkpoint`): the
random ones exist to exercise the converter and the interpreters, not to classify or embed anything.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable

import numpy as np

from litelens.factory.config import ModelConfig
from litelens.factory.flavors import FLAVORS, ConversionRefused, convert
from litelens.factory.params import check_params, param_specs, random_params

INPUT_NAMES = ("input_ids", "input_mask", "segment_ids")  # the serving function's argument order
OUTPUT_NAMES = {"logits": "logits", "embedding": "embedding", "hidden": "last_hidden_state"}  # per head


def output_name(config: ModelConfig) -> str:
    """Name of the graph's one output tensor for the config's head."""
    return OUTPUT_NAMES[config.head]


def build_module(config: ModelConfig, seed: int = 0, params: dict[str, np.ndarray] | None = None):
    """A ``tf.Module`` holding one ``tf.Variable`` per HF parameter (``module.params[name]``) and a
    ``serve`` ``tf.function`` with signature input_ids, input_mask, segment_ids: int32 [1, seq].

    ``params`` (HF name -> float32 array, exactly the names and shapes of ``param_specs(config)``) gives
    the weights; without it they are random, drawn from ``seed``."""
    import tensorflow as tf

    from litelens.factory import bert, mobilebert

    config.validate()
    forward = mobilebert.forward if config.arch == "mobilebert" else bert.forward
    if params is None:
        values = random_params(config, seed)
    else:
        check_params(config, params)
        values = {name: np.asarray(value, dtype=np.float32) for name, value in params.items()}

    class FactoryModel(tf.Module):
        def __init__(self):
            super().__init__(name=config.arch)
            self.config = config
            self.params = {spec.name: tf.Variable(values[spec.name], name=spec.name, trainable=False)
                           for spec in param_specs(config)}

        @tf.function(input_signature=[tf.TensorSpec([1, config.seq], tf.int32, name=n) for n in INPUT_NAMES])
        def serve(self, input_ids, input_mask, segment_ids):
            return forward(self.params, config, input_ids, input_mask, segment_ids)

    return FactoryModel()


def concrete_function(module):
    """The frozen serving function, its output tensor renamed from TF's ``Identity`` to the output's
    name (``logits`` / ``embedding`` / ``last_hidden_state``), so the ``.tflite`` tensors are named
    input_ids, input_mask, segment_ids (in that order) and that output.

    Converting with the module as ``trackable`` would name them ``serving_default_input_ids:0`` …
    ``StatefulPartitionedCall:0`` and order the inputs backwards; the converter warns that this
    frozen-function path is deprecated, which is why the CLI hides absl warnings."""
    import tensorflow as tf
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    frozen = convert_variables_to_constants_v2(module.serve.get_concrete_function())
    graph_def = frozen.graph.as_graph_def()
    output = output_name(module.config)
    (identity,) = [tensor.name.split(":")[0] for tensor in frozen.outputs]
    for node in graph_def.node:
        if node.name == identity:
            node.name = output
    wrapped = tf.compat.v1.wrap_function(lambda: tf.compat.v1.import_graph_def(graph_def, name=""), [])
    graph = wrapped.graph
    return wrapped.prune(feeds=[graph.get_tensor_by_name(f"{name}:0") for name in INPUT_NAMES],
                         fetches={output: graph.get_tensor_by_name(f"{output}:0")})


def calibration_texts(path: str | Path | None = None) -> list[str]:
    """Texts for int8/int16x8 calibration: a file with one text per line, or the sample corpus."""
    from litelens.tokenizer import corpus_texts

    texts = corpus_texts(path) if path else corpus_texts()
    if not texts:
        raise ValueError(f"calibration file {path} has no text")
    return texts


def representative_dataset(config: ModelConfig, texts: list[str],
                           vocab: str | Path | None = None) -> Callable[[], Iterable[list]]:
    """Tokenized texts as the converter wants them: lists of int32 [1, seq] arrays, in argument order.

    ``vocab`` is the WordPiece vocabulary file to tokenize with (a checkpoint's own ``vocab.txt``;
    default the sample vocabulary). Ids at or above the model's vocabulary size (when built with a
    smaller ``--vocab-size`` than the tokenizer's) are mapped to [UNK] = 1."""
    from litelens.tokenizer import VOCAB_PATH, encode_batch

    batch = encode_batch(texts, config.seq, vocab or VOCAB_PATH)
    batch["input_ids"] = np.where(batch["input_ids"] < config.vocab_size, batch["input_ids"], 1).astype(np.int32)

    def dataset():
        for row in range(len(texts)):
            yield [batch[name][row:row + 1] for name in INPUT_NAMES]

    return dataset


@dataclass
class Conversion:
    flavor: str
    model: bytes | None  # None when refused
    seconds: float
    refused: str | None = None  # the converter's reason


def convert_flavors(module, config: ModelConfig, flavors: Iterable[str] = FLAVORS,
                    calibration: str | Path | None = None, vocab: str | Path | None = None) -> list[Conversion]:
    """Convert ``module`` to each flavor; a refused flavor is reported, not raised. int8 and int16x8
    are calibrated on the texts of ``calibration`` (one per line; default the sample corpus), tokenized
    with ``vocab`` (default the sample vocabulary)."""
    function = concrete_function(module)
    dataset = None
    results = []
    for flavor in flavors:
        if flavor not in FLAVORS:
            raise ValueError(f"unknown flavor {flavor!r}; choose from {', '.join(FLAVORS)}")
        if flavor in ("int8", "int16x8") and dataset is None:
            dataset = representative_dataset(config, calibration_texts(calibration), vocab)
        start = time.perf_counter()
        try:
            model = convert(function, flavor, dataset)
            results.append(Conversion(flavor, model, time.perf_counter() - start))
        except ConversionRefused as err:
            results.append(Conversion(flavor, None, time.perf_counter() - start, refused=str(err)))
    return results
