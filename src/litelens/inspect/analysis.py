"""``litelens.inspect(model, ...)``: run a quantized model and measure, op by op, what quantization did.

For each input sample the quantized model runs once in litelens (bit-exact with the official
reference kernels), the float twin (if given) once, and then every op is visited in order:

1. local: the op's shadow (:mod:`~litelens.inspect.shadow`) on its own dequantized inputs, against
   its dequantized output;
2. propagated: the shadow on the shadow run's inputs (the whole graph in float64, from the model
   inputs and the constants as DEQUANTIZE gives them), against the same output;
3. float twin: the float model's tensor of the same name, against the same output.

Shadow values are dropped after their last reader, so memory stays near one copy of the network's
activations. Statistics accumulate over samples (see :mod:`~litelens.inspect.metrics`).
"""
from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from litelens.errors import InputError
from litelens.inputs import fill_inputs, input_names, text_inputs
from litelens.inspect.metrics import CodeStats, ErrorStats, SaturationStats
from litelens.inspect.result import InspectionResult, OpReport, TensorReport
from litelens.inspect.shadow import NoShadow, run_shadow
from litelens.inspect.twin import match_tensors, twin_inputs
from litelens.inspect.values import (
    code_levels, dequantized_values, is_quantized, real_values, scale_array, zero_point_array,
)
from litelens.threads import blas_threads

DEFAULT_TEXT = "Loving the new battery life on my Acme phone, best upgrade this year!"
SAMPLE_POINTS = 4096  # values of each tensor kept (first input only) for the report's histograms


def _model_bytes(model) -> tuple[bytes, str]:
    if isinstance(model, (bytes, bytearray, memoryview)):
        return bytes(model), "<bytes>"
    path = Path(os.fspath(model))
    return path.read_bytes(), str(path)


def _looks_like_text_model(interp) -> bool:
    from litelens.inputs import _match_text_input

    return all(_match_text_input(name) is not None for name in input_names(interp).values())


def random_inputs(interp, seed: int = 0) -> dict[int, np.ndarray]:
    """Seeded inputs for a model given nothing: quantized inputs span all codes, floats N(0, 1),
    other integers small non-negative values (ids, indices)."""
    rng = np.random.default_rng(seed)
    out = {}
    for d in interp.get_input_details():
        shape, dtype = tuple(int(s) for s in d["shape"]), np.dtype(d["dtype"])
        t = interp.graph.tensors[d["index"]]
        if is_quantized(dtype, t.quantization):
            info = np.iinfo(dtype)
            out[d["index"]] = rng.integers(info.min, int(info.max) + 1, size=shape).astype(dtype)
        elif dtype.kind in "iu":
            out[d["index"]] = rng.integers(0, 8, size=shape).astype(dtype)
        elif dtype.kind == "b":
            out[d["index"]] = rng.integers(0, 2, size=shape).astype(bool)
        else:
            out[d["index"]] = rng.standard_normal(shape).astype(dtype)
    return out


def _resolve_inputs(interp, given: dict) -> dict[int, np.ndarray]:
    """``{name or tensor index: array}`` -> ``{tensor index: array}``."""
    names = input_names(interp)
    by_name = {name: index for index, name in names.items()}
    by_name.update({interp.graph.tensors[i].name: i for i in names})
    out = {}
    for key, value in given.items():
        if isinstance(key, (int, np.integer)) and int(key) in names:
            out[int(key)] = np.asarray(value)
        elif key in by_name:
            out[by_name[key]] = np.asarray(value)
        else:
            raise InputError(f"the model has no input {key!r}; its inputs are {', '.join(names.values())}")
    return out


def input_samples(interp, text=None, inputs=None, seed: int = 0,
                  vocab=None) -> tuple[list[dict[int, np.ndarray]], str]:
    """The input samples to run and a sentence saying what they are (``vocab``: the WordPiece
    vocab.txt for ``text``; default litelens's sample vocabulary)."""
    if text is not None and inputs is not None:
        raise InputError("give text or inputs, not both")
    if text is not None:
        texts = [text] if isinstance(text, str) else list(text)
        return [text_inputs(interp, t, vocab) for t in texts], "; ".join(f"text {t!r}" for t in texts)
    if inputs is not None:
        given = [inputs] if isinstance(inputs, dict) else list(inputs)
        return [_resolve_inputs(interp, g) for g in given], f"{len(given)} given input sample(s)"
    if _looks_like_text_model(interp):
        return [text_inputs(interp, DEFAULT_TEXT, vocab)], f"default text {DEFAULT_TEXT!r}"
    return [random_inputs(interp, seed)], f"random inputs (seed {seed}); give real inputs for meaningful figures"


def _last_readers(graph) -> dict[int, int]:
    """Tensor index -> index of the last op that reads it (graph outputs: past the end)."""
    last = {}
    for op in graph.operators:
        for t in op.inputs:
            if t >= 0:
                last[t] = op.index
    for t in graph.outputs:
        last[t] = len(graph.operators)
    return last


