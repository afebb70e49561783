"""The committed golden models and recordings: hashes, completeness, consistency, reproducibility."""
from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

from litelens import goldens

pytestmark = pytest.mark.skipif(not (goldens.golden_dir() / "manifest.json").is_file(),
                                reason="no golden/manifest.json (run python golden/record.py)")


@pytest.fixture(scope="module")
def manifest():
    return goldens.load_manifest()


@pytest.fixture(scope="module")
def recordings(manifest):
    return {key: goldens.load_recording(key) for key in goldens.list_recordings()}


def test_models_match_manifest(manifest):
    root = goldens.golden_dir()
    assert set(manifest["models"]) == {"mobilebert-tiny", "bert-tiny"}
    for name, model in manifest["models"].items():
        assert model["overrides"]["vocab_size"] == manifest["vocab_size"]
        assert model["overrides"]["seq"] == manifest["seq"]
        assert set(model["flavors"]) | set(model["refused"]) == {"float32", "float16", "dynamic", "int8", "int16x8"}
        assert {"float32", "int8"} <= set(model["flavors"])
        for flavor, entry in model["flavors"].items():
            goldens.verify_file(root / entry["path"], entry["sha256"], entry["size"])
            assert entry["path"] == f"models/{name}-{flavor}.tflite"
    committed = {p.name for p in (root / "models").glob("*.tflite")}
    listed = {f"{n}-{f}.tflite" for n, m in manifest["models"].items() for f in m["flavors"]}
    assert committed == listed


def test_recording_files_match_manifest(manifest):
    root = goldens.golden_dir()
    for entry in manifest["recordings"].values():
        goldens.verify_file(root / entry["path"], entry["sha256"], entry["size"])
    int8 = [k for k in manifest["recordings"] if "-int8/" in k]
    assert len(int8) == 2 * len(goldens.RESOLVERS)


def test_golden_directory_fits_the_budget():
    total = sum(p.stat().st_size for p in goldens.golden_dir().rglob("*") if p.is_file())
    assert total < 36_000_000


def test_every_non_constant_tensor_is_recorded(recordings):
    for key, rec in recordings.items():
        assert len(rec.tensors) == len(rec.inputs) == len(rec.texts) >= 1
        for k, values in enumerate(rec.tensors):
            for detail in rec.details.values():
                if detail.kind == "constant":
                    assert detail.index not in values
                    continue
                if detail.index in rec.not_computed[k]:
                    continue
                value = values[detail.index]
                assert value.dtype == np.dtype(detail.dtype), (key, detail.name)
                assert value.shape == detail.shape, (key, detail.name)
            if rec.resolver == "reference" and not rec.errors[k]:
                assert not rec.not_computed[k], key
            assert len(rec.output_indices()) == 1


def test_integer_flavors_cover_every_text_and_resolver(manifest, recordings):
    for name in manifest["models"]:
        for resolver in goldens.RESOLVERS:
            rec = recordings[f"{name}-int8/{resolver}"]
            assert len(rec.texts) == len(manifest["inputs"]) >= 3
    masks = [np.array(x["input_mask"]) for x in manifest["inputs"]]
    assert any(m.min() == 0 for m in masks) and any(m.min() == 1 for m in masks)  # padded and full


def test_inputs_are_the_manifest_token_ids(manifest, recordings):
    for rec in recordings.values():
        for k, inputs in enumerate(rec.inputs):
            for name, value in inputs.items():
                assert value.dtype == np.int32
                assert value[0].tolist() == manifest["inputs"][k][name]


def test_inputs_are_what_the_tokenizer_makes_today(manifest):
    pytest.importorskip("tokenizers")
    from litelens.tokenizer import encode

    for entry in manifest["inputs"]:
        for name, value in encode(entry["text"], manifest["seq"]).items():
            assert value[0].tolist() == entry[name]


def test_resolver_recordings_rebuild_from_reference(recordings):
    """Optimized/xnnpack are stored as XOR against the reference: inputs agree, and the resolvers
    disagree somewhere (as the fact sheet says) — otherwise the delta decoding went wrong."""
    for key, rec in recordings.items():
        if rec.resolver == "reference":
            continue
        ref = recordings[key.replace(rec.resolver, "reference")]
        for k in range(len(rec.texts)):
            for name in goldens.INPUT_NAMES:
                assert np.array_equal(rec.inputs[k][name], ref.inputs[k][name])
        if rec.flavor == "int8":
            differing = sum(not np.array_equal(v, ref.tensors[0][i]) for i, v in rec.tensors[0].items())
            assert 0 < differing < len(rec.tensors[0])


def test_constant_hashes_match_the_model_file(recordings):
    from litelens.model import load_model

    rec = recordings["mobilebert-tiny-int8/reference"]
    tensors = load_model(rec.model_path.read_bytes()).subgraphs[0].tensors
    constants = [d for d in rec.details.values() if d.kind == "constant"]
    assert len(constants) == sum(t.data is not None for t in tensors) > 50
    for detail in constants:
        assert goldens.sha256_array(tensors[detail.index].data) == detail.sha256, detail.name


def test_loader_does_not_import_tensorflow():
    code = ("import sys; from litelens import goldens; "
            "[goldens.load_recording(k) for k in goldens.list_recordings()[:2]]; "
            "assert 'tensorflow' not in sys.modules and 'ai_edge_litert' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_official_interpreter_reproduces_the_int8_recording(recordings):
    """Live: today's ai-edge-litert gives the recorded bits (skipped without it)."""
    pytest.importorskip("ai_edge_litert")
    from litelens.official import run_official

    for name in ("mobilebert-tiny", "bert-tiny"):
        rec = recordings[f"{name}-int8/reference"]
        got = run_official(rec.model_path.read_bytes(), rec.inputs[0], "reference")
        for index, value in rec.tensors[0].items():
            assert np.array_equal(got[index], value), rec.details[index].name
