"""Build factory models once and keep them on disk between test runs.

The key covers the preset, the overrides, the flavor and a hash of the factory's source files and
corpus, so a change to the factory rebuilds. Set LITELENS_MODEL_CACHE to move the cache
(default: .cache/models in the repository, ignored by git).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CACHE = Path(os.environ.get("LITELENS_MODEL_CACHE", REPO / ".cache" / "models"))


def _factory_digest() -> str:
    h = hashlib.sha256()
    sources = sorted((REPO / "src" / "litelens" / "factory").glob("*.py"))
    sources += [REPO / "src" / "litelens" / "tokenizer.py", REPO / "src" / "litelens" / "data" / "corpus.txt",
                REPO / "src" / "litelens" / "data" / "vocab.txt"]
    for path in sources:
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()[:16]


def factory_model(preset: str, flavor: str, **overrides) -> bytes:
    """The ``.tflite`` bytes of a factory preset in one flavor, built at most once per factory version."""
    from litelens.factory.build import build_module, convert_flavors
    from litelens.factory.config import preset_config

    tag = "-".join(f"{k}{v}" for k, v in sorted(overrides.items()))
    path = CACHE / f"{preset}-{flavor}{'-' + tag if tag else ''}-{_factory_digest()}.tflite"
    if path.exists():
        return path.read_bytes()
    config = preset_config(preset, **overrides)
    (conversion,) = convert_flavors(build_module(config), config, [flavor])
    if conversion.model is None:
        raise RuntimeError(f"the converter refused {preset} {flavor}: {conversion.refused}")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_bytes(conversion.model)
    tmp.replace(path)
    return conversion.model