class _Analysis:
    def __init__(self, interp, twin):
        self.interp, self.twin = interp, twin
        self.graph = interp.graph
        self.last_reader = _last_readers(self.graph)
        self.constants: dict[int, np.ndarray] = {}  # exact real values of constant tensors, kept
        self.shadow_constants: dict[int, np.ndarray] = {}  # the same as DEQUANTIZE gives them (float32)
        self.reports = [self._op_report(node) for node in interp.nodes]
        self.matched, self.unmatched = {}, []
        if twin is not None:
            outputs = [t.index for node in interp.nodes for t in node.outputs]
            self.matched, self.unmatched = match_tensors(self.graph, twin.graph, outputs)
            for report in self.reports:
                for tr in report.outputs:
                    if tr.index not in self.matched:
                        tr.notes["float_twin"] = next(why for i, _, why in self.unmatched if i == tr.index)

    def _op_report(self, node) -> OpReport:
        outputs = []
        for t in node.outputs:
            tr = TensorReport(t.index, t.name, t.dtype, tuple(t.shape), t.quantization)
            if is_quantized(t.dtype, t.quantization) and code_levels(t.dtype) is not None:
                tr.codes = CodeStats(t.dtype)
                tr.saturation_stats = SaturationStats()
            outputs.append(tr)
        inputs = [(-1, "") if t is None else (t.index, t.name) for t in node.inputs]
        return OpReport(node.index, node.opcode, inputs, outputs)

    # ------------------------------------------------------------------ values
    def _real(self, index: int, values: dict[int, np.ndarray], shadow: bool = False) -> np.ndarray | None:
        """A tensor's real value: constants exact (local) or as DEQUANTIZE gives them (shadow run)."""
        t = self.graph.tensors[index]
        if t.data is None:
            return values.get(index)
        cache, convert = (self.shadow_constants, dequantized_values) if shadow else (self.constants, real_values)
        if index not in cache:
            cache[index] = convert(t.data, t.dtype, t.quantization)
        return cache[index]

    def _drop_dead(self, values: dict[int, np.ndarray], op_index: int) -> None:
        for index in [i for i in values if self.last_reader.get(i, -1) <= op_index]:
            del values[index]

    # ------------------------------------------------------------------ one input sample
    def run(self, sample: dict[int, np.ndarray], first: bool) -> tuple[int, str] | None:
        """Run and measure one input sample. If the quantized run stops at an op (an input the official
        kernel refuses too, e.g. a division by zero), the ops before it are measured and (op index,
        message) is returned."""
        interp = self.interp
        fill_inputs(interp, sample)
        completed = [0]

        def count(node, params, inputs, outputs):
            completed[0] = node.index + 1

        failure = None
        try:
            interp.invoke(observer=count)
        except InputError as err:
            failure = (completed[0], str(err))
        if self.twin is not None:
            fill_inputs(self.twin, twin_inputs(interp, self.twin, sample))
            self.twin.invoke()
        quantized: dict[int, np.ndarray] = {}  # real values of the quantized run's activations
        shadow: dict[int, np.ndarray] = {}  # the float64 shadow run
        for index in self.graph.inputs:
            t = self.graph.tensors[index]
            quantized[index] = real_values(interp.tensor(index)(), t.dtype, t.quantization)
            shadow[index] = dequantized_values(interp.tensor(index)(), t.dtype, t.quantization)
        no_shadow_value: dict[int, str] = {}  # tensor -> why the shadow run has no value for it
        for node, report in zip(interp.nodes[:completed[0]], self.reports):
            params = interp.op_params(node.index)
            local = self._shadow(node, params, [None if t is None else self._real(t.index, quantized)
                                                for t in node.inputs], report, "local")
            prop_inputs = [None if t is None else self._real(t.index, shadow, shadow=True) for t in node.inputs]
            blocked = [no_shadow_value[t.index] for t in node.inputs if t is not None and t.index in no_shadow_value]
            propagated = None
            if blocked:
                for tr in report.outputs:
                    tr.notes["propagated"] = blocked[0]
            else:
                propagated = self._shadow(node, params, prop_inputs, report, "propagated")
            if propagated is None:
                why = blocked[0] if blocked else f"the shadow run stops at op {node.index} {node.opcode}"
                no_shadow_value.update({t.index: why for t in node.outputs})
            for j, (t, tr) in enumerate(zip(node.outputs, report.outputs)):
                codes = interp.tensor(t.index)()
                real = real_values(codes, t.dtype, t.quantization)
                quantized[t.index] = real
                if propagated is not None:
                    shadow[t.index] = propagated[j]
                self._measure(tr, t, codes, real, None if local is None else local[j],
                              None if propagated is None else propagated[j], first)
            self._drop_dead(quantized, node.index)
            self._drop_dead(shadow, node.index)
        return failure

    def _shadow(self, node, params, inputs, report: OpReport, comparison: str):
        try:
            return run_shadow(node, params, inputs)
        except NoShadow as err:
            note = str(err)
        except Exception as err:  # a numerical or shape problem: report it, never guess a value
            note = f"the shadow failed: {type(err).__name__}: {err}"
        if comparison == "local":
            report.shadow_note = note
        for tr in report.outputs:
            tr.notes[comparison] = note
        return None

    def _measure(self, tr: TensorReport, t, codes, real, local, propagated, first: bool) -> None:
        quantized = is_quantized(t.dtype, t.quantization)
        lsb = scale_array(t.quantization, real.ndim) if quantized else None
        finite = real[np.isfinite(real)]
        if finite.size:
            tr.real_min = min(tr.real_min, float(finite.min()))
            tr.real_max = max(tr.real_max, float(finite.max()))
        if tr.codes is not None:
            tr.codes.update(codes)
        if local is not None:
            exact = local[np.isfinite(local)]
            if exact.size:
                tr.exact_min = min(tr.exact_min, float(exact.min()))
                tr.exact_max = max(tr.exact_max, float(exact.max()))
        twin = None
        if t.index in self.matched:
            twin = self.twin.tensor(self.matched[t.index])().astype(np.float64)
        # Local: exact against exact. Propagated and float twin: the output as DEQUANTIZE gives it, like the
        # float32-valued constants the shadow run starts from and the float model's own tensors.
        dequantized = real.astype(np.float32).astype(np.float64) if quantized else real
        compared = {"local": (real, local), "propagated": (dequantized, propagated), "float_twin": (dequantized, twin)}
        for name, (test, ref) in compared.items():
            if ref is None:
                continue
            if getattr(tr, name) is None:
                setattr(tr, name, ErrorStats())
            getattr(tr, name).update(test, ref, lsb)
        if tr.saturation_stats is not None and local is not None:
            tr.saturation_stats.update(local, lsb, zero_point_array(t.quantization, real.ndim), t.dtype)
        if first:
            self._keep_samples(tr, codes, real, lsb, compared)

    @staticmethod
    def _keep_samples(tr, codes, real, lsb, compared) -> None:
        flat = np.arange(real.size)
        if real.size > SAMPLE_POINTS:
            flat = np.linspace(0, real.size - 1, SAMPLE_POINTS).astype(np.int64)
        unit = 1.0 if lsb is None else np.broadcast_to(lsb, real.shape).reshape(-1)[flat]
        tr.samples["codes"] = np.asarray(codes).reshape(-1)[flat].copy()
        tr.samples["real"] = real.reshape(-1)[flat].copy()
        for name, (test, ref) in compared.items():
            if ref is not None:  # the error in LSBs (in real units for a float tensor)
                tr.samples[name] = (test.reshape(-1)[flat] - ref.reshape(-1)[flat]) / unit


