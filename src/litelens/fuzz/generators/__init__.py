"""Case generators, one module per op family. Each registers a :class:`Generator` for its ops:

* ``sample(rng, op) -> params``: random parameters (shapes, dtypes, options, quantization, value
  modes, a seed for the values), JSON-able;
* ``build(params) -> Case``: the model and inputs, a pure function of ``params`` (a ``ValueError``
  means the parameters describe no valid case, e.g. after shrinking).

Shrinking works on ``params`` by name (see :mod:`litelens.fuzz.shrink`): lists named ``*shape`` are
shapes, ``*_s``/``*scale``/``s1``/``s2``/``so`` are scales, ``*zp``/``z1``/``z2``/``zo`` zero points, ``activation``/``mode*``/booleans are
options; so every generator gets shrinking for free by following those names.
"""
from __future__ import annotations

import importlib
import importlib.util
from dataclasses import dataclass
from typing import Callable

GENERATORS: dict[str, "Generator"] = {}
_MODULES = ("binary", "matmul", "unary", "conversion", "reduce", "movement")


@dataclass(frozen=True)
class Generator:
    op: str
    sample: Callable  # (rng, op) -> params
    build: Callable  # (params) -> Case


def register(*ops: str):
    """Class decorator: an object with ``sample(rng, op)`` and ``build(params)`` for ``ops``."""
    def wrap(cls):
        instance = cls()
        for op in ops:
            GENERATORS[op] = Generator(op, instance.sample, instance.build)
        return cls

    return wrap


def load_all() -> dict[str, Generator]:
    for name in _MODULES:
        if importlib.util.find_spec(f"litelens.fuzz.generators.{name}") is not None:
            importlib.import_module(f"litelens.fuzz.generators.{name}")
    return GENERATORS


def generator_for(op: str) -> Generator:
    load_all()
    if op not in GENERATORS:
        raise KeyError(f"no fuzz generator for {op}; have {', '.join(sorted(GENERATORS))}")
    return GENERATORS[op]
