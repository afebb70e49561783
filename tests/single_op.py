"""Test helpers: run a model in litelens and in the official interpreter and compare every tensor.

Integer tensors must match bit for bit. Float tensors are compared with ``float_atol``/``float_rtol``
given by the caller, who states why that tolerance is right for the op.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

import litelens


@dataclass
class Mismatch:
    index: int
    name: str
    detail: str


@dataclass
class Comparison:
    compared: int = 0
    mismatches: list[Mismatch] = field(default_factory=list)

    def assert_ok(self):
        if self.mismatches:
            lines = "\n".join(f"  tensor {m.index} '{m.name}': {m.detail}" for m in self.mismatches[:20])
            raise AssertionError(f"{len(self.mismatches)} of {self.compared} tensors differ:\n{lines}")
        assert self.compared > 0, "nothing was compared"


def random_inputs(model_content: bytes, seed: int = 0) -> dict[int, np.ndarray]:
    """Random values for every model input, spanning the dtype's range (int8 hits both clamps)."""
    rng = np.random.default_rng(seed)
    interp = litelens.Interpreter(model_content=model_content)
    out = {}
    for d in interp.get_input_details():
        shape, dtype = tuple(d["shape"]), np.dtype(d["dtype"])
        if dtype.kind in "iu":
            info = np.iinfo(dtype)
            lo, hi = max(info.min, -(2**15)), min(info.max, 2**15 - 1)
            out[d["index"]] = rng.integers(lo, hi + 1, size=shape).astype(dtype)
        else:
            out[d["index"]] = (rng.standard_normal(shape) * 2).astype(dtype)
    return out


def compare_tensors(ours: dict[int, np.ndarray], theirs: dict[int, np.ndarray], names: dict[int, str],
                    float_atol: float = 0.0, float_rtol: float = 0.0, float_rtol_of_max: float = 0.0) -> Comparison:
    result = Comparison()
    for index, expected in theirs.items():
        if index not in ours:
            continue
        got = ours[index]
        result.compared += 1
        name = names.get(index, "")
        if got.shape != expected.shape or got.dtype != expected.dtype:
            result.mismatches.append(Mismatch(index, name, f"{got.dtype}{list(got.shape)} vs official "
                                                           f"{expected.dtype}{list(expected.shape)}"))
            continue
        if expected.dtype.kind == "f":
            atol = float_atol
            if float_rtol_of_max and expected.size and np.isfinite(expected).any():
                atol += float_rtol_of_max * float(np.abs(expected[np.isfinite(expected)]).max())
            bad = ~np.isclose(got, expected, atol=atol, rtol=float_rtol, equal_nan=True)
        else:
            bad = got != expected
        if bad.any():
            diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
            first = tuple(int(i) for i in np.argwhere(bad)[0])
            result.mismatches.append(Mismatch(
                index, name, f"{int(bad.sum())}/{bad.size} elements differ, max |diff| {diff.max():.6g}; "
                             f"first at {first}: ours {got[first]} official {expected[first]}"))
    return result


def compare_with_official(model_content: bytes, inputs: dict | None = None, resolver: str = "reference",
                          float_atol: float = 0.0, float_rtol: float = 0.0, seed: int = 0,
                          flavor=None, float_rtol_of_max: float | None = None) -> Comparison:
    """Run both interpreters on the same inputs and compare every tensor the official one exposes.

    litelens runs in ``flavor`` (default: the resolver's own flavor). Float tensors: within
    ``float_atol + float_rtol * |official|`` plus ``float_rtol_of_max * max|official|`` (default: the
    path tolerance of ``resolver``, 0 for reference).
    """
    from litelens.diff.compare import float_tolerance
    from litelens.diff.official_run import run_official_kept

    flavor = resolver if flavor is None else flavor
    if float_rtol_of_max is None:
        float_rtol_of_max = float_tolerance(resolver)

    if inputs is None:
        inputs = random_inputs(model_content, seed)
    run = run_official_kept(model_content, inputs, resolver)  # without the tensors it never wrote
    if run.error:
        raise RuntimeError(f"the official interpreter ({resolver}) failed: {run.error}")
    theirs = run.values
    interp = litelens.Interpreter(model_content=model_content, preserve_all_tensors=True, flavor=flavor)
    interp.allocate_tensors()
    by_name = {d["name"]: d["index"] for d in interp.get_input_details()}
    for key, value in inputs.items():
        interp.set_tensor(by_name[key] if isinstance(key, str) else key, np.asarray(value))
    interp.invoke()
    names = {t.index: t.name for t in interp.graph.tensors}
    ours = {i: interp.get_tensor(i) for i in theirs if i < len(interp.graph.tensors)}
    return compare_tensors(ours, theirs, names, float_atol, float_rtol, float_rtol_of_max)


def _calibration_sample(rng, spec, scale):
    dtype = np.dtype(spec.dtype.as_numpy_dtype)
    if dtype.kind in "iu":  # ids and indices: small non-negative values
        return rng.integers(0, 8, tuple(spec.shape)).astype(dtype)
    return (rng.standard_normal(tuple(spec.shape)) * scale).astype(dtype)


def convert_fn(fn, input_specs, flavor: str = "int8", int_io: bool = True, seed: int = 0,
               calibration_scale: float = 2.0) -> bytes:
    """Convert a Python function of tensors to a single-op (or few-op) model with TF's converter."""
    import tensorflow as tf

    from litelens.factory.flavors import convert

    function = tf.function(fn, input_signature=input_specs)

    def representative():
        rng = np.random.default_rng(seed)
        for _ in range(16):
            yield [_calibration_sample(rng, s, calibration_scale) for s in input_specs]

    dataset = representative if flavor in ("int8", "int16x8") else None
    return convert(function.get_concrete_function(), flavor, dataset, trackable=function, int_io=int_io)


def patch_model(content: bytes, edit) -> bytes:
    """Unpack a .tflite with the schema's object API, let ``edit`` change it, pack it again."""
    import flatbuffers
    from ai_edge_litert import schema_py_generated as schema

    model = schema.ModelT.InitFromPackedBuf(content, 0)
    edit(model, schema)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())