def inspect(model, float_model=None, *, text=None, inputs=None, flavor="reference", seed: int = 0,
            vocab=None) -> InspectionResult:
    """Measure what quantization does, op by op, in a quantized ``.tflite`` model.

    ``model`` / ``float_model``: a path or the model's bytes; the float twin is optional.
    ``text``: a string (or list of strings) for a BERT-style model; ``inputs``: ``{input name or
    tensor index: array}`` (or a list of such dicts, one per sample). Given neither, a text model runs
    on a default sentence and any other model on seeded random inputs. ``vocab``: the model's
    WordPiece vocab.txt for ``text`` (default: litelens's sample vocabulary). Returns an
    :class:`~litelens.inspect.result.InspectionResult`.
    """
    from litelens.interpreter import Interpreter

    content, label = _model_bytes(model)
    interp = Interpreter(model_content=content, flavor=flavor, preserve_all_tensors=True)  # every tensor is read
    interp.allocate_tensors()
    twin, twin_label = None, None
    if float_model is not None:
        twin_content, twin_label = _model_bytes(float_model)
        twin = Interpreter(model_content=twin_content, preserve_all_tensors=True)
        twin.allocate_tensors()
    samples, note = input_samples(interp, text, inputs, seed, vocab)
    analysis = _Analysis(interp, twin)
    failures = []
    with blas_threads(interp.num_threads):  # the shadow's float64 products too (see litelens.threads)
        for k, sample in enumerate(samples):
            failure = analysis.run(sample, first=k == 0)
            if failure is not None:
                failures.append((k, *failure))
    return InspectionResult(
        model=label, float_model=twin_label, inputs_note=note, samples=len(samples), ops=analysis.reports,
        failures=failures,
        unmatched=analysis.unmatched, model_outputs=list(interp.graph.outputs), interpreter=interp,
        float_interpreter=twin, sample_inputs=samples,
    )
